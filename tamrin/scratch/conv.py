"""2D / 1D convolution (cross-correlation, as every framework computes it), naive and fast.

Conventions follow torch.nn.functional.conv2d so the two can be compared directly:

    x: (N, C, H, W)          w: (F, C // groups, KH, KW)          b: (F,) or None
    out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * xpad[n, g*C/g + c, i*s + p*d, j*s + q*d]

where g = f // (F // groups) is the group of filter f, s the stride and d the dilation.
H_out = (H + 2 * pad - d * (KH - 1) - 1) // s + 1 (same for W).

Two implementations that must agree (the tests check it):
- ``conv2d_forward_naive`` / ``conv2d_backward_naive``: explicit loops, one output value at a time.
  Slow, but each line maps to the formula above.
- ``conv2d_forward`` / ``conv2d_backward``: im2col. For every kernel offset (p, q) we copy one strided
  slice of the padded input into a "columns" array, then a batched matrix product does all the
  multiply-adds (a few examples at a time, so the columns stay in the CPU cache). The backward uses two matrix products and scatters the column gradients back with
  one strided ``+=`` per kernel offset (col2im), which avoids the slow ``np.add.at``.
"""

from __future__ import annotations

import numpy as np

from tamrin.errors import UserError


def _pair(v, name):
    """Accept an int or a pair (like torch) and return a pair of non-negative ints."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        a, b = v
        return int(a), int(b)
    except (TypeError, ValueError):
        raise UserError(f"conv {name} must be an int or a pair of ints, got {v!r}") from None


def _geometry(x, w, stride, padding, dilation, groups):
    """Validate shapes and return everything both implementations need."""
    if x.ndim != 4 or w.ndim != 4:
        raise UserError(f"conv2d expects x (N, C, H, W) and w (F, C/groups, KH, KW), got {x.shape} and {w.shape}")
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0 or groups < 1:
        raise UserError("conv stride and dilation must be >= 1, padding >= 0 and groups >= 1")
    if c % groups or f % groups or cg != c // groups:
        raise UserError(
            f"conv groups={groups}: C={c} and F={f} must be divisible by groups and w.shape[1] must be C/groups"
        )
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        raise UserError(f"conv kernel (dilated) is larger than the padded input {x.shape}")
    return dict(n=n, c=c, h=h, w=wd, f=f, cg=cg, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw,
                ho=ho, wo=wo, groups=groups)


def _pad(x, ph, pw):
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


# ----------------------------------------------------------------------------------------------
# Naive: loops that read like the formula
# ----------------------------------------------------------------------------------------------


def conv2d_forward_naive(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Readable reference convolution. Returns out (N, F, H_out, W_out) and the cache."""
    g = _geometry(x, w, stride, padding, dilation, groups)
    xp = _pad(x, g["ph"], g["pw"])
    f_per_group = g["f"] // groups
    out = np.zeros((g["n"], g["f"], g["ho"], g["wo"]), dtype=np.result_type(x, w))
    for n in range(g["n"]):
        for f in range(g["f"]):
            c0 = (f // f_per_group) * g["cg"]  # first input channel this filter sees
            for i in range(g["ho"]):
                for j in range(g["wo"]):
                    top, left = i * g["sh"], j * g["sw"]
                    # the receptive field: kh x kw taps, spaced `dilation` apart
                    patch = xp[n, c0:c0 + g["cg"],
                               top:top + g["dh"] * (g["kh"] - 1) + 1:g["dh"],
                               left:left + g["dw"] * (g["kw"] - 1) + 1:g["dw"]]
                    out[n, f, i, j] = np.sum(patch * w[f])
            if b is not None:
                out[n, f] += b[f]
    return out, (x, w, b, g)


def conv2d_backward_naive(dout, cache):
    """Each output value out[n, f, i, j] = sum(patch * w[f]) sends dout * w[f] back to its patch and
    dout * patch to w[f]. Returns (dx, dw, db); db is None when there was no bias."""
    x, w, b, g = cache
    xp = _pad(x, g["ph"], g["pw"])
    dxp = np.zeros_like(xp, dtype=np.result_type(x, w, dout))
    dw = np.zeros_like(w, dtype=dxp.dtype)
    f_per_group = g["f"] // g["groups"]
    for n in range(g["n"]):
        for f in range(g["f"]):
            c0 = (f // f_per_group) * g["cg"]
            for i in range(g["ho"]):
                for j in range(g["wo"]):
                    top, left = i * g["sh"], j * g["sw"]
                    rows = slice(top, top + g["dh"] * (g["kh"] - 1) + 1, g["dh"])
                    cols = slice(left, left + g["dw"] * (g["kw"] - 1) + 1, g["dw"])
                    dw[f] += dout[n, f, i, j] * xp[n, c0:c0 + g["cg"], rows, cols]
                    dxp[n, c0:c0 + g["cg"], rows, cols] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, g["ph"]:g["ph"] + g["h"], g["pw"]:g["pw"] + g["w"]]
    db = dout.sum(axis=(0, 2, 3)) if b is not None else None
    return dx, dw, db


# ----------------------------------------------------------------------------------------------
# Fast: im2col + one batched matrix product
# ----------------------------------------------------------------------------------------------


def _offset_slices(g, p, q):
    """The strided slice of the padded input that kernel tap (p, q) reads for every output position."""
    r0, c0 = p * g["dh"], q * g["dw"]
    return (slice(None), slice(None),
            slice(r0, r0 + g["sh"] * (g["ho"] - 1) + 1, g["sh"]),
            slice(c0, c0 + g["sw"] * (g["wo"] - 1) + 1, g["sw"]))


def _im2col(xp, g):
    """cols[n, c, p, q, i, j] = xp[n, c, i*s + p*d, j*s + q*d]; one strided copy per kernel tap."""
    cols = np.empty((xp.shape[0], g["c"], g["kh"], g["kw"], g["ho"], g["wo"]), dtype=xp.dtype)
    for p in range(g["kh"]):
        for q in range(g["kw"]):
            cols[:, :, p, q] = xp[_offset_slices(g, p, q)]
    return cols.reshape(xp.shape[0], g["groups"], -1, g["ho"] * g["wo"])  # (n, G, K, L)


# The full columns array is KH*KW times larger than the input (151 MB for a 64x64x32x32 float32 batch
# and a 3x3 kernel). We build it for a few examples at a time instead, so it stays in the CPU cache
# while the matrix product reads it; this is faster and keeps memory flat. The backward rebuilds the
# (cheap) columns of each chunk rather than keeping all of them from the forward pass.
_CHUNK_BYTES = 8 * 2**20


def _chunks(g, itemsize):
    per_example = g["c"] * g["kh"] * g["kw"] * g["ho"] * g["wo"] * itemsize
    step = max(1, _CHUNK_BYTES // per_example)
    return [slice(i, min(i + step, g["n"])) for i in range(0, g["n"], step)]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Fast convolution with the same signature and result as ``conv2d_forward_naive``.

    Shapes inside (G = groups, K = C/G * KH * KW, L = H_out * W_out):
    cols (n, G, K, L) and w (G, F/G, K): out[n, g] = w[g] @ cols[n, g] -> (n, G, F/G, L),
    which reshapes to (n, F, H_out, W_out) without any transpose.
    """
    g = _geometry(x, w, stride, padding, dilation, groups)
    dtype = np.result_type(x, w)
    xp = _pad(x.astype(dtype, copy=False), g["ph"], g["pw"])
    wmat = w.astype(dtype, copy=False).reshape(groups, g["f"] // groups, -1)
    out = np.empty((g["n"], g["f"], g["ho"], g["wo"]), dtype=dtype)
    for sl in _chunks(g, xp.itemsize):
        cols = _im2col(xp[sl], g)
        out[sl] = np.matmul(wmat, cols).reshape(-1, g["f"], g["ho"], g["wo"])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out, (x, w, b, g, xp)


def conv2d_backward(dout, cache):
    """Backward of ``conv2d_forward``: (dx, dw, db); db is None when there was no bias.

    Per chunk of examples (G groups, batched matrix products):
    dw[g]   += sum_n dout[n, g] @ cols[n, g]^T
    dcols    = w[g]^T @ dout[n, g]
    dx       = col2im(dcols): every kernel tap adds its slice back where it was read from.
    """
    x, w, b, g, xp = cache
    groups = g["groups"]
    dtype = xp.dtype
    d_all = dout.astype(dtype, copy=False).reshape(g["n"], groups, g["f"] // groups, g["ho"] * g["wo"])
    wmat = w.astype(dtype, copy=False).reshape(groups, g["f"] // groups, -1)
    wmat_t = wmat.transpose(0, 2, 1)
    dw = np.zeros_like(wmat)
    dxp = np.zeros_like(xp)
    for sl in _chunks(g, xp.itemsize):
        cols = _im2col(xp[sl], g)
        d = d_all[sl]
        dw += np.matmul(d, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        dcols = np.matmul(wmat_t, d).reshape(-1, g["c"], g["kh"], g["kw"], g["ho"], g["wo"])
        dxp_chunk = dxp[sl]  # a view: the += below writes into dxp
        for p in range(g["kh"]):
            for q in range(g["kw"]):
                dxp_chunk[_offset_slices(g, p, q)] += dcols[:, :, p, q]
    dx = dxp[:, :, g["ph"]:g["ph"] + g["h"], g["pw"]:g["pw"] + g["w"]]
    db = dout.sum(axis=(0, 2, 3)).astype(dtype, copy=False) if b is not None else None
    return dx, dw.reshape(w.shape), db


# ----------------------------------------------------------------------------------------------
# conv1d: a conv2d whose height is 1
# ----------------------------------------------------------------------------------------------


def conv1d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """1D convolution like torch.nn.functional.conv1d: x (N, C, L), w (F, C/groups, K)."""
    if x.ndim != 3 or w.ndim != 3:
        raise UserError(f"conv1d expects x (N, C, L) and w (F, C/groups, K), got {x.shape} and {w.shape}")
    out, cache = conv2d_forward(x[:, :, None, :], w[:, :, None, :], b, stride=(1, int(stride)),
                                padding=(0, int(padding)), dilation=(1, int(dilation)), groups=groups)
    return out[:, :, 0, :], cache


def conv1d_backward(dout, cache):
    """(dx (N, C, L), dw (F, C/groups, K), db) for ``conv1d_forward``."""
    dx, dw, db = conv2d_backward(dout[:, :, None, :], cache)
    return dx[:, :, 0, :], dw[:, :, 0, :], db


# ----------------------------------------------------------------------------------------------
# Residual block: conv -> ReLU -> + skip -> ReLU
# ----------------------------------------------------------------------------------------------


def residual_block_forward(x, w, b=None, dilation=1):
    """out = relu(relu(conv(x)) + x), with a "same" convolution (stride 1, F = C, odd kernel) so the
    skip connection can be added without any projection."""
    f, _, kh, kw = w.shape
    if f != x.shape[1] or kh % 2 == 0 or kw % 2 == 0:
        raise UserError(f"residual block needs F == C and an odd kernel, got w {w.shape} for x {x.shape}")
    a, conv_cache = conv2d_forward(x, w, b, stride=1, padding=(dilation * (kh // 2), dilation * (kw // 2)),
                                   dilation=dilation)
    r = np.maximum(a, 0)
    s = r + x
    out = np.maximum(s, 0)
    return out, (conv_cache, a, s)


def residual_block_backward(dout, cache):
    """The skip path gives the input a second, direct gradient: dx = dx_conv + ds. Returns (dx, dw, db)."""
    conv_cache, a, s = cache
    ds = dout * (s > 0)          # through the final ReLU
    da = ds * (a > 0)            # through the inner ReLU into the convolution
    dx_conv, dw, db = conv2d_backward(da, conv_cache)
    return dx_conv + ds, dw, db
