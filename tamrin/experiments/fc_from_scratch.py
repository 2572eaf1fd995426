"""fc-from-scratch: the NumPy FullyConnectedNet + Solver on MNIST, five classic studies and a headline.

(a) overfit 50 examples; (b) SGD vs momentum vs RMSprop vs Adam; (c) dropout 0 / 0.25 / 0.5;
(d) batch norm vs none in a deep net with a poor initial scale; (e) zero / small-normal / Xavier / He init.
Headline: train on the MNIST training data (validation split for model selection) and evaluate on the test set.
The report text is in `_fc_report.py`; this file holds the config, the data and the training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tamrin.errors import UserError
from tamrin.registry import Experiment


@dataclass
class Headline:
    hidden_dims: list[int] = field(default_factory=lambda: [512])
    dropout: float = 0.2
    normalization: str = "batchnorm"
    reg: float = 1e-3
    lr: float = 2e-3
    lr_decay: float = 0.9
    epochs: int = 30
    batch_size: int = 64
    shift_augment: int = 2  # random translations of up to this many pixels (0 = off)


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    embedded: bool = False  # use the embedded scikit-learn digits instead of MNIST
    threads: int = 1  # BLAS threads (more threads on a busy machine can be much slower)
    max_train: int = 3000  # cap for the studies (a)-(e); the headline uses all training data
    val_fraction: float = 0.1
    study_epochs: int = 10
    dropout_epochs: int = 20
    overfit_epochs: int = 30
    headline: Headline = field(default_factory=Headline)

    @classmethod
    def quick(cls) -> "Config":
        # MNIST as in the full run (the embedded digits only when MNIST cannot be had): a quick report must not
        # present 8x8 digits under an MNIST heading
        return cls(max_train=1000, study_epochs=4, dropout_epochs=6, overfit_epochs=25,
                   headline=Headline(hidden_dims=[256], epochs=6))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(embedded=True, max_train=200, study_epochs=2, dropout_epochs=2, overfit_epochs=3,
                   headline=Headline(hidden_dims=[32], epochs=2))

    def validate(self):
        if not 0 < self.val_fraction < 0.5:
            raise UserError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        if min(self.study_epochs, self.dropout_epochs, self.overfit_epochs, self.headline.epochs) < 1:
            raise UserError("all epoch counts must be >= 1")
        if self.headline.normalization not in ("none", "batchnorm", "layernorm"):
            raise UserError(f"headline.normalization must be none, batchnorm or layernorm, got {self.headline.normalization!r}")
        if self.threads < 1:
            raise UserError("threads must be >= 1")


# --- data -------------------------------------------------------------------------------------------
@dataclass
class Data:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mean: float
    std: float
    side: int
    source: str
    is_fallback: bool

    def solver_data(self, max_train: int | None = None) -> dict:
        n = len(self.X_train) if max_train is None else min(max_train, len(self.X_train))
        return {"X_train": self.X_train[:n], "y_train": self.y_train[:n], "X_val": self.X_val, "y_val": self.y_val}


def load_data(cfg: Config, run=None) -> Data:
    """Flattened float32 images, standardised with the training mean/std; stratified validation split."""
    from tamrin.data import embedded_digits, load_mnist, stratified_split

    if cfg.embedded:
        tr, te = embedded_digits("train"), embedded_digits("test")
    else:
        tr = load_mnist(cfg.data_dir, "train", run=run)
        te = load_mnist(cfg.data_dir, "test", run=run)
    tr_idx, va_idx = stratified_split(tr.labels, cfg.val_fraction, cfg.seed)
    # shuffle the training part once so that the max_train prefix is a random, seed-fixed subset
    tr_idx = np.random.default_rng(cfg.seed).permutation(tr_idx)
    flat = lambda ds: ds.images.reshape(len(ds.images), -1).astype(np.float32) / 255.0  # noqa: E731
    Xa, Xt = flat(tr), flat(te)
    mean, std = float(Xa[tr_idx].mean()), float(Xa[tr_idx].std())
    norm = lambda X: (X - mean) / std  # noqa: E731
    return Data(norm(Xa[tr_idx]), tr.labels[tr_idx], norm(Xa[va_idx]), tr.labels[va_idx], norm(Xt), te.labels,
                mean, std, tr.images.shape[1], tr.source, bool(tr.is_fallback or te.is_fallback))


def shift_augment(max_shift: int, side: int, mean: float, std: float):
    """A Solver augment function: translate each image by up to max_shift pixels (background filled)."""
    background = (0.0 - mean) / std  # a black pixel after standardisation

    def augment(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(X)
        img = X.reshape(n, side, side)
        out = np.full_like(img, background)
        dy = rng.integers(-max_shift, max_shift + 1, n)
        dx = rng.integers(-max_shift, max_shift + 1, n)
        for sy in range(-max_shift, max_shift + 1):  # one vectorised copy per shift, not per image
            for sx in range(-max_shift, max_shift + 1):
                sel = np.flatnonzero((dy == sy) & (dx == sx))
                if sel.size == 0:
                    continue
                ys, yd = slice(max(-sy, 0), side - max(sy, 0)), slice(max(sy, 0), side - max(-sy, 0))
                xs, xd = slice(max(-sx, 0), side - max(sx, 0)), slice(max(sx, 0), side - max(-sx, 0))
                out[sel, yd, xd] = img[sel, ys, xs]
        return out.reshape(n, -1)

    return augment


# --- training helpers ---------------------------------------------------------------------------------
def train(data: dict, run, tag: str, hidden_dims, update_rule="adam", lr=1e-3, epochs=10, batch_size=100,
          seed=0, lr_decay=1.0, augment=None, **net_kwargs):
    """Train one FullyConnectedNet with the Solver and log every epoch under `tag`."""
    from tamrin.scratch.nets import FullyConnectedNet
    from tamrin.scratch.solver import Solver

    model = FullyConnectedNet(hidden_dims, input_dim=data["X_train"].shape[1], num_classes=10, seed=seed, **net_kwargs)
    optim_config = {"learning_rate": lr}
    if update_rule == "sgd_momentum":
        optim_config["momentum"] = 0.9

    ckpt = run.checkpoints_dir / f"{tag}.npz" if run is not None else None

    def log(solver, rec):
        # validation loss of this epoch's weights (test mode: no dropout, running batch-norm statistics),
        # so the report can draw loss curves for validation as well as training
        rec = {**rec, "val_loss": validation_loss(model, data["X_val"], data["y_val"])}
        if run is not None:
            # log first, then checkpoint: a kill in between leaves a record of an epoch the checkpoint
            # does not have, which the resume below truncates (the other order would lose the record)
            run.log(tag=tag, **rec)
            solver.save(ckpt)

    solver = Solver(model, data, update_rule, optim_config, lr_decay=lr_decay, batch_size=batch_size,
                    num_epochs=epochs, verbose=False, seed=seed, epoch_callback=log, augment=augment,
                    num_train_samples=None)
    if ckpt is not None and ckpt.exists():  # --resume: continue (or skip) this model
        solver.load(ckpt)
        done = solver.epoch
        run.truncate_metrics(lambda r: r.get("tag") != tag or r.get("epoch", 0) <= done)
    elif run is not None:  # killed between the first epoch's record and its checkpoint: start clean
        run.truncate_metrics(lambda r: r.get("tag") != tag)
    solver.train()
    return model, solver


def validation_loss(model, X: np.ndarray, y: np.ndarray, batch: int = 2000) -> float:
    """Mean softmax cross-entropy of the current weights on (X, y), without the L2 term."""
    total = 0.0
    for i in range(0, len(X), batch):
        s = model.loss(X[i:i + batch]).astype(np.float64)
        s -= s.max(1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(1, keepdims=True))
        total += float(-logp[np.arange(len(s)), y[i:i + batch]].sum())
    return total / max(1, len(X))


def hidden_activation_stats(model, X: np.ndarray) -> list[float]:
    """Standard deviation of each hidden layer's ReLU output in a test-mode forward pass."""
    from tamrin.scratch import layers as L

    h, out = X.astype(model.dtype), []
    for i in range(1, model.num_layers):
        h, _ = L.affine_forward(h, model.params[f"W{i}"], model.params[f"b{i}"])
        if model.normalization == "batchnorm":  # batch statistics of this batch (train-mode behaviour)
            h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-5) * model.params[f"gamma{i}"] + model.params[f"beta{i}"]
        h = np.maximum(h, 0)
        out.append(float(h.std()))
    return out


def distinct_units(W: np.ndarray, tol: float = 1e-7) -> int:
    """How many different hidden units (columns of W) there are, up to `tol`."""
    return int(len(np.unique(np.round(W.T / tol), axis=0)))


def run(cfg: Config, run):
    from threadpoolctl import threadpool_limits

    from tamrin.experiments._fc_report import run_studies

    with threadpool_limits(cfg.threads):
        return run_studies(cfg, run)


EXPERIMENT = Experiment(name="fc-from-scratch",
                        description="NumPy fully connected nets on MNIST: overfitting, optimizers, dropout, batch "
                                    "norm, initialisation, and a headline model trained on all training images",
                        exercise="fully connected networks from scratch (CS231n A2 style) with a Solver",
                        config=Config, run=run, order=33, trains=True)
