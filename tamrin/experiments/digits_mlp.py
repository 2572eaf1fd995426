"""digits-mlp: the first experiment end to end — a small PyTorch MLP on MNIST (or, failing that, the
embedded 8x8 digits), with curves, confusion matrices for train/validation/test, ROC and a full report."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from tamrin.data import load_mnist, stratified_split, to_tensor
from tamrin.errors import UserError
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.report import figures as figs
from tamrin.report.standard import evaluate_classification
from tamrin.report.training_report import fit_steps, train_config_settings, training_report
from tamrin.train import TrainConfig, fit


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.2
    val_fraction: float = 0.1
    train_limit: int = 0  # use at most this many training images (0 = all)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=20, batch_size=128, optimizer="adam", lr=1e-3, weight_decay=1e-4, schedule="cosine"))

    @classmethod
    def quick(cls) -> "Config":
        return cls(train=TrainConfig(epochs=4, batch_size=128, optimizer="adam", lr=2e-3, weight_decay=1e-4, schedule="cosine"))

    @classmethod
    def smoke(cls) -> "Config":  # a few steps, for tests (tests/test_resume_all.py)
        return cls(hidden=(32,), train_limit=600, train=TrainConfig(
            epochs=3, batch_size=64, optimizer="adam", lr=2e-3, weight_decay=1e-4, schedule="cosine", progress=False))

    def validate(self):
        if not 0 < self.val_fraction < 0.9:
            raise UserError(f"val_fraction must be in (0, 0.9), got {self.val_fraction}")
        if not 0 <= self.dropout < 1:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")
        if any(h < 1 for h in self.hidden):
            raise UserError(f"hidden sizes must be positive, got {self.hidden}")


class MLP(nn.Module):
    """Flatten → [Linear → ReLU → Dropout] × len(hidden) → Linear."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], num_classes: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        d = in_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, num_classes))
        self.net = nn.Sequential(*layers)
        self.model_spec = {"name": "tamrin.experiments.digits_mlp:MLP", "kwargs": {"in_features": in_features, "hidden": list(hidden), "num_classes": num_classes, "dropout": dropout}}

    def forward(self, x):
        return self.net(x)


def run(cfg: Config, run) -> list[Section]:
    train_ds = load_mnist(cfg.data_dir, "train", run=run)
    test_ds = load_mnist(cfg.data_dir, "test", run=run)
    if cfg.train_limit and cfg.train_limit < len(train_ds.labels):
        keep, _ = stratified_split(train_ds.labels, 1 - cfg.train_limit / len(train_ds.labels), cfg.seed)
        train_ds = train_ds.subset(keep)
    tr_idx, va_idx = stratified_split(train_ds.labels, cfg.val_fraction, cfg.seed)
    x_all, y_all = to_tensor(train_ds)
    x_te, y_te = to_tensor(test_ds)
    # normalise with statistics of the training part only (no peeking at validation/test)
    mean, std = float(x_all[tr_idx].mean()), float(x_all[tr_idx].std())
    norm = lambda x: (x - mean) / std  # noqa: E731
    x_tr, y_tr = norm(x_all[tr_idx]), y_all[tr_idx]
    x_va, y_va = norm(x_all[va_idx]), y_all[va_idx]
    x_te = norm(x_te)
    classes = train_ds.classes

    torch.manual_seed(cfg.seed)
    model = MLP(int(np.prod(x_tr.shape[1:])), cfg.hidden, len(classes), cfg.dropout)
    res = fit(model, (x_tr, y_tr), (x_va, y_va), cfg.train, run, tag="mlp", seed=cfg.seed,
              checkpoint_meta={"classes": list(classes), "normalize": {"mean": [mean], "std": [std]}})

    data = Section("Data")
    data.text(f"Source: {train_ds.source}. Test set: {test_ds.source}. Images are {x_tr.shape[2]}x{x_tr.shape[3]} "
              f"with {x_tr.shape[1]} channel(s). A stratified {cfg.val_fraction:.0%} of the training images (seed {cfg.seed}) "
              f"is held out for validation; the model is selected on validation accuracy and the test set is used only for the final numbers.")
    grid = figs.image_grid(train_ds.images[tr_idx[:32]], [classes[int(i)] for i in y_tr[:32]], ncols=8)
    data.figure(run.save_figure(grid, "samples"), "Training samples with their labels.", width=0.8, base=run.path)

    probs = {name: _probs(model, x) for name, x in (("train", x_tr), ("validation", x_va), ("test", x_te))}
    labels = {"train": y_tr.numpy(), "validation": y_va.numpy(), "test": y_te.numpy()}
    settings = train_config_settings(
        cfg.train, loss="cross-entropy (mean over the batch)", steps=fit_steps(len(y_tr), cfg.train, len(res.history), history=res.history),
        epochs=len(res.history),
        preprocessing=f"pixels scaled to [0, 1], then standardised with the training mean {mean:.4f} and std {std:.4f}",
        augmentation="none", extra={"dropout": cfg.dropout, "hidden layers": ", ".join(map(str, cfg.hidden))})
    sections = [data, *training_report(run, "mlp", history=res.history, best_epoch=res.best_epoch,
                                       splits={k: (labels[k], probs[k]) for k in labels}, classes=classes,
                                       settings=settings, model=model, example_input=x_tr[:2],
                                       title="Model and training")]
    results = {}
    for name in ("validation", "test", "train"):
        m, secs = evaluate_classification(run, name, labels[name], probs[name], classes, roc_curve=name != "train",
                                          confusion_matrix=False)
        results[name] = m
        sections += secs
    best = res.history[res.best_epoch - 1]
    summary = Section("Summary")
    summary.text(f"The best validation accuracy, {best['val_acc']:.2%}, came at epoch {res.best_epoch} of {len(res.history)}; "
                 f"with those weights the test accuracy is {results['test']['accuracy']:.2%} (macro-F1 {results['test']['macro_f1']:.4f}) "
                 f"and the train accuracy {results['train']['accuracy']:.2%}. The gap between train and test accuracy, "
                 f"{results['train']['accuracy'] - results['test']['accuracy']:+.2%}, measures over-fitting. Training took {res.seconds:.1f} s.")
    sections.insert(0, summary)
    return sections


def _probs(model, x) -> np.ndarray:
    from tamrin.train import predict

    return torch.softmax(predict(model, x), 1).numpy()


EXPERIMENT = Experiment(
    name="digits-mlp",
    description="A small PyTorch MLP on MNIST (embedded digits as fallback), end to end",
    exercise="Foundation: first network, metrics, confusion matrices, ROC, report",
    config=Config, run=run, order=10,
)
