"""solA question 1: dropout on linear regression as ridge regression (q1a–q1e), additive Gaussian dropout (q1f, q1g),
Gaussian vs spatial dropout (q1h). D ~ Bernoulli(p) is a KEEP mask, as in the solution (E[D] = p)."""
from __future__ import annotations

import itertools

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims, verdict_numbers, within_se
from tamrin.answers.solA._util import agree_mc, fmt, subclaims, worst_entry_within_se
from tamrin.labs import dropout_theory as dt

P_KEEP = 0.7


def _problem(rng, n: int = 5, d: int = 3):
    x = rng.normal(size=(n, d)) * np.array([1.0, 2.0, 0.5])[:d] + np.array([0.5, -1.0, 2.0])[:d]  # uneven, uncentred columns
    y = rng.normal(size=n)
    w = rng.normal(size=d)
    return x, y, w


def _exact_expectation(x, y, w, p: float) -> float:
    """E_D ‖y − (D ⊙ X)w‖² by enumerating all 2^(n·d) keep masks with their probabilities (brute force)."""
    n, d = x.shape
    total = 0.0
    for bits in itertools.product((0, 1), repeat=n * d):
        m = np.array(bits, dtype=float).reshape(n, d)
        prob = p ** m.sum() * (1 - p) ** (m.size - m.sum())
        r = y - (m * x) @ w
        total += prob * float(r @ r)
    return total


@answer("solA.q1a")
def q1a(ctx) -> Answer:
    p, x = P_KEEP, ctx.rng.normal(size=(6, 3))
    s = 40000
    P = (ctx.rng.random((s, *x.shape)) < p) * x[None]
    ptp = np.einsum("sni,snj->sij", P, P)
    mc_p, se_p = P.mean(0), P.std(0, ddof=1) / np.sqrt(s)
    mc_ptp, se_ptp = ptp.mean(0), ptp.std(0, ddof=1) / np.sqrt(s)
    g = x.T @ x
    truth_ptp = p * p * g + p * (1 - p) * np.diag(np.diag(g))  # Var[D] = p(1 − p) only on the diagonal
    claim_p = p * x
    claim_ptp = np.where(np.eye(3, dtype=bool), p * g, p * p * g)
    claimed = np.concatenate([claim_p.ravel(), claim_ptp.ravel()])
    truth = np.concatenate([(p * x).ravel(), truth_ptp.ravel()])
    v = verdict_numbers(claimed, truth)
    ok = agree_mc(mc_p, se_p, claim_p) and agree_mc(mc_ptp, se_ptp, claim_ptp)
    return Answer(
        f"E[P] = pX and E[PᵀP] = p²XᵀX + p(1 − p)·diag(XᵀX): off the diagonal two different keep-mask entries are "
        f"independent (E[D_ki D_kj] = p²), on the diagonal D² = D (E = p). The solution's entry-wise formulas are "
        f"{'exactly these' if v == 'correct' else 'not these'}; with p = {p} on a random 6x3 X, a Monte Carlo average over "
        f"{s:,} masks {'agrees with' if ok else 'departs from'} them within 4.5 standard errors in every entry.",
        values={"p": p, "E_PtP_monte_carlo": mc_ptp, "E_PtP_closed_form": truth_ptp,
                "largest_gap_claimed_vs_closed_form": float(np.abs(claim_ptp - truth_ptp).max())},
        how="Bernoulli keep masks drawn with numpy; the closed form p²XᵀX + p(1 − p)diag(XᵀX) (tamrin.labs.dropout_theory's model).",
        checks=[worst_entry_within_se(f"Monte Carlo E[P] vs pX (n={s:,})", mc_p, se_p, p * x),
                worst_entry_within_se(f"Monte Carlo E[PᵀP] vs the closed form (n={s:,})", mc_ptp, se_ptp, truth_ptp),
                close("the solution's case formula equals the closed form entry by entry", claim_ptp, truth_ptp)],
        claim="E_D[P]_ij = p X_ij; E_D[PᵀP]_ij = p²(XᵀX)_ij for i ≠ j and p(XᵀX)_ij for i = j (using E[D²] = p); "
              "E[2wᵀPᵀy] = 2p wᵀXᵀy.",
        verdict=v)


