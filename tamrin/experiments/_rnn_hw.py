"""hw4.t3, measured: a sentence unrolled one word at a time through a trained (or tiny) SentenceRNN, with forward
hooks that record what enters the recurrent layer at every step and count the softmax calls.

- many-to-one (the sentiment classifier): n recurrent steps, then ONE affine + softmax on h_n → one ŷ over
  the C sentiment classes;
- many-to-many tagger (for contrast): the same weights with the affine + softmax after EVERY step → n ŷ's.
Nothing here is typed in: the counts are hook counts and the inputs are identified by comparing the tensor
that entered the layer with the embedding table and with the previous step's output.
"""
from __future__ import annotations

import time

import torch

from tamrin.experiments._rnn_models import SentenceRNN

HW_SENTENCE = "the movie was not good at all"


class _Recorder:
    """Forward hooks on model.rnn (inputs of each step) and model.softmax (calls and their outputs)."""

    def __init__(self, model: SentenceRNN):
        self.steps, self.softmax_out = [], []
        self.handles = [model.rnn.register_forward_pre_hook(lambda m, args: self.steps.append(args)),
                        model.softmax.register_forward_hook(lambda m, i, o: self.softmax_out.append(o.detach().clone()))]

    def close(self):
        for h in self.handles:
            h.remove()


def _state(h):
    return h[0] if isinstance(h, tuple) else h  # LSTM: (h, c); the hidden state h is what the question is about


def _identify_input(x_t: torch.Tensor, table: torch.Tensor, itos) -> str:
    d = (table - x_t.reshape(1, -1)).abs().max(1).values
    k = int(d.argmin())
    return f"embedding({itos[k]!r})" if float(d[k]) == 0.0 else "an input that is no embedding row"


@torch.no_grad()
def unroll(model: SentenceRNN, ids: list[int], itos) -> dict:
    """Run one sentence step by step (batch of 1) through the model's own layers and measure everything."""
    if model.kind == "bilstm":
        raise ValueError("unroll: a bidirectional layer reads the sentence in both directions; unroll a one-way model")
    was = model.training
    model.eval()
    rec = _Recorder(model)
    try:
        x = model.embedding(torch.tensor([ids]))
        h, outs, steps = None, [], []
        for t in range(len(ids)):
            _, h_new = model.rnn(x[:, t:t + 1], h)
            outs.append(h_new)
            h = h_new
        # what the hooks saw at each step: (x_t, h_{t-1}); None = torch's default zero initial state
        for t, args in enumerate(rec.steps):
            x_in = args[0][0, 0]
            h_prev = args[1] if len(args) > 1 else None
            if h_prev is None:
                prev = "h_0 = 0 (the initial state)"
                prev_norm = 0.0
            else:
                same = torch.equal(_state(h_prev), _state(outs[t - 1]))
                prev = f"h_{t} (the output of step {t})" if same else "a state that is not the previous step's output"
                prev_norm = float(_state(h_prev).norm())
            steps.append({"t": t + 1, "word": itos[ids[t]], "x_t": _identify_input(x_in, model.embedding.weight, itos),
                          "h_prev": prev, "h_prev_norm": prev_norm, "h_norm": float(_state(outs[t]).norm())})
        n_rnn_calls = len(rec.steps)
        h_n = _state(h)[-1]
        rec.softmax_out.clear()
        probs = model.softmax(model.head(h_n))  # many-to-one: one softmax, after the last word
        m2o = [p for p in rec.softmax_out]
        rec.softmax_out.clear()
        for o in outs:  # a many-to-many tagger: the same output layer and softmax after every step
            model.softmax(model.head(_state(o)[-1]))
        tagger = [p for p in rec.softmax_out]
        rec.softmax_out.clear()
        packed = model.predict_proba(torch.tensor([ids]))  # the batched, packed path used for evaluation
    finally:
        rec.close()
        model.train(was)
    return {"n_words": len(ids), "rnn_calls": n_rnn_calls, "steps": steps,
            "softmax_calls_many_to_one": len(m2o), "softmax_calls_tagger": len(tagger),
            "probs": probs[0].tolist(), "prob_sums": [float(p.sum()) for p in m2o],
            "prob_sums_tagger": [float(p.sum()) for p in tagger], "tagger_probs": [p[0].tolist() for p in tagger],
            "n_classes": int(m2o[0].shape[-1]), "distribution_shape": list(m2o[0].shape),
            "packed_vs_unrolled_max_diff": float((packed[0] - probs[0]).abs().max())}


@torch.no_grad()
def count_softmax_per_sentence(model, x: torch.Tensor, batch_size: int = 256) -> dict:
    """Softmax calls and distributions while a many-to-one model classifies every sentence of x (hook count)."""
    calls, rows, sums = [], 0, []

    def hook(_m, _i, out):
        calls.append(tuple(out.shape))
        sums.append(out.sum(-1))

    h = model.softmax.register_forward_hook(hook)
    was = model.training
    model.eval()
    try:
        for i in range(0, len(x), batch_size):
            model.predict_proba(x[i:i + batch_size])
    finally:
        h.remove()
        model.train(was)
    rows = sum(c[0] for c in calls)
    s = torch.cat(sums) if sums else torch.zeros(0)
    return {"sentences": len(x), "softmax_module_calls": len(calls), "distributions": rows,
            "distributions_per_sentence": rows / max(1, len(x)), "n_classes": calls[0][-1] if calls else 0,
            "max_abs_sum_minus_1": float((s - 1).abs().max()) if len(s) else 0.0}


def hw4_t3_measurement(seed: int = 0) -> dict:
    """hw4.t3 measured on a tiny untrained vanilla-RNN sentiment classifier (made-up vocabulary of one sentence,
    5 classes): runs in well under a second without any data file. Every value is counted or measured."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    words = HW_SENTENCE.split()
    itos = ["<pad>", "<unk>"] + sorted(set(words))
    stoi = {w: i for i, w in enumerate(itos)}
    model = SentenceRNN(len(itos), 5, kind="rnn", embed_dim=8, hidden_dim=16, dropout=0.0)
    m = unroll(model, [stoi[w] for w in words], itos)
    return {"sentence": HW_SENTENCE, "n_words": m["rnn_calls"], "softmax_calls_many_to_one": m["softmax_calls_many_to_one"],
            "softmax_calls_tagger": m["softmax_calls_tagger"], "prob_sums": m["prob_sums"],
            "prob_sums_tagger": m["prob_sums_tagger"], "n_classes": m["n_classes"],
            "inputs_per_step": [f"step {s['t']}: x_{s['t']} = {s['x_t']}, {s['h_prev']}" for s in m["steps"]],
            "prediction": int(torch.tensor(m["probs"]).argmax()), "seconds": time.perf_counter() - t0}
