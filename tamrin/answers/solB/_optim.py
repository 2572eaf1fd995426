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
