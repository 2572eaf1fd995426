"""A many-to-one sentence classifier from the scratch layers: embedding → RNN/LSTM over the words → the last
real hidden state (or the masked mean) → affine → ONE softmax over the classes (CS231n CaptioningRNN style:
`loss(ids, lengths, y)` returns (loss, grads); without y, the class scores)."""
from __future__ import annotations

import numpy as np

from tamrin.scratch import rnn as R
from tamrin.scratch.layers import affine_backward, affine_forward
from tamrin.scratch.losses import softmax_loss

CELLS = ("rnn", "lstm", "gru")


class RNNClassifier:
    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 32, hidden_dim: int = 32, cell: str = "rnn",
                 pool: str = "last", seed: int = 0, dtype=np.float64):
        if cell not in CELLS or pool not in ("last", "mean"):
            raise ValueError(f"cell must be one of {CELLS} and pool 'last' or 'mean'")
        rng = np.random.default_rng(seed)
        g = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
        D, H = embed_dim, hidden_dim
        # torch's default: uniform(±1/sqrt(H)) for recurrent weights; N(0, 1) embeddings like nn.Embedding
        k = 1 / np.sqrt(H)
        self.params = {"W_embed": rng.standard_normal((vocab_size, D)), "Wx": rng.uniform(-k, k, (D, g * H)),
                       "Wh": rng.uniform(-k, k, (H, g * H)), "b": np.zeros(g * H),
                       "W_out": rng.uniform(-k, k, (H, n_classes)), "b_out": np.zeros(n_classes)}
        if cell == "gru":
            self.params["bh"] = np.zeros(g * H)
        self.params["W_embed"][0] = 0.0  # the padding row: never used for a real word
        self.params = {n: p.astype(dtype) for n, p in self.params.items()}
        self.cell, self.pool, self.H = cell, pool, H

    def _recurrent(self, x, h0, mask):
        p = self.params
        if self.cell == "rnn":
            return R.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"], mask)
        if self.cell == "lstm":
            return R.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], mask)
        return R.gru_forward(x, h0, p["Wx"], p["Wh"], p["b"], p["bh"], mask)

    def _recurrent_backward(self, dh, cache):
        out = {"rnn": R.rnn_backward, "lstm": R.lstm_backward, "gru": R.gru_backward}[self.cell](dh, cache)
        dx, _, dWx, dWh, db = out[:5]
        g = {"Wx": dWx, "Wh": dWh, "b": db}
        if self.cell == "gru":
            g["bh"] = out[5]
        return dx, g

    def loss(self, ids, lengths, y=None):
        p = self.params
        ids, lengths = np.asarray(ids), np.asarray(lengths)
        mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]
        x, c_emb = R.word_embedding_forward(ids, p["W_embed"])
        h, c_rnn = self._recurrent(x, np.zeros((len(ids), self.H), x.dtype), mask)
        if self.pool == "last":
            pooled, c_pool = R.last_state_forward(h, lengths)
        else:
            pooled, c_pool = R.mean_state_forward(h, mask)
        scores, c_out = affine_forward(pooled, p["W_out"], p["b_out"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        dpooled, dW_out, db_out = affine_backward(dscores, c_out)
        dh = R.last_state_backward(dpooled, c_pool) if self.pool == "last" else R.mean_state_backward(dpooled, c_pool)
        dx, grads = self._recurrent_backward(dh, c_rnn)
        grads.update(W_out=dW_out, b_out=db_out, W_embed=R.word_embedding_backward(dx, c_emb))
        return loss, grads
