"""The sentences of rnn-sentiment's report that interpret numbers, as functions of those numbers (tested in
tests/test_rnn_experiment.py): which model wins, whether the 42% target is met, what the hw4.t3 counts show."""
from __future__ import annotations

import math

MARGIN = 0.005  # dev differences below half a point (≈ 5 of 1,101 sentences) are called ties


def _cmp(a: float, b: float) -> str:
    if a - b > MARGIN:
        return "better than"
    if b - a > MARGIN:
        return "worse than"
    return "about as good as"


def target_sentence(model: str, acc: float, target: float) -> str:
    met = "meets" if acc >= target else "does not meet"
    return (f"Best model on dev: {model} with {acc:.2%} accuracy, which {met} the target of {target:.0%} "
            f"({acc - target:+.2%}) from randomly initialised embeddings.")


def comparisons(dev_acc: dict[str, float]) -> list[str]:
    """Pairs the report can compare when both models ran: phrase vs sentence level, LSTM vs vanilla RNN,
    bidirectional vs one-way, mean pooling vs the last state, the best recurrent model vs bag of words."""
    out = []
    for k in ("bow", "rnn", "lstm", "gru", "bilstm", "lstm-mean"):
        a = f"{k}@phrase"
        if a in dev_acc and k in dev_acc:
            out.append(f"{k}: training on every labelled phrase is {_cmp(dev_acc[a], dev_acc[k])} training on whole sentences "
                       f"only ({dev_acc[a]:.2%} vs {dev_acc[k]:.2%} dev accuracy).")
    pairs = [("lstm", "rnn", "the LSTM", "the vanilla RNN"), ("gru", "rnn", "the GRU", "the vanilla RNN"),
             ("bilstm", "lstm", "the bidirectional LSTM", "the one-way LSTM"),
             ("bilstm@phrase", "lstm@phrase", "the bidirectional LSTM (phrase level)", "the one-way LSTM (phrase level)"),
             ("lstm-mean", "lstm", "the LSTM with mean pooling over the words", "the LSTM's last hidden state")]
    for a, b, wa, wb in pairs:
        if a in dev_acc and b in dev_acc:
            out.append(f"{wa[0].upper() + wa[1:]} is {_cmp(dev_acc[a], dev_acc[b])} {wb}: {dev_acc[a]:.2%} vs {dev_acc[b]:.2%} dev accuracy.")
    rec = {k: v for k, v in dev_acc.items() if not k.startswith("bow")}
    bow = {k: v for k, v in dev_acc.items() if k.startswith("bow")}
    if rec and bow:
        (rk, rv), (bk, bv) = max(rec.items(), key=lambda t: t[1]), max(bow.items(), key=lambda t: t[1])
        verdict = ("so word order, which only the recurrent model sees, is worth something here" if rv - bv > MARGIN else
                   "so in this run the recurrent model gains nothing measurable from word order" if rv - bv >= -MARGIN else
                   "so in this run the bag of words is ahead: the recurrent models have too little data or training to use word order")
        out.append(f"The best recurrent model ({rk}, {rv:.2%}) is {_cmp(rv, bv)} the best bag-of-words baseline ({bk}, {bv:.2%}), {verdict}.")
    return out


def hw4_sentence(n_steps: int, calls_m2o: int, calls_tagger: int, n_classes: int, sums: list[float], what: str) -> str:
    ok = all(abs(s - 1) < 1e-5 for s in sums)
    s = (f"Measured on {what}: the recurrent layer ran {n_steps} time(s), once per word, each time on x_t (the embedding of word t) "
         f"and h_(t-1); the many-to-one classifier then called the softmax {calls_m2o} time(s), giving "
         f"{'one distribution' if calls_m2o == 1 else f'{calls_m2o} distributions'} ŷ over the {n_classes} sentiment classes "
         f"(sum {', '.join(f'{x:.6f}' for x in sums)}); a tagger with the same weights calls it {calls_tagger} time(s).")
    if calls_m2o == 1 and calls_tagger == n_steps and ok:
        s += (f" So at test time an n-word sentence gets ONE output: the probability of each of the {n_classes} classes after the "
              f"last word; the {n_steps} per-step outputs of a many-to-many tagger are not needed.")
    else:
        s += " These counts differ from the textbook many-to-one picture (1 softmax, n steps): check the model."
    return s


def length_sentence(model: str, bins: list[dict]) -> str:
    ok = [b for b in bins if b["n"] > 0 and not math.isnan(b["acc"])]
    if len(ok) < 2:
        return f"{model}: too few length bins with sentences to compare."
    lo, hi = ok[0], ok[-1]
    trend = ("lower" if hi["acc"] < lo["acc"] - MARGIN else "higher" if hi["acc"] > lo["acc"] + MARGIN else "about the same")
    return (f"{model} is {trend} on the longest sentences ({hi['bin']} words: {hi['acc']:.2%}, n={hi['n']}) than on the shortest "
            f"({lo['bin']} words: {lo['acc']:.2%}, n={lo['n']}).")


def numpy_sentence(dev_acc: float, train_acc: float, n_classes: int) -> str:
    chance = 1 / n_classes
    where = "above" if dev_acc > chance + 0.02 else "near"
    fit = (" and it fits its training sentences much better than dev (over-fitting a small sample)" if train_acc - dev_acc > 0.1 else "")
    return (f"Its dev accuracy is {where} chance ({chance:.0%} for {n_classes} balanced classes; the majority class is a stronger "
            f"baseline){fit}.")
