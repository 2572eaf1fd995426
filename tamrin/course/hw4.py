"""Homework 4 (seeds/000_*): CNN theory, conv gradients, RNN, Grad-CAM; practicals: residual block by hand,
MobileNet V1/V2. In the assignment's order."""
from tamrin.course import Question as Q

QUESTIONS = [
    Q("hw4.t1a", "Why very deep CNNs degrade; how vanishing gradients disrupt the gradient flow in convolutional layers.",
      experiments=("regularization-lab",), sections=("Deep plain CNN",)),
    Q("hw4.t1b", "Why zero-initialised filters give symmetric updates and fail; Xavier vs He initialisation; why He suits ReLU.",
      experiments=("regularization-lab",), sections=("Zero vs Xavier",)),
    Q("hw4.t1c", "How ResNet's shortcut connections improve the gradient flow."),
    Q("hw4.t2a", "3x3 convolution, one filter, valid padding, stride 1, X = [[1,2,1,0],[2,1,0,1],[1,0,2,1],[0,1,2,1]], "
                 "W = [[1,-1,0],[0,1,-1],[-1,0,1]], dL/dY = [[1,-1],[-1,1]]: compute dL/dW.", experiments=("conv-gradients",)),
    Q("hw4.t2b", "The same convolution: compute dL/dX from W; how this gradient is used by the earlier layers.", experiments=("conv-gradients",)),
    Q("hw4.t3a", "Sentiment of an n-word sentence (integer classes 0..4) with an RNN at test time: how many outputs / softmax calls?",
      experiments=("rnn-sentiment",)),
    Q("hw4.t3b", "The same RNN: each output ŷ is a probability distribution over what?", experiments=("rnn-sentiment",)),
    Q("hw4.t3c", "The same RNN: which inputs enter the network at each time step?", experiments=("rnn-sentiment",)),
    Q("hw4.t4a", "Grad-CAM's α_k^c = mean over i,j of ∂y^c/∂A^k_ij: why the averaged gradients measure feature map k's importance for class c.",
      experiments=("explain-demo",)),
    Q("hw4.t4b", "Grad-CAM's L = ReLU(Σ_k α_k^c A^k): why keeping the positive part highlights what raises class c's score."),
    Q("hw4.p1", "Residual block by hand on the 5x5 input with the 3x3 filter (stride 1, padding 1): convolution, ReLU, skip connection, "
                "ReLU, 2x2 max pool stride 2, global average pooling; every matrix shown.", experiments=("residual-walkthrough",)),
    Q("hw4.p2", "MobileNet V1 (and V2) in PyTorch on CIFAR-10 vs a traditional CNN; width and resolution multipliers; compare with theory.",
      answer=False, experiments=("cnn-cifar10",)),
]
