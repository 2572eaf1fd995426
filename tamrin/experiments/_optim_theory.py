"""optim-lab, second half: the quadratic bowl and Newton, Adam's bias, softmax vs logistic."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tamrin.labs import adam_bias, quadratic, softmax_logistic  # noqa: E402
from tamrin.report import Section  # noqa: E402


def _param_counts(extra: dict) -> dict:
    """Parameter counts of this project's models: the digits-mlp MLP, tamrin.models (if any), plus `extra`."""
    from tamrin.experiments.digits_mlp import MLP, Config

    hidden = tuple(Config().hidden)
    arch = "-".join(str(v) for v in (784, *hidden, 10))
    counts = {f"digits-mlp MLP ({arch})": sum(p.numel() for p in MLP(784, hidden, 10, 0.0).parameters())}
    try:  # the CNNs of tamrin.models, built at their defaults for 10 classes
        from tamrin.models import create, list_models

        for name in list_models():
            try:
                counts[f"tamrin.models {name}"] = sum(p.numel() for p in create(name, num_classes=10).parameters())
            except Exception:  # noqa: BLE001 - a model that cannot be built this way is simply not listed
                pass
    except ImportError:
        pass
    counts.update(extra)
    return counts


def quadratic_bowl(cfg, run, extra_models: dict) -> tuple[Section, dict]:
    lam = np.array(cfg.eigenvalues, float)
    h, q = quadratic.make_hessian(lam, cfg.seed)
    w0 = np.linalg.solve(q.T, np.ones(len(lam)))  # equal weight on every eigen-direction
    pred = quadratic.predicted_threshold(h)
    pred_half = quadratic.predicted_threshold(h, half=True)
    meas = quadratic.measured_threshold(w0, h)
    meas_half = quadratic.measured_threshold(w0, h, half=True)
    rows = []
    for mult in cfg.lr_multiples:
        lr = mult * pred
        ws = quadratic.gd(w0, h, lr, cfg.quad_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.linalg.norm(ws, axis=1)
            measured_rate = float(norms[-1] / norms[-2])  # tends to the slowest mode's factor
        factor = float(np.max(np.abs(1 - 2 * lr * lam)))
        rows.append([f"{mult:g} / λ_max", lr, factor, measured_rate if np.isfinite(measured_rate) else float("inf"),
                     float(norms[-1]) if np.isfinite(norms[-1]) else float("inf"),
                     "converges" if norms[-1] < norms[0] else "diverges"])
    # eigenbasis view at a stable rate: v_i,t = (1 − 2ελ_i)^t v_i,0
    lr = cfg.eig_lr_multiple * pred
    v = quadratic.gd(w0, h, lr, cfg.quad_steps) @ q
    t = np.arange(len(v))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    max_err = 0.0
    for i, l in enumerate(lam):
        predicted = np.abs(1 - 2 * lr * l) ** t * abs(v[0, i])
        ok = predicted > 1e-9 * abs(v[0, i])  # compare where the value is far above rounding noise
        max_err = max(max_err, float(np.max(np.abs(np.abs(v[ok, i]) - predicted[ok]) / predicted[ok])))
        a1.semilogy(t, np.abs(v[:, i]) + 1e-300, "o", ms=3, label=f"|v_{i + 1}|, λ={l:g}")
        a1.semilogy(t, predicted + 1e-300, "-", lw=0.8, color=a1.lines[-1].get_color())
    a1.set(xlabel="step t", ylabel="|eigen-coordinate|", title=f"GD in the eigenbasis, ε = {lr:.3g}", ylim=(1e-12, 10))
    a1.legend(fontsize=7)
    mults = np.linspace(0.05, 1.2, 60)
    growth = [np.max(np.abs(1 - 2 * m * pred * lam)) for m in mults]
    a2.plot(mults * pred, growth)
    a2.axhline(1, c="gray", ls=":")
    a2.axvline(pred, c="red", ls="--", label=f"1/λ_max = {pred:.3g}")
    a2.axvline(meas, c="k", ls=":", label=f"measured {meas:.3g}")
    a2.set(xlabel="learning rate ε", ylabel="max_i |1 − 2ελ_i|", title="per-step growth of the slowest mode")
    a2.legend(fontsize=8)
    fig.tight_layout()
    p = run.save_figure(fig, "optim_quadratic")
    w1 = quadratic.newton_step(w0, h)
    newton_err = float(np.linalg.norm(w1))
    s = Section("Gradient descent on f(w) = wᵀHw, and Newton's method")
    s.text(f"H = QΛQᵀ with eigenvalues {', '.join(f'{v:g}' for v in lam)} and a random rotation Q. ∇f = 2Hw, so GD is "
           f"w ← (I − 2εH)w, and in the eigenbasis v = Qᵀw each coordinate evolves alone: v_i ← (1 − 2ελ_i)v_i. "
           f"At ε = {lr:.3g} the measured coordinates follow (1 − 2ελ_i)^t to a relative error of {max_err:.1e} (left plot).")
    s.text(f"So GD converges iff |1 − 2ελ_i| < 1 for every i, i.e. 0 < ε < 1/λ_max = {pred:.4g}. Bisecting on ε by running GD "
           f"(no formula) puts the threshold at {meas:.4g} ({abs(meas / pred - 1):.2%} from the prediction). For ½wᵀHw the "
           f"gradient halves and the bound doubles: predicted 2/λ_max = {pred_half:.4g}, measured {meas_half:.4g}.")
    s.table(["ε", "value", "predicted max|1 − 2ελ_i|", "measured ‖w_T‖/‖w_(T−1)‖", f"‖w‖ after T = {cfg.quad_steps} steps", "outcome"], rows,
            f"Starting from ‖w₀‖ = {np.linalg.norm(w0):.3g}. The measured per-step factor of the last step matches the predicted "
            "factor of the slowest eigen-direction; below 1 GD converges (slowly near both ends), above 1 it diverges.")
    s.figure(p, "Left: eigen-coordinates (dots) vs (1 − 2ελ_i)^t (lines). Right: growth factor of the slowest mode vs ε.", base=run.path)
    s.text(f"Newton's step w − (∇²f)⁻¹∇f with ∇²f = 2H reaches the minimum in one step: ‖w₁‖ = {newton_err:.1e} "
           f"from ‖w₀‖ = {np.linalg.norm(w0):.3g}, whatever the conditioning (λ_max/λ_min = {lam.max() / lam.min():.3g}).")
    # cost of the Hessian for real models; time a solve here to turn FLOPs into seconds
    n_probe = cfg.solve_probe
    a = np.random.default_rng(0).normal(size=(n_probe, n_probe)).astype(np.float32)
    t0 = time.perf_counter()
    np.linalg.solve(a @ a.T + n_probe * np.eye(n_probe, dtype=np.float32), np.ones(n_probe, np.float32))
    secs = time.perf_counter() - t0
    flops = quadratic.hessian_cost(n_probe)["solve_flops"] / max(secs, 1e-9)
    counts = _param_counts(extra_models)
    cost_rows = []
    for name, n in counts.items():
        c = quadratic.hessian_cost(n)
        cost_rows.append([name, n, quadratic.human_bytes(c["gradient_bytes"]), quadratic.human_bytes(c["hessian_bytes"]),
                          c["solve_flops"] / flops])
    biggest = max(counts, key=counts.get)
    cb = quadratic.hessian_cost(counts[biggest])
    s.text(f"Why not Newton for deep networks: the Hessian has n² entries. For {biggest} (n = {counts[biggest]:,}) it needs "
           f"{quadratic.human_bytes(cb['hessian_bytes'])} in float32 against {quadratic.human_bytes(cb['gradient_bytes'])} for the "
           f"gradient, and one solve costs ~⅔n³ = {cb['solve_flops']:.2e} FLOPs; at the {flops / 1e9:.2g} GFLOP/s measured for a "
           f"{n_probe}×{n_probe} solve on this machine that is {cb['solve_flops'] / flops / 3600:.3g} hours "
           f"({cb['solve_flops'] / flops / 3600 / 24 / 365.25:.3g} years) per step — and the "
           f"Hessian changes every step, is indefinite near saddles (Newton then moves toward them), and a mini-batch estimate of it is noisy.")
    s.table(["model", "parameters", "gradient", "dense Hessian (float32)", "seconds per Newton solve (est.)"], cost_rows)
    return s, {"threshold_predicted": pred, "threshold_measured": meas, "threshold_half_predicted": pred_half,
               "threshold_half_measured": meas_half, "newton_error": newton_err}


def adam_bias_section(cfg, run) -> tuple[Section, dict]:
    b1, steps = cfg.beta1, cfg.adam_steps
    g = adam_bias.noisy_gradients(cfg.grad_mean, cfg.grad_std, steps, cfg.adam_runs, cfg.seed)
    ms = np.array([adam_bias.moments(r, b1)[0] for r in g])
    mhat = ms / (1 - b1 ** np.arange(1, steps + 1))
    em, _ = adam_bias.expected_moments(cfg.grad_mean, steps, b1)
    t = np.arange(1, steps + 1)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(t, ms[0], lw=0.8, alpha=0.6, label="m_t (one run)")
    ax.plot(t, mhat[0], lw=0.8, alpha=0.6, label="m̂_t (one run)")
    ax.plot(t, ms.mean(0), lw=2, label=f"m_t (mean of {cfg.adam_runs} runs)")
    ax.plot(t, mhat.mean(0), lw=2, label="m̂_t (mean)")
    ax.plot(t, em, "k:", label="(1 − β1^t)·μ")
    ax.axhline(cfg.grad_mean, c="k", lw=1, label=f"true mean gradient μ = {cfg.grad_mean:g}")
    ax.set(xlabel="step t", ylabel="first moment", title=f"Adam's first moment, β1 = {b1:g}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = run.save_figure(fig, "optim_adam_bias")
    reach = np.nonzero(ms.mean(0) >= 0.95 * cfg.grad_mean)[0]
    reach_t = int(reach[0]) + 1 if len(reach) else None
    s = Section("Adam's bias correction")
    s.text(f"Gradients g_t = μ + σ·noise with μ = {cfg.grad_mean:g}, σ = {cfg.grad_std:g}, averaged over {cfg.adam_runs} runs. "
           f"With m_0 = 0, m_1 = (1 − β1)g_1: its mean at t = 1 is {ms[:, 0].mean():.3f}, only {ms[:, 0].mean() / cfg.grad_mean:.1%} "
           f"of μ, and at t = 10 it is {ms[:, min(9, steps - 1)].mean():.3f}. "
           + (f"It first reaches 95% of μ at t = {reach_t}. " if reach_t else f"It stays below 95% of μ for all {steps} steps. ")
           + f"The corrected m̂_t = m_t/(1 − β1^t) averages {mhat[:, 0].mean():.3f} at t = 1 and stays within "
           f"{np.max(np.abs(mhat.mean(0) - cfg.grad_mean)):.3f} of μ throughout: the weights (1 − β1)β1^(t−s) sum to 1 − β1^t, "
           f"and dividing by that sum removes the pull toward the zero start. Without it, Adam's first steps would be ~{1 / (1 - b1):.0f}× too small "
           f"in the numerator (and, worse, the second-moment estimate with β2 = 0.999 would be even more biased in the denominator).")
    s.figure(p, "m_t (biased toward 0 early) vs m̂_t vs the true mean gradient.", base=run.path)
    return s, {"m1_mean": float(ms[:, 0].mean()), "mhat1_mean": float(mhat[:, 0].mean()), "reach95": reach_t}


def softmax_vs_logistic(cfg, run, xf, y) -> tuple[Section, dict]:
    a, b = cfg.pair
    keep = (y == a) | (y == b)
    x, yy = xf[keep], (y[keep] == a).astype(float)
    rng = np.random.default_rng(cfg.seed)
    w, bias = rng.normal(size=(2, x.shape[1])) * 0.1, rng.normal(size=2)
    eq = softmax_logistic.equivalence(x, w, bias, cfg.seed)
    tr = softmax_logistic.train_both(x, yy, cfg.softmax_lr, cfg.softmax_steps)
    s = Section("Two-class softmax regression is logistic regression")
    s.text(f"Digits {a} vs {b} ({len(yy):,} images, {x.shape[1]} inputs incl. bias). p(first class) of a softmax with rows W₁, W₂ is "
           f"e^z₁/(e^z₁ + e^z₂) = σ((W₁ − W₂)·x + (b₁ − b₂)). For random weights, the softmax probabilities and those of the "
           f"logistic model with v = W₁ − W₂, c = b₁ − b₂ differ by at most {eq['max_diff_logistic']:.1e}; adding the same random "
           f"vector to both rows changes them by at most {eq['max_diff_shifted']:.1e}. Only the differences matter, so the softmax's "
           f"{2 * x.shape[1] + 2} parameters describe the same family as logistic regression's {x.shape[1] + 1}.")
    s.text(f"Trained by full-batch GD from zero for {cfg.softmax_steps} steps (softmax at rate {cfg.softmax_lr:g}, logistic at "
           f"{2 * cfg.softmax_lr:g}, since W₁ − W₂ receives twice the logistic gradient), the two models agree to "
           f"{tr['max_prob_diff']:.1e} in probability and {tr['max_param_diff']:.1e} in parameters (W₁ − W₂ vs v); training "
           f"accuracy is {tr['acc_softmax']:.2%} for both ({tr['acc_logistic']:.2%}).")
    s.table(["check", "max |difference|"], [["softmax p₁ vs σ((W₁−W₂)x + b₁−b₂)", eq["max_diff_logistic"]],
                                            ["softmax vs softmax with both rows shifted", eq["max_diff_shifted"]],
                                            ["trained softmax vs trained logistic: probabilities", tr["max_prob_diff"]],
                                            ["trained: W₁ − W₂ vs v", tr["max_param_diff"]]])
    return s, {"equivalence": eq["max_diff_logistic"], "trained_diff": tr["max_prob_diff"]}
