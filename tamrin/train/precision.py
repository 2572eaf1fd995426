"""Device-dependent numerics in one place: deterministic mode, mixed precision (autocast + GradScaler).

Why these choices:
- Deterministic mode (`train.deterministic`, on by default) asks PyTorch for deterministic kernels with
  `warn_only=True`: an op without a deterministic version warns instead of stopping a student's run.
  On CUDA it also pins cuDNN to deterministic algorithms (no autotuning) and sets
  CUBLAS_WORKSPACE_CONFIG, which cuBLAS needs for reproducible matrix products. Off, cuDNN may
  autotune (`benchmark=True`), which is faster for fixed input shapes but not bit-reproducible.
- Mixed precision (`train.amp`): autocast runs matrix products and convolutions in a 16-bit type.
  bfloat16 has float32's exponent range, so it needs no loss scaling; float16 does: a GradScaler
  multiplies the loss before backward so small gradients do not underflow, and skips steps whose
  gradients overflowed. Its scale changes during training, so it is part of the checkpoint.
  `train.amp_dtype="auto"` picks bfloat16 on CPU and float16 on CUDA/MPS.
"""
from __future__ import annotations

import os
import sys
import warnings

import torch

from tamrin.errors import UserError

AMP_DTYPES = ("auto", "bf16", "fp16")


def configure_determinism(deterministic: bool, device_type: str = "cpu") -> None:
    """Switch PyTorch's global determinism settings (process-wide, as PyTorch's own switches are)."""
    if deterministic and device_type == "cuda":
        # must be set before cuBLAS creates its handle; harmless if it is already set by the user
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    _use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def _use_deterministic_algorithms(mode: bool) -> None:
    """torch.use_deterministic_algorithms(mode, warn_only=True) without its start-up cost.

    The public function also imports torch._inductor.config just to copy the flag for torch.compile;
    that import took 5 s of CPU on the course machine, in every run. tamrin does not compile models, so
    the kernel flag is set directly and the inductor flag only when inductor is already loaded.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # pragma: no cover - a future torch without the private setter
        torch.use_deterministic_algorithms(mode, warn_only=True)
        return
    setter(mode, warn_only=True)
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = mode


def amp_dtype(device: torch.device, name: str = "auto") -> torch.dtype:
    if name not in AMP_DTYPES:
        raise UserError(f"train.amp_dtype: {name!r} is not one of {', '.join(AMP_DTYPES)}")
    if name == "bf16":
        return torch.bfloat16
    if name == "fp16":
        return torch.float16
    return torch.bfloat16 if device.type == "cpu" else torch.float16


def autocast(device: torch.device, enabled: bool, dtype_name: str = "auto"):
    """The autocast context for a forward pass (a no-op context when AMP is off)."""
    if not enabled:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=amp_dtype(device, dtype_name))


def make_scaler(device: torch.device, enabled: bool, dtype_name: str = "auto") -> torch.amp.GradScaler:
    """A GradScaler that is active only for float16 autocast (bfloat16 and float32 need no loss scaling).

    A disabled scaler passes scale()/step()/update() straight through, so the training loop has one path.
    """
    use = enabled and amp_dtype(device, dtype_name) == torch.float16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "GradScaler is enabled, but CUDA is not available" and the like
        return torch.amp.GradScaler(device.type if use else "cpu", enabled=use)


def cpu_has_bf16() -> bool:
    """Whether this CPU executes bfloat16 natively (AVX512-BF16 or AMX; ARM: BF16): only then is bf16
    autocast a speed-up (median 1.9-2.4x over float32 on the course's AVX512-BF16 CPU, benchmarks/amp.md); without it,
    bf16 is emulated and slower than float32."""
    try:
        flags = _cpu_flags()
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def _cpu_flags() -> set[str]:
    with open("/proc/cpuinfo") as f:  # Linux; elsewhere OSError -> no bf16 claimed
        for line in f:
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    return set()
