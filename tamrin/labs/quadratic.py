"""Gradient descent and Newton's method on the quadratic bowl f(w) = wᵀHw, H = QΛQᵀ.

The gradient is 2Hw, so one GD step is w ← (I − 2εH)w. In the eigenbasis v = Qᵀw every coordinate
evolves on its own: v_i ← (1 − 2ελ_i)v_i. It shrinks iff |1 − 2ελ_i| < 1, i.e. 0 < ε < 1/λ_i, so GD
converges iff 0 < ε < 1/λ_max (for ½wᵀHw the gradient is Hw and the bound becomes 2/λ_max).
Newton's step w ← w − H_f⁻¹∇f with H_f = 2H lands on the minimum w = 0 in one step from anywhere.
"""
from __future__ import annotations

import numpy as np


def make_hessian(eigenvalues, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """H = QΛQᵀ with a random orthogonal Q (QR of a Gaussian matrix). Returns (H, Q)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(len(lam), len(lam))))
    q = q * np.sign(np.diag(r))  # a unique, properly random Q
    return q @ np.diag(lam) @ q.T, q


def f(w, h, half: bool = False) -> float:
    """wᵀHw (or ½wᵀHw)."""
    return float((0.5 if half else 1.0) * w @ h @ w)


def grad(w, h, half: bool = False) -> np.ndarray:
    return (1.0 if half else 2.0) * h @ w


def gd(w0, h, lr: float, steps: int, half: bool = False) -> np.ndarray:
    """The GD trajectory w_0 .. w_steps as a (steps + 1, n) array (stops growing once it overflows)."""
    ws = [np.asarray(w0, dtype=np.float64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            ws.append(ws[-1] - lr * grad(ws[-1], h, half))
    return np.array(ws)


def predicted_threshold(h, half: bool = False) -> float:
    """The largest stable learning rate: 1/λ_max for wᵀHw, 2/λ_max for ½wᵀHw."""
    lam_max = float(np.linalg.eigvalsh(h).max())
    return (2.0 if half else 1.0) / lam_max


def converges(w0, h, lr: float, steps: int = 400, half: bool = False) -> bool:
    """Did GD shrink ‖w‖ by a factor 1e3 within `steps` steps (the measured criterion)?"""
    ws = gd(w0, h, lr, steps, half)
    with np.errstate(over="ignore", invalid="ignore"):
        end = np.linalg.norm(ws[-1])
    return bool(np.isfinite(end) and end < 1e-3 * np.linalg.norm(ws[0]))


def stable(w0, h, lr: float, steps: int = 2000, half: bool = False) -> bool:
    """Is ‖w_steps‖ ≤ ‖w_0‖? Below the bound every eigen-coordinate shrinks; above it the top one grows."""
    with np.errstate(over="ignore", invalid="ignore"):
        end = np.linalg.norm(gd(w0, h, lr, steps, half)[-1])
    return bool(np.isfinite(end) and end <= np.linalg.norm(w0))


def measured_threshold(w0, h, half: bool = False, lo: float = 1e-6, hi: float = 100.0, iters: int = 25,
                       steps: int = 600) -> float:
    """Bisection on the learning rate between a stable `lo` and an unstable `hi`, by running GD.

    The formula is not used: each probe runs `steps` GD steps and asks whether the iterate grew.
    Near the bound the growth factor |1 − 2ελ_max| → 1, so the answer is as precise as `steps` allows.
    """
    if not stable(w0, h, lo, steps, half) or stable(w0, h, hi, steps, half):
        raise ValueError("the bracket [lo, hi] must be stable at lo and unstable at hi")
    for _ in range(iters):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if stable(w0, h, mid, steps, half) else (lo, mid)
    return float(np.sqrt(lo * hi))


def newton_step(w, h, half: bool = False) -> np.ndarray:
    """w − (∇²f)⁻¹∇f; ∇²f = 2H (or H), solved rather than inverted."""
    k = 1.0 if half else 2.0
    return w - np.linalg.solve(k * h, grad(w, h, half))


def hessian_cost(n_params: int, bytes_per_value: int = 4) -> dict:
    """Memory of a dense Hessian (n² values) and the cubic cost of solving with it."""
    n = int(n_params)
    return {"params": n, "hessian_bytes": n * n * bytes_per_value, "gradient_bytes": n * bytes_per_value,
            "solve_flops": (2 / 3) * float(n) ** 3}


def human_bytes(b: float) -> str:
    """Binary units (powers of 1024) named as such: KiB, MiB, GiB, TiB, PiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(b) < 1024 or unit == "PiB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} PiB"