@answer("solA.q1b")
def q1b(ctx) -> Answer:
    p = P_KEEP
    x, y, w = _problem(ctx.rng, n=4, d=3)  # 12 mask entries: 4,096 masks to enumerate
    exact = _exact_expectation(x, y, w, p)
    mc, se = dt.dropout_monte_carlo(x, y, w, p, samples=20000, seed=ctx.seed)
    final = dt.dropout_closed_form(x, y, w, p)
    r = y - p * x @ w
    slip = float(r @ r + (p * p - p) * np.sum(np.diag(x.T @ x) * w * w))  # the line "(p² − p) wᵀ diag(XᵀX) w"
    final_ok = abs(final - exact) <= 1e-9 * max(1.0, abs(exact))
    slip_ok = abs(slip - exact) <= 1e-9 * max(1.0, abs(exact))
    v = verdict_claims([final_ok])
    return Answer(
        f"E_D‖y − (D ⊙ X)w‖² = ‖y − pXw‖² + p(1 − p)‖Γ̂w‖² with Γ̂ = diag(XᵀX)^½: the cross term needs E[P] = pX and the "
        f"quadratic term adds E[PᵀP] − p²XᵀX = p(1 − p)diag(XᵀX). On a random 4x3 problem (p = {p}) the exact expectation "
        f"over all 4,096 masks is {fmt(exact, 8)}, the closed form gives {fmt(final, 8)} "
        f"({'equal' if final_ok else 'different'}), Monte Carlo {fmt(mc, 6)} ± {fmt(se, 2)}. "
        + ("The solution's final identity is right. " if final_ok else "The solution's final identity is wrong. ")
        + (f"One intermediate line of its derivation writes the penalty as (p² − p)wᵀdiag(XᵀX)w, the wrong sign: that "
           f"line evaluates to {fmt(slip, 8)}; the next line silently restores p(1 − p)." if not slip_ok else ""),
        values={"p": p, "exact_expectation": exact, "closed_form": final, "monte_carlo": mc, "monte_carlo_se": se,
                "intermediate_line_with_p2_minus_p": slip},
        how="tamrin.labs.dropout_theory.dropout_closed_form and dropout_monte_carlo; brute-force enumeration of all keep masks.",
        checks=[close("brute-force enumeration of all 2^12 masks = closed form", final, exact, rtol=1e-10),
                within_se("Monte Carlo (n=20,000) vs closed form", mc, se, final)],
        claim="L(w) = E_D‖y − (D ⊙ X)w‖² = ‖y − pXw‖² + p(1 − p)‖Γ̂w‖², Γ̂ = diag(XᵀX)^½ (one line of the derivation "
              "writes the penalty as (p² − p)wᵀ diag(XᵀX) w).",
        verdict=v, assumptions=["Γ̂ = diag(XᵀX)^½ (the solution's diag(XᵀX) penalty written as a norm)."])


def _ridge(x, y, g):
    """argmin_w ‖y − Xw‖² + ‖Γw‖² for a diagonal Γ given by its diagonal g."""
    return np.linalg.solve(x.T @ x + np.diag(g * g), x.T @ y)


