"""Named training recipes for CIFAR-sized images, as TrainConfig values (no hidden state).

`airbench`: the fast CNN's recipe after Keller Jordan's airbench94, converted to a mean-reduced loss:
airbench sums the loss over a batch of 1,024 with lr 11.5 / 7,850 (= 1.5 per mean loss; other batch sizes scale
it), momentum 0.85 (Nesterov), a per-step shrink of 0.002 (weight decay 0.00133 x lr 1.5), biases at 64x the rate with the
same shrink, label smoothing 0.2, a triangular schedule and lookahead. bf16 autocast where the CPU has native
bf16 instructions (tamrin.train.precision.cpu_has_bf16), fp16 + GradScaler on CUDA.

`budgeted`: the other CNNs' recipe with the same tricks where they apply (planned length, Nesterov SGD,
label smoothing, lookahead, mixed precision, channels_last) and their own one-cycle schedule.
"""
from __future__ import annotations

from tamrin.train.config import TrainConfig
from tamrin.train.precision import cpu_has_bf16

__all__ = ["airbench", "budgeted"]


def _amp(device: str) -> bool:
    """Mixed precision where it is native: on CUDA/MPS, and on a CPU only with bf16 instructions."""
    if device == "auto":
        import torch

        return torch.cuda.is_available() or cpu_has_bf16()
    return device != "cpu" or cpu_has_bf16()


def airbench(budget_s: float = 0.0, epochs: int = 10, device: str = "cpu", threads: int = 0, batch_size: int = 1024,
             **kw) -> TrainConfig:
    # airbench's rate is per summed loss, so per mean loss it grows with the batch: 1.5 at 1,024
    return TrainConfig(**{**dict(
        epochs=epochs if not budget_s else max(epochs, 200), batch_size=batch_size, optimizer="sgd",
        lr=1.5 * batch_size / 1024, momentum=0.85,
        nesterov=True, weight_decay=0.002 / 1.5, bias_lr_scale=64.0, schedule="triangle", label_smoothing=0.2,
        lookahead=True, budget_s=budget_s, amp=_amp(device), channels_last=True, device=device, threads=threads,
        eval_batch_size=1000), **kw})


def budgeted(budget_s: float = 0.0, epochs: int = 30, device: str = "cpu", threads: int = 0, **kw) -> TrainConfig:
    return TrainConfig(**{**dict(
        epochs=epochs if not budget_s else max(epochs, 200), batch_size=256, optimizer="sgd", lr=0.2, momentum=0.9,
        nesterov=True, weight_decay=5e-4, schedule="onecycle", label_smoothing=0.1, lookahead=True,
        budget_s=budget_s, amp=_amp(device), channels_last=True, device=device, threads=threads), **kw})
