"""tamrin.scratch.rnn: gradient checks (centred differences) and equality with torch.nn.RNN/LSTM/GRU with the same weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tamrin.scratch import rnn as R
from tamrin.scratch.gradcheck import check_layer, eval_numerical_gradient, rel_error
from tamrin.scratch.rnn_classifier import RNNClassifier

torch.set_num_threads(1)
N, T, D, H = 3, 4, 5, 6


def _data(seed=0, gates=1):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)),
            "Wx": rng.standard_normal((D, gates * H)) * 0.5, "Wh": rng.standard_normal((H, gates * H)) * 0.5,
            "b": rng.standard_normal(gates * H) * 0.5}


MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=float)


@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "padded"])
def test_rnn_sequence_gradcheck(mask):
    errs = check_layer(lambda **k: R.rnn_forward(**k, mask=mask), R.rnn_backward, _data())
    assert max(errs.values()) < 1e-7, errs


@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "padded"])
def test_lstm_sequence_gradcheck(mask):
    errs = check_layer(lambda **k: R.lstm_forward(**k, mask=mask), R.lstm_backward, _data(1, 4))
    assert max(errs.values()) < 1e-7, errs


def test_gru_sequence_gradcheck():
    d = _data(2, 3)
    d["bh"] = np.random.default_rng(5).standard_normal(3 * H)
    errs = check_layer(lambda x, h0, Wx, Wh, b, bh: R.gru_forward(x, h0, Wx, Wh, b, bh, MASK), R.gru_backward, d)
    assert max(errs.values()) < 1e-7, errs


def test_step_and_head_gradchecks():
    d = _data(3, 4)
    c0 = np.random.default_rng(4).standard_normal((N, H))

    def fwd(x, prev_h, prev_c, Wx, Wh, b):
        nh, nc, cache = R.lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
        return np.concatenate([nh, nc], 1), cache

    def bwd(dout, cache):
        return R.lstm_step_backward(dout[:, :H], dout[:, H:], cache)

    errs = check_layer(fwd, bwd, {"x": d["x"][:, 0], "prev_h": d["h0"], "prev_c": c0, "Wx": d["Wx"], "Wh": d["Wh"], "b": d["b"]})
    assert max(errs.values()) < 1e-7, errs
    rng = np.random.default_rng(6)
    errs = check_layer(R.temporal_affine_forward, R.temporal_affine_backward,
                       {"x": rng.standard_normal((N, T, D)), "w": rng.standard_normal((D, 7)), "b": rng.standard_normal(7)})
    assert max(errs.values()) < 1e-7, errs
    lengths = MASK.sum(1).astype(int)
    assert check_layer(lambda h: R.last_state_forward(h, lengths), R.last_state_backward, {"h": rng.standard_normal((N, T, H))})["h"] < 1e-7
    assert check_layer(lambda h: R.mean_state_forward(h, MASK), R.mean_state_backward, {"h": rng.standard_normal((N, T, H))})["h"] < 1e-7
    ids = np.array([[1, 2, 2, 0], [3, 1, 0, 0]])
    W = rng.standard_normal((5, D))
    out, cache = R.word_embedding_forward(ids, W)
    dout = rng.standard_normal(out.shape)
    num = eval_numerical_gradient(lambda w: np.sum(R.word_embedding_forward(ids, w)[0] * dout), W)
    assert rel_error(R.word_embedding_backward(dout, cache), num) < 1e-7


def test_temporal_softmax_loss_matches_torch_on_real_steps():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((N, T, 5)), rng.integers(0, 5, (N, T))
    loss, dx = R.temporal_softmax_loss(x, y, MASK)
    xt = torch.tensor(x, requires_grad=True)
    m = torch.tensor(MASK).bool()
    ref = torch.nn.functional.cross_entropy(xt[m], torch.tensor(y)[m])
    ref.backward()
    assert abs(loss - float(ref.detach())) < 1e-12 and rel_error(dx, xt.grad.numpy()) < 1e-10


def _torch_copy(kind, d, bh=None):
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](D, H, batch_first=True).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(d["Wx"].T))
        mod.weight_hh_l0.copy_(torch.tensor(d["Wh"].T))
        mod.bias_ih_l0.copy_(torch.tensor(d["b"]))
        mod.bias_hh_l0.copy_(torch.tensor(bh if bh is not None else np.zeros_like(d["b"])))
    return mod


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_sequence_equals_torch_with_copied_weights(kind):
    """Outputs and every gradient equal torch's nn.RNN/LSTM/GRU (float64) to ≤ 1e-6 relative; padded rows too (packed)."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    d = _data(8, gates)
    bh = np.random.default_rng(9).standard_normal(gates * H) * 0.5 if kind == "gru" else None
    mod = _torch_copy(kind, d, bh)
    x = torch.tensor(d["x"], requires_grad=True)
    h0 = torch.tensor(d["h0"], requires_grad=True)
    lengths = MASK.sum(1).astype(int)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    hx = (h0[None], torch.zeros_like(h0)[None]) if kind == "lstm" else h0[None]
    out, _ = mod(packed, hx)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    dout = np.random.default_rng(10).standard_normal((N, T, H)) * MASK[..., None]
    out.backward(torch.tensor(dout))
    if kind == "rnn":
        h, cache = R.rnn_forward(d["x"], d["h0"], d["Wx"], d["Wh"], d["b"], MASK)
        dx, dh0, dWx, dWh, db = R.rnn_backward(dout, cache)
    elif kind == "lstm":
        h, cache = R.lstm_forward(d["x"], d["h0"], d["Wx"], d["Wh"], d["b"], MASK)
        dx, dh0, dWx, dWh, db = R.lstm_backward(dout, cache)
    else:
        h, cache = R.gru_forward(d["x"], d["h0"], d["Wx"], d["Wh"], d["b"], bh, MASK)
        dx, dh0, dWx, dWh, db, dbh = R.gru_backward(dout, cache)
        assert rel_error(dbh, mod.bias_hh_l0.grad.numpy()) < 1e-6
    real = MASK.astype(bool)
    assert rel_error(h[real], out.detach().numpy()[real]) < 1e-6  # torch pads with 0, we copy the last state
    for mine, ref in ((dx, x.grad), (dh0, h0.grad), (dWx, mod.weight_ih_l0.grad.T), (dWh, mod.weight_hh_l0.grad.T),
                      (db, mod.bias_ih_l0.grad)):
        assert rel_error(mine, ref.numpy()) < 1e-6


@pytest.mark.parametrize("cell,pool", [("rnn", "last"), ("lstm", "mean"), ("gru", "last")])
def test_classifier_gradcheck_and_padding_invariance(cell, pool):
    net = RNNClassifier(vocab_size=9, n_classes=5, embed_dim=4, hidden_dim=3, cell=cell, pool=pool, seed=1)
    ids = np.array([[2, 3, 4, 5], [6, 7, 0, 0], [8, 0, 0, 0]])
    lengths, y = np.array([4, 2, 1]), np.array([0, 3, 4])
    loss, grads = net.loss(ids, lengths, y)
    for name, p in net.params.items():
        num = eval_numerical_gradient(lambda z: net.loss(ids, lengths, y)[0], p)
        assert rel_error(grads[name], num) < 1e-6, name
    wider = np.concatenate([ids, np.zeros((3, 5), int)], 1)  # more padding changes nothing
    np.testing.assert_allclose(net.loss(wider, lengths), net.loss(ids, lengths), rtol=0, atol=1e-12)
    alone = net.loss(ids[1:2, :2], lengths[1:2])  # nor does the batch a sentence sits in
    np.testing.assert_allclose(alone, net.loss(ids, lengths)[1:2], rtol=0, atol=1e-12)
