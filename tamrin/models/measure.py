"""Measurements for the model comparison: size, latency and the depthwise-separable cost ratio.

Latency is the median of repeated eval-mode forward passes (the first calls are warm-up: they pay for
memory allocation and kernel selection); all timings use the current torch thread count.
"""
from __future__ import annotations

import io

import torch
from torch import nn

from tamrin.models.complexity import count_macs
from tamrin.models.export import _median_ms

__all__ = ["state_dict_mb", "separable_vs_full"]


def state_dict_mb(model: nn.Module) -> float:
    """Size of the saved float32 state_dict in megabytes (10^6 bytes): what a weight file costs on disk."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell() / 1e6


def separable_vs_full(channels=(32, 64, 128, 256), size: int = 8, batch: int = 16, k: int = 3,
                      repeats: int = 5) -> list[dict]:
    """Time one depthwise-separable layer against one full KxK conv with M = N channels.

    Theory (MobileNets eq. 5): separable / full multiply-adds = 1/N + 1/K^2. The measured ratio is
    usually worse: a depthwise conv does little arithmetic per byte moved, so CPUs run it far below
    their peak while a full conv runs close to it.
    """
    rows = []
    for n in channels:
        sep = nn.Sequential(nn.Conv2d(n, n, k, padding=k // 2, groups=n, bias=False), nn.Conv2d(n, n, 1, bias=False)).eval()
        full = nn.Conv2d(n, n, k, padding=k // 2, bias=False).eval()
        x = torch.randn(batch, n, size, size)

        def timed(m):
            def fn():
                with torch.inference_mode():
                    m(x)
            return _median_ms(fn, repeats, 2)

        t_sep, t_full = timed(sep), timed(full)
        macs_sep, macs_full = count_macs(sep, size, n), count_macs(full, size, n)
        rows.append({"channels": n, "theory": 1 / n + 1 / k**2, "macs_ratio": macs_sep / macs_full,
                     "ms_separable": t_sep, "ms_full": t_full, "time_ratio": t_sep / t_full})
    return rows
