"""Pooling layers: max pool, average pool (both with torch's ``ceil_mode``) and global average pool.

Output size, exactly as torch.nn.MaxPool2d / AvgPool2d compute it (k kernel, s stride, p padding):

    floor mode: H_out = floor((H + 2p - k) / s) + 1
    ceil mode:  H_out = ceil((H + 2p - k) / s) + 1, minus 1 if the last window would start in the
                right padding (every window must start inside the input or the left padding).

In ceil mode the last window may hang over the edge; the missing values simply do not take part
(max pool ignores them; average pool divides by the part of the window inside the padded input).
TensorFlow/Keras have no ceil mode ("valid" = floor, "same" pads instead); Caffe used ceil.

Both pools read windows with ``np.lib.stride_tricks.sliding_window_view`` (a view, no copy) and
send gradients back with one strided ``+=`` per kernel offset.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tamrin.errors import UserError
from tamrin.scratch.conv import _pair


def _out_size(size, k, s, p, ceil_mode):
    if ceil_mode:
        out = math.ceil((size + 2 * p - k) / s) + 1
        if (out - 1) * s >= size + p:  # last window would start in the right padding: drop it
            out -= 1
    else:
        out = (size + 2 * p - k) // s + 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, ceil_mode):
    if x.ndim != 4:
        raise UserError(f"pooling expects x of shape (N, C, H, W), got {x.shape}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None else stride, "stride")  # torch: stride defaults to kernel
    ph, pw = _pair(padding, "padding")
    if min(kh, kw, sh, sw) < 1 or ph > kh // 2 or pw > kw // 2 or min(ph, pw) < 0:
        raise UserError("pool kernel and stride must be >= 1 and padding at most half the kernel (as in torch)")
    h, w = x.shape[2:]
    ho, wo = _out_size(h, kh, sh, ph, ceil_mode), _out_size(w, kw, sw, pw, ceil_mode)
    if ho < 1 or wo < 1:
        raise UserError(f"pool kernel {kh}x{kw} is larger than the padded input {h}x{w}")
    # how far the windows reach: they may overhang the padded input by up to s - 1 in ceil mode
    reach_h, reach_w = (ho - 1) * sh + kh, (wo - 1) * sw + kw
    extra_h, extra_w = max(0, reach_h - (h + 2 * ph)), max(0, reach_w - (w + 2 * pw))
    return dict(kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, h=h, w=w, ho=ho, wo=wo, eh=extra_h, ew=extra_w)


def _padded(x, g, value):
    """Pad with ``value`` (left/top: padding; right/bottom: padding plus the ceil-mode overhang)."""
    return np.pad(x, ((0, 0), (0, 0), (g["ph"], g["ph"] + g["eh"]), (g["pw"], g["pw"] + g["ew"])),
                  constant_values=value)


def _windows(xp, g):
    """(N, C, H_out, W_out, kh, kw) view of every pooling window (no copy)."""
    v = sliding_window_view(xp, (g["kh"], g["kw"]), axis=(2, 3))
    return v[:, :, ::g["sh"], ::g["sw"]][:, :, :g["ho"], :g["wo"]]


def _scatter(dwin, g, shape):
    """Add window gradients (N, C, H_out, W_out, kh, kw) back to the padded input and crop the padding."""
    n, c = shape[:2]
    dxp = np.zeros((n, c, g["h"] + 2 * g["ph"] + g["eh"], g["w"] + 2 * g["pw"] + g["ew"]), dtype=dwin.dtype)
    for p in range(g["kh"]):
        for q in range(g["kw"]):
            dxp[:, :, p:p + g["sh"] * (g["ho"] - 1) + 1:g["sh"],
                q:q + g["sw"] * (g["wo"] - 1) + 1:g["sw"]] += dwin[..., p, q]
    return dxp[:, :, g["ph"]:g["ph"] + g["h"], g["pw"]:g["pw"] + g["w"]]


# ----------------------------------------------------------------------------------------------
# Max pool
# ----------------------------------------------------------------------------------------------


def max_pool_forward(x, kernel_size=2, stride=None, padding=0, ceil_mode=False):
    """Max over each window, like torch.nn.functional.max_pool2d (padding counts as -inf).
    Returns out (N, C, H_out, W_out) and the cache (which position won in every window)."""
    g = _pool_geometry(x, kernel_size, stride, padding, ceil_mode)
    win = _windows(_padded(x, g, -np.inf), g)
    flat = win.reshape(*win.shape[:4], -1)
    arg = flat.argmax(axis=-1)  # first maximum wins on ties, as in torch's CPU kernel
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, x.dtype, g, arg)


def max_pool_backward(dout, cache):
    """The whole upstream gradient of a window goes to its maximum (the "switch" stored in the cache)."""
    shape, dtype, g, arg = cache
    k = g["kh"] * g["kw"]
    onehot = (arg[..., None] == np.arange(k)).astype(np.result_type(dout, dtype))
    dwin = (onehot * dout[..., None]).reshape(*dout.shape, g["kh"], g["kw"])
    return _scatter(dwin, g, shape)


# ----------------------------------------------------------------------------------------------
# Average pool
# ----------------------------------------------------------------------------------------------


def avg_pool_forward(x, kernel_size=2, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window, like torch.nn.functional.avg_pool2d.

    The divisor of a window is the number of its cells inside the padded input (count_include_pad=True,
    torch's default) or inside the real input only (False); ceil-mode overhang never counts.
    """
    g = _pool_geometry(x, kernel_size, stride, padding, ceil_mode)
    ones = np.ones((1, 1, g["h"], g["w"]))
    # which cells count towards the divisor: 1 on the input (and on the padding if it is included)
    counted = _padded(ones, g, 0.0)
    if count_include_pad:
        counted[:, :, :g["h"] + 2 * g["ph"], :g["w"] + 2 * g["pw"]] = 1.0
    divisor = _windows(counted, g).sum(axis=(-1, -2))[0, 0]  # (H_out, W_out)
    out = _windows(_padded(x, g, 0.0), g).sum(axis=(-1, -2)) / divisor
    return out.astype(np.result_type(x, np.float32), copy=False), (x.shape, g, divisor)


def avg_pool_backward(dout, cache):
    """Every cell of a window receives dout / divisor."""
    shape, g, divisor = cache
    share = (dout / divisor).astype(dout.dtype, copy=False)
    dwin = np.broadcast_to(share[..., None, None], (*share.shape, g["kh"], g["kw"]))
    return _scatter(dwin, g, shape)


# ----------------------------------------------------------------------------------------------
# Global average pool
# ----------------------------------------------------------------------------------------------


def global_avg_pool_forward(x):
    """(N, C, H, W) -> (N, C): the mean of each feature map (torch: x.mean(dim=(2, 3)))."""
    return x.mean(axis=(2, 3)), x.shape


def global_avg_pool_backward(dout, cache):
    """Every position of a map gets an equal 1 / (H W) share of the map's gradient."""
    n, c, h, w = cache
    return np.broadcast_to((dout / (h * w))[:, :, None, None], (n, c, h, w)).copy()
