"""Unsupervised FF training: real digits are positive, mask hybrids of two digits are negative.

The FF network never sees a label: positives are plain images and negatives are hybrids. Labels
are only used (optionally, `pair="digit"`) to choose the *second* image of a hybrid among other
digits, as the course asks; `pair="image"` pairs with any other image and uses no label at all.
"""
from __future__ import annotations

from typing import Callable

import torch

from tamrin.ff.net import FFNet
from tamrin.ff.supervised import FFTrain, active_layers, layer_stats, total_epochs
from tamrin.ff.trainer import adam, fit_epochs, lr_at
from tamrin.ff.unsupervised import class_sorted_index, different_digit_partners, different_image_partners, hybrids, random_masks

PAIRS = ("digit", "image")


def make_hybrids(x_all: torch.Tensor, idx: torch.Tensor, shape: tuple[int, int], passes: int, generator: torch.Generator,
                 pair: str = "digit", index=None) -> torch.Tensor:
    """Fresh hybrids for the training rows `idx` (flattened), partners drawn from the whole set."""
    if pair == "digit":
        partner = different_digit_partners(index[1], index[0], generator)
    elif pair == "image":
        partner = different_image_partners(idx, x_all.shape[0], generator)
    else:
        raise ValueError(f"unknown pairing {pair!r}; choose one of {PAIRS}")
    # randomness is drawn on the CPU generator (checkpointed), then moved to the data's device
    masks = random_masks(len(idx), shape, passes, generator).reshape(len(idx), -1).to(x_all.device)
    return hybrids(x_all[idx], x_all[partner.to(x_all.device)], masks)


def train_unsupervised(net: FFNet, x_tr: torch.Tensor, y_tr: torch.Tensor | None, shape: tuple[int, int], passes: int,
                       cfg: FFTrain, run, tag: str, generator: torch.Generator, pair: str = "digit",
                       eval_fn: Callable | None = None) -> list[dict]:
    """x_tr: (N, H*W) images. y_tr only picks hybrid partners of a different digit (pair="digit")."""
    if pair == "digit" and y_tr is None:
        raise ValueError("pair='digit' needs labels to pick a different digit; use pair='image'")
    y_cpu = y_tr.cpu() if y_tr is not None else None  # partner choice runs on the CPU generator
    index = class_sorted_index(y_cpu) if pair == "digit" else None
    n_layers = len(net.layers)
    epochs = total_epochs(cfg, n_layers)
    opt = adam(net.parameters(), lr=cfg.lr)

    def batch_fn(idx, epoch):
        neg = make_hybrids(x_tr, idx, shape, passes, generator, pair, (index, y_cpu[idx]) if index is not None else None)
        active = active_layers(cfg, n_layers, epoch)
        losses, gp, gn = net.local_losses(x_tr[idx], neg, active)
        return sum(losses), layer_stats(active, losses, gp, gn)

    per = cfg.epochs if cfg.schedule == "greedy" else epochs
    return fit_epochs(net, opt, batch_fn, len(x_tr), epochs, cfg.batch_size, cfg.lr, run, tag, generator, eval_fn,
                      cfg.lr_decay, epoch_lr=lambda e: lr_at(e % per, per, cfg.lr, cfg.lr_decay))
