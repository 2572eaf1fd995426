"""Two-class softmax regression is logistic regression in disguise.

p(y = 1 | x) = e^{z₁}/(e^{z₁} + e^{z₂}) = σ(z₁ − z₂) = σ((W₁ − W₂)·x + (b₁ − b₂)): only the
differences matter. Adding the same vector to both rows (W₁ + c, W₂ + c) changes nothing, so the
softmax model has more parameters but represents exactly the logistic family.
"""
from __future__ import annotations

import numpy as np


def softmax2(x, w, b) -> np.ndarray:
    """Probabilities (n, 2) of a 2-class softmax with weights w (2, d) and biases b (2,)."""
    z = x @ w.T + b
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def logistic(x, v, c) -> np.ndarray:
    """σ(x·v + c): probability of the first class."""
    return 1.0 / (1.0 + np.exp(-(x @ v + c)))


def equivalence(x, w, b, shift_seed: int = 0) -> dict:
    """Max differences: softmax p₁ vs logistic with v = W₁ − W₂, c = b₁ − b₂; and softmax vs softmax
    with a common random shift added to both rows (which leaves the differences unchanged)."""
    p_soft = softmax2(x, w, b)[:, 0]
    p_log = logistic(x, w[0] - w[1], b[0] - b[1])
    rng = np.random.default_rng(shift_seed)
    cw, cb = rng.normal(size=w.shape[1]) * 3, rng.normal() * 3
    p_shift = softmax2(x, w + cw, b + cb)[:, 0]
    return {"max_diff_logistic": float(np.abs(p_soft - p_log).max()),
            "max_diff_shifted": float(np.abs(p_soft - p_shift).max()),
            "same_decisions": bool(np.array_equal(p_soft > 0.5, p_log > 0.5))}


def train_both(x, y, lr: float = 0.1, steps: int = 200) -> dict:
    """Full-batch GD from zero: softmax with rate lr and logistic regression with rate 2·lr.

    The softmax rows get opposite gradients, ±(p₁ − y₁)x, so W₁ − W₂ moves by 2·lr times the logistic
    gradient: from the same start both models trace the same function. y ∈ {0, 1} with 1 = first class.
    """
    n, d = x.shape
    w, b = np.zeros((2, d)), np.zeros(2)
    v, c = np.zeros(d), 0.0
    onehot = np.stack([y, 1 - y], 1).astype(np.float64)
    for _ in range(steps):
        p = softmax2(x, w, b)
        gz = (p - onehot) / n
        w -= lr * gz.T @ x
        b -= lr * gz.sum(0)
        q = logistic(x, v, c)
        gl = (q - y) / n
        v -= 2 * lr * x.T @ gl
        c -= 2 * lr * gl.sum()
    p1, q = softmax2(x, w, b)[:, 0], logistic(x, v, c)
    return {"w": w, "b": b, "v": v, "c": c, "max_prob_diff": float(np.abs(p1 - q).max()),
            "max_param_diff": float(max(np.abs(w[0] - w[1] - v).max(), abs(b[0] - b[1] - c))),
            "acc_softmax": float(((p1 > 0.5) == (y == 1)).mean()), "acc_logistic": float(((q > 0.5) == (y == 1)).mean())}
