"""Project 4 (seeds/004_*): CNN theory, 1D CNN, dilated convolution; practical: facial expression recognition.
In the project's order."""
from tamrin.course import Question as Q

QUESTIONS = [
    Q("p4.q1", "Translation equivariance from parameter sharing in convolutions, and what it is used for.", experiments=("conv-gradients",)),
    Q("p4.q2", "Interpretability: the deconvolution idea (arXiv 1412.6806) and the inversion idea (arXiv 1506.02753).",
      answer=False, experiments=("deconv-inversion",), sections=("p4.q2", "Deconvnet vs guided", "Inverting features", "Optimisation-based")),
    Q("p4.q3a", "1D CNN on a 1x785 input (zero padding 1, Conv1D with one 1x2 kernel + ReLU, average pooling, FC1 + ReLU, sigmoid output, "
                "binary cross-entropy): the number of parameters.",
      note="The figure with the pooling size and FC1's width is missing from the text: answered in symbols and for an example."),
    Q("p4.q3b", "The same 1D CNN: ∂Cost/∂W^C_1 (the conv kernel) and ∂Cost/∂W^A_ji (FC1) for one example.",
      note="The figure with the pooling size and FC1's width is missing from the text: answered in symbols and for an example."),
    Q("p4.q4a", "The receptive field of one K x K convolutional layer with stride 1."),
    Q("p4.q4b", "The dilated operator on I ∈ R^{MxN} with K ∈ R^{FxF} (full overlap only) outputs (M − DF + D) x (N − DF + D)."),
    Q("p4.q4c", "A dilated convolution equals a convolution with K' = K ⊗ A: what is A?"),
    Q("p4.q5a", "Data (1,200 images per class, 8 classes): 3 samples per class, [0,1] scaling, augmentation and why, 3 augmented samples per "
                "class, image counts before and after augmentation.", answer=False, experiments=("fer",), sections=('Data',)),
    Q("p4.q5b", "VGG16 transfer learning: loss/accuracy curves, ROC and confusion matrix on validation.", answer=False, experiments=("fer",), sections=('VGG16',)),
    Q("p4.q5c", "The paper's compact VGG: curves, ROC, confusion matrix; its parameter count and results vs q5b.", answer=False,
      experiments=("fer",), sections=('Compact VGG', 'Comparison')),
    Q("p4.q5d", "CAM for 2 misclassified and 2 correctly classified validation images per class with the q5c model; what CAM shows; an "
                "improvement of the q5c model derived from it.", answer=False, experiments=("fer",), sections=('Where the model looks', 'An improvement')),
]
