"""Parameter and multiply-add counts by forward hooks (conv and fully-connected layers only).

A conv producing an (N_out, H, W) map with kernel K and C_in/groups inputs per output performs
K*K*(C_in/groups) multiply-adds per output value; a Linear layer performs in*out. This is the
convention of the MobileNet papers (BN, activations, pooling and additions are not counted).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["count_params", "count_macs", "layer_macs"]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_macs(model: nn.Module, input_size: int | tuple[int, int], in_chans: int = 3) -> list[tuple[str, str, int]]:
    """(layer name, layer type, multiply-adds) for every Conv2d/Linear in one forward pass of batch 1."""
    hw = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    out: list[tuple[str, str, int]] = []
    hooks = []

    def make_hook(name):
        def hook(m, inp, o):
            if isinstance(m, nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
                macs = o.shape[1] * o.shape[2] * o.shape[3] * k
            else:
                macs = m.in_features * m.out_features
            out.append((name, type(m).__name__, int(macs)))

        return hook

    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(make_hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_chans, *hw))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return out


def count_macs(model: nn.Module, input_size: int | tuple[int, int], in_chans: int = 3) -> int:
    """Total conv + FC multiply-adds for one image."""
    return sum(m for _, _, m in layer_macs(model, input_size, in_chans))