@answer("solA.q1c")
def q1c(ctx) -> Answer:
    p = P_KEEP
    x, y, w_hat = _problem(ctx.rng, n=8, d=3)
    g_hat = dt.gamma(x)
    g = np.sqrt((1 - p) / p) * g_hat  # the solution's Γ
    w = p * w_hat
    lhs = dt.dropout_closed_form(x, y, w_hat, p)
    rhs = float(np.sum((y - x @ w) ** 2) + np.sum((g * w) ** 2))
    as_written = float(np.sum((y - x @ w) ** 2) + np.sum((g_hat * w_hat) ** 2))  # the last "= ‖y − Xw‖² + ‖Γ̂ŵ‖²"
    w_ridge = _ridge(x, y, g)
    w_drop = dt.minimise_closed_form(x, y, p)
    same = abs(lhs - rhs) <= 1e-9 * abs(lhs) and np.allclose(w_ridge, p * w_drop, rtol=1e-9, atol=1e-12)
    v = verdict_claims([bool(same)])
    return Answer(
        f"With w = pŵ, p(1 − p)‖Γ̂ŵ‖² = (1 − p)/p ‖Γ̂w‖², so the loss is standard generalised ridge ‖y − Xw‖² + ‖Γw‖² with "
        f"Γ = √((1 − p)/p)·Γ̂. Checked at p = {p}: the dropout loss at a random ŵ is {fmt(lhs, 8)} and the ridge form at "
        f"w = pŵ is {fmt(rhs, 8)}; the ridge minimiser equals p times the dropout minimiser "
        f"({'yes' if same else 'no'}). " + ("The solution's Γ is right. " if same else "The solution's Γ is wrong. ")
        + (f"Its last written equality '= ‖y − Xw‖² + ‖Γ̂ŵ‖²' is a slip (it evaluates to {fmt(as_written, 6)}); the "
           "line before it, with √((1 − p)/p)Γ̂w, is the right one." if abs(as_written - lhs) > 1e-9 * abs(lhs) else ""),
        values={"p": p, "Gamma_diag": g, "dropout_loss": lhs, "ridge_form": rhs, "last_equality_as_written": as_written,
                "ridge_minimiser": w_ridge, "p_times_dropout_minimiser": p * w_drop},
        how="tamrin.labs.dropout_theory (closed-form loss, its minimiser); ridge solved from its normal equations.",
        checks=[close("dropout loss at ŵ = ridge form at w = pŵ", rhs, lhs, rtol=1e-10),
                close("ridge minimiser with Γ = p × dropout minimiser (normal equations of both)", w_ridge, p * w_drop, rtol=1e-8),
                close("tamrin.labs.dropout_theory.ridge_equivalent maps back to the dropout minimiser", dt.ridge_equivalent(x, y, p), w_drop, rtol=1e-8)],
        claim="w = pŵ gives ‖y − Xw‖² + ‖√((1 − p)/p) Γ̂ w‖², so Γ = Γ̂√((1 − p)/p) (the last line writes ‖Γ̂ŵ‖²).",
        verdict=v)


@answer("solA.q1d")
def q1d(ctx) -> Answer:
    p = P_KEEP
    x, y, _ = _problem(ctx.rng, n=10, d=3)
    g = np.sqrt((1 - p) / p) * dt.gamma(x)
    xt = x / g  # X̃ = XΓ⁻¹ (Γ diagonal)
    w_t = np.linalg.solve(xt.T @ xt + np.eye(3), xt.T @ y)  # standard ridge, λ = 1, on X̃
    w = w_t / g  # w = Γ⁻¹w̃
    w_gen = _ridge(x, y, g)
    # ridge as least squares on X̃ stacked over I (targets y stacked over 0): a different route to w̃
    sk = np.linalg.lstsq(np.vstack([xt, np.eye(3)]), np.concatenate([y, np.zeros(3)]), rcond=None)[0]
    ok = np.allclose(x @ w_gen, xt @ w_t, rtol=1e-9, atol=1e-12)
    v = verdict_claims([bool(ok)])
    return Answer(
        f"Substituting w̃ = Γw (w = Γ⁻¹w̃) turns ‖y − Xw‖² + ‖Γw‖² into ‖y − XΓ⁻¹w̃‖² + ‖w̃‖²: standard ridge (λ = 1) on "
        f"X̃ = XΓ⁻¹. Checked on a random 10x3 problem: ridge on X̃ mapped back by Γ⁻¹ gives the generalised-ridge weights, and "
        f"the predictions X̃w̃ and Xw {'coincide' if ok else 'differ'} (largest difference "
        f"{fmt(float(np.abs(x @ w_gen - xt @ w_t).max()), 2)}). The solution's X̃ = XΓ⁻¹ is "
        f"{'right' if ok else 'wrong'}.",
        values={"w_tilde": w_t, "w_from_w_tilde": w, "w_generalised_ridge": w_gen},
        how="Γ = √((1 − p)/p)·diag(XᵀX)^½ from q1c; both ridge problems solved by their normal equations.",
        checks=[close("Γ⁻¹w̃ = generalised-ridge weights", w, w_gen, rtol=1e-9),
                close("least squares on [X̃; I] w̃ ≈ [y; 0] (ridge as an augmented regression) = w̃", sk, w_t, rtol=1e-9, atol=1e-12)],
        claim="w̃ = Γw, w = Γ⁻¹w̃: ‖y − XΓ⁻¹w̃‖² + ‖w̃‖², so the modified data matrix is X̃ = XΓ⁻¹.",
        verdict=v)


