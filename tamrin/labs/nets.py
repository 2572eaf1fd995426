"""Tiny networks for the regularisation lab: MLPs with/without batch norm, a deep sigmoid MLP, and
deep plain vs residual CNNs with a choice of initialisation. All take (N, 1, S, S) images."""
from __future__ import annotations

import torch
import torch.nn as nn


class MLP(nn.Module):
    """Flatten → [Linear → (BatchNorm) → act] × len(hidden) → Linear."""

    def __init__(self, d_in: int, hidden=(128, 128), bn: bool = False, act: str = "relu", classes: int = 10):
        super().__init__()
        layers, d = [nn.Flatten()], d_in
        for h in hidden:
            layers.append(nn.Linear(d, h))
            if bn:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU() if act == "relu" else nn.Sigmoid())
            d = h
        layers.append(nn.Linear(d, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self.net if isinstance(m, nn.Linear)]


class Block(nn.Module):
    """conv3×3 → ReLU, optionally with an identity shortcut around it: y = x + s·relu(conv(x)).

    Without BN, summing `depth` unscaled branches would grow the activation variance geometrically, so
    the branch is scaled by s = 1/√depth (the idea behind Fixup/SkipInit): the sum stays O(1)."""

    def __init__(self, ch: int, residual: bool, branch_scale: float = 1.0):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)
        self.residual, self.branch_scale = residual, branch_scale

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return x + self.branch_scale * y if self.residual else y


class DeepCNN(nn.Module):
    """stem conv → `depth` blocks (plain or residual) → global average pool → linear."""

    def __init__(self, depth: int, ch: int = 8, residual: bool = False, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(1, ch, 3, stride=2, padding=1)  # 14×14 → 7×7: 4× cheaper blocks
        self.blocks = nn.Sequential(*[Block(ch, residual, depth ** -0.5) for _ in range(depth)])
        self.head = nn.Linear(ch, classes)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = self.blocks(x)
        return self.head(x.mean((2, 3)))

    def convs(self) -> list[nn.Conv2d]:
        return [self.stem] + [b.conv for b in self.blocks]


def init_weights(model: nn.Module, scheme: str, seed: int = 0, scale: float = 1.0) -> nn.Module:
    """zero | xavier | he | positive (U(0, scale), the saturating sigmoid case); biases set to 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                w = m.weight
                fan_in = w[0].numel()
                fan_out = w.shape[0] * (w[0, 0].numel() if w.dim() > 2 else 1)
                if scheme == "zero":
                    w.zero_()
                elif scheme == "xavier":  # Var = 2 / (fan_in + fan_out): keeps variance for linear/tanh units
                    w.copy_(torch.randn(w.shape, generator=g) * (2.0 / (fan_in + fan_out)) ** 0.5)
                elif scheme == "he":  # Var = 2 / fan_in: ReLU zeroes half the units, so double it
                    w.copy_(torch.randn(w.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                elif scheme == "positive":
                    w.copy_(torch.rand(w.shape, generator=g) * scale)
                else:
                    raise ValueError(f"unknown init {scheme!r}")
                if m.bias is not None:
                    m.bias.zero_()
    return model


def layer_grad_norms(model: nn.Module, layers, x, y) -> list[float]:
    """‖∂L/∂W‖ for each layer in `layers` after one forward/backward on (x, y)."""
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return [float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0 for m in layers]
