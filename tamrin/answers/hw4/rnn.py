"""hw4.t3a–t3c: an RNN's sentiment of an n-word sentence at test time, measured with hooks on a real tamrin
sentiment model (tamrin.experiments.rnn_sentiment.hw4_t3_measurement: an untrained vanilla-RNN classifier on the
sentence's own vocabulary; the answer is about the network's structure, which training does not change)."""
from __future__ import annotations

from functools import lru_cache

from tamrin.answers import Answer, answer, close, holds

HOW = ("tamrin.experiments.rnn_sentiment.hw4_t3_measurement: forward hooks on the recurrent layer and on the softmax of "
       "a tamrin SentenceRNN (5 classes), the sentence fed one word at a time; the same output layer applied after every "
       "step shows the many-to-many contrast. `tamrin run rnn-sentiment` measures the same on the trained SST-5 models.")


@lru_cache(maxsize=4)
def _measure(seed: int) -> dict:
    from tamrin.experiments.rnn_sentiment import hw4_t3_measurement

    return hw4_t3_measurement(seed)


@answer("hw4.t3a")
def softmax_calls(ctx) -> Answer:
    m = _measure(ctx.seed)
    n = m["n_words"]
    return Answer(
        f"One output, one softmax call per sentence: the RNN reads all {n} words of \"{m['sentence']}\" ({n} recurrent steps, "
        f"counted by a hook) and applies the output layer and softmax once, to the last hidden state h_{n} "
        f"(many-to-one): measured {m['softmax_calls_many_to_one']} softmax call(s). A many-to-many tagger with the same weights "
        f"would call it after every word: measured {m['softmax_calls_tagger']} calls, one per word — not what a sentence label needs.",
        values={"sentence": m["sentence"], "n_words": n, "recurrent_steps": n, "softmax_calls_many_to_one": m["softmax_calls_many_to_one"],
                "softmax_calls_tagger": m["softmax_calls_tagger"]},
        how=HOW,
        checks=[close("softmax calls counted by a hook = 1 (many-to-one)", m["softmax_calls_many_to_one"], 1),
                close("recurrent steps counted by a hook = the words of the sentence (str.split)", n, len(m["sentence"].split())),
                close("a tagger's softmax calls = n", m["softmax_calls_tagger"], len(m["sentence"].split()))])


@answer("hw4.t3b")
def distribution(ctx) -> Answer:
    m = _measure(ctx.seed)
    return Answer(
        f"ŷ is a probability distribution over the {m['n_classes']} sentiment classes 0..4 (very negative … very positive) of the "
        f"whole sentence: {m['n_classes']} non-negative numbers that sum to 1 (measured sum {m['prob_sums'][0]:.7f}); the "
        "prediction is its argmax. It is not a distribution over words or over the vocabulary.",
        values={"n_classes": m["n_classes"], "prob_sum": m["prob_sums"][0], "prediction": m["prediction"],
                "tagger_prob_sums": m["prob_sums_tagger"]},
        how=HOW,
        checks=[close("the softmax output has 5 entries", m["n_classes"], 5),
                close("ŷ sums to 1 (float32)", m["prob_sums"], [1.0], atol=1e-6),
                close("each of a tagger's n distributions sums to 1 too", m["prob_sums_tagger"], [1.0] * len(m["prob_sums_tagger"]), atol=1e-6)])


@answer("hw4.t3c")
def inputs_per_step(ctx) -> Answer:
    m = _measure(ctx.seed)
    words = m["sentence"].split()
    steps = m["inputs_per_step"]
    ok_words = all(f"embedding({w!r})" in s for w, s in zip(words, steps))
    ok_state = "h_0 = 0" in steps[0] and all(f"h_{t} (the output of step {t})" in s for t, s in enumerate(steps[1:], start=1))
    return Answer(
        "At step t two inputs enter the recurrent cell: x_t, the embedding (a learned vector) of word t, and h_{t-1}, the hidden "
        "state that step t−1 produced (h_0 = 0 at the first word); the cell computes h_t = tanh(W_xh x_t + W_hh h_{t-1} + b). "
        "No output and no label enter at any step; only after the last word does h_n go to the output layer. Measured with a "
        "forward hook, step by step: " + "; ".join(steps) + ".",
        values={"inputs_per_step": steps},
        how=HOW,
        checks=[holds("the hook saw the embedding row of word t at every step", ok_words),
                holds("the state fed to step t is exactly the output of step t−1 (h_0 = 0 first)", ok_state),
                close("one recorded step per word", len(steps), len(words))])