@answer("solA.q1e")
def q1e(ctx) -> Answer:
    p = P_KEEP
    x, _, _ = _problem(ctx.rng, n=50, d=3)
    norms = dt.gamma(x)
    g = np.sqrt((1 - p) / p) * norms
    col_norms = np.linalg.norm(x / g, axis=0)
    c = np.sqrt(p / (1 - p))
    col_var = (x / g).var(0)
    equal_norms = bool(np.allclose(col_norms, col_norms[0], rtol=1e-12))
    equal_var = bool(np.allclose(col_var, col_var[0], rtol=1e-2))
    parts, table = subclaims([
        ("every column of X̃ has the same norm c", equal_norms, f"column norms {', '.join(fmt(v, 6) for v in col_norms)}"),
        ("so the columns have the same variance (like standardisation / batch norm)", equal_var,
         f"column variances {', '.join(fmt(v, 4) for v in col_var)} (X's columns are not centred)")])
    return Answer(
        f"With Γ = √((1 − p)/p)·diag(‖x_1‖, …, ‖x_d‖) (q1c), column j of X̃ = XΓ⁻¹ is √(p/(1 − p))·x_j/‖x_j‖, so every column "
        f"has norm √(p/(1 − p)) = {fmt(c, 6)} at p = {p} (unit norm only at p = ½; with Γ̂ itself, unit norm). The "
        f"solution's 'c' is this constant. Equal norms are {'confirmed' if equal_norms else 'refuted'} on a random 50x3 X. "
        + ("Equal variances do not follow: X̃ only rescales, it does not centre, and for uncentred columns the variances "
           f"are {', '.join(fmt(v, 4) for v in col_var)}. Batch norm both centres and scales; this is only the scaling half."
           if not equal_var else "The variances also agree here."),
        values={"p": p, "column_norms_of_X_tilde": col_norms, "sqrt_p_over_1_minus_p": c, "column_variances": col_var},
        how="Γ from tamrin.labs.dropout_theory.gamma; norms and variances with numpy.",
        checks=[close("column norms of X̃ = √(p/(1 − p))", col_norms, np.full(3, c), rtol=1e-12),
                close("with Γ̂ (no √((1 − p)/p)) the columns have unit norm", np.linalg.norm(x / norms, axis=0), np.ones(3), rtol=1e-12)],
        claim="Γ is diagonal with Γ_jj = ‖x_j‖; X̃ = cXΓ⁻¹ has columns c·x_j/‖x_j‖, so ‖x̃_j‖ = c for every j: like "
              "standardisation / batch normalisation, the columns get the same variance.",
        verdict=verdict_claims(parts), tables=[table],
        assumptions=["Γ is the Γ of q1c, √((1 − p)/p)·diag of X's column norms (the solution's unspecified constant c absorbs the factor)."])


