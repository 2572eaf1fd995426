"""Dropout on linear regression, in closed form and by Monte Carlo.

Keep-mask dropout: every entry of X is kept with probability p (D_ij ~ Bernoulli(p), *keep* mask) and
the prediction is (D ⊙ X)w. Because E[D] = p and Var[D_ij] = p(1 − p), independently per entry,

    E_D ‖y − (D ⊙ X)w‖² = ‖y − pXw‖² + p(1 − p) ‖Γw‖²,   Γ = diag(XᵀX)^{1/2}.

So dropout is a data-dependent ridge penalty. With w̃ = pw the right side is
‖y − Xw̃‖² + (1 − p)/p ‖Γw̃‖², whose minimiser is ridge regression with the penalty matrix
λΓ² = (1 − p)/p diag(XᵀX).

Additive Gaussian dropout: J = ½(y − Σ_k (w_k + δ_k) x_k)², δ_k ~ N(0, α w_k²). Treating δ as
independent of w, E[∂J/∂w_i] = −(y − w·x) x_i (the noise averages out). Writing δ_k = w_k √α ε_k
and differentiating through the noise scale adds α w_i x_i²: the gradient of ½α Σ w_k² x_k², an L2
penalty weighted by the squared inputs.
"""
from __future__ import annotations

import numpy as np


def gamma(x) -> np.ndarray:
    """Γ = diag(XᵀX)^{1/2} as a vector of its diagonal."""
    return np.sqrt((x * x).sum(0))


def dropout_closed_form(x, y, w, p: float) -> float:
    """‖y − pXw‖² + p(1 − p)‖Γw‖²."""
    r = y - p * (x @ w)
    return float(r @ r + p * (1 - p) * np.sum((gamma(x) * w) ** 2))


def dropout_monte_carlo(x, y, w, p: float, samples: int = 20000, seed: int = 0, chunk: int = 2000) -> tuple[float, float]:
    """Mean of ‖y − (D ⊙ X)w‖² over `samples` keep masks D ~ Bernoulli(p), and its standard error."""
    rng = np.random.default_rng(seed)
    vals = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        d = rng.random((k, *x.shape)) < p
        r = y[None, :] - np.einsum("snd,d->sn", d * x[None], w)
        vals.append((r * r).sum(1))
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def ridge_equivalent(x, y, p: float) -> np.ndarray:
    """argmin_w of the expected dropout loss, via the ridge form in w̃ = pw, mapped back (w = w̃/p)."""
    g2 = np.diag((x * x).sum(0))
    w_tilde = np.linalg.solve(x.T @ x + (1 - p) / p * g2, x.T @ y)
    return w_tilde / p


def minimise_closed_form(x, y, p: float) -> np.ndarray:
    """argmin_w ‖y − pXw‖² + p(1 − p)‖Γw‖² solved directly from its normal equations (p²XᵀX + p(1−p)Γ²)w = pXᵀy."""
    g2 = np.diag((x * x).sum(0))
    return np.linalg.solve(p * p * x.T @ x + p * (1 - p) * g2, p * x.T @ y)


def gaussian_dropout_grads(x, y: float, w, alpha: float, samples: int = 200000, seed: int = 0) -> dict:
    """Monte Carlo mean of ∂J/∂w for both readings of the noise, with the two closed forms.

    x, w: vectors; y: scalar. Returns dict with mc_fixed, mc_reparam (Monte Carlo), se_fixed, se_reparam,
    closed_fixed = −(y − w·x)x, closed_reparam = closed_fixed + α w x².
    """
    rng = np.random.default_rng(seed)
    eps = rng.normal(size=(samples, len(w)))
    delta = w[None] * np.sqrt(alpha) * eps
    resid = y - ((w[None] + delta) * x[None]).sum(1)  # (samples,)
    g_fixed = -resid[:, None] * x[None]  # δ held fixed: ∂/∂w_i of ½(y − Σ(w_k + δ_k)x_k)²
    g_reparam = -resid[:, None] * x[None] * (1 + np.sqrt(alpha) * eps)  # δ_k = w_k√α ε_k moves with w
    closed_fixed = -(y - w @ x) * x
    return {"mc_fixed": g_fixed.mean(0), "se_fixed": g_fixed.std(0, ddof=1) / np.sqrt(samples),
            "mc_reparam": g_reparam.mean(0), "se_reparam": g_reparam.std(0, ddof=1) / np.sqrt(samples),
            "closed_fixed": closed_fixed, "closed_reparam": closed_fixed + alpha * w * x * x}
