"""Homework 2 (seeds/003_*): perceptron networks, regularisation, optimisers; practicals: fully connected
nets from scratch, Forward-Forward. In the assignment's order."""
from tamrin.course import Question as Q

QUESTIONS = [
    Q("hw2.t1a", "Plot the number of SGD steps needed to reach a fixed training error against the mini-batch size; justify both ends of the curve."),
    Q("hw2.t1b", "Does batch normalisation inject noise into the hidden activations during training? Why?"),
    Q("hw2.t1c", "An all-sigmoid fully connected network with large positive initial weights: is it fit for classification? Why?"),
    Q("hw2.t1d", "A fully connected network with 20 inputs, 5 hidden layers of 10 units and a scalar output: how many trainable parameters?"),
    Q("hw2.t1e", "Logistic regression σ(W_l x + b_l) vs 2-way softmax regression softmax(W_s x + b_s): does the second, with twice the "
                 "parameters, learn more complex models? Give (W_s, b_s) in terms of (W_l, b_l)."),
    Q("hw2.t2a", "The committee paper (Cireșan et al. 2011): what a committee of networks is and why it helps."),
    Q("hw2.t2b", "The committee paper's preprocessing, and how it keeps the members' errors from being highly correlated.",
      experiments=("committee",)),
    Q("hw2.t3a", "z = wx + b, y = σ(z), L = ½(y − t)², R = ½w², L_reg = L + λR: draw the computational graph and give the derivatives "
                 "of L_reg with respect to every variable.", experiments=("autodiff-graph",)),
    Q("hw2.t3b", "Why must the initial parameters be random and small; what goes wrong otherwise?"),
    Q("hw2.t3c", "With random initial weights and any input: one gradient-descent step with learning rate 0.1."),
    Q("hw2.t4a", "Adam, line by line: what each line of the algorithm does."),
    Q("hw2.t4b", "Why m_t is biased towards 0 when m_0 = 0, and why m_t / (1 − β₁ᵗ) is not."),
    Q("hw2.t5a", "f(w) = wᵀHw with H = QΛQᵀ: the gradient-descent update with step size ε."),
    Q("hw2.t5b", "f(w) = wᵀHw: w_t in terms of w_0 (in H's eigenbasis)."),
    Q("hw2.t5c", "f(w) = wᵀHw: when does gradient descent converge (the condition on ε)?"),
    Q("hw2.t5d", "f(w) = wᵀHw: Newton's update, and how many steps it needs."),
    Q("hw2.t5e", "Why Newton's method is not used to train deep networks."),
    Q("hw2.t6a", "Additive Gaussian dropout J₁ = ½(y_d − Σ_k (w_k + δ_k) x_k)² with δ_k ~ N(0, α w_k²): E[∂J₁/∂w_i], simplified."),
    Q("hw2.t6b", "Can this Gaussian dropout be interpreted as a regulariser, and which one?"),
    Q("hw2.p1", "Fully connected networks from scratch (layers, backpropagation, optimisers, dropout, batch norm), checked numerically.",
      answer=False, experiments=("fc-from-scratch",)),
    Q("hw2.p2", "Forward-Forward on MNIST: supervised (labels embedded in the image, wrong labels for negatives) and unsupervised "
                "(hybrid negatives from a mask, no labels in FF training, a linear classifier on top).",
      answer=False, experiments=("ff-supervised", "ff-unsupervised")),
]