@answer("solA.q1f")
def q1f(ctx) -> Answer:
    import torch

    x, w, y, alpha = np.array([0.8, -1.5, 2.0, 0.3]), np.array([1.2, 0.4, -0.7, 2.0]), 1.5, 0.3
    r = dt.gaussian_dropout_grads(x, y, w, alpha, samples=200000, seed=ctx.seed)
    claimed = -(y - w @ x) * x  # the solution's E[∂J/∂w_i]
    wt = torch.tensor(w, requires_grad=True, dtype=torch.float64)
    xt = torch.tensor(x, dtype=torch.float64)
    expected_loss = 0.5 * (y - wt @ xt) ** 2 + 0.5 * alpha * (wt ** 2 * xt ** 2).sum()  # E[J] in closed form
    (grad_el,) = torch.autograd.grad(expected_loss, wt)
    truth = r["closed_reparam"]
    v = verdict_numbers(claimed, truth)
    fixed_ok = agree_mc(r["mc_fixed"], r["se_fixed"], claimed)
    return Answer(
        f"δ_k ~ N(0, αw_k²) means δ_k = √α·w_k·ε_k with ε_k ~ N(0, 1): the noise scales with w_k, so "
        f"∂J/∂w_i = −(y − Σ(w_k + δ_k)x_k)·x_i·(1 + √α ε_i) and E[∂J/∂w_i] = −(y − Σ_k w_k x_k)x_i + α w_i x_i², the gradient "
        f"of E[J] = ½(y − wᵀx)² + ½αΣ w_k²x_k². The solution drops α w_i x_i² because it differentiates as if δ did not "
        f"depend on w. With α = {alpha}: Monte Carlo over 200,000 draws gives "
        f"[{', '.join(fmt(v_, 5) for v_ in r['mc_reparam'])}], the solution's formula "
        f"[{', '.join(fmt(v_, 5) for v_ in claimed)}]; the solution's value {'is' if fixed_ok else 'is not'} the average of "
        f"the fixed-noise gradient, which is not the gradient of the expected loss.",
        values={"alpha": alpha, "x": x, "w": w, "y": y, "claimed": claimed, "correct": truth,
                "monte_carlo": r["mc_reparam"], "monte_carlo_fixed_noise": r["mc_fixed"]},
        how="tamrin.labs.dropout_theory.gaussian_dropout_grads (Monte Carlo of both readings and their closed forms).",
        checks=[worst_entry_within_se("Monte Carlo E[∂J/∂w] (δ = √α w ε, n=200,000) vs −(y − wᵀx)x + αwx²",
                                      r["mc_reparam"], r["se_reparam"], truth),
                close("torch autograd of the closed-form E[J]", grad_el.numpy(), truth, rtol=1e-12),
                worst_entry_within_se("Monte Carlo of the fixed-noise gradient vs the solution's formula",
                                      r["mc_fixed"], r["se_fixed"], claimed)],
        claim="∂J/∂w_i = −(y_d − Σ_k (w_k + δ_k)x_k)x_i and, since E[δ_k] = 0, E[∂J/∂w_i] = −(y_d − Σ_k w_k x_k)x_i.",
        verdict=v)


