"""Solution set A (seeds/001_*), a student's answers: every claim is checked by the answer key, none trusted.
The question texts are not in the document; each statement is reconstructed from the answer."""
from tamrin.course import Question as Q

QUESTIONS = [
    Q("solA.q1a", "Dropout as ridge regression with P = D ⊙ X, D ~ Bernoulli(p): E[P] and E[PᵀP]."),
    Q("solA.q1b", "The expected loss E‖y − Pw‖² = ‖y − pXw‖² + p(1 − p)‖Γ̂w‖²."),
    Q("solA.q1c", "The reparametrisation w̃ = pw and the matrix Γ."),
    Q("solA.q1d", "The change of data matrix X̃ = XΓ⁻¹ that turns the problem into standard ridge regression."),
    Q("solA.q1e", "Γ = the diagonal of X's column norms, and the norms of X̃'s columns."),
    Q("solA.q1f", "The gradient of the loss with additive Gaussian dropout (the same as hw2.t6a)."),
    Q("solA.q1g", "The regulariser that Gaussian dropout amounts to (the same as hw2.t6b)."),
    Q("solA.q1h", "Gaussian dropout vs spatial dropout."),
    Q("solA.q2", "1D convolution Z_i = Σ_j W_j X_{i+j}: dL/dW_j."),
    Q("solA.q3a", "Batch normalisation: ∂l/∂x_i, ∂l/∂γ and ∂l/∂β."),
    Q("solA.q3b", "The benefits of batch normalisation."),
    Q("solA.q3c", "Batch normalisation without γ and β."),
    Q("solA.q3d", "Batch normalisation with mini-batches that each hold one class."),
    Q("solA.q4a", "In a CNN of conv → batch norm → ReLU blocks: removing the convolution's bias."),
    Q("solA.q4b", "In the same conv → batch norm → ReLU network: multiplying all conv weights by α vs multiplying every input entry by α."),
    Q("solA.q4c", "Operation counts of a k x k x c convolution filter over a W x H output (per sample and for a batch of B) and of pooling."),
    Q("solA.q4d", "Uses of 1x1 convolutions."),
    Q("solA.q4e", "Uses of pooling."),
    Q("solA.q4f", "The receptive field of conv3x3 s2 → pool2x2 → conv3x3 s2 → pool2x2 (the solution claims 13x13)."),
    Q("solA.q5a", "On a 512x512x3 input with 4x4 kernels, stride 2, padding 1 and 64/128/256 channels: output shapes of network A "
                  "(depthwise + pointwise) and network B (standard convolutions)."),
    Q("solA.q5b", "Networks A and B: parameter counts."),
    Q("solA.q5c", "Networks A and B: multiplications."),
    Q("solA.q5d", "Networks A and B: the comparison."),
    Q("solA.q5e", "MobileNet's cost ratio of depthwise-separable to standard convolution."),
    Q("solA.q5f", "MobileNet's width and resolution multipliers."),
    Q("solA.q6a", "Centre loss: what it does."),
    Q("solA.q6b", "Centre loss: its gradients and the centre updates."),
    Q("solA.q6c", "The PEDCC loss."),
]
