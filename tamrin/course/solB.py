"""Solution set B (seeds/002_*), a student's answers: every claim is checked by the answer key, none trusted.
The question texts are not in the document; each statement is reconstructed from the answer."""
from tamrin.course import Question as Q

QUESTIONS = [
    Q("solB.q1a", "A learning rate that is too high: its problems, and how to detect them.",
      experiments=("optim-lab",), sections=("Learning rate",)),
    Q("solB.q1b", "A learning rate that is too low: its problems, and how to detect them."),
    Q("solB.q1c", "Saddle points: what they are, and how SGD and Adam behave at them.",
      experiments=("optim-lab",), sections=("Escaping saddle",)),
    Q("solB.q1d", "Batch vs mini-batch gradient descent: the difference between their loss curves.",
      experiments=("optim-lab",), sections=("Batch, mini-batch",)),
    Q("solB.q2", "A 2x2 filter on a 3x3 input, then global average pooling: dL/dF and dL/dX.",
      note="The matrices are partly illegible in the document; the reconstruction is stated in the answer."),
    Q("solB.q3a", "The 1D CNN Input (500, 7) → Conv1D 16 k3 → MaxPool 2 → Conv1D 32 k5 → MaxPool 2 → Conv1D 64 k5 → Flatten → Dense 128 → "
                  "Dense 5: output shapes and parameter counts (the solution's table has Flatten 3,776 and Dense 483,456)."),
    Q("solB.q3b", "Conv2D vs Conv3D."),
    Q("solB.q4", "A data set split, 5 images shown, the same model built sequentially and functionally."),
    Q("solB.q5", "What convolutional layers are good at in image classification (a practical example), and their challenges."),
    Q("solB.q6", "1x1 filters: purpose, what their feature maps hold, where they are used, when they do not help; code that shows them."),
    Q("solB.q7", "An Inception network for CIFAR-10: how the stride of a conv layer affects the feature map size; the key layers "
                 "and operations used (the solution trains a plain sequential stack of 1x1, 3x3 and 5x5 convolutions)."),
]
