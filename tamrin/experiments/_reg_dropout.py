"""regularization-lab, part 1: dropout as a penalty, checked by Monte Carlo."""
from __future__ import annotations

import numpy as np

from tamrin.labs import dropout_theory as dt
from tamrin.report import Section


def dropout_linear(cfg, run) -> tuple[Section, dict]:
    rng = np.random.default_rng(cfg.seed)
    n, d = cfg.dropout_n, len(cfg.feature_scales)
    x = rng.normal(size=(n, d)) * np.array(cfg.feature_scales, float)  # unequal scales: Γ is not a multiple of I
    w_true = rng.normal(size=d)
    y = x @ w_true + 0.5 * rng.normal(size=n)
    w = rng.normal(size=d)
    rows, zs = [], []
    for p in cfg.keep_probs:
        mc, se = dt.dropout_monte_carlo(x, y, w, p, cfg.mc_samples, cfg.seed)
        closed = dt.dropout_closed_form(x, y, w, p)
        naive = float(np.sum((y - p * x @ w) ** 2))
        z = (mc - closed) / se
        zs.append(abs(z))
        rows.append([p, mc, se, closed, naive, z])
    s = Section("Dropout on linear regression is a ridge penalty")
    s.text(f"X is {n}×{d} with column scales {', '.join(f'{v:g}' for v in cfg.feature_scales)}; D is a Bernoulli(p) **keep** "
           f"mask on the entries of X (D_ij = 1 with probability p). For a fixed w, {cfg.mc_samples:,} masks estimate "
           f"E_D‖y − (D ⊙ X)w‖², compared with ‖y − pXw‖² + p(1 − p)‖Γw‖², Γ = diag(XᵀX)^(1/2). Across the "
           f"{len(cfg.keep_probs)} keep probabilities the Monte Carlo mean is within {max(zs):.2f} standard errors of the closed form; "
           f"dropping the penalty term (‖y − pXw‖² alone) misses by {min(r[3] - r[4] for r in rows):.3g} to {max(r[3] - r[4] for r in rows):.3g}, "
           f"i.e. the variance of the mask is exactly the extra p(1 − p)‖Γw‖².")
    s.table(["keep p", "Monte Carlo", "std. error", "closed form", "‖y − pXw‖² only", "z = (MC − closed)/se"], rows)
    eq_rows = []
    for p in cfg.keep_probs:
        w_drop = dt.minimise_closed_form(x, y, p)
        w_ridge = dt.ridge_equivalent(x, y, p)
        eq_rows.append([p, (1 - p) / p, float(np.abs(w_drop - w_ridge).max()), float(np.linalg.norm(w_ridge)),
                        float(np.linalg.norm(np.linalg.lstsq(x, y, rcond=None)[0]))])
    s.text("With w̃ = pw the expected loss is ‖y − Xw̃‖² + ((1 − p)/p)‖Γw̃‖²: ridge regression whose penalty on each weight "
           "grows with that feature's energy. Minimising the expected dropout loss directly and solving that ridge problem "
           f"(then w = w̃/p) agree to {max(r[2] for r in eq_rows):.1e}. The smaller p, the stronger the penalty λ = (1 − p)/p "
           f"(from {min(r[1] for r in eq_rows):.3g} to {max(r[1] for r in eq_rows):.3g} here), so ‖pw‖ = ‖w̃‖ shrinks relative to least squares.")
    s.table(["keep p", "λ = (1 − p)/p", "max |w_dropout − w_ridge/p|", "‖w̃‖ (ridge)", "‖w‖ least squares"], eq_rows)
    return s, {"max_z": max(zs), "ridge_match": max(r[2] for r in eq_rows)}


def gaussian_dropout(cfg, run) -> tuple[Section, dict]:
    rng = np.random.default_rng(cfg.seed + 1)
    d = 4
    x, w, y = rng.normal(size=d), rng.normal(size=d), 1.0
    r = dt.gaussian_dropout_grads(x, y, w, cfg.gauss_alpha, cfg.gauss_samples, cfg.seed)
    rows = [[i + 1, r["mc_fixed"][i], r["closed_fixed"][i], r["mc_reparam"][i], r["closed_reparam"][i], cfg.gauss_alpha * w[i] * x[i] ** 2]
            for i in range(d)]
    z1 = float(np.max(np.abs(r["mc_fixed"] - r["closed_fixed"]) / r["se_fixed"]))
    z2 = float(np.max(np.abs(r["mc_reparam"] - r["closed_reparam"]) / r["se_reparam"]))
    z_wrong = float(np.max(np.abs(r["mc_reparam"] - r["closed_fixed"]) / r["se_reparam"]))
    s = Section("Additive Gaussian dropout: two gradients")
    s.text(f"J = ½(y − Σ_k (w_k + δ_k)x_k)², δ_k ~ N(0, α w_k²), α = {cfg.gauss_alpha:g}, one random example with {d} inputs, "
           f"{cfg.gauss_samples:,} noise draws. Treating δ as independent of w, the mean gradient matches −(y − w·x)x_i to "
           f"{z1:.2f} standard errors. Writing δ_k = w_k√α ε_k and differentiating through the noise, it matches "
           f"−(y − w·x)x_i + α w_i x_i² to {z2:.2f} standard errors, while the first formula is off by {z_wrong:.0f} standard errors: "
           f"the extra term is real.")
    s.text("Reading: α w_i x_i² is the gradient of ½α Σ_k w_k² x_k², an L2 penalty on each weight scaled by its input's energy — "
           "the same data-dependent ridge as Bernoulli dropout above. When the noise scale follows the weights, the noise itself "
           "pushes weights toward zero.")
    s.table(["i", "MC (δ fixed)", "−(y − w·x)x_i", "MC (δ = w√α ε)", "… + α w_i x_i²", "α w_i x_i²"], rows)
    return s, {"z_fixed": z1, "z_reparam": z2, "z_wrong": z_wrong}
