"""The backprop baseline: an MLP with the same hidden layers, trained end to end with cross-entropy.

It sees the plain image (no label pixels) and gets the same epochs, batch size, optimizer and
learning-rate schedule as the FF net, so the comparison is about the learning rule only.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tamrin.ff.trainer import adam, fit_epochs


def mlp(d_in: int, hidden: Sequence[int], num_classes: int = 10) -> nn.Sequential:
    dims = [d_in, *hidden]
    mods: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    mods.append(nn.Linear(dims[-1], num_classes))
    return nn.Sequential(*mods)


def train_backprop(model, x_tr, y_tr, epochs, batch_size, lr, run, tag, generator, eval_fn=None, lr_decay=True, weight_decay=0.0):
    opt = adam(model.parameters(), lr=lr, weight_decay=weight_decay)

    def batch_fn(idx, epoch):
        logits = model(x_tr[idx])
        loss = F.cross_entropy(logits, y_tr[idx])
        return loss, {"loss": loss.detach(), "train_err": (logits.argmax(1) != y_tr[idx]).float().mean()}

    return fit_epochs(model, opt, batch_fn, len(x_tr), epochs, batch_size, lr, run, tag, generator, eval_fn, lr_decay)


@torch.no_grad()
def mlp_error(model, x, y) -> float:
    model.eval()
    return float((model(x).argmax(1) != y).float().mean())
