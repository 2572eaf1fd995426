"""A 1x785 input through Conv1D(one 1x2 kernel) + ReLU, average pooling, a ReLU dense layer and a sigmoid output:
the parameter count as a formula, and two gradients written out by hand and checked against autograd."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tamrin.calc.analyze import analyze
from tamrin.calc.examples import Example

LENGTH = 785


def spec(pool: int, width: int) -> str:
    return f"in:1x{LENGTH} conv2p1:1 relu avgpool{pool} flatten dense:{width} relu dense:1 sigmoid"


def n_params(pool: int, width: int) -> int:
    """P(p, m) = 3 (kernel + bias) + m*(floor(786/p) + 1) + (m + 1) = m*floor(786/p) + 2m + 4."""
    return width * ((LENGTH + 1) // pool) + 2 * width + 4


class Net(nn.Module):
    def __init__(self, pool: int, width: int):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 2, padding=1)
        self.pool = nn.AvgPool1d(pool)
        self.fc_a = nn.Linear((LENGTH + 1) // pool, width)
        self.fc_b = nn.Linear(width, 1)

    def forward(self, x):
        c = self.conv(x)
        q = self.pool(torch.relu(c)).flatten(1)
        h = self.fc_a(q)
        return torch.sigmoid(self.fc_b(torch.relu(h)))


def hand_gradients(net: Net, x: np.ndarray, target: float, pool: int):
    """dL/dW^C_1 and dL/dW^A for the cross-entropy cost L = -[y ln yhat + (1-y) ln(1-yhat)], by the chain rule."""
    w1, w2 = net.conv.weight.detach().numpy()[0, 0]
    bc = float(net.conv.bias.detach()[0])
    wa, ba = net.fc_a.weight.detach().numpy(), net.fc_a.bias.detach().numpy()
    wb, bb = net.fc_b.weight.detach().numpy()[0], float(net.fc_b.bias.detach()[0])
    xp = np.concatenate([[0.0], x, [0.0]])  # zero padding 1 on each side: 787 values
    c = w1 * xp[:-1] + w2 * xp[1:] + bc  # 786 conv outputs
    L = len(c) // pool
    q = np.maximum(c, 0)[: L * pool].reshape(L, pool).mean(1)
    h = wa @ q + ba
    a = np.maximum(h, 0)
    yhat = 1 / (1 + np.exp(-(wb @ a + bb)))
    delta = yhat - target  # dL/dz for a sigmoid output with cross-entropy
    g_h = delta * wb * (h > 0)  # dL/dh_j
    grad_wa = np.outer(g_h, q)  # dL/dW^A_ji = delta * W^B_j * 1[h_j > 0] * q_i
    g_q = wa.T @ g_h  # dL/dq_i = sum_j dL/dh_j W^A_ji
    g_c = np.repeat(g_q / pool, pool) * (c[: L * pool] > 0)  # dL/dc_t = dL/dq_i(t) / p * 1[c_t > 0]
    grad_w1 = float(g_c @ xp[: L * pool])  # dc_t/dW^C_1 = x~_t
    return grad_w1, grad_wa, float(yhat)


def conv1d_785(pool: int = 2, width: int = 8, seed: int = 0) -> Example:
    """1x785 input, zero padding 1, Conv1D 1x2 + ReLU, average pool, FC ReLU, sigmoid: parameters and gradients."""
    ex = Example("conv1d-785", "A 1x785 input through Conv1D 1x2, average pooling, a ReLU layer and a sigmoid output")
    conv = analyze(spec(2, 1)).rows[0]
    padded, n = LENGTH + 2, conv.out_shape[1]
    ex.text(f"Zero padding 1 on each side gives {padded} values; one 1x2 kernel ({conv.weights} weights + {conv.biases} "
            f"bias) slides over them: {padded} - 2 + 1 = {n} outputs. Average pooling of size p (stride p) keeps "
            f"floor({n}/p) values; a fully connected ReLU layer of width m has m*floor({n}/p) + m parameters; the sigmoid "
            f"output m + 1. In total\n\n"
            f"P(p, m) = {conv.params} + m*(floor({n}/p) + 1) + (m + 1) = m*floor({n}/p) + 2m + {conv.params + 1}.")
    rows = []
    for p, m in ((2, 8), (2, 16), (3, 10), (4, 32), (6, 100)):
        a = analyze(spec(p, m))
        torch_n = sum(t.numel() for t in Net(p, m).parameters())
        rows.append([p, m, n_params(p, m), a.params, torch_n])
        ex.check(f"P({p}, {m}): formula = calculator = PyTorch", (n_params(p, m), a.params), (torch_n, torch_n))
    ex.table(["pool p", "width m", "formula", "calculator", "PyTorch"], rows)

    torch.manual_seed(seed)
    net = Net(pool, width).double()
    with torch.no_grad():
        # keep some conv outputs and hidden units active so the gradients are not trivially zero
        net.conv.weight.abs_()
        net.conv.bias.fill_(0.1)
    rng = np.random.default_rng(seed)
    x, target = rng.uniform(-1, 1, LENGTH), 1.0
    gw1, gwa, yhat = hand_gradients(net, x, target, pool)
    xt = torch.from_numpy(x)[None, None]
    out = net(xt)[0, 0]
    loss = -(target * torch.log(out) + (1 - target) * torch.log(1 - out))
    loss.backward()
    auto_w1 = float(net.conv.weight.grad[0, 0, 0])
    auto_wa = net.fc_a.weight.grad.numpy()
    err_w1 = abs(gw1 - auto_w1)
    err_wa = float(np.abs(gwa - auto_wa).max())
    ex.text("With the cost L = -[y ln(yhat) + (1 - y) ln(1 - yhat)] and yhat = sigmoid(z), dL/dz = yhat - y = delta. "
            "Writing q for the pooled values, h for the hidden pre-activations and x~ for the padded input:\n\n"
            "dL/dW^A_ji = delta * W^B_j * 1[h_j > 0] * q_i\n\n"
            "dL/dW^C_1 = sum_j delta W^B_j 1[h_j > 0] sum_i W^A_ji (1/p) sum_(t in window i) 1[c_t > 0] x~_t\n\n"
            f"For one sample (p={pool}, m={width}, y={target:g}, random weights, yhat = {yhat:.4f}):")
    ex.table(["gradient", "by hand", "autograd", "|difference|"],
             [["dL/dW^C_1", f"{gw1:.10f}", f"{auto_w1:.10f}", f"{err_w1:.1e}"],
              [f"dL/dW^A (all {gwa.size} entries; W^A_11 shown)", f"{gwa[0, 0]:.10f}", f"{auto_wa[0, 0]:.10f}", f"{err_wa:.1e}"]],
             f"{int((net.fc_a(net.pool(torch.relu(net.conv(xt))).flatten(1)) > 0).sum())} of {width} hidden units active")
    ex.check("dL/dW^C_1 by hand = autograd (|diff| < 1e-10)", err_w1 < 1e-10, True)
    ex.check("dL/dW^A by hand = autograd (max |diff| < 1e-10)", err_wa < 1e-10, True)
    ex.check("gradients are not all zero", abs(gw1) > 0 and float(np.abs(gwa).max()) > 0, True)
    return ex
