"""Supervised FF training: positives carry the true label, negatives a wrong one (random or hard)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from tamrin.ff.labels import embed_label, hard_wrong_labels, random_wrong_labels
from tamrin.ff.net import FFNet
from tamrin.ff.trainer import adam, fit_epochs, lr_at


@dataclass
class FFTrain:
    """Optimisation settings shared by FF and its backprop baseline."""

    epochs: int = 30
    batch_size: int = 50
    lr: float = 0.001  # Adam; 0.01 killed the ReLUs and 0.003 plateaued higher on the validation split
    lr_decay: bool = True  # constant for the first half, then linear decay to 0
    schedule: str = "simultaneous"  # "simultaneous": every layer updates on every batch; "greedy": one layer at a time
    negatives: str = "random"  # "random" wrong label, or "hard": the wrong label the net finds most plausible


def total_epochs(cfg: FFTrain, n_layers: int) -> int:
    """Greedy training gives each layer the full `epochs`, one layer after the other."""
    return cfg.epochs * n_layers if cfg.schedule == "greedy" else cfg.epochs


def active_layers(cfg: FFTrain, n_layers: int, epoch: int) -> list[int]:
    if cfg.schedule == "greedy":
        return [epoch // cfg.epochs]
    return list(range(n_layers))


def layer_stats(active, losses, gp, gn) -> dict:
    """Per-layer loss and goodness as detached 0-d tensors: fit_epochs reads them with one sync per batch."""
    stats = {"loss": torch.stack([l.detach().double() for l in losses]).sum()}
    for i, l, p, q in zip(active, losses, gp, gn):
        stats[f"loss_l{i}"] = l.detach()
        stats[f"gpos_l{i}"] = p.detach()
        stats[f"gneg_l{i}"] = q.detach()
    return stats


def supervised_negatives(net: FFNet, x: torch.Tensor, y: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Wrong labels for a batch: never the true one (see labels.py)."""
    if kind == "hard":
        return hard_wrong_labels(net.label_scores(x), y)
    return random_wrong_labels(y, generator)


def train_supervised(net: FFNet, x_tr: torch.Tensor, y_tr: torch.Tensor, cfg: FFTrain, run, tag: str,
                     generator: torch.Generator, eval_fn: Callable | None = None) -> list[dict]:
    """Train `net` on flattened images x_tr (N, 784) with labels y_tr; returns the per-epoch history."""
    n_layers = len(net.layers)
    epochs = total_epochs(cfg, n_layers)
    opt = adam(net.parameters(), lr=cfg.lr)

    def batch_fn(idx, epoch):
        x, y = x_tr[idx], y_tr[idx]
        wrong = supervised_negatives(net, x, y, cfg.negatives, generator)
        active = active_layers(cfg, n_layers, epoch)
        losses, gp, gn = net.local_losses(embed_label(x, y), embed_label(x, wrong), active)
        return sum(losses), layer_stats(active, losses, gp, gn)

    per = cfg.epochs if cfg.schedule == "greedy" else epochs  # greedy: every layer gets its own lr schedule
    return fit_epochs(net, opt, batch_fn, len(x_tr), epochs, cfg.batch_size, cfg.lr, run, tag, generator,
                      eval_fn, cfg.lr_decay, epoch_lr=lambda e: lr_at(e % per, per, cfg.lr, cfg.lr_decay))
