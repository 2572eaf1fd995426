"""A small PyTorch fit loop shared by every PyTorch experiment.

Why it looks the way it does:
- Data is a pair of in-memory tensors, batched by index: on a 2-core CPU a DataLoader with workers costs
  more than it saves, and decoded images already sit in memory (tamrin.data caches them).
- The shuffle order and augmentation of epoch e come from a generator seeded with (seed, e), and the
  global RNG state is checkpointed each epoch, so `--resume` after a kill reproduces an uninterrupted
  run's metrics bit for bit on CPU.
- One checkpoint per model tag, rewritten atomically every epoch; a finished tag is not retrained.
"""
from __future__ import annotations

import collections
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.errors import UserError
from tamrin.train.budget import CALIBRATION_STEPS, StepPlan
from tamrin.train.checkpoint import load_checkpoint, load_model_state, rng_state, save_checkpoint, set_rng_state
from tamrin.train import distributed as D
from tamrin.train.config import TrainConfig
from tamrin.train.lookahead import Lookahead
from tamrin.train.precision import autocast, configure_determinism, make_scaler
from tamrin.train.tta import tta_logits


# Per-epoch record keys that measure time: they differ between otherwise identical runs
TIMING_KEYS = ("seconds", "images_per_s", "elapsed_s")


class DivergedError(UserError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class FitResult:
    model: nn.Module
    history: list = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = float("nan")
    seconds: float = 0.0
    stopped_early: bool = False
    resumed_from: int = 0
    steps: int = 0  # optimizer steps the run was planned for (budgeted runs: measured, see tamrin.train.budget)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device=cuda but no CUDA GPU is available (use cpu or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("train.device=mps but MPS is not available (use cpu or auto)")
    return torch.device(name)


def param_groups(model: nn.Module, cfg: TrainConfig):
    """Parameters, split when cfg.bias_lr_scale != 1: vectors (biases, norm scales) at bias_lr_scale x lr and
    weight decay / bias_lr_scale, so lr x decay (the shrink per step) is the same for both (airbench)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.bias_lr_scale == 1:
        return params
    k = cfg.bias_lr_scale
    return [dict(params=[p for p in params if p.dim() > 1], lr=cfg.lr, weight_decay=cfg.weight_decay),
            dict(params=[p for p in params if p.dim() <= 1], lr=cfg.lr * k, weight_decay=cfg.weight_decay / k)]


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise UserError(f"unknown optimizer {cfg.optimizer!r}")


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base LR at optimizer step `step` (0-based) of `total`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "none" or total <= warmup:
        return 1.0
    t = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    if schedule == "onecycle":  # linear up to 30%, cosine down to 1/1000 (Smith & Topin's shape)
        if t < 0.3:
            return 0.04 + 0.96 * t / 0.3
        return 1e-3 + (1 - 1e-3) * 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7))
    if schedule == "step":
        return 1.0 if t < 0.5 else 0.1 if t < 0.75 else 0.01
    if schedule == "triangle":  # airbench94's: 0.2 -> 1 linearly until 23% of the run, then down to 0.07
        return 0.2 + 0.8 * t / 0.23 if t < 0.23 else 1.0 - 0.93 * min(1.0, (t - 0.23) / 0.77)
    raise UserError(f"unknown schedule {schedule!r}")


def _batches(order: torch.Tensor, batch_size: int):
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512, device: str | torch.device = "cpu",
            channels_last: bool = False, amp: bool = False, amp_dtype: str = "auto", tta: int = 0) -> torch.Tensor:
    """Logits for all of x (model put in eval mode), on the CPU; tta > 0 averages mirrored/shifted views."""
    device = torch.device(device) if not isinstance(device, torch.device) else device
    model.eval()
    outs = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device)
        if channels_last and xb.dim() == 4:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp, amp_dtype):
            outs.append(tta_logits(model, xb, tta).cpu())
    return torch.cat(outs) if outs else torch.empty(0)


def evaluate(model: nn.Module, data, batch_size: int = 512, loss_fn: Callable | None = None, **kw) -> dict:
    x, y = data
    logits = predict(model, x, batch_size, **kw)
    loss_fn = loss_fn or F.cross_entropy
    return {
        "loss": float(loss_fn(logits, y)),
        "acc": float((logits.argmax(1) == y).float().mean()),
        "logits": logits,
        "probs": torch.softmax(logits, 1),
    }


def fit(model: nn.Module, train, val, cfg: TrainConfig, run=None, tag: str = "model",
        augment: Callable | None = None, loss_fn: Callable | None = None, class_weights: torch.Tensor | None = None,
        seed: int = 0, callbacks: list | None = None, checkpoint_meta: dict | None = None,
        batches: Callable | None = None) -> FitResult:
    """Train `model` on `train` = (x, y) tensors, select the best epoch on `val` = (x, y) (or the last
    epoch when val is None), checkpointing into run.checkpoints_dir/<tag>.pt every epoch.

    augment(x_batch, generator) -> x_batch is applied to each training batch.
    callbacks: functions f(epoch_record) called after each epoch (e.g. extra logging).
    batches: batches(epoch) -> list of index tensors, that epoch's batches (e.g. length buckets for sequences,
    tamrin.data.sst.bucket_batches); the same number every epoch; default: a random permutation cut into batch_size.
    checkpoint_meta: stored in the checkpoint as-is (plain data: e.g. {"classes": [...], "input_size": 32,
    "normalize": {"mean": [...], "std": [...]}}) so tools such as `tamrin explain` can rebuild the inputs.
    """
    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    configure_determinism(cfg.deterministic, device.type)
    x_tr, y_tr = train
    if len(x_tr) == 0:
        raise UserError(f"{tag}: the training set is empty")
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    world = D.world_size()
    if world > 1 and cfg.batch_size % world:
        raise UserError(f"train.batch_size={cfg.batch_size} must be divisible by the {world} torchrun processes")
    local_bs = cfg.batch_size // world  # cfg.batch_size is the global batch
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = make_optimizer(param_groups(model, cfg), cfg)
    scaler = make_scaler(device, cfg.amp, cfg.amp_dtype)  # active only for float16 autocast
    if batches is not None and world > 1:
        raise UserError(f"{tag}: custom batches are not supported with torchrun")
    if cfg.budget_s and world > 1:
        raise UserError(f"{tag}: train.budget_s is not supported with torchrun (each process would plan its own length)")
    steps_per_epoch = len(batches(1)) if batches is not None else math.ceil(math.ceil(len(x_tr) / world) / local_bs)
    if cfg.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps_per_epoch)
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    plan = (StepPlan.budgeted(cfg.budget_s, cfg.epochs, steps_per_epoch, warmup) if cfg.budget_s
            else StepPlan.fixed(cfg.epochs, steps_per_epoch, warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, plan.total, plan.warmup, cfg.schedule))
    look = Lookahead(model) if cfg.lookahead else None
    cw = class_weights.to(device) if class_weights is not None else None
    crit = loss_fn or (lambda out, yb: F.cross_entropy(out, yb, weight=cw, label_smoothing=cfg.label_smoothing))
    per_sample = getattr(augment, "per_sample", False)  # augment(x, gen, idx, epoch), e.g. alternating flips
    replan_every = max(4, steps_per_epoch // 8)
    recent: collections.deque = collections.deque(maxlen=2 * replan_every)  # seconds of the latest steps

    ckpt_path = run.checkpoints_dir / f"{tag}.pt" if run is not None else None
    history: list[dict] = []
    start_epoch, best_acc, best_epoch, best_state, bad_epochs, elapsed = 1, -1.0, 0, None, 0, 0.0
    eval_s = 0.0  # seconds of the last validation pass (the budget plans with it)
    if ckpt_path is not None and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        load_model_state(model, ck["model"], f"checkpoint {ckpt_path}")
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        if ck.get("plan"):
            plan.load(ck["plan"])
        if look is not None and ck.get("lookahead"):
            look.load_state_dict(ck["lookahead"])
        set_rng_state(ck["rng"])
        history, best_acc, best_epoch = ck["history"], ck["best_val_acc"], ck["best_epoch"]
        best_state, bad_epochs, elapsed = ck.get("best_model"), ck["bad_epochs"], ck.get("seconds", 0.0)
        eval_s = ck.get("eval_s", 0.0)
        start_epoch = ck["epoch"] + 1
        run.truncate_metrics(lambda r: not (r.get("tag") == tag and r.get("epoch", 0) > ck["epoch"]))
        if ck.get("finished"):
            if best_state is not None:
                model.load_state_dict(best_state)
            return FitResult(model, history, best_epoch, best_acc, elapsed, ck.get("stopped_early", False), ck["epoch"], plan.total)
        run.info(f"{tag}: resuming after epoch {ck['epoch']}")
    elif run is not None:  # killed between logging epoch 1 and writing its checkpoint: start clean
        run.truncate_metrics(lambda r: r.get("tag") != tag)
    resumed_from = start_epoch - 1

    finished, stopped_early, epoch = False, False, start_epoch - 1
    while epoch < plan.epochs:  # plan.epochs may change when a budgeted run re-plans
        epoch += 1
        t0 = time.perf_counter()
        net.train()
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)  # augmentation draws of this epoch
        order = D.epoch_indices(len(x_tr), seed, epoch)  # this rank's share of the epoch permutation
        loss_sum, correct, seen = 0.0, 0, 0
        classify = False  # a regression (a decoder trained with MSE, say) has no accuracy to print
        bar = _progress(cfg, steps_per_epoch, f"{tag} {epoch}/{plan.epochs}")
        for step, idx in enumerate(batches(epoch) if batches is not None else _batches(order, local_bs)):
            if (cfg.max_steps_per_epoch and step >= cfg.max_steps_per_epoch) or sched.last_epoch >= plan.total:
                break
            ts = time.perf_counter()
            xb, yb = x_tr[idx], y_tr[idx]
            if augment is not None:
                xb = augment(xb, gen, idx, epoch) if per_sample else augment(xb, gen)
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if cfg.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast(device, cfg.amp, cfg.amp_dtype):
                out = net(xb)
                loss = crit(out.float(), yb)
            if not torch.isfinite(loss):
                bar.close()
                where = f"last good checkpoint: {ckpt_path}" if ckpt_path is not None and ckpt_path.exists() else "no checkpoint was written yet"
                raise DivergedError(f"{tag}: loss became {float(loss.detach())} at epoch {epoch}, step {step + 1} "
                                    f"(lr={sched.get_last_lr()[0]:.3g}); try a smaller train.lr; {where}")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(opt)  # skips the step when float16 gradients overflowed
            scaler.update()
            if step > 0 or epoch > 1:  # the very first step (allocations, kernel choice) is not the speed
                recent.append(time.perf_counter() - ts)
            last_of_epoch = step + 1 == steps_per_epoch
            if plan.budget_s and recent and (last_of_epoch or (step >= CALIBRATION_STEPS and (step - CALIBRATION_STEPS) % replan_every == 0)):
                # after a few timed steps, several times an epoch and at its last step, BEFORE the scheduler sets the
                # next rate: a machine that slows down shortens the plan before the budget is gone, and the run's
                # last step still gets the schedule's last rate
                per_step = sum(recent) / len(recent)  # the recent speed, not the run's average
                plan.replan(sched.last_epoch + 1, per_step, eval_s or per_step * _eval_steps(val, cfg, local_bs),
                            elapsed + time.perf_counter() - t0, passes_done=epoch - 1)
            sched.step()
            if look is not None:
                look.step(sched.last_epoch, sched.last_epoch / plan.total)
            n = len(yb)
            loss_sum += float(loss.detach()) * n
            if out.dim() == 2 and yb.dim() == 1:
                correct += int((out.argmax(1) == yb).sum())
                classify = True
            seen += n
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", **({"acc": f"{correct / seen:.3f}"} if classify else {}),
                            ips=f"{seen / (time.perf_counter() - t0):.0f}", refresh=False)
        bar.close()
        last = sched.last_epoch >= plan.total
        if last and look is not None:
            look.finish()  # the run ends on the averaged weights, so they are what is validated and kept
        loss_sum, correct, seen = D.all_reduce_sum([loss_sum, correct, seen])
        train_seconds = time.perf_counter() - t0
        rec = {"tag": tag, "epoch": epoch, "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
               "lr": opt.param_groups[0]["lr"], "seconds": train_seconds, "images_per_s": seen / max(train_seconds, 1e-9),
               "steps": sched.last_epoch, "classification": classify}
        if val is not None:
            te = time.perf_counter()
            ev = evaluate(model, val, cfg.eval_batch_size, loss_fn=loss_fn, device=device, channels_last=cfg.channels_last, amp=cfg.amp, amp_dtype=cfg.amp_dtype)
            eval_s = time.perf_counter() - te
            rec["val_loss"], rec["val_acc"] = ev["loss"], ev["acc"]
            improved = ev["acc"] > best_acc
        else:
            improved = True
        if improved:
            best_acc, best_epoch = rec.get("val_acc", float("nan")), epoch
            best_state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
        elapsed += time.perf_counter() - t0
        rec["elapsed_s"] = elapsed  # wall clock of fit so far (training + validation): accuracy vs time
        history.append(rec)
        if run is not None and D.is_main():
            run.log(rec)
            run.info(_epoch_line(rec))
        if cfg.early_stopping and bad_epochs >= cfg.early_stopping:
            stopped_early = True
        if cfg.time_budget_s and elapsed >= cfg.time_budget_s:
            stopped_early = True
        finished = epoch >= plan.epochs or stopped_early
        if ckpt_path is not None and D.is_main():
            save_checkpoint(ckpt_path, {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "scaler": scaler.state_dict(), "plan": plan.state(),
                "lookahead": look.state_dict() if look is not None else None,
                "rng": rng_state(), "epoch": epoch, "history": history, "best_val_acc": best_acc,
                "best_epoch": best_epoch, "best_model": best_state, "bad_epochs": bad_epochs, "seconds": elapsed,
                "eval_s": eval_s,
                "finished": finished, "stopped_early": stopped_early,
                "model_spec": copy.deepcopy(getattr(model, "model_spec", None)),
                **(checkpoint_meta or {}),
            })
        for cb in callbacks or []:  # after the checkpoint: a callback cannot spoil the saved state
            cb(rec)
        if stopped_early:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(model, history, best_epoch, best_acc, elapsed, stopped_early, resumed_from, plan.total)


def _eval_steps(val, cfg: TrainConfig, local_bs: int) -> float:
    """A validation pass in units of training steps (a forward pass costs about a third of a training step)."""
    return 0.0 if val is None else len(val[0]) / max(1, local_bs) / 3


def _epoch_line(r: dict) -> str:
    acc = r.get("classification", True)  # histories saved before the key existed were classifications
    s = f"  {r['tag']} epoch {r['epoch']}: train loss {r['train_loss']:.4f}" + (f" acc {r['train_acc']:.4f}" if acc else "")
    if "val_acc" in r:
        s += f" | val loss {r['val_loss']:.4f}" + (f" acc {r['val_acc']:.4f}" if acc else "")
    return s + f" | {r['images_per_s']:.0f} img/s"


class _NoBar:
    def update(self, n=1): ...
    def set_postfix(self, **kw): ...
    def close(self): ...


def _progress(cfg: TrainConfig, total: int, desc: str):
    if not cfg.progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=None, mininterval=0.5)
