"""tamrin.scratch: a from-scratch NumPy deep-learning library (never imports torch).

Layers are pairs of functions ``X_forward(x, ...) -> (out, cache)`` and ``X_backward(dout, cache) -> grads``
(CS231n / EECS 498 style); optimizers are ``update(w, dw, config) -> (w, config)`` in ``tamrin.scratch.optim``;
gradient checking lives in ``tamrin.scratch.gradcheck``.
"""

from tamrin.scratch.conv import (
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_forward_naive,
    residual_block_backward,
    residual_block_forward,
)
from tamrin.scratch.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
