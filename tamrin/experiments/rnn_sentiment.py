"""rnn-sentiment: sentence sentiment on SST-5 (hw4.t3) with recurrent networks. PyTorch vanilla RNN, LSTM, GRU and
bidirectional LSTM (last hidden state vs mean over words), trained on whole sentences or on every labelled phrase
of the treebank, against a bag-of-words logistic regression; a from-scratch NumPy RNN; and hw4.t3 answered by
measurement: hooks count the softmax calls per sentence (1 for many-to-one, n for a tagger) and record what enters
each time step. Models are selected on the official dev split; a test.txt next to train/dev is evaluated too."""
from __future__ import annotations

from dataclasses import dataclass, field

from tamrin.data.sst import SST5_CLASSES
from tamrin.errors import UserError
from tamrin.experiments._rnn_hw import hw4_t3_measurement  # noqa: F401  (the answer key calls it from here)
from tamrin.experiments._rnn_models import ModelSpec
from tamrin.labs.threads import one_thread
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.train import TrainConfig

__all__ = ["Config", "run", "hw4_t3_measurement", "EXPERIMENT"]

FULL_MODELS = ["bow", "bow@phrase", "rnn", "lstm", "gru", "bilstm", "lstm-mean", "rnn@phrase", "lstm@phrase", "bilstm@phrase"]


def _sentence_train(**kw) -> TrainConfig:
    base = dict(epochs=6, batch_size=32, optimizer="adam", lr=2e-3, weight_decay=0.0, schedule="cosine", grad_clip=5.0,
                eval_batch_size=256, channels_last=False)
    return TrainConfig(**{**base, **kw})


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # a folder with train/dev[/test] (.txt PTB trees, .tsv, .csv) or one label<TAB>sentence file
    n_classes: int = 5
    class_names: list = field(default_factory=lambda: list(SST5_CLASSES))  # empty = "0".."n_classes-1"
    models: list = field(default_factory=lambda: list(FULL_MODELS))  # kind[-mean][@phrase], kind in bow rnn lstm gru bilstm
    train_fraction: float = 1.0  # stratified fraction of the training trees used
    min_count: int = 2  # words seen fewer times in training become <unk>
    max_len: int = 0  # truncate sentences to this many words (0 = never)
    embed_dim: int = 100
    hidden_dim: int = 128
    dropout: float = 0.5  # on the sentence vector, before the output layer
    embed_dropout: float = 0.0
    train: TrainConfig = field(default_factory=_sentence_train)  # sentence-level recurrent models
    phrase_train: TrainConfig = field(default_factory=lambda: _sentence_train(epochs=3, batch_size=128))
    bow_train: TrainConfig = field(default_factory=lambda: _sentence_train(epochs=6, batch_size=64, lr=5e-3, weight_decay=1e-6, grad_clip=0.0))
    numpy_cell: str = "rnn"  # the from-scratch model: rnn | lstm | gru
    numpy_train_limit: int = 0  # training sentences for the NumPy RNN (0 = all)
    numpy_epochs: int = 6
    numpy_embed_dim: int = 64
    numpy_hidden_dim: int = 64
    numpy_batch_size: int = 32
    numpy_lr: float = 5e-3
    numpy_grad_clip: float = 5.0
    examples_shown: int = 5  # most confident correct / wrong dev sentences listed

    @classmethod
    def quick(cls) -> "Config":
        return cls(models=["bow", "rnn", "lstm", "lstm@phrase"], train_fraction=0.3, embed_dim=64, hidden_dim=64,
                   train=_sentence_train(epochs=3), phrase_train=_sentence_train(epochs=2, batch_size=64),
                   bow_train=_sentence_train(epochs=5, batch_size=64, lr=5e-3, weight_decay=1e-6, grad_clip=0.0),
                   numpy_train_limit=1500, numpy_epochs=2, numpy_embed_dim=32, numpy_hidden_dim=32)

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        t = dict(epochs=2, max_steps_per_epoch=3, progress=False)
        return cls(models=["bow", "lstm", "gru@phrase"], train_fraction=0.03, embed_dim=16, hidden_dim=16,
                   train=_sentence_train(**t), phrase_train=_sentence_train(batch_size=64, **t),
                   bow_train=_sentence_train(lr=5e-3, **t), numpy_train_limit=64, numpy_epochs=2, numpy_hidden_dim=8,
                   numpy_embed_dim=8)

    def validate(self):
        specs = [ModelSpec.parse(str(m)) for m in self.models]
        if not specs:
            raise UserError("models: name at least one model, e.g. ['bow', 'lstm', 'lstm@phrase']")
        if len({s.name for s in specs}) != len(specs):
            raise UserError(f"models: a model is listed twice in {self.models}")
        if self.n_classes < 2:
            raise UserError(f"n_classes must be at least 2, got {self.n_classes}")
        if self.class_names and len(self.class_names) != self.n_classes:
            raise UserError(f"class_names has {len(self.class_names)} names for n_classes={self.n_classes}")
        if not 0 < self.train_fraction <= 1:
            raise UserError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if self.numpy_cell not in ("rnn", "lstm", "gru"):
            raise UserError(f"numpy_cell: {self.numpy_cell!r} is not one of rnn, lstm, gru")
        if min(self.embed_dim, self.hidden_dim, self.min_count) < 1:
            raise UserError("embed_dim, hidden_dim and min_count must be at least 1")
        for t in (self.train, self.phrase_train, self.bow_train):
            t.validate()
        return specs

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.class_names] if self.class_names else [str(i) for i in range(self.n_classes)]


@one_thread()  # small recurrent models: thread hand-offs cost more than they give on a 2-core CPU
def run(cfg: Config, run) -> list[Section]:
    from tamrin.experiments._rnn_report import report
    from tamrin.experiments._rnn_train import prepare, train_numpy, train_torch

    specs = cfg.validate()
    prep = prepare(cfg)
    for name, s in prep.splits.items():
        run.record_source(f"{name}: {s.source}")
        for reason, n in s.skipped.most_common():
            run.notice(f"{s.source}: skipped {n} line(s): {reason}")
    results = []
    for i, spec in enumerate(specs):
        run.info(f"rnn-sentiment: model {i + 1}/{len(specs)}: {spec.name} ({spec.label})")
        r = train_torch(spec, prep, cfg, run)
        results.append(r)
    run.info("rnn-sentiment: the NumPy RNN (tamrin.scratch)")
    numpy_res = train_numpy(prep, cfg, run)
    return report(cfg, run, prep, results, numpy_res)


EXPERIMENT = Experiment(
    name="rnn-sentiment",
    description="Sentence sentiment on SST-5 with RNN/LSTM/GRU/BiLSTM vs bag of words; hw4.t3 measured with hooks",
    exercise="hw4.t3: classifying an n-word sentence's sentiment (0..4) with an RNN at test time",
    config=Config, run=run, order=86, trains=True,
)
