"""Homework 2, questions 4 and 5: Adam line by line and its bias correction (Monte Carlo); gradient descent
and Newton's method on the document's quadratic f(w) = wᵀHw (no ½: ∇f = 2Hw), and why Newton is not used
for deep networks (the Hessian's cost measured, a saddle)."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tamrin.answers import Answer, answer, close, holds, within_se  # noqa: E402
from tamrin.labs import adam_bias, quadratic  # noqa: E402
from tamrin.labs.threads import one_thread  # noqa: E402

B1, B2, ALPHA, EPS = 0.9, 0.999, 0.01, 1e-8


def adam_as_written(grad_fn, theta0, steps: int, alpha=ALPHA, beta1=B1, beta2=B2, eps=EPS) -> tuple[np.ndarray, list[dict]]:
    """The document's six lines, literally; returns the final θ and each step's intermediate quantities."""
    theta = np.asarray(theta0, dtype=np.float64).copy()
    m, v, trace = np.zeros_like(theta), np.zeros_like(theta), []
    for t in range(1, steps + 1):
        g = grad_fn(theta)  # g_t ← ∇θ f_t(θ_{t−1})
        m = beta1 * m + (1 - beta1) * g  # m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v = beta2 * v + (1 - beta2) * g * g  # v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m_hat = m / (1 - beta1 ** t)  # m̂_t ← m_t / (1 − β₁ᵗ)
        v_hat = v / (1 - beta2 ** t)  # v̂_t ← v_t / (1 − β₂ᵗ)
        step = alpha * m_hat / (np.sqrt(v_hat) + eps)
        theta = theta - step  # θ_t ← θ_{t−1} − α m̂_t / (√v̂_t + ε)
        trace.append({"g": g.copy(), "m": m.copy(), "v": v.copy(), "m_hat": m_hat, "v_hat": v_hat, "step": step})
    return theta, trace


@answer("hw2.t4a")
def adam_lines(ctx) -> Answer:
    from tamrin.scratch.optim import adam

    rng = np.random.default_rng(ctx.seed)
    a = rng.normal(size=(6, 3)) * np.array([10.0, 1.0, 0.01])  # three parameters with gradients of very different scales
    bvec = rng.normal(size=6)
    theta0 = rng.normal(size=3)
    steps = 20

    def grad(th):
        return a.T @ (a @ th - bvec)  # f(θ) = ½‖Aθ − b‖²

    theta, trace = adam_as_written(grad, theta0, steps)
    th, cfg = theta0.copy(), {"learning_rate": ALPHA, "beta1": B1, "beta2": B2, "epsilon": EPS}
    for _ in range(steps):
        th, cfg = adam(th, grad(th), cfg)
    p = torch.tensor(theta0, requires_grad=True)
    opt = torch.optim.Adam([p], lr=ALPHA, betas=(B1, B2), eps=EPS)
    at, bt = torch.from_numpy(a), torch.from_numpy(bvec)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((at @ p - bt) ** 2).sum()).backward()
        opt.step()
    g1, s1 = trace[0]["g"], trace[0]["step"]
    text = ("Line by line: (1) g_t: the (mini-batch) gradient of the loss at the current parameters. (2) m_t: an exponential "
            "moving average of the gradients (first moment, momentum), weight 1 − β₁ on the newest; it smooths the noise "
            "and keeps a consistent direction. (3) v_t: the same moving average of the squared gradients (uncentred second "
            "moment), a running estimate of each parameter's gradient size. (4)–(5) m̂_t, v̂_t: bias corrections — both "
            "averages start at 0 and would be too small in the first steps (hw2.t4b); dividing by 1 − βᵗ fixes that. (6) the "
            "update: each parameter moves by α·m̂_t/(√v̂_t + ε), its average gradient divided by its typical gradient size, so "
            "the step is about α whatever the gradient's scale (ε only avoids dividing by 0). Measured on a least-squares "
            f"problem whose three gradients differ in scale ({', '.join(f'{abs(v):.3g}' for v in g1)} at t = 1): the first "
            f"steps are {', '.join(f'{abs(v):.4f}' for v in s1)} — all ≈ α = {ALPHA:g}, since m̂₁ = g₁ and √v̂₁ = |g₁|.")
    return Answer(
        text,
        values={"gradient_t1": g1, "step_t1": s1, "theta_after": theta, "steps": steps, "alpha": ALPHA, "beta1": B1, "beta2": B2},
        how="the document's six lines written literally (adam_as_written) on f(θ) = ½‖Aθ − b‖²",
        checks=[close(f"tamrin.scratch.optim.adam, {steps} steps, same θ", th, theta, atol=1e-12),
                close(f"torch.optim.Adam, {steps} steps, same θ", p.detach().numpy(), theta, atol=1e-10),
                close("first step = α·sign(g₁)/(1 + ε/|g₁|)", s1, ALPHA * np.sign(g1) / (1 + EPS / np.abs(g1)), atol=1e-15)])


@answer("hw2.t4b")
def adam_bias_correction(ctx) -> Answer:
    import sympy as sp

    mu, sigma, steps, runs = 1.0, 1.0, 40, 4000
    g = adam_bias.noisy_gradients(mu, sigma, steps, runs, ctx.seed)
    ms = np.array([adam_bias.moments(r, B1)[0] for r in g])
    mh = ms / (1 - B1 ** np.arange(1, steps + 1))
    em, _ = adam_bias.expected_moments(mu, steps, B1)
    probe = (1, 5, 20)
    t, b, s = sp.symbols("t beta s", positive=True)
    weights = sp.simplify(sp.summation((1 - b) * b ** (t - s), (s, 1, t)) - (1 - b ** t))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    tt = np.arange(1, steps + 1)
    ax.plot(tt, ms.mean(0), label=f"mean m_t over {runs} runs")
    ax.plot(tt, mh.mean(0), label="mean m̂_t = m_t/(1 − β₁ᵗ)")
    ax.plot(tt, em, "k:", label="(1 − β₁ᵗ)·E[g]")
    ax.axhline(mu, c="gray", lw=1, label=f"E[g] = {mu:g}")
    ax.set(xlabel="step t", ylabel="first moment", title=f"Adam's first moment from m₀ = 0, β₁ = {B1:g}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig_path = ctx.figure(fig, "hw2_t4b_adam_bias")
    text = (f"Because m_0 = 0, E[m_t] = (1 − β₁ᵗ)·E[g], and m̂_t divides that factor back out. "
            f"Unrolling m_t = β₁m_(t−1) + (1 − β₁)g_t from m₀ = 0 gives m_t = (1 − β₁) Σ_(s=1..t) β₁^(t−s) g_s, whose weights "
            f"sum to 1 − β₁ᵗ, not 1. For gradients with a common mean, E[m_t] = (1 − β₁ᵗ)·E[g]: with β₁ = {B1:g} only "
            f"{1 - B1:.0%} of E[g] at t = 1 and {1 - B1 ** 5:.0%} at t = 5 — m_t is pulled toward its zero start, until β₁ᵗ ≈ 0 "
            f"(t ≫ 1/(1 − β₁) = {1 / (1 - B1):.0f}). Dividing by exactly that sum, m̂_t = m_t/(1 − β₁ᵗ), makes the weights sum to 1, "
            f"so E[m̂_t] = E[g] at every t; the effect matters only for small t, where 1 − β₁ᵗ is far from 1 (the same holds for "
            f"v_t with β₂ = {B2:g}, where it lasts ~{1 / (1 - B2):.0f} steps). Monte Carlo with g ~ N({mu:g}, {sigma:g}²): E[m_t] = "
            + ", ".join(f"{ms[:, k - 1].mean():.3f} at t = {k}" for k in probe) + "; E[m̂_t] = "
            + ", ".join(f"{mh[:, k - 1].mean():.3f}" for k in probe) + ".")
    se = lambda a: float(a.std(ddof=1) / np.sqrt(len(a)))  # noqa: E731
    return Answer(
        text,
        values={"t": list(probe), "mean_m_t": [float(ms[:, k - 1].mean()) for k in probe],
                "expected_m_t": [float(em[k - 1]) for k in probe], "mean_m_hat_t": [float(mh[:, k - 1].mean()) for k in probe],
                "gradient_mean": mu, "beta1": B1},
        how=f"tamrin.labs.adam_bias.moments over {runs} streams of noisy gradients (adam_bias.noisy_gradients)",
        checks=[within_se(f"Monte Carlo E[m_{k}] vs (1 − β₁^{k})·E[g]", ms[:, k - 1].mean(), se(ms[:, k - 1]), em[k - 1]) for k in probe]
        + [within_se(f"Monte Carlo E[m̂_{k}] vs E[g]", mh[:, k - 1].mean(), se(mh[:, k - 1]), mu) for k in probe]
        + [holds("sympy: (1 − β)Σ_(s=1..t) β^(t−s) − (1 − βᵗ) simplifies to 0", weights == 0, str(weights))],
        figures=[(fig_path, "Mean of m_t (biased toward 0 at small t) and of the corrected m̂_t over many gradient streams.")])


# --- question 5: the document's objective is wᵀHw (no ½), H = QΛQᵀ -----------------------------------------
EIGS = (0.5, 1.0, 2.0, 5.0)
HALF_NOTE = ("The document's objective is f(w) = wᵀHw without ½, so ∇f = 2Hw (H symmetric); with f = ½wᵀHw every 2ε "
             "below becomes ε and the bound 1/λ_max becomes 2/λ_max.")


def _bowl(ctx):
    h, q = quadratic.make_hessian(EIGS, ctx.seed)
    w0 = np.random.default_rng(ctx.seed + 1).normal(size=len(EIGS))
    return h, q, np.array(EIGS), w0


def _torch_grad_hess(h, w):
    ht = torch.from_numpy(h)
    f = lambda v: v @ ht @ v  # noqa: E731  (the document's wᵀHw)
    wt = torch.tensor(w, requires_grad=True)
    g, = torch.autograd.grad(f(wt), wt)
    return g.numpy(), torch.autograd.functional.hessian(f, torch.from_numpy(w)).numpy()


@answer("hw2.t5a")
def gd_update(ctx) -> Answer:
    h, _, _, w0 = _bowl(ctx)
    eps = 0.05
    g_torch, _ = _torch_grad_hess(h, w0)
    w1 = quadratic.gd(w0, h, eps, 1)[1]
    text = (f"w ← w − 2εHw. ∇f(w) = (H + Hᵀ)w = 2Hw, so gradient descent with step ε is w_(t+1) = w_t − 2εHw_t = (I − 2εH)w_t "
            f"= Q(I − 2εΛ)Qᵀw_t. Checked for a random 4×4 H = QΛQᵀ (λ = {', '.join(f'{v:g}' for v in EIGS)}) at ε = {eps:g}.")
    return Answer(
        text, values={"eigenvalues": list(EIGS), "epsilon": eps, "w0": w0, "w1": w1},
        how="tamrin.labs.quadratic.make_hessian and gd (one step)",
        checks=[close("torch autograd ∇(wᵀHw) vs 2Hw", g_torch, 2 * h @ w0, atol=1e-12),
                close("one step of tamrin.labs.quadratic.gd vs (I − 2εH)w₀", w1, (np.eye(len(w0)) - 2 * eps * h) @ w0, atol=1e-12)],
        assumptions=[HALF_NOTE])


@answer("hw2.t5b")
def gd_closed_form(ctx) -> Answer:
    h, q, lam, w0 = _bowl(ctx)
    eps, t = 0.05, 40
    iterated = quadratic.gd(w0, h, eps, t)[-1]
    closed = q @ np.diag((1 - 2 * eps * lam) ** t) @ q.T @ w0
    text = (f"w_t = Q(I − 2εΛ)ᵗQᵀw_0. "
            f"In H's eigenbasis v = Qᵀw the update decouples: v_(t+1),i = (1 − 2ελ_i)v_t,i, so v_t,i = (1 − 2ελ_i)ᵗ v_0,i and "
            f"w_t = Q(I − 2εΛ)ᵗQᵀw_0 = (I − 2εH)ᵗw_0. Each eigen-direction shrinks (or grows) geometrically at its own rate "
            f"|1 − 2ελ_i|; at ε = {eps:g} these are {', '.join(f'{abs(1 - 2 * eps * v):.2f}' for v in lam)} for λ = "
            f"{', '.join(f'{v:g}' for v in lam)}: the smallest eigenvalue's direction is the slowest.")
    return Answer(
        text, values={"epsilon": eps, "t": t, "rates": np.abs(1 - 2 * eps * lam), "w_t": closed},
        how=f"the closed form Q(I − 2εΛ)ᵗQᵀw₀ vs {t} iterations of tamrin.labs.quadratic.gd",
        checks=[close(f"closed form vs {t} GD iterations", closed, iterated, atol=1e-12),
                close("matrix power (I − 2εH)ᵗw₀ vs the closed form", np.linalg.matrix_power(np.eye(len(w0)) - 2 * eps * h, t) @ w0,
                      closed, atol=1e-12)],
        assumptions=[HALF_NOTE])


@answer("hw2.t5c")
def gd_convergence(ctx) -> Answer:
    h, _, lam, w0 = _bowl(ctx)
    pred, pred_half = quadratic.predicted_threshold(h), quadratic.predicted_threshold(h, half=True)
    meas = quadratic.measured_threshold(w0, h)
    below, above = quadratic.stable(w0, h, 0.98 * pred), quadratic.stable(w0, h, 1.02 * pred)
    conv_below = quadratic.converges(w0, h, 0.98 * pred, steps=2000)
    text = (f"GD converges iff 0 < ε < 1/λ_max (here {pred:.4g}). "
            f"w_t → 0 for every w_0 iff |1 − 2ελ_i| < 1 for all i, that is (for positive-definite H, λ_i > 0) 0 < ε < 1/λ_max. "
            f"For λ = {', '.join(f'{v:g}' for v in lam)}: 1/λ_max = {pred:.4g}. Measured by running GD (no formula, bisection "
            f"on ε): the largest stable step is {meas:.4g}; at 0.98/λ_max GD {'converges' if conv_below else 'does not converge'}, "
            f"at 1.02/λ_max it {'diverges' if not above else 'does not diverge'}. The speed is set by max_i |1 − 2ελ_i|, so the best "
            f"fixed ε balances the smallest and largest eigenvalue: ill-conditioned H (λ_max/λ_min = {lam.max() / lam.min():g} "
            f"here) means slow convergence. If some λ_i ≤ 0 the bowl is not bounded below in that direction and GD diverges "
            f"for every ε > 0. (For ½wᵀHw the bound is 2/λ_max = {pred_half:.4g}.)")
    return Answer(
        text, values={"threshold_predicted": pred, "threshold_measured": meas, "threshold_half_form": pred_half,
                      "stable_at_0.98": below, "stable_at_1.02": above},
        how="tamrin.labs.quadratic.measured_threshold (bisection by running GD), stable, converges",
        checks=[close("measured largest stable ε vs 1/λ_max", meas, pred, atol=0, rtol=1e-2),
                holds("GD at 0.98/λ_max converges and at 1.02/λ_max diverges", conv_below and below and not above)],
        assumptions=[HALF_NOTE])


@answer("hw2.t5d")
def newton(ctx) -> Answer:
    h, _, _, w0 = _bowl(ctx)
    _, hess = _torch_grad_hess(h, w0)
    w1 = quadratic.newton_step(w0, h)
    text = (f"One step: Newton's method lands on the minimum at once. "
            f"w_(t+1) = w_t − [∇²f]⁻¹∇f(w_t) = w_t − (2H)⁻¹·2Hw_t = 0. For a quadratic the second-order "
            f"model is exact, so from any w_0 it lands on the minimum w* = 0 in one step (H invertible), whatever the "
            f"conditioning: measured ‖w_1‖ = {np.linalg.norm(w1):.1e} from ‖w_0‖ = {np.linalg.norm(w0):.3g}.")
    return Answer(
        text, values={"w0": w0, "w1": w1, "steps": 1},
        how="tamrin.labs.quadratic.newton_step (solves with ∇²f = 2H)",
        checks=[close("torch.autograd.functional.hessian of wᵀHw vs 2H", hess, 2 * h, atol=1e-12),
                close("Newton's step lands on w* = 0", w1, np.zeros_like(w1), atol=1e-12)],
        assumptions=[HALF_NOTE])


def _mlp_loss(n_hidden: int, seed: int):
    """A 8-n_hidden-1 tanh MLP's squared loss on fixed random data as a function of its flat parameter vector."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 8, generator=g, dtype=torch.float64), torch.randn(64, 1, generator=g, dtype=torch.float64)
    shapes = [(8, n_hidden), (n_hidden,), (n_hidden, 1), (1,)]
    sizes = [int(np.prod(s)) for s in shapes]

    def loss(theta):
        parts, k = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(theta[k:k + n].reshape(s))
            k += n
        w1, b1, w2, b2 = parts
        return ((torch.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()

    theta = torch.randn(sum(sizes), generator=g, dtype=torch.float64) * 0.5
    return loss, theta


@answer("hw2.t5e")
@one_thread()
def why_not_newton(ctx) -> Answer:
    from tamrin.labs import saddles
    from tamrin.labs.stats import loglog_slope

    hidden = (4, 8, 16, 32, 48)
    sizes, secs, mem = [], [], []
    for hdim in hidden:
        loss, theta = _mlp_loss(hdim, ctx.seed)
        t0 = time.perf_counter()
        hess = torch.autograd.functional.hessian(loss, theta)
        secs.append(time.perf_counter() - t0)
        sizes.append(theta.numel())
        mem.append(hess.element_size() * hess.numel())  # bytes of the Hessian tensor torch returned
    slope = loglog_slope(sizes, secs)
    eig = np.linalg.eigvalsh(hess.numpy())
    neg = float((eig < -1e-10).mean())
    # independent: the Hessian's columns by central differences of the autograd gradient (the largest network)
    grad = lambda th: torch.autograd.grad(loss(th.requires_grad_(True)), th)[0].detach()  # noqa: E731
    cols = [0, sizes[-1] // 2, sizes[-1] - 1]
    fd = np.stack([((grad(theta.clone() + 1e-6 * e) - grad(theta.clone() - 1e-6 * e)) / 2e-6).numpy()
                   for e in (torch.eye(sizes[-1], dtype=torch.float64)[c] for c in cols)], 1)
    # Newton on the saddle x² − y²: ∇²f = diag(2, −2) is indefinite and Newton jumps onto the saddle itself
    start = np.array([0.5, 0.1])
    newton_pt = start - np.linalg.solve(np.diag([2.0, -2.0]), saddles.plain_saddle_grad(start))
    gd_pt = saddles.trajectory(saddles.plain_saddle_grad, "GD", start, 0.1, 30, escape_radius=1e9)[-1]
    big = 10_000_000
    cost = quadratic.hessian_cost(big)
    text = (f"The Hessian is far too expensive, and the loss is not convex. "
            f"Newton needs the Hessian: n² second derivatives for n parameters, and a solve with it costing ~⅔n³. Measured with "
            f"torch.autograd.functional.hessian on small tanh networks of n = {', '.join(str(n) for n in sizes)} parameters: "
            f"{', '.join(f'{s * 1e3:.0f}' for s in secs)} ms and {', '.join(quadratic.human_bytes(b) for b in mem)} (float64), "
            f"time log-log slope {slope:.2f}"
            + (" (close to 2: " if slope > 1.7 else " (below the asymptotic 2 because at these tiny sizes each pass's fixed "
               "overhead dominates; ")
            + f"it takes one backward pass per column, each costing O(n), so time grows like n²). For a modest "
            f"{big:,}-parameter network the dense Hessian alone is {quadratic.human_bytes(cost['hessian_bytes'])} in float32 "
            f"(the gradient: {quadratic.human_bytes(cost['gradient_bytes'])}), solving with it costs ~{cost['solve_flops']:.1e} "
            f"FLOPs, and just forming it would take at least ~{secs[-1] * big / sizes[-1] / 3600:,.1f} hours (the measured n = "
            f"{sizes[-1]} time scaled linearly, as if a backward pass did not get dearer with n) and ~"
            f"{secs[-1] * (big / sizes[-1]) ** 2 / 86400:,.0f} days at the asymptotic n² rate — per step, and a mini-batch estimate of it is noisy. Second, "
            f"the loss of a network is not convex: the Hessian of the n = {sizes[-1]} network at a random point has "
            f"{neg:.0%} negative eigenvalues. Where H is indefinite Newton's step goes to the nearest stationary point, "
            f"saddles included: on f = x² − y² from ({start[0]:g}, {start[1]:g}) one Newton step lands on the saddle "
            f"({newton_pt[0]:.1g}, {newton_pt[1]:.1g}), while 30 GD steps walk away from it to ({gd_pt[0]:.2g}, {gd_pt[1]:.2g}). "
            "Hence first-order methods (SGD, momentum, Adam: O(n) per step) are used, with diagonal or low-rank curvature "
            "approximations at most.")
    return Answer(
        text,
        values={"parameters": sizes, "hessian_seconds": secs, "hessian_bytes": mem, "loglog_slope": slope, "negative_eigen_fraction": neg,
                "newton_on_saddle": newton_pt, "gd_on_saddle": gd_pt, "hessian_bytes_10M": cost["hessian_bytes"]},
        how="torch.autograd.functional.hessian timed for growing n; tamrin.labs.quadratic.hessian_cost; the saddle of "
            "tamrin.labs.saddles",
        checks=[close(f"Hessian columns {cols} of the n = {sizes[-1]} network: central differences of the gradient vs autograd",
                      fd, hess.numpy()[:, cols], atol=1e-6),
                close("the Hessian is symmetric", hess.numpy(), hess.numpy().T, atol=1e-12),
                close("measured Hessian memory = 8·n² bytes (float64)", mem, [8 * n * n for n in sizes], atol=0),
                close("Newton's step on x² − y² lands exactly on the saddle (0, 0)", newton_pt, [0.0, 0.0], atol=1e-15),
                holds("GD moves away from the saddle: |y| grew", abs(gd_pt[1]) > abs(start[1]))])
