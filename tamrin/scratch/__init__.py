"""tamrin.scratch: a from-scratch NumPy deep-learning library (never imports torch).

Layers are pairs of functions ``X_forward(x, ...) -> (out, cache)`` and ``X_backward(dout, cache) -> grads``
(CS231n / EECS 498 style); optimizers are ``update(w, dw, config) -> (w, config)`` in ``tamrin.scratch.optim``;
gradient checking lives in ``tamrin.scratch.gradcheck``.

Conventions: tensors are NCHW and conv weights (F, C/groups, KH, KW) as in torch; dropout's ``p`` is the
DROP probability (as torch.nn.Dropout); batch norm's momentum and running statistics follow torch.nn.BatchNorm;
every loss returns ``(mean loss, dL/dx)``.
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
from tamrin.scratch.gradcheck import (
    check_layer,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
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
from tamrin.scratch.losses import bce_loss, hinge_loss, l2_regularization, mse_loss, softmax_loss, svm_loss
from tamrin.scratch.norm import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from tamrin.scratch.pool import (
    avg_pool_backward,
    avg_pool_forward,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool_backward,
    max_pool_forward,
)
from tamrin.scratch import optim  # noqa: E402  (update rules: optim.sgd, optim.adam, ...)
