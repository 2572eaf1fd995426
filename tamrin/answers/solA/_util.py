"""Small helpers shared by the solA answers: Monte Carlo checks of whole arrays, sub-claim tables, number formatting."""
from __future__ import annotations

import numpy as np

from tamrin.answers import within_se

SUBCLAIM_COLUMNS = ["the solution's sub-claim", "computed", "evidence"]


def status(v: bool | None) -> str:
    return "not decidable by computation" if v is None else ("confirmed" if v else "refuted")


def subclaims(rows: list[tuple[str, bool | None, str]]) -> tuple[list, tuple]:
    """[(sub-claim, True/False/None, evidence)] -> (parts for verdict_claims, a table for Answer.tables)."""
    parts = [r[1] for r in rows]
    table = (SUBCLAIM_COLUMNS, [[c, status(v), ev] for c, v, ev in rows], "The solution's sub-claims, each decided by a computation")
    return parts, table


def worst_entry_within_se(method: str, est, se, truth, k: float = 4.5):
    """A Monte Carlo check of a whole array: the entry farthest from the truth in standard errors must lie within k SE.
    (k = 4.5 over a few dozen entries keeps the family-wise false-alarm rate below 1e-3.)"""
    est, se, truth = (np.asarray(a, dtype=float).ravel() for a in (est, se, truth))
    z = np.abs(est - truth) / np.maximum(se, 1e-300)
    i = int(np.argmax(z))
    return within_se(method, est[i], se[i], truth[i], k=k,
                     detail=f"worst of {est.size} entries: {est[i]:.6g} ± {se[i]:.2g} (SE) vs {truth[i]:.6g} ({z[i]:.2f} SE)")


def agree_mc(est, se, truth, k: float = 4.5) -> bool:
    """True when every entry of a Monte Carlo estimate lies within k standard errors of `truth`."""
    est, se, truth = (np.asarray(a, dtype=float).ravel() for a in (est, se, truth))
    return bool(np.all(np.abs(est - truth) <= k * se + 1e-12))


def fmt(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}"