@answer("solA.q1g")
def q1g(ctx) -> Answer:
    x, w, y, alpha = np.array([0.8, -1.5, 2.0, 0.3]), np.array([1.2, 0.4, -0.7, 2.0]), 1.5, 0.3
    s = 200000
    eps = ctx.rng.normal(size=(s, len(w)))
    j = 0.5 * (y - ((w + np.sqrt(alpha) * w * eps) * x).sum(1)) ** 2  # the question's J, δ_k ~ N(0, αw_k²)
    mc, se = float(j.mean()), float(j.std(ddof=1) / np.sqrt(s))
    truth = 0.5 * (y - w @ x) ** 2 + 0.5 * alpha * np.sum(w * w * x * x)
    claimed = 0.5 * (y * y + alpha ** 2 * np.sum(w * w * x * x))  # the solution's E[J'], r_k ~ N(0, α²)
    j2 = 0.5 * (y - (w * x * eps * alpha).sum(1)) ** 2  # the solution's own model
    mc2, se2 = float(j2.mean()), float(j2.std(ddof=1) / np.sqrt(s))
    own_ok = abs(mc2 - claimed) <= 4 * se2
    matches = abs(claimed - truth) <= 4 * se
    ws = ctx.rng.normal(size=(5, len(w)))  # the penalty E[J] − ½(y − wᵀx)² over Σ w_k²x_k², for several w
    ratios = [(0.5 * (y - wi @ x) ** 2 + 0.5 * alpha * np.sum(wi ** 2 * x ** 2) - 0.5 * (y - wi @ x) ** 2)
              / np.sum(wi ** 2 * x ** 2) for wi in ws]
    form_ok = bool(np.allclose(ratios, ratios[0]))
    coef_ok = bool(np.isclose(ratios[0], alpha ** 2 / 2))
    parts, table = subclaims([
        ("E[J'] = ½(y² + α²Σw_k²x_k²) for its own noise r_k ~ N(0, α²)", own_ok, f"Monte Carlo {fmt(mc2, 6)} ± {fmt(se2, 2)} vs {fmt(claimed, 6)}"),
        ("that is the expected loss of this dropout", bool(matches), f"E[J] (Monte Carlo) {fmt(mc, 6)} ± {fmt(se, 2)} vs claimed {fmt(claimed, 6)}"),
        ("the regulariser is a penalty on Σ w_k²x_k²", form_ok, "E[J] − ½(y − wᵀx)² is a fixed multiple of Σw_k²x_k² for 5 random w"),
        ("with coefficient α²/2", coef_ok, f"measured coefficient {fmt(ratios[0], 6)}; α/2 = {fmt(alpha / 2, 6)}, α²/2 = {fmt(alpha ** 2 / 2, 6)}")])
    return Answer(
        f"For the question's noise, E[J] = ½(y − Σw_k x_k)² + ½αΣ_k w_k²x_k²: the plain squared error plus an L2 penalty on "
        f"each weight scaled by its input's square (ridge with a data-dependent, per-feature strength α x_k²/2); its gradient "
        f"is the α w_i x_i² term of q1f. At α = {alpha}, Monte Carlo gives {fmt(mc, 6)} ± {fmt(se, 2)} vs {fmt(truth, 6)}. "
        f"The solution switches to a different model, multiplicative noise r_k ~ N(0, α²) with mean 0, whose prediction "
        f"averages to zero: its E[J'] = ½(y² + α²Σw_k²x_k²) = {fmt(claimed, 6)} is right for that model but has lost the "
        f"fit term −y·wᵀx + ½(wᵀx)² and has α² where α belongs. The penalty's form Σw_k²x_k² is right.",
        values={"alpha": alpha, "expected_loss": truth, "monte_carlo": mc, "monte_carlo_se": se, "claimed": claimed,
                "penalty_coefficient": ratios[0]},
        how="Monte Carlo with numpy of both noise models; the closed form E[J] of tamrin.labs.dropout_theory's docstring.",
        checks=[within_se("Monte Carlo E[J] (n=200,000) vs ½(y − wᵀx)² + ½αΣw²x²", mc, se, truth),
                close("penalty coefficient = α/2", ratios[0], alpha / 2, rtol=1e-9)],
        claim="J' = ½(y_d − Σ_k w_k x_k r_k)², r_k ~ N(0, α²): E[J'] = ½(y_d² + Σ_k w_k²x_k²α²), a regulariser "
              "Σ_k w_k²x_k²α² that penalises large weights.",
        verdict=verdict_claims(parts), tables=[table])


