"""PyTorch sentence classifiers for rnn-sentiment: a recurrent many-to-one model (RNN, LSTM, GRU, bidirectional;
last state or masked mean) and a bag-of-words logistic regression. Inputs are right-padded id matrices
(0 = padding); every model finds each sentence's length itself, so padding never changes a prediction."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tamrin.errors import UserError

KINDS = ("bow", "rnn", "lstm", "gru", "bilstm")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the comparison, written `kind[-mean][@phrase]`: e.g. "lstm", "lstm-mean", "bilstm@phrase"."""
    kind: str
    pool: str = "last"  # last | mean
    level: str = "sentence"  # sentence | phrase (train on every labelled phrase of the training trees)

    @classmethod
    def parse(cls, text: str) -> "ModelSpec":
        body, _, level = text.partition("@")
        kind, _, pool = body.partition("-")
        spec = cls(kind, pool or "last", level or "sentence")
        if spec.kind not in KINDS or spec.pool not in ("last", "mean") or spec.level not in ("sentence", "phrase"):
            raise UserError(f"model {text!r}: write kind[-mean][@phrase] with kind one of {', '.join(KINDS)}, e.g. 'lstm-mean@phrase'")
        return spec

    @property
    def name(self) -> str:
        return self.kind + ("-mean" if self.pool == "mean" and self.kind != "bow" else "") + ("@phrase" if self.level == "phrase" else "")

    @property
    def label(self) -> str:
        if self.kind == "bow":
            what = "bag-of-words logistic regression"
        else:
            what = {"rnn": "vanilla tanh RNN", "lstm": "LSTM", "gru": "GRU", "bilstm": "bidirectional LSTM"}[self.kind]
            what += ", mean over words" if self.pool == "mean" else ", last hidden state"
        return what + (", phrase-level training" if self.level == "phrase" else "")


def lengths_of(x: torch.Tensor) -> torch.Tensor:
    return (x != 0).sum(1).clamp(min=1)


class BagOfWords(nn.Module):
    """Logistic regression on word counts: logits = W · counts(x) + b, W one row of C weights per word."""

    def __init__(self, vocab_size: int, n_classes: int):
        super().__init__()
        self.weights = nn.EmbeddingBag(vocab_size, n_classes, mode="sum", padding_idx=0)
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(torch.zeros(n_classes))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        return self.weights(x.long()) + self.bias

    def predict_proba(self, x):
        return self.softmax(self(x))


class SentenceRNN(nn.Module):
    """embedding → recurrent layer over the real words (packed: padding is never fed) → one sentence vector
    (the last hidden state — for a bidirectional layer the forward state after the last word joined with the
    backward state after the first — or the mean of the states over the real words) → dropout → affine
    → logits. `predict_proba` applies the single softmax of a many-to-one classifier."""

    def __init__(self, vocab_size: int, n_classes: int, kind: str = "lstm", pool: str = "last", embed_dim: int = 100,
                 hidden_dim: int = 128, dropout: float = 0.5, embed_dropout: float = 0.0):
        super().__init__()
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU, "bilstm": nn.LSTM}[kind]
        self.kind, self.pool = kind, pool
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.embed_drop = nn.Dropout(embed_dropout)
        self.rnn = cell(embed_dim, hidden_dim, batch_first=True, bidirectional=kind == "bilstm")
        self.dirs = 2 if kind == "bilstm" else 1
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(self.dirs * hidden_dim, n_classes)
        self.softmax = nn.Softmax(dim=-1)

    def encode(self, x):
        x = x.long()
        lengths = lengths_of(x)
        x = x[:, : int(lengths.max())]  # drop the batch's all-padding columns
        e = self.embed_drop(self.embedding(x))
        packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        if self.pool == "mean":
            out, _ = pad_packed_sequence(out, batch_first=True)  # zeros on padding: the sum covers real words only
            return out.sum(1) / lengths[:, None].to(out.dtype)
        h_n = h[0] if isinstance(h, tuple) else h  # (dirs, N, H): the state after each sentence's last real word
        return torch.cat(list(h_n), 1) if self.dirs == 2 else h_n[0]

    def forward(self, x):
        return self.head(self.drop(self.encode(x)))

    def predict_proba(self, x):
        return self.softmax(self(x))


def build_model(spec: ModelSpec, vocab_size: int, n_classes: int, embed_dim: int, hidden_dim: int, dropout: float,
                embed_dropout: float = 0.0) -> nn.Module:
    if spec.kind == "bow":
        return BagOfWords(vocab_size, n_classes)
    return SentenceRNN(vocab_size, n_classes, spec.kind, spec.pool, embed_dim, hidden_dim, dropout, embed_dropout)
