"""The training recipe shared by every PyTorch experiment (nested in each experiment's Config as `train`)."""
from __future__ import annotations

from dataclasses import dataclass

from tamrin.errors import UserError
from tamrin.train.precision import AMP_DTYPES

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "cosine", "onecycle", "step", "triangle")
DEVICES = ("cpu", "cuda", "mps", "auto")


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    # per-step schedule: none | cosine | onecycle | step (x0.1 at 50% and 75%) | triangle (airbench: 0.2 -> 1 at
    # 23% of the run -> 0.07, linear)
    schedule: str = "cosine"
    warmup_epochs: float = 0.0  # linear warm-up, at most a quarter of the run (tamrin.train.budget)
    label_smoothing: float = 0.0
    early_stopping: int = 0  # patience in epochs without a better validation accuracy; 0 = off
    grad_clip: float = 0.0  # max global grad norm; 0 = off
    eval_batch_size: int = 512
    device: str = "cpu"
    amp: bool = False  # mixed precision; off by default: float32 numbers everywhere (benchmarks/amp.md measures bf16)
    amp_dtype: str = "auto"  # auto (bf16 on CPU, fp16 + GradScaler on CUDA/MPS) | bf16 | fp16
    # NHWC memory layout for 4-D inputs: measured 1.3-1.6x faster CPU convolution training (benchmarks/amp.md);
    # layers without 4-D weights (MLPs) are unaffected
    channels_last: bool = True
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    deterministic: bool = True  # deterministic kernels (warn_only) and cuDNN settings; see precision.py
    max_steps_per_epoch: int = 0  # 0 = full epoch (a cap is handy for smoke runs)
    # Plan the run to end after this many seconds of fit() wall clock (training + validation passes): the
    # number of steps is measured and re-planned each epoch, the schedule spans it; epochs is then the cap.
    # 0 = off (tamrin.train.budget)
    budget_s: float = 0.0
    time_budget_s: float = 0.0  # a hard stop after the epoch in which this many seconds passed (no re-planning); 0 = off
    bias_lr_scale: float = 1.0  # biases and norm parameters train at this x lr and 1/x weight decay (airbench: 64)
    lookahead: bool = False  # lookahead with an EMA of the weights, ends on the average (tamrin.train.lookahead)
    progress: bool = True

    def validate(self):
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"train.optimizer: {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"train.schedule: {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            raise UserError(f"train.device: {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.amp_dtype not in AMP_DTYPES:
            raise UserError(f"train.amp_dtype: {self.amp_dtype!r} is not one of {', '.join(AMP_DTYPES)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise UserError("train.epochs and train.batch_size must be at least 1")
        if self.budget_s < 0 or self.time_budget_s < 0:
            raise UserError("train.budget_s and train.time_budget_s must be >= 0 seconds")
        if self.bias_lr_scale <= 0:
            raise UserError(f"train.bias_lr_scale must be positive, got {self.bias_lr_scale}")
        if self.lr <= 0:
            raise UserError(f"train.lr must be positive, got {self.lr}")
