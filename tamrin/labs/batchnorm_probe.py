"""Measurements of what batch normalisation does besides normalising.

- `batch_noise`: in training mode a sample's normalised activation depends on the other samples of
  its batch (through the batch mean and variance), so BN injects noise — a mild regulariser.
- `train_single_class`: if every mini-batch holds one class, the batch statistics themselves reveal
  the class; the network leans on them, and at test time (running statistics over all classes) it fails.
- `bias_before_bn`: a conv bias before BN is subtracted right back out with the batch mean.
- `scale_weights` / `recompute_bn_stats`: BN makes a layer invariant to the scale of its weights/inputs.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def first_bn(model: nn.Module) -> nn.BatchNorm1d:
    return next(m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)))


@torch.no_grad()
def batch_noise(model: nn.Module, x, probe: int = 0, batches: int = 20, batch: int = 32, seed: int = 0) -> dict:
    """Std over `batches` random batches (each containing sample `probe`) of that sample's output of the
    first BN layer in training mode, relative to its mean |activation|; eval mode gives exactly 0."""
    bn = first_bn(model)
    outs = []
    hook = bn.register_forward_hook(lambda m, i, o: outs.append(o[0].clone()))
    state = copy.deepcopy(model.state_dict())  # training-mode passes update running stats: restore them
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(batches):
        others = torch.randint(0, len(x), (batch - 1,), generator=g)
        model(torch.cat([x[probe:probe + 1], x[others]]))
    model.eval()
    model(torch.cat([x[probe:probe + 1], x[:batch - 1]]))
    model(torch.cat([x[probe:probe + 1], x[batch:2 * batch - 1]]))
    hook.remove()
    model.load_state_dict(state)
    train_outs, eval_outs = torch.stack(outs[:batches]), torch.stack(outs[batches:])
    scale = float(train_outs.abs().mean())
    return {"train_rel_std": float(train_outs.std(0).mean()) / scale,
            "eval_rel_std": float((eval_outs[0] - eval_outs[1]).abs().max()) / scale}


def single_class_batches(y, batch: int, seed: int) -> list[torch.Tensor]:
    """An epoch of batches, each drawn from a single class, in random order."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        out += list(idx.split(batch))
    return [out[i] for i in torch.randperm(len(out), generator=g)]


def train_single_class(model, x, y, epochs: int, lr: float, batch: int, seed: int = 0) -> dict:
    """SGD where every batch holds one class; returns train accuracy measured with batch statistics
    (single-class batches, as in training) and with the running statistics (eval mode)."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for e in range(epochs):
        model.train()
        for idx in single_class_batches(y, batch, seed * 1000 + e):
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@torch.no_grad()
def accuracy_with_batch_stats(model, x, y, batches) -> float:
    """Accuracy when BN uses the statistics of each given batch (training-mode normalisation),
    without letting those passes change the running statistics."""
    state = copy.deepcopy(model.state_dict())
    model.train()
    correct = sum(int((model(x[idx]).argmax(1) == y[idx]).sum()) for idx in batches if len(idx) > 1)
    n = sum(len(idx) for idx in batches if len(idx) > 1)
    model.load_state_dict(state)
    model.eval()
    return correct / n


@torch.no_grad()
def train_test_activation_gap(model, x, y, batch: int, seed: int = 0) -> float:
    """Mean |train-mode − eval-mode| output of the first BN layer over single-class batches, in units of
    the eval-mode output's standard deviation."""
    bn = first_bn(model)
    outs = []
    hook = bn.register_forward_hook(lambda m, i, o: outs.append(o.clone()))
    state = copy.deepcopy(model.state_dict())
    diffs, scale = [], []
    for idx in single_class_batches(y, batch, seed)[:20]:
        if len(idx) < 2:
            continue
        model.train()
        model(x[idx])
        model.eval()
        model(x[idx])
        tr, ev = outs[-2], outs[-1]
        diffs.append(float((tr - ev).abs().mean()))
        scale.append(float(ev.std()))
    hook.remove()
    model.load_state_dict(state)
    model.eval()
    return float(np.mean(diffs) / np.mean(scale))


@torch.no_grad()
def accuracy(model, x, y) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def bias_before_bn(channels: int = 4, seed: int = 0) -> dict:
    """conv(+bias) → BN in training mode: output is identical for any bias, and ∂L/∂bias = 0."""
    torch.manual_seed(seed)
    x = torch.randn(16, 3, 8, 8)
    conv = nn.Conv2d(3, channels, 3, padding=1)
    bn = nn.BatchNorm2d(channels)
    out1 = bn(conv(x))
    with torch.no_grad():
        conv.bias.add_(torch.randn(channels) * 5)
    out2 = bn(conv(x))
    conv.zero_grad()
    (out2 * torch.randn_like(out2)).sum().backward()
    return {"max_output_change": float((out1 - out2).detach().abs().max()), "bias_grad_norm": float(conv.bias.grad.norm()),
            "weight_grad_norm": float(conv.weight.grad.norm()), "bias_shift_norm": float(conv.bias.detach().norm())}


@torch.no_grad()
def recompute_bn_stats(model, x, batch: int = 256) -> nn.Module:
    """Re-estimate every BN layer's running mean/var on x (cumulative average over the batches)."""
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    if not bns:
        return model
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    model.train()
    for s in range(0, len(x), batch):
        model(x[s:s + batch])
    model.eval()
    return model


@torch.no_grad()
def scale_weights(model, alpha: float) -> nn.Module:
    """A copy with every Linear/Conv weight matrix multiplied by alpha (biases and BN parameters kept)."""
    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            mod.weight.mul_(alpha)
    return m


@torch.no_grad()
def compare_predictions(model_a, xa, model_b, xb) -> dict:
    model_a.eval(), model_b.eval()
    la, lb = model_a(xa), model_b(xb)
    return {"changed": float((la.argmax(1) != lb.argmax(1)).float().mean()),
            "logit_ratio": float(np.median((lb.norm(dim=1) / la.norm(dim=1).clamp_min(1e-12)).numpy()))}
