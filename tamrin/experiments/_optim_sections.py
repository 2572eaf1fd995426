"""The parts of `optim-lab`, one function per theory question, each returning its report Section.

Every sentence is built from numbers measured in the run; comparisons choose their words by comparing
those numbers (never typed-in results).
"""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from tamrin.labs import lr_range, minibatch, saddles  # noqa: E402
from tamrin.report import Section  # noqa: E402
from tamrin.report import figures as figs  # noqa: E402


def mlp(d_in: int, hidden: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _more_less(a: float, b: float, more: str = "higher", less: str = "lower") -> str:
    return more if a > b else less


# --- 1. learning rates -----------------------------------------------------------------------------
def learning_rates(cfg, run, x, y) -> tuple[Section, dict]:
    d = int(np.prod(x.shape[1:]))
    rt = lr_range.range_test(mlp(d, cfg.hidden, cfg.seed), x, y, cfg.lr_min, cfg.lr_max, cfg.range_steps, cfg.batch, cfg.seed,
                             stop_factor=cfg.stop_factor)
    rec = float(rt["recommended"])
    high = float(rt["blew_up_at"] or rt["lrs"][-1])
    high = max(high, 30 * rec)  # at least 30× the recommendation, so "too high" is clearly out of the good range
    rates = {"too low": rec / cfg.low_factor, "recommended": rec, "too high": high}
    curves = {name: lr_range.train_curve(mlp(d, cfg.hidden, cfg.seed), x, y, lr, cfg.lr_steps, cfg.batch, cfg.seed, cfg.blowup)
              for name, lr in rates.items()}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    a1.semilogx(rt["lrs"], rt["losses"], alpha=0.3, label="raw")
    a1.semilogx(rt["lrs"], rt["smooth"], label="smoothed")
    a1.axvline(rt["lr_at_min"], ls=":", c="gray", label=f"minimum at {rt['lr_at_min']:.3g}")
    a1.axvline(rec, ls="--", c="green", label=f"recommended {rec:.3g}")
    a1.set(xlabel="learning rate (log)", ylabel="mini-batch loss", title="LR range test")
    a1.legend(fontsize=8)
    for name, c in curves.items():
        line, = a2.plot(np.arange(1, len(c["losses"]) + 1), c["losses"], label=f"{name} (lr={rates[name]:.3g})")
        if c["diverged_at"]:
            a2.plot(c["diverged_at"], min(c["losses"][-1], cfg.blowup * c["losses"][0]) if np.isfinite(c["losses"][-1]) else cfg.blowup * c["losses"][0],
                    "x", ms=12, mew=3, color=line.get_color())
    a2.set(xlabel="update", ylabel="mini-batch loss", title="same model, three rates (x = diverged)", yscale="log")
    a2.legend(fontsize=8)
    fig.tight_layout()
    p = run.save_figure(fig, "optim_lr")
    s = Section("Learning rate: too low, too high, and a range test")
    start = float(curves["recommended"]["losses"][0])
    s.text(f"A {d}-{cfg.hidden}-10 ReLU MLP is trained with plain SGD (batch {cfg.batch}) on {len(y):,} MNIST images pooled to "
           f"{x.shape[-1]}×{x.shape[-1]}. The range test raised the rate from {cfg.lr_min:g} to {rt['lrs'][-1]:.3g} over "
           f"{len(rt['lrs'])} updates; its smoothed loss was lowest ({rt['min_loss']:.3f}) at lr = {rt['lr_at_min']:.3g}, so it "
           f"recommends a tenth of that, **lr = {rec:.3g}**, where the loss still falls steeply."
           + (f" The test stopped at lr = {rt['blew_up_at']:.3g}, where the smoothed loss exceeded {cfg.stop_factor:g}× its minimum." if rt["blew_up_at"] else ""))
    rows, parts = [], []
    for name, c in curves.items():
        l = c["losses"]
        fin = float(l[-1])
        rows.append([name, rates[name], len(l), fin if np.isfinite(fin) else "nan", f"step {c['diverged_at']}" if c["diverged_at"] else "no"])
        if c["diverged_at"]:
            parts.append(f"at lr = {rates[name]:.3g} ({name}) the loss exploded and divergence was detected at update {c['diverged_at']} "
                         f"(loss {fin:.3g} vs {float(l[0]):.3g} at the start)")
        else:
            parts.append(f"at lr = {rates[name]:.3g} ({name}) the loss went from {float(l[0]):.3f} to {fin:.3f} in {len(l)} updates")
    s.text("Starting from the same initial loss " f"({start:.3f}): " + "; ".join(parts) + ".")
    low, good = curves["too low"]["losses"], curves["recommended"]["losses"]
    if not curves["recommended"]["diverged_at"] and not curves["too low"]["diverged_at"]:
        s.text(f"The recommended rate ends {float(low[-1]) / float(good[-1]):.1f}× {_more_less(float(low[-1]), float(good[-1]), 'lower', 'higher')} "
               f"in loss than the rate {cfg.low_factor:g}× smaller: a rate that is too low is safe but wastes updates.")
    s.table(["rate", "lr", "updates run", "last loss", "diverged"], rows, f"Divergence = loss NaN/inf or above {cfg.blowup:g}× the first loss.")
    s.figure(p, "Left: range test (loss vs exponentially increasing rate). Right: training at the three rates.", base=run.path)
    return s, {"recommended_lr": rec, "lr_at_min": float(rt["lr_at_min"]),
               "diverged": {k: c["diverged_at"] for k, c in curves.items()}}


# --- 2. saddles -----------------------------------------------------------------------------------
SADDLE_STARTS = {"x² − y²": (0.5, 1e-3), "monkey x³ − 3xy²": (0.05, 0.02)}


def saddle_points(cfg, run) -> tuple[Section, dict]:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    rows, escapes = [], {}
    for ax, (surf, (fn, gfn)) in zip(axes, saddles.SURFACES.items()):
        g = np.linspace(-1.6, 1.6, 161)
        xx, yy = np.meshgrid(g, g)
        ax.contourf(xx, yy, fn((xx, yy)), levels=30, cmap="RdBu_r", alpha=0.6)
        ax.contour(xx, yy, fn((xx, yy)), levels=[0], colors="k", linewidths=0.5)
        escapes[surf] = {}
        for m in saddles.METHODS:
            pts = saddles.trajectory(gfn, m, SADDLE_STARTS[surf], cfg.saddle_lr, cfg.saddle_steps,
                                     noise=cfg.saddle_noise, seed=cfg.seed, escape_radius=cfg.escape_radius)
            e = saddles.escape_step(pts, cfg.escape_radius)
            escapes[surf][m] = e
            ax.plot(pts[:, 0], pts[:, 1], ".-", ms=2, lw=1, label=f"{m}: {e if e is not None else 'no escape'}")
        ax.plot(*SADDLE_STARTS[surf], "k*", ms=10)
        ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), title=f"f = {surf}", xlabel="x", ylabel="y")
        ax.legend(fontsize=7, title="steps to escape", title_fontsize=7, loc="lower left")
        rows += [[surf, m, e if e is not None else f"> {cfg.saddle_steps}"] for m, e in escapes[surf].items()]
    fig.tight_layout()
    p = run.save_figure(fig, "optim_saddles")
    s = Section("Escaping saddle points")
    s.text(f"Each method starts at the star and runs at most {cfg.saddle_steps} steps with learning rate {cfg.saddle_lr:g} "
           f"(SGD = GD plus Gaussian gradient noise of standard deviation {cfg.saddle_noise:g}); it has escaped once it is farther "
           f"than {cfg.escape_radius:g} from the saddle at the origin.")
    for surf, e in escapes.items():
        done = {m: v for m, v in e.items() if v is not None}
        never = [m for m, v in e.items() if v is None]
        if not done:
            s.text(f"On {surf} no method escaped within {cfg.saddle_steps} steps.")
            continue
        fastest, slowest = min(done, key=done.get), max(done, key=done.get)
        txt = f"On {surf}, {fastest} escapes first, in {done[fastest]} steps"
        if slowest != fastest:
            txt += f", {done[slowest] - done[fastest]} fewer than {slowest} ({done[slowest]})"
        if "GD" in done and "Adam" in done:
            ratio = done["GD"] / done["Adam"]
            txt += f"; Adam needs {ratio:.1f}× {'fewer' if ratio > 1 else 'more'} steps than plain GD"
        if never:
            txt += f"; {', '.join(never)} did not escape"
        s.text(txt + ".")
    s.text("Why: near a saddle the gradient is tiny, so GD's steps are tiny too (on the monkey saddle the gradient vanishes "
           "quadratically). Momentum accumulates the consistent push along the descending direction; RMSprop and Adam divide "
           "by the running gradient size, so their steps stay about the learning rate long however flat the surface; noise "
           "kicks SGD off the exact stable direction.")
    s.table(["surface", "method", "steps to escape"], rows)
    s.figure(p, "Trajectories over the contour plots (blue = low); the black line is f = 0.", base=run.path)
    return s, escapes


