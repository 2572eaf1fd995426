"""rnn-sentiment's own figures: one sentence unrolled through time, and accuracy by sentence length."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def unroll_figure(u: dict, classes, model_name: str):
    """Top: the unrolled graph (x_t = embedding(word t) and h_{t-1} enter step t; one softmax after the last
    word). Bottom left: ‖h_t‖ per step. Bottom right: the final ŷ, and a tagger's ŷ at every step for contrast."""
    steps = u["steps"]
    n = len(steps)
    fig = plt.figure(figsize=(max(8.0, 1.15 * n + 2.5), 7.2))
    gs = fig.add_gridspec(2, 2, height_ratios=[1.25, 1], width_ratios=[1.4, 1])
    ax = fig.add_subplot(gs[0, :])
    box = dict(boxstyle="round,pad=0.3", fc="#e8f0fb", ec="#2f6db5")
    for i, st in enumerate(steps):
        ax.text(i, 0, f"{st['word']}", ha="center", va="center", fontsize=9)
        ax.annotate("", (i, 0.75), (i, 0.2), arrowprops=dict(arrowstyle="->", color="#555"))
        ax.text(i + 0.06, 0.47, f"x_{st['t']}", fontsize=7, color="#555")
        ax.text(i, 1, f"h_{st['t']}", ha="center", va="center", fontsize=9, bbox=box)
        if i:
            ax.annotate("", (i - 0.25, 1), (i - 0.75, 1), arrowprops=dict(arrowstyle="->", color="#2f6db5"))
    ax.text(-0.9, 1, "h_0 = 0", ha="center", va="center", fontsize=8, color="#555")
    ax.annotate("", (-0.25, 1), (-0.6, 1), arrowprops=dict(arrowstyle="->", color="#2f6db5"))
    ax.annotate("", (n - 1, 1.75), (n - 1, 1.22), arrowprops=dict(arrowstyle="->", color="#b5442f"))
    pred = int(np.argmax(u["probs"]))
    ax.text(n - 1, 1.95, f"softmax (call {u['softmax_calls_many_to_one']} of {u['softmax_calls_many_to_one']}) → ŷ over "
                         f"{u['n_classes']} classes, argmax: {classes[pred]}", ha="right", va="center", fontsize=9, color="#b5442f")
    ax.set_xlim(-1.3, n - 0.5)
    ax.set_ylim(-0.4, 2.25)
    ax.axis("off")
    ax.set_title(f"{model_name} unrolled over {n} words: {u['rnn_calls']} recurrent steps, {u['softmax_calls_many_to_one']} softmax", fontsize=10)
    a2 = fig.add_subplot(gs[1, 0])
    a2.bar(range(1, n + 1), [st["h_norm"] for st in steps], color="#2f6db5")
    a2.set_xticks(range(1, n + 1))
    a2.set_xticklabels([st["word"] for st in steps], rotation=45, ha="right", fontsize=8)
    a2.set_ylabel("‖h_t‖")
    a2.set_title("hidden-state norm per step", fontsize=9)
    a3 = fig.add_subplot(gs[1, 1])
    tag = np.array(u["tagger_probs"])
    im = a3.imshow(tag.T, aspect="auto", cmap="Oranges", vmin=0, vmax=1)
    a3.set_yticks(range(len(classes)))
    a3.set_yticklabels(classes, fontsize=7)
    a3.set_xticks(range(n))
    a3.set_xticklabels([st["word"] for st in steps], rotation=45, ha="right", fontsize=7)
    for j, p in enumerate(u["probs"]):
        a3.text(n - 1, j, f"{p:.2f}", ha="center", va="center", fontsize=7, color="k")
    a3.set_title(f"a tagger: {u['softmax_calls_tagger']} softmax calls (last column = the classifier's ŷ)", fontsize=8)
    fig.colorbar(im, ax=a3, fraction=0.05)
    fig.tight_layout()
    return fig


def length_figure(bylen: dict):
    names = list(bylen)
    bins = [b["bin"] for b in next(iter(bylen.values()))]
    fig, ax = plt.subplots(figsize=(8, 4))
    w = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        ax.bar(np.arange(len(bins)) + k * w - 0.4 + w / 2, [b["acc"] for b in bylen[name]], w, label=name)
    ax.set_xticks(range(len(bins)))
    ax.set_xticklabels([f"{b} words\n(n={x['n']})" for b, x in zip(bins, next(iter(bylen.values())))])
    ax.set_ylabel("dev accuracy")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
