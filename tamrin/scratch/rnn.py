"""Recurrent layers from scratch (CS231n assignment 3 style): forward(...) -> (out, cache), backward(dout, cache).

Shapes: ids (N, T) ints, x (N, T, D), hidden states (N, T, H). Weights multiply on the right (x @ Wx, Wx of
shape (D, G·H)), i.e. the transpose of torch's weight_ih; torch's two biases b_ih + b_hh are one `b` here
(except the GRU, whose b_hn sits inside the reset gate and must stay apart).

Masking: `mask` (N, T) is 1 on real words and 0 on padding. A padded step copies the previous state
(h_t = h_{t-1}), so the state after the last step IS the state after the sentence's last word and padding can
never change a prediction; backpropagation through time passes the gradient of a padded step straight through.
Gate order of the LSTM and GRU is torch's (i, f, g, o) and (r, z, n), so torch weights copy over unchanged.
"""
from __future__ import annotations

import numpy as np

from tamrin.scratch.layers import sigmoid


def _mask(mask, n, t, dtype):
    return np.ones((n, t), dtype) if mask is None else np.asarray(mask, dtype)


# ------------------------------------------------------------------------------------------- embedding
def word_embedding_forward(ids, W):
    """ids (N, T) → W[ids] (N, T, D); a lookup is a product with one-hot rows, so its gradient is a scatter-add."""
    ids = np.asarray(ids)
    return W[ids], (ids, W.shape)


def word_embedding_backward(dout, cache):
    ids, shape = cache
    dW = np.zeros(shape, dtype=dout.dtype)
    np.add.at(dW, ids.ravel(), dout.reshape(-1, shape[1]))  # add.at: a word used twice gets both gradients
    return dW


# ----------------------------------------------------------------------------------------- vanilla RNN
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)  # tanh' = 1 - tanh²
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(0)


def rnn_forward(x, h0, Wx, Wh, b, mask=None):
    """Unroll over T steps. Returns all hidden states (N, T, H)."""
    n, t, _ = x.shape
    m = _mask(mask, n, t, x.dtype)
    h, prev, caches = np.zeros((n, t, h0.shape[1]), x.dtype), h0, []
    for s in range(t):
        step, c = rnn_step_forward(x[:, s], prev, Wx, Wh, b)
        prev = m[:, s, None] * step + (1 - m[:, s, None]) * prev
        h[:, s] = prev
        caches.append(c)
    return h, (caches, m, x.shape, Wx.shape)


def rnn_backward(dh, cache):
    """Backpropagation through time: dh (N, T, H) is the loss gradient w.r.t. every hidden state."""
    caches, m, xshape, wshape = cache
    dx = np.zeros(xshape, dh.dtype)
    dWx, dWh, db = np.zeros(wshape, dh.dtype), np.zeros((wshape[1], wshape[1]), dh.dtype), np.zeros(wshape[1], dh.dtype)
    dprev = np.zeros_like(dh[:, 0])
    for s in reversed(range(xshape[1])):
        g = dh[:, s] + dprev  # from the output at step s and from step s+1
        ms = m[:, s, None]
        dx[:, s], dp, dwx, dwh, dbb = rnn_step_backward(ms * g, caches[s])
        dprev = dp + (1 - ms) * g
        dWx += dwx
        dWh += dwh
        db += dbb
    return dx, dprev, dWx, dWh, db


# ---------------------------------------------------------------------------------------------- LSTM
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Gates a = x Wx + h Wh + b split as (i, f, g, o); c_t = f⊙c + i⊙g, h_t = o⊙tanh(c_t)."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tc = np.tanh(next_c)
    next_h = o * tc
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, g, o, tc)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, g, o, tc = cache
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)  # c reaches the loss directly and through h = o tanh(c)
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dc * i * (1 - g ** 2),
                         dnext_h * tc * o * (1 - o)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(0)


def lstm_forward(x, h0, Wx, Wh, b, mask=None, c0=None):
    n, t, _ = x.shape
    m = _mask(mask, n, t, x.dtype)
    H = h0.shape[1]
    h, prev_h, prev_c, caches = np.zeros((n, t, H), x.dtype), h0, np.zeros_like(h0) if c0 is None else c0, []
    for s in range(t):
        nh, nc, c = lstm_step_forward(x[:, s], prev_h, prev_c, Wx, Wh, b)
        ms = m[:, s, None]
        prev_h, prev_c = ms * nh + (1 - ms) * prev_h, ms * nc + (1 - ms) * prev_c
        h[:, s] = prev_h
        caches.append(c)
    return h, (caches, m, x.shape, Wx.shape)


