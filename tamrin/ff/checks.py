"""Config checks both Forward-Forward experiments share (one clear line per mistake)."""
from __future__ import annotations

from tamrin.errors import UserError
from tamrin.ff.layers import GOODNESS, NORMS


def one_of(key: str, value, choices) -> None:
    if value not in choices:
        raise UserError(f"{key}: {value!r} is not one of {', '.join(repr(c) for c in choices)}")


def check_common(cfg) -> None:
    """device, norm, goodness, hidden widths and the FFTrain fields."""
    one_of("device", cfg.device, ("auto", "cpu", "cuda"))
    one_of("norm", cfg.norm, NORMS)
    one_of("goodness", cfg.goodness, GOODNESS)
    if not cfg.hidden or any(h <= 0 for h in cfg.hidden):
        raise UserError("hidden: give one or more positive layer widths, e.g. [500, 500, 500]")
    one_of("train.schedule", cfg.train.schedule, ("simultaneous", "greedy"))
    if cfg.train.epochs < 1 or cfg.train.batch_size < 1 or cfg.train.lr <= 0:
        raise UserError("train.epochs and train.batch_size must be >= 1 and train.lr > 0")
