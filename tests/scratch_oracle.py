"""Helpers shared by the tests of tamrin.scratch: PyTorch autograd as the oracle, random float64 data."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)
GRAD_TOL = 1e-7     # analytic vs numerical (centred differences), float64
TORCH_TOL = 1e-10   # analytic vs torch autograd, float64 (only round-off separates them)


def randn(rng, *shape):
    return rng.standard_normal(shape)


def torch_forward_backward(fn, arrays, dout=None, seed=0):
    """Run ``fn(*tensors)`` in float64 with autograd. Returns (out, grads, dout) as numpy arrays.

    dout defaults to a random upstream gradient (the same one must be fed to the numpy backward).
    """
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    if dout is None:
        dout = np.random.default_rng([seed, 1]).standard_normal(tuple(out.shape))  # not the stream of x
    out.backward(torch.tensor(dout, dtype=torch.float64))
    grads = [t.grad.numpy() if t.grad is not None else np.zeros_like(a) for t, a in zip(ts, arrays)]
    return out.detach().numpy(), grads, dout


def max_abs_rel(a, b):
    """max |a - b| / max(1, max |b|): an absolute check scaled by the size of the values."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b), initial=0.0) / max(1.0, float(np.max(np.abs(b), initial=0.0))))