# --- 3. batch vs mini-batch vs SGD ------------------------------------------------------------------
def batch_modes(cfg, run, xf, y) -> tuple[Section, dict]:
    runs = {f"batch GD (B={len(y)})": len(y), f"mini-batch (B={cfg.minibatch})": cfg.minibatch, "SGD (B=1)": 1}
    res = {n: minibatch.sgd_run(xf, y, 10, b, cfg.batch_mode_lr, cfg.batch_epochs, cfg.seed) for n, b in runs.items()}
    rough = {n: minibatch.roughness(r["per_update"]) for n, r in res.items()}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for n, r in res.items():
        a1.plot(np.arange(1, len(r["per_update"]) + 1), r["per_update"], lw=0.6, label=f"{n}: roughness {rough[n]:.3f}")
        a2.plot(np.arange(len(r["per_epoch"])), r["per_epoch"], "o-", label=n)
    a1.set(xscale="log", xlabel="update (log)", ylabel="mini-batch loss", title="loss per update")
    a2.set(xlabel="epoch", ylabel="full training loss", title="loss per epoch")
    a1.legend(fontsize=7), a2.legend(fontsize=7)
    fig.tight_layout()
    p = run.save_figure(fig, "optim_batch_modes")
    names = list(runs)
    s = Section("Batch, mini-batch and stochastic gradient descent")
    s.text(f"Softmax regression on the same {len(y):,} images, learning rate {cfg.batch_mode_lr:g}, {cfg.batch_epochs} epochs each. "
           f"Roughness = mean |loss_t − loss_(t−1)| / mean loss over consecutive updates.")
    s.text(f"Per update, SGD's curve is {rough[names[2]] / max(rough[names[0]], 1e-12):.0f}× rougher than batch GD's "
           f"({rough[names[2]]:.3f} vs {rough[names[0]]:.4f}) and {rough[names[2]] / max(rough[names[1]], 1e-12):.1f}× rougher than "
           f"mini-batches' ({rough[names[1]]:.3f}): each update sees one sample, so its loss is a noisy estimate.")
    final = {n: float(res[n]["per_epoch"][-1]) for n in names}
    rank = sorted(names, key=final.get)
    txt = (f"Per epoch, after {cfg.batch_epochs} pass(es) the training loss ranks " +
           " < ".join(f"{n} {final[n]:.3f} ({len(res[n]['per_update'])} updates)" for n in rank) + ".")
    if rank[-1] == names[0]:
        txt += " Batch GD makes one update per pass, so at the same rate it is slowest per epoch despite its smooth curve."
    if final[names[2]] > final[names[1]]:
        txt += (" SGD makes the most updates, but at this rate its one-sample noise keeps its loss above the mini-batch one: "
                f"averaging {cfg.minibatch} samples per update, mini-batches make more progress per pass with a fraction of the noise.")
    elif final[names[2]] < final[names[1]]:
        txt += " SGD, with the most updates, makes the most progress per pass here, at the price of the noisiest curve."
    s.text(txt)
    s.table(["method", "updates", "roughness", "loss after last epoch"],
            [[n, len(r["per_update"]), rough[n], float(r["per_epoch"][-1])] for n, r in res.items()])
    s.figure(p, "Left: loss of the batch used by each update. Right: loss on the whole training set after each epoch.", base=run.path)
    return s, {"roughness": rough}


