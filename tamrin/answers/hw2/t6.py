"""Homework 2, question 6: J₁ = ½(y_d − Σ_k (w_k + δ_k)x_k)² with δ_k ~ N(0, αw_k²). The expected gradient
(Monte Carlo vs the closed form, both readings of how δ depends on w) and the regulariser it amounts to."""
from __future__ import annotations

import numpy as np
import torch

from tamrin.answers import Answer, answer, close, holds, within_se
from tamrin.labs.dropout_theory import gaussian_dropout_grads

ALPHA, N_SAMPLES = 0.5, 200_000


def _problem(ctx):
    rng = np.random.default_rng(ctx.seed)
    n = 4
    return rng.normal(size=n), float(rng.normal()), rng.normal(size=n)  # x, y_d, w


def _sympy_expected_gradient() -> bool:
    """sympy: E over ε ~ N(0, I) of ∂J/∂w_i with δ_k = √α w_k ε_k equals −(y − w·x)x_i + α w_i x_i² (n = 2)."""
    import sympy as sp
    from sympy.stats import E, Normal

    w1, w2, x1, x2, y = sp.symbols("w1 w2 x1 x2 y", real=True)
    a = sp.symbols("alpha", positive=True)
    e1, e2 = Normal("e1", 0, 1), Normal("e2", 0, 1)
    J = sp.Rational(1, 2) * (y - (w1 + sp.sqrt(a) * w1 * e1) * x1 - (w2 + sp.sqrt(a) * w2 * e2) * x2) ** 2
    got = sp.expand(E(sp.expand(sp.diff(J, w1))))
    want = sp.expand(-(y - w1 * x1 - w2 * x2) * x1 + a * w1 * x1 ** 2)
    return sp.simplify(got - want) == 0


@answer("hw2.t6a")
def expected_gradient(ctx) -> Answer:
    x, y, w = _problem(ctx)
    r = gaussian_dropout_grads(x, y, w, ALPHA, samples=N_SAMPLES, seed=ctx.seed)
    text = (f"E[∂J₁/∂w_i] = −(y_d − Σ_k w_k x_k)x_i + α w_i x_i². "
            f"Write δ_k = √α·w_k·ε_k with ε_k ~ N(0, 1) independent (this is what δ_k ~ N(0, αw_k²) means: the noise scales "
            f"with the weight, so it moves with w_k). With the residual e = y_d − Σ_k w_k x_k, ∂J₁/∂w_i = −(e − Σ_k δ_k x_k)(1 + "
            f"√α ε_i)x_i. Taking the expectation, E[δ_k] = 0 and E[ε_i δ_k] = √α w_i for k = i (0 otherwise), so "
            f"E[∂J₁/∂w_i] = −(y_d − Σ_k w_k x_k)x_i + α w_i x_i²: the noise-free gradient plus a weight-decay term α w_i x_i². "
            f"(If δ is instead treated as a constant when differentiating — sampled, then held fixed — the noise averages out and "
            f"E[∂J₁/∂w_i] = −(y_d − Σ_k w_k x_k)x_i, the plain gradient.) Monte Carlo with {N_SAMPLES:,} noise draws, n = {len(w)}, "
            f"α = {ALPHA:g}: " + ", ".join(f"{m:.4f}" for m in r["mc_reparam"]) + " vs the formula "
            + ", ".join(f"{c:.4f}" for c in r["closed_reparam"]) + ".")
    checks = [within_se(f"Monte Carlo E[∂J₁/∂w_{i + 1}] vs −(y_d − w·x)x_i + αw_i x_i²", r["mc_reparam"][i], r["se_reparam"][i],
                        r["closed_reparam"][i]) for i in range(len(w))]
    checks += [within_se(f"δ held fixed: Monte Carlo E[∂J₁/∂w_{i + 1}] vs −(y_d − w·x)x_i", r["mc_fixed"][i], r["se_fixed"][i],
                         r["closed_fixed"][i]) for i in range(len(w))]
    checks.append(holds("sympy.stats: E[∂J₁/∂w₁] with δ_k = √α w_k ε_k simplifies to −(y − w·x)x₁ + αw₁x₁² (n = 2)",
                        _sympy_expected_gradient()))
    return Answer(
        text,
        values={"x": x, "y_d": y, "w": w, "alpha": ALPHA, "expected_gradient": r["closed_reparam"],
                "monte_carlo": r["mc_reparam"], "standard_error": r["se_reparam"], "expected_gradient_delta_fixed": r["closed_fixed"]},
        how="tamrin.labs.dropout_theory.gaussian_dropout_grads (Monte Carlo of both readings and their closed forms)",
        checks=checks,
        assumptions=["δ_k ~ N(0, αw_k²) is read as δ_k = √α·w_k·ε_k, so ∂δ_k/∂w_k = √α ε_k (the noise's scale follows the "
                     "weight); the other reading (δ a constant) is given too."])


@answer("hw2.t6b")
def regulariser(ctx) -> Answer:
    x, y, w = _problem(ctx)
    rng = np.random.default_rng(ctx.seed + 1)
    eps = rng.normal(size=(N_SAMPLES, len(w)))
    j = 0.5 * (y - ((w * (1 + np.sqrt(ALPHA) * eps)) * x).sum(1)) ** 2
    penalty = 0.5 * ALPHA * float(np.sum(w ** 2 * x ** 2))
    closed = 0.5 * (y - w @ x) ** 2 + penalty
    wt = torch.tensor(w, requires_grad=True)
    xt = torch.from_numpy(x)
    (0.5 * (y - wt @ xt) ** 2 + 0.5 * ALPHA * (wt ** 2 * xt ** 2).sum()).backward()
    r = gaussian_dropout_grads(x, y, w, ALPHA, samples=20_000, seed=ctx.seed)
    share = penalty / closed
    text = (f"Yes: E[J₁] = ½(y_d − Σ_k w_k x_k)² + (α/2) Σ_k w_k² x_k² — the noise-free squared error plus an L2 (ridge) "
            f"penalty on the weights, each weight weighted by its input's square x_k² (summed over the data set: Σ_n x_nk², "
            f"i.e. ridge with the data-dependent matrix α·diag(XᵀX)). Its gradient is exactly hw2.t6a's expected gradient. So "
            f"this additive Gaussian noise (equivalently multiplicative: w_k + δ_k = w_k(1 + √α ε_k)) is weight decay whose strength is α (the noise variance) and which penalises "
            f"most the weights of large-valued inputs; it is the Gaussian counterpart of the dropout = adaptive ridge result. "
            f"At the example point (α = {ALPHA:g}) the penalty is {penalty:.4f} of E[J₁] = {closed:.4f} ({share:.0%}); Monte "
            f"Carlo over {N_SAMPLES:,} draws gives E[J₁] = {j.mean():.4f}.")
    return Answer(
        text,
        values={"alpha": ALPHA, "expected_loss": closed, "penalty": penalty, "monte_carlo_loss": float(j.mean())},
        how="Monte Carlo of J₁ with δ_k = √α w_k ε_k; torch autograd of the closed form",
        checks=[within_se("Monte Carlo E[J₁] vs ½(y_d − w·x)² + (α/2)Σ w_k² x_k²", j.mean(), j.std(ddof=1) / np.sqrt(N_SAMPLES), closed),
                close("autograd of ½(y_d − w·x)² + (α/2)Σ w_k² x_k² vs hw2.t6a's closed-form expected gradient",
                      wt.grad.numpy(), r["closed_reparam"], atol=1e-12)],
        assumptions=["As in hw2.t6a, δ_k = √α·w_k·ε_k."])