def lstm_backward(dh, cache):
    caches, m, xshape, wshape = cache
    H = wshape[1] // 4
    dx = np.zeros(xshape, dh.dtype)
    dWx, dWh, db = np.zeros(wshape, dh.dtype), np.zeros((H, 4 * H), dh.dtype), np.zeros(4 * H, dh.dtype)
    dprev_h, dprev_c = np.zeros_like(dh[:, 0]), np.zeros_like(dh[:, 0])
    for s in reversed(range(xshape[1])):
        gh, ms = dh[:, s] + dprev_h, m[:, s, None]
        dx[:, s], dph, dpc, dwx, dwh, dbb = lstm_step_backward(ms * gh, ms * dprev_c, caches[s])
        dprev_h, dprev_c = dph + (1 - ms) * gh, dpc + (1 - ms) * dprev_c
        dWx += dwx
        dWh += dwh
        db += dbb
    return dx, dprev_h, dWx, dWh, db


# ----------------------------------------------------------------------------------------------- GRU
def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """torch.nn.GRU: r, z = σ(...), n = tanh(x Wxn + bxn + r⊙(h Whn + bhn)), h_t = (1 - z)⊙n + z⊙h."""
    H = prev_h.shape[1]
    ax, ah = x @ Wx + bx, prev_h @ Wh + bh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    nn_ = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * nn_ + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, nn_, ah[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, ahn = cache
    dn = dnext_h * (1 - z) * (1 - n ** 2)
    dz = dnext_h * (prev_h - n) * z * (1 - z)
    dr = dn * ahn * r * (1 - r)
    dax = np.concatenate([dr, dz, dn], 1)
    dah = np.concatenate([dr, dz, dn * r], 1)
    dprev = dnext_h * z + dah @ Wh.T
    return dax @ Wx.T, dprev, x.T @ dax, prev_h.T @ dah, dax.sum(0), dah.sum(0)


def gru_forward(x, h0, Wx, Wh, bx, bh, mask=None):
    n, t, _ = x.shape
    m = _mask(mask, n, t, x.dtype)
    h, prev, caches = np.zeros((n, t, h0.shape[1]), x.dtype), h0, []
    for s in range(t):
        step, c = gru_step_forward(x[:, s], prev, Wx, Wh, bx, bh)
        prev = m[:, s, None] * step + (1 - m[:, s, None]) * prev
        h[:, s] = prev
        caches.append(c)
    return h, (caches, m, x.shape, Wx.shape)


def gru_backward(dh, cache):
    caches, m, xshape, wshape = cache
    H = wshape[1] // 3
    dx = np.zeros(xshape, dh.dtype)
    dWx, dWh = np.zeros(wshape, dh.dtype), np.zeros((H, 3 * H), dh.dtype)
    dbx, dbh = np.zeros(3 * H, dh.dtype), np.zeros(3 * H, dh.dtype)
    dprev = np.zeros_like(dh[:, 0])
    for s in reversed(range(xshape[1])):
        g, ms = dh[:, s] + dprev, m[:, s, None]
        dx[:, s], dp, dwx, dwh, dbx_, dbh_ = gru_step_backward(ms * g, caches[s])
        dprev = dp + (1 - ms) * g
        dWx += dwx
        dWh += dwh
        dbx += dbx_
        dbh += dbh_
    return dx, dprev, dWx, dWh, dbx, dbh


# ------------------------------------------------------------------------------------ heads and pooling
def temporal_affine_forward(x, w, b):
    """The same affine map at every step: (N, T, D) → (N, T, M) (a many-to-many tagger's output layer)."""
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    x, w = cache
    n, t, d = x.shape
    return dout @ w.T, x.reshape(n * t, d).T @ dout.reshape(n * t, -1), dout.sum((0, 1))


def last_state_forward(h, lengths):
    """Many-to-one: the hidden state after each sentence's last real word, h[n, len_n - 1] → (N, H)."""
    lengths = np.asarray(lengths)
    return h[np.arange(len(lengths)), lengths - 1], (h.shape, lengths)


def last_state_backward(dout, cache):
    shape, lengths = cache
    dh = np.zeros(shape, dout.dtype)
    dh[np.arange(len(lengths)), lengths - 1] = dout
    return dh


def mean_state_forward(h, mask):
    """Many-to-one by mean pooling over the real steps only: Σ_t m_t h_t / Σ_t m_t → (N, H)."""
    m = np.asarray(mask, h.dtype)
    cnt = m.sum(1, keepdims=True)
    return (h * m[..., None]).sum(1) / cnt, (m, cnt)


def mean_state_backward(dout, cache):
    m, cnt = cache
    return (dout / cnt)[:, None, :] * m[..., None]


def temporal_softmax_loss(x, y, mask):
    """Mean over real steps of the per-step cross-entropy of scores x (N, T, C); returns (loss, dx)."""
    n, t, c = x.shape
    xf, yf, mf = x.reshape(n * t, c), np.asarray(y).reshape(-1), np.asarray(mask, x.dtype).reshape(-1)
    p = np.exp(xf - xf.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    denom = max(mf.sum(), 1.0)
    loss = -(np.log(p[np.arange(n * t), yf]) * mf).sum() / denom
    p[np.arange(n * t), yf] -= 1
    return float(loss), (p * mf[:, None] / denom).reshape(n, t, c)
