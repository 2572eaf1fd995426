"""What an answer is: `Answer` (the structured result of one question), `Check` (one independent
confirmation of it) and the helpers that make both from numbers, so no check or verdict is ever a
hard-coded string.

An answer function computes its values with tamrin's library and confirms them by a different route
(autograd vs formula, finite differences, Monte Carlo with its standard error, brute force, sympy,
a PyTorch module's parameter count). A solution-set answer also states the student's claim and gets a
verdict computed by comparing the claim with the computation (`verdict_numbers`, `verdict_claims`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VERDICTS = ("correct", "wrong", "partly", "unsupported")


@dataclass
class Check:
    method: str  # how it was confirmed, e.g. "torch autograd", "finite differences", "Monte Carlo (n=100000)"
    passed: bool
    max_abs_diff: float | None = None
    detail: str = ""


@dataclass
class Answer:
    answer: str  # the answer in words (a few sentences; numbers in it come from `values`)
    values: dict = field(default_factory=dict)  # name -> number | nested list of numbers | str
    how: str = ""  # how it was computed (which tamrin functions)
    checks: list = field(default_factory=list)  # [Check], at least one
    claim: str | None = None  # solution sets: what the student's solution says (quoting its formula or number)
    verdict: str | None = None  # solution sets: one of VERDICTS, computed
    assumptions: list = field(default_factory=list)  # reconstructions of missing text, conventions chosen
    tables: list = field(default_factory=list)  # [(columns, rows, caption)] shown in the report
    figures: list = field(default_factory=list)  # [(path relative to the output folder, caption)]


class Context:
    """What an answer function gets: where to save figures, a seed, and a numpy generator."""

    def __init__(self, out: str | Path, seed: int = 0):
        self.out = Path(out)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def figure(self, fig, name: str, dpi: int = 120) -> str:
        """Save a matplotlib figure as figures/<name>.png in the output folder; returns its relative path."""
        import matplotlib.pyplot as plt

        from tamrin.runs import atomic_write_bytes
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        rel = Path("figures") / f"{name}.png"
        atomic_write_bytes(self.out / rel, buf.getvalue())
        return str(rel)


def plain(v: Any) -> Any:
    """numpy / torch values -> plain Python numbers and nested lists (the JSON schema's rule)."""
    if hasattr(v, "detach"):  # torch tensor
        v = v.detach().cpu().numpy()
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return v


def max_abs_diff(a, b) -> float:
    a, b = np.asarray(plain(a), dtype=float), np.asarray(plain(b), dtype=float)
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def close(method: str, got, expected, atol: float = 1e-9, rtol: float = 1e-7, detail: str = "") -> Check:
    """A check that `got` equals `expected` (same shape, every entry within atol + rtol·|expected|)."""
    a, b = np.asarray(plain(got), dtype=float), np.asarray(plain(expected), dtype=float)
    d = max_abs_diff(a, b)
    ok = a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
    return Check(method, ok, d, detail)


def within_se(method: str, estimate: float, se: float, expected: float, k: float = 4.0, detail: str = "") -> Check:
    """A Monte Carlo check: |estimate − expected| ≤ k standard errors (k = 4: a false alarm about once in 16,000)."""
    d = abs(float(estimate) - float(expected))
    return Check(method, d <= k * float(se) + 1e-12, d, detail or f"estimate {estimate:.6g} ± {se:.2g} (SE) vs {expected:.6g}")


def holds(method: str, condition: bool, detail: str = "") -> Check:
    """A check of a condition that is not a number (an ordering, a sign, a shape)."""
    return Check(method, bool(condition), None, detail)


def verdict_numbers(claimed, truth, atol: float = 1e-9, rtol: float = 1e-7) -> str:
    """'correct' when the solution's number(s) equal the computed ones, else 'wrong'. Lists compare entry by entry
    and give 'partly' when some entries agree and some do not."""
    a, b = np.asarray(plain(claimed), dtype=float), np.asarray(plain(truth), dtype=float)
    if a.shape != b.shape:
        return "wrong"
    ok = np.abs(a - b) <= atol + rtol * np.abs(b)
    if ok.all():
        return "correct"
    return "partly" if ok.any() and a.size > 1 else "wrong"


def verdict_claims(parts: list[bool | None]) -> str:
    """A verdict from the solution's sub-claims, each True (confirmed by a computation), False (refuted) or
    None (qualitative: no computation backs or refutes it)."""
    decided = [p for p in parts if p is not None]
    if not decided:
        return "unsupported"
    if all(decided):
        return "correct" if len(decided) == len(parts) else "partly"
    return "wrong" if not any(decided) else "partly"
