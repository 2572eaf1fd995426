"""Linear softmax read-outs on frozen features (the unsupervised probe, the one-pass read-out)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def fit_softmax(f: torch.Tensor, y: torch.Tensor, weight_decay: float, iters: int = 100, num_classes: int = 10) -> nn.Linear:
    """Multinomial logistic regression, full-batch L-BFGS from zero: deterministic, no lr to tune."""
    lin = nn.Linear(f.shape[1], num_classes).to(f.device)
    nn.init.zeros_(lin.weight)
    nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=iters, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(f), y) + 0.5 * weight_decay * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lin


@torch.no_grad()
def error_rate(lin: nn.Module, f: torch.Tensor, y: torch.Tensor) -> float:
    return float((lin(f).argmax(1) != y).float().mean())


def select_softmax(f_tr, y_tr, f_va, y_va, weight_decays: Sequence[float], iters: int = 100):
    """Fit one read-out per weight decay on the training part; keep the best on validation.

    Returns (model, chosen weight decay, {wd: validation error}).
    """
    best, scores = None, {}
    for wd in weight_decays:
        lin = fit_softmax(f_tr, y_tr, wd, iters)
        scores[wd] = error_rate(lin, f_va, y_va)
        if best is None or scores[wd] < scores[best[1]]:
            best = (lin, wd)
    return best[0], best[1], scores