# --- 4. steps to a target loss vs batch size -------------------------------------------------------
def two_regimes(bs, steps) -> tuple[int, float, float]:
    """Split point k (first index of the second regime) minimising a two-line log-log fit's error."""
    lb, ls = np.log(bs), np.log(steps)
    best = None
    for k in range(2, len(bs) - 1):
        err, slopes = 0.0, []
        for a, b in ((0, k + 1), (k, len(bs))):
            c = np.polyfit(lb[a:b], ls[a:b], 1)
            err += float(((np.polyval(c, lb[a:b]) - ls[a:b]) ** 2).sum())
            slopes.append(float(c[0]))
        if best is None or err < best[0]:
            best = (err, k, *slopes)
    return best[1], best[2], best[3]


def batch_size_scaling(cfg, run, xf, y) -> tuple[Section, dict]:
    x, yy = xf[: cfg.scaling_n], y[: cfg.scaling_n]
    best = {}
    for b in cfg.batch_sizes:
        best_steps, best_lr = None, None
        for lr in sorted(cfg.scaling_lrs, reverse=True):
            cap = best_steps if best_steps is not None else cfg.scaling_max_steps
            st = minibatch.steps_to_target(x, yy, 10, min(b, len(yy)), lr, cfg.target_loss, cap, cfg.seed, check_every=cfg.check_every)
            if st is not None and (best_steps is None or st < best_steps):
                best_steps, best_lr = st, lr
        best[b] = (best_steps, best_lr)
    ok = [b for b in cfg.batch_sizes if best[b][0] is not None]
    s = Section("Steps to a target loss vs mini-batch size")
    s.text(f"For each batch size, SGD on softmax regression ({len(yy):,} images) is run with each rate in "
           f"{', '.join(f'{v:g}' for v in cfg.scaling_lrs)}, and the fewest updates that bring the full training loss to "
           f"{cfg.target_loss:g} are kept (at most {cfg.scaling_max_steps:,}).")
    s.table(["batch size", "fewest updates", "at lr"], [[b, best[b][0] if best[b][0] else f"> {cfg.scaling_max_steps}", best[b][1] or ""] for b in cfg.batch_sizes])
    out = {"steps": {b: best[b][0] for b in cfg.batch_sizes}}
    if len(ok) >= 4:
        steps = np.array([best[b][0] for b in ok], float)
        k, s1, s2 = two_regimes(np.array(ok, float), steps)
        fig = figs.lines(ok, {"updates to target": steps}, "updates to reach the target loss", "batch size", "updates", logx=True, logy=True)
        ax = fig.axes[0]
        ax.axvline(ok[k], ls=":", c="gray")
        ax.annotate(f"slope {s1:.2f}", (np.sqrt(ok[0] * ok[k]), steps[:k + 1].mean()), fontsize=8)
        ax.annotate(f"slope {s2:.2f}", (np.sqrt(ok[k] * ok[-1]), steps[k:].mean()), fontsize=8)
        p = run.save_figure(fig, "optim_batch_scaling")
        save = 1 - 2.0 ** s2
        s.text(f"The measured curve splits best at batch size {ok[k]}. Up to there the log-log slope is {s1:.2f} "
               f"({'close to' if abs(s1 + 1) < 0.3 else 'shallower than' if s1 > -1 else 'steeper than'} −1, the perfect-scaling line): "
               f"a bigger batch averages away gradient noise, so each update is worth proportionally more. Beyond it the slope is "
               f"{s2:.2f}: doubling the batch saves only {save:.0%} of the updates, because once the gradient estimate is accurate "
               f"the step size, limited by the curvature, is the bottleneck, not the noise (diminishing returns).")
        s.figure(p, "Fewest updates to the target loss vs batch size (both axes log).", base=run.path)
        out.update(split=ok[k], slope_small=s1, slope_large=s2)
    else:
        s.notice(f"Only {len(ok)} batch sizes reached the target loss; too few to fit the two regimes.")
    return s, out