@answer("solA.q1h")
def q1h(ctx) -> Answer:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(ctx.seed)
    n, c, h, w, p = 64, 8, 12, 12, 0.3
    ones = torch.ones(n, c, h, w)
    elem = (nn.Dropout(p).train()(ones) != 0).float()
    spat = (nn.Dropout2d(p).train()(ones) != 0).float()

    def within_channel_corr(mask):  # correlation of the keep indicators of two different pixels of one channel
        a, b = mask[:, :, 0, 0].flatten(), mask[:, :, 5, 7].flatten()
        return float(torch.corrcoef(torch.stack([a, b]))[0, 1])

    def constant_channels(mask):
        flat = mask.flatten(2)
        return float((flat.amax(2) == flat.amin(2)).float().mean())

    # why spatial dropout exists: neighbouring pixels of a conv feature map carry nearly the same value
    img = F.avg_pool2d(torch.randn(n, 1, 36, 36), 5, stride=1)  # a smooth random image
    fmap = F.conv2d(img, torch.randn(c, 1, 3, 3))
    neighbour_corr = float(torch.corrcoef(torch.stack([fmap[..., :-1].flatten(), fmap[..., 1:].flatten()]))[0, 1])
    # Gaussian (multiplicative) dropout: x·(1 + √α ε), mean preserved, independent per unit
    alpha = 0.5
    xg = torch.randn(200000, 2).abs() + 1.0
    out = xg * (1 + alpha ** 0.5 * torch.randn_like(xg))
    d = out - xg
    mean_err = float((d.mean(0) / (d.std(0) / np.sqrt(len(d)))).abs().max())  # distance of the mean noise from 0, in SE
    noise_corr = float(torch.corrcoef((out / xg - 1).T)[0, 1])
    ce, cs = within_channel_corr(elem), within_channel_corr(spat)
    parts, table = subclaims([
        ("spatial dropout drops whole feature maps (channels)", constant_channels(spat) == 1.0 and cs > 0.99,
         f"fraction of channels dropped or kept as a whole: {constant_channels(spat):.3f}; within-channel keep correlation {cs:.3f}"),
        ("Gaussian dropout adds zero-mean random noise to each activation independently", mean_err < 4.5 and abs(noise_corr) < 0.02,
         f"mean of x(1 + √α ε) − x: {mean_err:.2f} SE from 0; noise correlation between units {noise_corr:.4f}"),
        ("spatial dropout makes local regions invariant and the representation more robust", None, "no computation decides it"),
        ("Gaussian dropout is mostly used in feed-forward nets, spatial dropout in CNNs", None, "a statement of practice")])
    return Answer(
        f"Element-wise (and Gaussian) dropout perturbs every unit independently; spatial dropout (Dropout2d) keeps or drops "
        f"a whole channel. Measured with p = {p} on {n}x{c}x{h}x{w} maps: the keep indicators of two pixels of one channel "
        f"correlate {ce:.3f} element-wise and {cs:.3f} spatially. Neighbouring pixels of a conv feature map of a smooth "
        f"image correlate {neighbour_corr:.3f}"
        + (", so dropping single pixels removes little information a neighbour does not still carry: the reason spatial "
           "dropout suits conv maps. " if neighbour_corr > 0.5 else ", so here single-pixel dropout already removes "
           "information neighbours do not carry. ")
        + f"Gaussian dropout multiplies each unit by 1 + √α·ε (the "
        f"additive δ of q1f on the weights is the same thing), keeping its mean. Of the solution's statements, "
        f"{sum(v is True for v in parts)} are confirmed, {sum(v is False for v in parts)} refuted and "
        f"{sum(v is None for v in parts)} qualitative (no computation decides them).",
        values={"p": p, "within_channel_keep_correlation_elementwise": ce, "within_channel_keep_correlation_spatial": cs,
                "neighbour_pixel_correlation": neighbour_corr, "gaussian_noise_correlation": noise_corr},
        how="torch.nn.Dropout / Dropout2d masks on ones; a conv map of a smoothed random image.",
        checks=[holds("Dropout2d: every channel constant (all kept or all dropped)", constant_channels(spat) == 1.0),
                holds("element-wise dropout: within-channel keep correlation |r| < 0.05", abs(ce) < 0.05, f"r = {ce:.4f}"),
                close("element-wise keep rate = 1 − p", float(elem.mean()), 1 - p, atol=0.01)],
        claim="Gaussian dropout adds random noise to the activations; spatial dropout randomly drops whole feature maps of "
              "conv layers, makes local regions invariant and the representation more robust; Gaussian dropout is used "
              "in feed-forward nets, spatial dropout in CNNs where spatial information matters.",
        verdict=verdict_claims(parts), tables=[table])
