"""solB.q1a–q1d (optimisers): learning rate too high / too low, saddle points with SGD and Adam, batch vs
mini-batch gradient descent. Every sub-claim of the solution becomes a boolean measured here (or None when
no computation can back or refute it), and the verdict is verdict_claims of those booleans."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims
from tamrin.answers.solB import _lr


def _claims_table(parts: list) -> tuple:
    rows = [[text, "confirmed" if ok is True else "refuted" if ok is False else "not checkable", why] for text, ok, why in parts]
    return ["the solution's sub-claim", "measured", "evidence"], rows, "Each sub-claim of the solution against the measurement."


def _num(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 1000 else f"{v:.3g}"


def _fmt_rate(c) -> str:
    return f"lr = {c.lr:g}"


@answer("solB.q1a")
def lr_too_high(ctx) -> Answer:
    r = _lr.sweep(ctx.seed)
    good, high, wild, div = r["good"], r["high"], r["wild"], r["diverged"]
    if high is None:  # no stable rate above the best one: compare the best with itself (every "high" claim then fails)
        high = good
    k = 2 * r["cfg"].every  # "early": after this many updates
    early_high, early_good = _lr.loss_at(high, k), _lr.loss_at(good, k)
    ups_high, ups_good = _lr.ups(high), _lr.ups(good)
    start = good.train[0]
    wild_end = float(wild.train[-1]) if wild else float("nan")
    parts = [
        ("a rate that is too large makes training unstable", div is not None,
         f"at {_fmt_rate(div)} the training loss passed {r['cfg'].blowup:g}× its initial value by update {div.diverged_at}" if div
         else f"no rate up to {max(r['cfg'].rates):g} diverged"),
        ("a very, very large rate learns nothing (the yellow curve)", wild is not None,
         f"at {_fmt_rate(wild)} the loss went from {start:.3f} to {_num(wild_end)}" if wild else "every rate above the best one learnt"),
        ("a high rate converges very quickly (the green curve reaches its optimum fast)", bool(early_high < early_good),
         f"after {k} updates the largest rate that still learns ({_fmt_rate(high)}) is at loss {early_high:.3f}, the best rate "
         f"({_fmt_rate(good)}) at {early_good:.3f}"),
        ("…to a suboptimal set of weights", bool(high.train[-1] > good.train[-1]),
         f"final training loss {high.train[-1]:.3f} at {_fmt_rate(high)} vs {good.train[-1]:.3f} at {_fmt_rate(good)}"),
        ("overshooting makes the loss oscillate; an oscillating loss curve is the sign to lower the rate", bool(ups_high > ups_good),
         f"the full training loss rose at {ups_high:.0%} of the evaluations at {_fmt_rate(high)} and {ups_good:.0%} at {_fmt_rate(good)}"),
        ("a too-high rate causes overfitting", bool(high.train[-1] < good.train[-1] and high.val > good.val),
         f"at {_fmt_rate(high)} training loss {high.train[-1]:.3f} / validation {high.val:.3f}, at {_fmt_rate(good)} "
         f"{good.train[-1]:.3f} / {good.val:.3f}: overfitting would mean a lower training loss with a higher validation loss"),
        ("it causes 'incorrect data preprocessing'; data augmentation and simpler networks are the remedies", None,
         "not an effect of the learning rate; nothing to measure"),
    ]
    fast, worse, overfit = parts[2][1], parts[3][1], parts[5][1]
    txt = (f"Measured with an MLP on {r['n_train']:,} MNIST images, plain SGD, the same start and the same batches at every rate: the "
           f"best rate was {_fmt_rate(good)} (final training loss {good.train[-1]:.3f}). ")
    if wild is not None:
        txt += (f"At {_fmt_rate(wild)} nothing is learnt (loss {start:.3f} → {_num(wild_end)})"
                + (f", and at {_fmt_rate(div)} the loss explodes (divergence)" if div is not None and div is not wild else "") + ". ")
    txt += (f"The largest rate that still learns, {_fmt_rate(high)}, is {'faster' if fast else 'slower'} early on (loss "
            f"{early_high:.3f} vs {early_good:.3f} after {k} updates), ends {'higher' if worse else 'lower'} ({high.train[-1]:.3f}) "
            f"and its loss goes up at {ups_high:.0%} of the evaluations (vs {ups_good:.0%}): the symptom of too high a rate is a "
            "training loss that stops falling steadily and bounces, stalls high or explodes; then lower the rate (or decay it). ")
    txt += (f"It {'does' if overfit else 'does not'} overfit more: its validation loss is {high.val:.3f} vs {good.val:.3f} with a "
            f"{'lower' if high.train[-1] < good.train[-1] else 'higher'} training loss, so "
            + ("the solution's 'overfitting' is confirmed here." if overfit else "it underfits rather than overfits; the solution's "
               "'overfitting' is not what a high rate does here."))
    if not fast:
        txt += " The solution's picture of a high rate that converges fast, to a worse point, is half right: worse, but not faster."
    fig = _lr.figure(ctx, r, "solB_q1a_lr_high", ("good", "high", "wild", "diverged"))
    return Answer(
        txt,
        values={"best_lr": good.lr, "largest_learning_lr": high.lr, "no_learning_lr": wild.lr if wild else None,
                "diverging_lr": div.lr if div else None, "early_loss_high": early_high, "early_loss_best": early_good,
                "final_loss_high": float(high.train[-1]), "final_loss_best": float(good.train[-1]), "rises_high": ups_high,
                "rises_best": ups_good, "val_loss_high": high.val, "val_loss_best": good.val},
        how="tamrin.answers.solB._lr.sweep: the labs' MLP (tamrin.labs.nets.MLP, one hidden layer of 64) on tamrin.labs.data.small_mnist, "
            f"plain SGD at rates {', '.join(f'{x:g}' for x in r['cfg'].rates)}, {r['cfg'].steps} updates of batch {r['cfg'].batch}; "
            "full training loss every few updates.",
        checks=_bowl_checks(),
        claim="Too high a rate 'may lead to fast learning of a non-optimal set of weights or an unstable process'; in the figure "
              "the high rate (green) 'reaches an optimal point very fast and training stops there', a very, very high rate "
              "(yellow) learns nothing; if the loss does not keep decreasing (oscillates), reduce the rate. Problems listed: "
              "instability, overfitting, 'incorrect data preprocessing', overshooting with oscillations.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_claims_table(parts)],
        figures=[(fig, "Full training loss per rate (log scale); the best, the largest that learns, the first that learns "
                       "nothing and the first that diverges are thick.")])


def _bowl_checks() -> list:
    """Independent of the MLP: GD on the quadratic bowl f = wᵀHw (tamrin.labs.quadratic), where the theory is exact."""
    from tamrin.labs import quadratic as q

    h, qm = q.make_hessian([0.5, 1.0, 2.0, 5.0], seed=0)
    w0 = qm @ np.ones(4)
    pred, meas = q.predicted_threshold(h), q.measured_threshold(w0, h, steps=400)
    top = qm[:, -1]  # eigenvector of the largest eigenvalue (eigvalsh order of make_hessian's diagonal)
    coord = q.gd(w0, h, 0.9 * pred, 12) @ top
    osc = bool(np.all(np.sign(coord[1:]) != np.sign(coord[:-1])) and abs(coord[-1]) < abs(coord[0]))
    grows = not q.stable(w0, h, 1.1 * pred, steps=400)
    return [close("quadratic bowl: the measured largest stable rate (bisection over GD runs) = 1/λ_max", meas, pred, rtol=2e-2),
            holds("quadratic bowl: at 0.9/λ_max the top eigen-coordinate flips sign every step while shrinking (oscillation), "
                  "at 1.1/λ_max GD grows", osc and grows, f"coordinate: {', '.join(f'{v:.3g}' for v in coord[:5])}, …")]


def _slow_bowl_check():
    """On the bowl, the updates GD needs to shrink ‖w‖ 1000× grow like 1/lr for small rates: measured vs the formula
    log(1e-3) / log(1 − 2·lr·λ_min) of the slowest eigen-coordinate."""
    from tamrin.labs import quadratic as q

    lam = [0.5, 1.0, 2.0, 5.0]
    h, qm = q.make_hessian(lam, seed=0)
    w0 = qm[:, 0]  # along the flattest direction (λ_min = 0.5): the slowest coordinate alone
    out = []
    for lr in (0.02, 0.002):
        ws = q.gd(w0, h, lr, 20000)
        n = np.linalg.norm(ws, axis=1)
        out.append(int(np.argmax(n < 1e-3 * n[0])))
    pred = [int(np.ceil(np.log(1e-3) / np.log(1 - 2 * lr * min(lam)))) for lr in (0.02, 0.002)]
    return close("quadratic bowl: updates to shrink ‖w‖ 1000× at lr 0.02 and 0.002 (measured) = the formula", out, pred, atol=1)


@answer("solB.q1b")
def lr_too_low(ctx) -> Answer:
    r = _lr.sweep(ctx.seed)
    good, low = r["good"], r["low"]
    start = low.train[0]
    drop_low, drop_good = start - low.train[-1], start - good.train[-1]
    tail = np.asarray(low.train[-5:], dtype=float)
    still_falling = bool(np.all(np.diff(tail) < 0))
    frac = drop_low / drop_good
    parts = [
        ("training becomes slow; the loss curve barely changes (the way to detect it)", bool(frac < 0.5),
         f"in {r['cfg'].steps} updates {_fmt_rate(low)} lowers the loss by {drop_low:.3f}, {frac:.1%} of the {drop_good:.3f} of {_fmt_rate(good)}"),
        ("it may not reach a good solution, or only with difficulty", bool(low.train[-1] > good.train[-1]),
         f"final training loss {low.train[-1]:.3f} vs {good.train[-1]:.3f}"),
        ("the model quickly reaches a stopping point and stops improving (stuck)", not still_falling,
         f"the last {len(tail)} evaluations of {_fmt_rate(low)}: " + ", ".join(f"{v:.3f}" for v in tail)
         + (" — still falling at every evaluation" if still_falling else "")),
        ("it can get stuck in local minima", None, "no local minimum was located; not measurable in this setting"),
    ]
    txt = (f"At {_fmt_rate(low)} ({good.lr / low.lr:.0f}× below the best rate of the sweep, {_fmt_rate(good)}) the loss falls "
           f"{'steadily' if still_falling else 'and stalls'} but slowly: {drop_low:.3f} in {r['cfg'].steps} updates against {drop_good:.3f}, "
           f"{frac:.1%} of the progress. A too-low rate is stable and wastes updates; it is "
           f"{'not stuck (the curve is still going down, just slowly)' if still_falling else 'stalled'}; detect it by a loss curve "
           "that is smooth but nearly flat, and raise the rate (a learning-rate range test finds the range).")
    fig = _lr.figure(ctx, r, "solB_q1b_lr_low", ("low", "good"))
    return Answer(
        txt,
        values={"low_lr": low.lr, "best_lr": good.lr, "loss_drop_low": drop_low, "loss_drop_best": drop_good,
                "fraction_of_progress": frac, "final_loss_low": float(low.train[-1]), "final_loss_best": float(good.train[-1])},
        how="the same sweep as solB.q1a (tamrin.answers.solB._lr.sweep).",
        checks=[holds("the low-rate curve never rises (a too-low rate is stable)", _lr.ups(low) == 0.0),
                _slow_bowl_check()],
        claim="Too low a rate: slow training, possibly 'stuck in local minima'; 'the model quickly reaches a stopping point and does "
              "not improve'; it may not reach the optimum; detect it by monitoring metrics and loss curves whose changes flatten out.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_claims_table(parts)],
        figures=[(fig, "Full training loss per rate; the smallest and the best rate are thick.")])


# --- q1c: saddle points ---------------------------------------------------------------------------
SADDLE = dict(lr=0.05, steps=1000, noise=0.05, radius=1.5)  # optim-lab's settings
STARTS = {"x² − y²": (0.5, 1e-3), "monkey x³ − 3xy²": (0.05, 0.02)}  # optim-lab's starts: just off the stable direction
ON_MANIFOLD = (0.5, 0.0)  # exactly on x² − y²'s attracting direction (y = 0)


def _fd_grad_hess(f, p, h=1e-4):
    """Central finite differences of f at p: gradient (2,) and Hessian (2, 2), from function values only."""
    p = np.asarray(p, dtype=float)
    e = np.eye(2) * h
    g = np.array([(f(p + e[i]) - f(p - e[i])) / (2 * h) for i in range(2)])
    hs = np.array([[(f(p + e[i] + e[j]) - f(p + e[i] - e[j]) - f(p - e[i] + e[j]) + f(p - e[i] - e[j])) / (4 * h * h)
                    for j in range(2)] for i in range(2)])
    return g, hs


def _torch_adam_escape(start, lr, steps, radius) -> int | None:
    """Steps torch.optim.Adam needs to leave the saddle of x² − y² (autograd gradients): an independent Adam."""
    import torch

    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr)
    for t in range(1, steps + 1):
        opt.zero_grad()
        (p[0] ** 2 - p[1] ** 2).backward()
        opt.step()
        if float(p.detach().norm()) > radius:
            return t
    return None


@answer("solB.q1c")
def saddle_points(ctx) -> Answer:
    from tamrin.labs import saddles

    cfg = SADDLE
    esc, trajs = {}, {}
    for surf, (_, gfn) in saddles.SURFACES.items():
        for m in saddles.METHODS:
            pts = saddles.trajectory(gfn, m, STARTS[surf], cfg["lr"], cfg["steps"], noise=cfg["noise"], seed=ctx.seed,
                                     escape_radius=cfg["radius"])
            esc[surf, m], trajs[surf, m] = saddles.escape_step(pts, cfg["radius"]), pts
    man = {}
    for m in ("GD", "SGD (noisy)", "Adam"):
        pts = saddles.trajectory(saddles.plain_saddle_grad, m, ON_MANIFOLD, cfg["lr"], cfg["steps"], noise=cfg["noise"],
                                 seed=ctx.seed, escape_radius=cfg["radius"])
        man[m] = (saddles.escape_step(pts, cfg["radius"]), float(np.linalg.norm(pts[-1])))
        trajs["manifold", m] = pts
    g0, h0 = _fd_grad_hess(saddles.plain_saddle, (0.0, 0.0))
    eig = np.linalg.eigvalsh(h0)
    surfs = list(saddles.SURFACES)
    big = cfg["steps"] + 1  # "never" counts as more than the budget

    def n(s, m):
        v = esc[s, m]
        return big if v is None else v

    def said(v):
        return f"{v} steps" if v is not None else f"no escape in {cfg['steps']}"

    adam_faster = all(n(s, "Adam") < min(n(s, "GD"), n(s, "SGD (noisy)")) for s in surfs)
    sgd_slower = all(n(s, "SGD (noisy)") > n(s, "Adam") for s in surfs)
    mom_faster = all(n(s, "momentum") < n(s, "GD") for s in surfs)
    gd_stuck = man["GD"][0] is None and man["GD"][1] < 1e-6
    adam_stuck = man["Adam"][0] is None
    parts = [
        ("a saddle point: zero gradient, the function rises in some directions and falls in others", bool(np.abs(g0).max() < 1e-8 and eig[0] < 0 < eig[1]),
         f"finite differences at the origin of x² − y²: gradient {np.abs(g0).max():.1g}, Hessian eigenvalues {eig[0]:.3g}, {eig[1]:.3g}"),
        ("(S)GD can get stuck at a saddle, where the gradient is zero", bool(gd_stuck),
         f"plain GD started on the attracting direction at {ON_MANIFOLD} ends {man['GD'][1]:.1e} from the saddle"),
        ("SGD leaves a saddle slowly", bool(sgd_slower),
         "steps to leave: " + "; ".join(f"{s}: SGD {said(esc[s, 'SGD (noisy)'])}, Adam {said(esc[s, 'Adam'])}" for s in surfs)),
        ("Adam, dividing by the root mean square of the gradients, leaves the saddle faster than SGD", bool(adam_faster),
         "; ".join(f"{s}: Adam {said(esc[s, 'Adam'])}, GD {said(esc[s, 'GD'])}, noisy SGD {said(esc[s, 'SGD (noisy)'])}" for s in surfs)),
        ("…so Adam gets out where SGD gets stuck", not adam_stuck,
         f"from {ON_MANIFOLD}: Adam {said(man['Adam'][0])} (ends {man['Adam'][1]:.1e} from the saddle), noisy SGD {said(man['SGD (noisy)'][0])}"),
        ("momentum helps SGD", bool(mom_faster), "; ".join(f"{s}: momentum {said(esc[s, 'momentum'])}, GD {said(esc[s, 'GD'])}" for s in surfs)),
        ("Adam's pros and cons (less accurate on small data sets, needs careful tuning)", None, "general statements; not measured here"),
    ]
    txt = (f"A saddle point has zero gradient and curvature of both signs (x² − y²: Hessian eigenvalues {eig[0]:.3g} and {eig[1]:.3g}). "
           f"Started just off the saddle (learning rate {cfg['lr']:g}, leaving = farther than {cfg['radius']:g}), Adam needs "
           + " and ".join(f"{said(esc[s, 'Adam'])} on {s} vs {said(esc[s, 'GD'])} for plain GD" for s in surfs)
           + f" ({'fewer' if adam_faster else 'not fewer'} on both): its step is the learning rate times g/√(mean g²), "
           "about the learning rate however flat the surface, while GD's step shrinks with the gradient. ")
    txt += (f"But started exactly on the attracting direction {ON_MANIFOLD}, GD {'converges into the saddle' if gd_stuck else 'escapes'} "
            f"and so does Adam ({'stuck' if adam_stuck else 'escapes'}: it only rescales the zero component); only the noisy "
            f"gradient of SGD leaves ({said(man['SGD (noisy)'][0])}). ")
    if adam_stuck:
        txt += "The solution's contrast (Adam gets out where SGD gets stuck) is therefore not right: noise, not Adam's scaling, is what removes the exact stall."
    fig = _saddle_figure(ctx, saddles, trajs)
    adam_t = _torch_adam_escape(STARTS["x² − y²"], cfg["lr"], cfg["steps"], cfg["radius"])
    gh = [(_fd_grad_hess(saddles.plain_saddle, p)[0], saddles.plain_saddle_grad(p)) for p in ctx.rng.normal(size=(5, 2))]
    return Answer(
        txt,
        values={"hessian_eigenvalues": eig, "escape_steps": {f"{s} / {m}": esc[s, m] for s in surfs for m in saddles.METHODS},
                "on_manifold": {m: {"escape": v[0], "final_distance": v[1]} for m, v in man.items()}},
        how=f"tamrin.labs.saddles.trajectory (from-scratch update rules of tamrin.scratch.optim), {cfg['steps']} steps at most, "
            f"gradient noise σ = {cfg['noise']:g} for SGD; Hessian by central finite differences of f.",
        checks=[close("torch.optim.Adam with autograd gradients leaves x² − y² in the same number of steps", adam_t or -1,
                      esc[surfs[0], "Adam"] or -1),
                close("finite-difference gradients = tamrin.labs.saddles.plain_saddle_grad at 5 random points",
                      [a for a, _ in gh], [b for _, b in gh], atol=1e-6)],
        claim="A saddle point has zero partial derivatives while the function goes up in some directions and down in others. "
              "Adam, using the mean of squared gradients (RMSprop + momentum), 'can leave the saddle point and move faster to the "
              "optimum'; SGD 'may get stuck at saddle points because the gradient is zero'; momentum can help SGD. Adam may lose "
              "accuracy on small data sets and needs careful tuning.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_claims_table(parts)],
        figures=[(fig, "Trajectories near the saddles (left: just off the attracting direction; right: exactly on it).")])


COLORS = {"GD": "C0", "SGD (noisy)": "C1", "momentum": "C2", "Adam": "C3"}  # the same method, the same colour in both panels


def _saddle_figure(ctx, saddles, trajs) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    g = np.linspace(-1.6, 1.6, 121)
    xx, yy = np.meshgrid(g, g)
    for ax, key, title in ((axes[0], "x² − y²", "f = x² − y², start just off y = 0"), (axes[1], "manifold", f"f = x² − y², start {ON_MANIFOLD}")):
        ax.contourf(xx, yy, saddles.plain_saddle((xx, yy)), levels=25, cmap="RdBu_r", alpha=0.5)
        for m in ("GD", "SGD (noisy)", "momentum", "Adam"):
            if (key, m) in trajs:
                p = trajs[key, m]
                ax.plot(p[:, 0], p[:, 1], ".-", ms=2, lw=1, label=m, color=COLORS[m])
        ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), title=title, xlabel="x", ylabel="y")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return ctx.figure(fig, "solB_q1c_saddles")


# --- q1d: batch vs mini-batch -----------------------------------------------------------------------
@answer("solB.q1d")
def batch_vs_minibatch(ctx) -> Answer:
    from tamrin.labs import minibatch as mb
    from tamrin.labs.data import small_mnist

    x, y, _ = small_mnist("", None, 14, 1000, ctx.seed)
    xf, yn = mb.with_bias(x.flatten(1).double().numpy()), y.numpy()
    n, lr, epochs, b = len(yn), 0.05, 3, 32
    runs = {"batch": n, "mini-batch": b, "SGD": 1}
    res = {k: mb.sgd_run(xf, yn, 10, bs, lr, epochs, ctx.seed) for k, bs in runs.items()}
    rough = {k: mb.roughness(r["per_update"]) for k, r in res.items()}
    final = {k: float(r["per_epoch"][-1]) for k, r in res.items()}
    updates = {k: len(r["per_update"]) for k, r in res.items()}
    mini_down = bool(res["mini-batch"]["per_epoch"][-1] < res["mini-batch"]["per_epoch"][0])
    # the solution's formula, written under "Batch gradient descent": for n = 1..N, w ← w − η ∂E_n/∂w (one sample at a time)
    w0 = np.zeros((xf.shape[1], 10))
    w_formula = w0.copy()
    for i in range(n):
        w_formula -= lr * mb.loss_grad(w_formula, xf[i:i + 1], yn[i:i + 1])[1]
    w_batch = w0 - lr * mb.loss_grad(w0, xf, yn)[1]
    gap = float(np.abs(w_formula - w_batch).max())
    parts = [
        ("batch GD's curve is smoother; mini-batch's goes up and down but falls overall", bool(rough["batch"] < rough["mini-batch"] and mini_down),
         f"roughness per update {rough['batch']:.4f} (batch) vs {rough['mini-batch']:.3f} (mini-batch); mini-batch full loss "
         f"{res['mini-batch']['per_epoch'][0]:.3f} → {final['mini-batch']:.3f}"),
        ("batch GD updates once per pass over all the data (costly per update)", bool(updates["batch"] == epochs),
         f"{updates['batch']} updates in {epochs} epochs vs {updates['mini-batch']} for mini-batches of {b}"),
        ("batch GD's loss decreases slowly", bool(final["batch"] > final["mini-batch"]),
         f"after {epochs} epochs: batch {final['batch']:.3f}, mini-batch {final['mini-batch']:.3f}"),
        ("mini-batches avoid SGD's noisy path", bool(rough["mini-batch"] < rough["SGD"]),
         f"roughness {rough['mini-batch']:.3f} (mini-batch) vs {rough['SGD']:.3f} (SGD, one sample per update)"),
        ("the update 'for n = 1..N: w ← w − η ∂E_n/∂w' is batch gradient descent", bool(gap < 1e-9),
         f"one pass of it vs one batch-GD step from the same weights: max |Δw| = {gap:.3g} (it is per-sample SGD)"),
        ("SGD may start learning inconsistent information", None, "not measurable as stated"),
    ]
    txt = (f"Softmax regression on {n:,} MNIST images, learning rate {lr:g}, {epochs} epochs. Per update the batch-GD curve is smooth "
           f"(roughness {rough['batch']:.4f}), mini-batches of {b} bounce ({rough['mini-batch']:.3f}) and SGD most ({rough['SGD']:.3f}); "
           f"per epoch batch GD makes {updates['batch'] // epochs} update against {updates['mini-batch'] // epochs} and "
           f"{updates['SGD'] // epochs}, so after {epochs} epochs its loss is {final['batch']:.3f} vs {final['mini-batch']:.3f} "
           f"(mini-batch) and {final['SGD']:.3f} (SGD). ")
    held = [p[1] for p in parts[:4]]
    txt += (("The solution's curve descriptions hold" if all(held) else
             f"{sum(held)} of the solution's {len(held)} curve descriptions hold (not: " + "; ".join(p[0] for p in parts[:4] if not p[1]) + ")")
            + (", but" if gap > 1e-9 else ", and") + " the formula it gives under 'Batch gradient descent' "
            + (f"is the per-sample (stochastic) update: one pass of it differs from a batch-GD step by up to {gap:.3g} in the weights; "
               "batch GD is w ← w − η·(1/N)·Σ_n ∂E_n/∂w, one step per pass." if gap > 1e-9 else "is batch GD."))
    fig = _batch_figure(ctx, res, rough, runs)
    import torch

    wt = torch.zeros(xf.shape[1], 10, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(torch.from_numpy(xf) @ wt, torch.from_numpy(yn)).backward()
    return Answer(
        txt,
        values={"roughness": rough, "updates": updates, "final_loss": final, "formula_vs_batch_max_abs_diff": gap},
        how="tamrin.labs.minibatch.sgd_run (NumPy softmax regression) on tamrin.labs.data.small_mnist; roughness = "
            "tamrin.labs.minibatch.roughness (mean |Δloss| / mean loss).",
        checks=[close("the NumPy gradient of the mean cross-entropy = torch autograd", mb.loss_grad(np.zeros_like(w0), xf, yn)[1],
                      wt.grad.numpy(), atol=1e-10),
                close("updates per run = epochs × ⌈N / B⌉", [updates[k] for k in runs], [epochs * -(-n // bs) for bs in runs.values()])],
        claim="Left figure, batch GD: smoother, the whole data set's average drives each update; right, mini-batch: goes up and down "
              "(random batches) but decreases overall. Batch GD updates only after all the data, heavy computation, and its cost "
              "'decreases slowly'; mini-batches (e.g. 200 at a time) are not noisy like SGD. Under 'Batch Gradient descent' it writes "
              "'for n = 1:N, w_i^n := w_i^(n−1) − η ∂E_n(w)/∂w_i'.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_claims_table(parts)],
        figures=[(fig, "Left: loss of the batch each update used. Right: full training loss after each epoch.")])


def _batch_figure(ctx, res, rough, runs) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, r in res.items():
        a1.plot(np.arange(1, len(r["per_update"]) + 1), r["per_update"], lw=0.6, label=f"{k} (B={runs[k]}): roughness {rough[k]:.3f}")
        a2.plot(np.arange(len(r["per_epoch"])), r["per_epoch"], "o-", label=k)
    a1.set(xscale="log", xlabel="update (log)", ylabel="loss of the update's batch")
    a2.set(xlabel="epoch", ylabel="full training loss")
    a1.legend(fontsize=7), a2.legend(fontsize=7)
    fig.tight_layout()
    return ctx.figure(fig, "solB_q1d_batch")
