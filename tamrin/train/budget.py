"""A training length planned from a wall-clock budget (`train.budget_s`), re-planned after every epoch.

Why: a learning-rate schedule only works when it runs to its end. Stopping a 60-epoch cosine after the epoch in
which 15 minutes passed leaves the model at a high rate, mid-schedule. Here the schedule's length is measured
instead of guessed: after a few calibration steps the plan is "as many optimizer steps as fit in the budget",
counting the per-epoch validation passes, and it is re-planned from the measured speed after each epoch (the
machine may be shared, the first steps are slower). The schedule reads `plan.total` at every step, so a
re-plan stretches or shrinks the remaining schedule instead of cutting it.

Time counted: the fit loop's wall clock (training steps + per-epoch validation), not data loading before it
nor the final evaluation after it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

CALIBRATION_STEPS = 6  # steps timed before the first plan (the first step, with allocations, is not counted)
MAX_WARMUP_FRACTION = 0.25  # warm-up never takes more than this share of a run (1 warm-up epoch of 1 is no run)


@dataclass
class StepPlan:
    total: int  # optimizer steps in the whole run (the schedule's length)
    warmup: int  # steps of linear warm-up
    steps_per_epoch: int
    budget_s: float = 0.0  # 0 = fixed length (cfg.epochs x steps_per_epoch)
    max_total: int = 0  # the cap: cfg.epochs x steps_per_epoch
    warmup_wanted: int = 0
    replans: int = 0

    @classmethod
    def fixed(cls, epochs: int, steps_per_epoch: int, warmup: int) -> "StepPlan":
        total = epochs * steps_per_epoch
        return cls(total, cap_warmup(warmup, total), steps_per_epoch, 0.0, total, warmup)

    @classmethod
    def budgeted(cls, budget_s: float, max_epochs: int, steps_per_epoch: int, warmup: int) -> "StepPlan":
        total = max_epochs * steps_per_epoch  # until calibrated: the cap (the first steps barely depend on it)
        return cls(total, cap_warmup(warmup, total), steps_per_epoch, budget_s, total, warmup)

    @property
    def epochs(self) -> int:
        return math.ceil(self.total / self.steps_per_epoch)

    def replan(self, steps_done: int, step_s: float, eval_s: float, elapsed_s: float, passes_done: int | None = None) -> None:
        """Set total so that steps_done + the remaining steps and their validation passes end at budget_s.

        step_s: measured seconds per optimizer step; eval_s: seconds of one validation pass (0 if none yet).
        """
        if not self.budget_s:
            return
        left = self.budget_s - elapsed_s
        spe, step_s = self.steps_per_epoch, max(step_s, 1e-9)
        done = steps_done // spe if passes_done is None else passes_done  # validation passes already run

        def cost(n: int) -> float:  # n more steps and the validation passes still to come (the current epoch's too)
            return n * step_s + (math.ceil((steps_done + n) / spe) - done) * eval_s

        n = max(0, min(int(left / (step_s + eval_s / spe)) + 1, self.max_total - steps_done))
        while n > 0 and cost(n) > left:  # the passes make the cost a staircase: step down onto it
            n -= 1
        tail = (steps_done + n) % self.steps_per_epoch
        if 0 < tail < self.steps_per_epoch / 4 and n - tail > 0:
            n -= tail  # a sliver of an epoch would cost a whole validation pass: end on the epoch boundary
        self.total = max(steps_done, min(self.max_total, steps_done + n))  # n = 0: the budget is spent, stop here
        self.warmup = min(self.warmup, cap_warmup(self.warmup_wanted, self.total))
        self.replans += 1

    def state(self) -> dict:
        return {"total": self.total, "warmup": self.warmup, "replans": self.replans}

    def load(self, st: dict) -> None:
        self.total, self.warmup, self.replans = st["total"], st["warmup"], st.get("replans", 0)


def cap_warmup(warmup: int, total: int) -> int:
    return min(warmup, int(MAX_WARMUP_FRACTION * total))
