"""Small statistics shared by the labs' reports."""
from __future__ import annotations

import numpy as np


def error_correlation(errors) -> np.ndarray:
    """Pearson correlation between members' 0/1 error vectors, (m, n) → (m, m)."""
    e = np.asarray(errors, dtype=np.float64)
    return np.corrcoef(e)


def mean_offdiag(c) -> float:
    c = np.asarray(c)
    i, j = np.triu_indices(len(c), 1)
    return float(np.nanmean(c[i, j]))


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y on log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
