"""regularization-lab, part 3: depth — saturating sigmoids, plain vs residual CNNs, initialisation."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from tamrin.labs.nets import MLP, DeepCNN, init_weights, layer_grad_norms  # noqa: E402
from tamrin.report import Section  # noqa: E402
from tamrin.report.figures import epoch_axis  # noqa: E402
from tamrin.train import fit  # noqa: E402


@torch.no_grad()
def _sigmoid_stats(model, x):
    """Per hidden layer: fraction of saturated units (σ < 0.01 or > 0.99) and mean σ'(z) = σ(1 − σ)."""
    sat, deriv, h = [], [], x.flatten(1)
    for m in model.net:
        if isinstance(m, nn.Flatten):
            continue
        h = m(h)
        if isinstance(m, nn.Sigmoid):
            sat.append(float(((h < 0.01) | (h > 0.99)).float().mean()))
            deriv.append(float((h * (1 - h)).mean()))
    return sat, deriv


def sigmoid_saturation(cfg, run, x, y) -> tuple[Section, dict]:
    xb, yb = x[: cfg.probe_batch], y[: cfg.probe_batch]
    d_in = xb[0].numel()
    hidden = tuple([cfg.sigmoid_width] * cfg.sigmoid_depth)
    out, fig = {}, plt.figure(figsize=(7, 3.8))
    ax = fig.gca()
    for scheme in ("positive", "xavier"):
        model = init_weights(MLP(d_in, hidden, act="sigmoid"), scheme, cfg.seed, scale=cfg.positive_scale)
        sat, deriv = _sigmoid_stats(model, xb)
        grads = layer_grad_norms(model, model.linears(), xb, yb)
        out[scheme] = {"saturated": sat, "deriv": deriv, "grads": grads}
        ax.semilogy(range(1, len(grads) + 1), np.maximum(grads, 1e-30), "o-", label=f"{scheme} init")
    ax.set(xlabel="layer (1 = input side)", ylabel="‖∂L/∂W‖", title="sigmoid MLP: gradient norm per layer at initialisation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = run.save_figure(fig, "reg_sigmoid_grads")
    pos, xav = out["positive"], out["xavier"]
    g0, gl = pos["grads"][0], pos["grads"][-1]
    first = (f"the first layer's gradient norm is exactly 0 in float32 (the product of σ' factors underflowed), against "
             f"{gl:.1e} at the output layer" if g0 == 0 else
             f"the first layer's gradient norm is {g0:.1e}, {gl / g0:.1e}× smaller than the output layer's ({gl:.1e})")
    s = Section("Sigmoid network with large positive initial weights")
    s.text(f"A {cfg.sigmoid_depth}-hidden-layer sigmoid MLP (width {cfg.sigmoid_width}) with weights drawn from U(0, "
           f"{cfg.positive_scale:g}): every unit sums many positive terms, so the pre-activations are large and "
           f"{np.mean(pos['saturated'][1:]):.1%} of the units of layers 2–{cfg.sigmoid_depth} sit at σ > 0.99 (or < 0.01), where "
           f"σ'(z) = σ(1 − σ) averages {np.mean(pos['deriv'][1:]):.1e} instead of at most 0.25. Backpropagation multiplies by σ' "
           f"at every layer: {first}. With Xavier initialisation {np.mean(xav['saturated']):.1%} of the units saturate and the "
           f"first layer's gradient is {xav['grads'][0]:.1e}.")
    s.table(["layer", "saturated (positive init)", "mean σ' (positive)", "‖∂L/∂W‖ (positive)", "saturated (Xavier)", "‖∂L/∂W‖ (Xavier)"],
            [[i + 1, pos["saturated"][i], pos["deriv"][i], pos["grads"][i], xav["saturated"][i], xav["grads"][i]]
             for i in range(cfg.sigmoid_depth)])
    s.figure(p, "Gradient norm of each weight matrix for one batch at initialisation (log scale).", base=run.path)
    return s, {"first_grad_positive": pos["grads"][0], "first_grad_xavier": xav["grads"][0]}


def _train_cnn(cfg, run, tag, model, train, val):
    return fit(model, train, val, cfg.cnn_train, run, tag=tag, seed=cfg.seed)


def plain_vs_residual(cfg, run, train, val) -> tuple[Section, dict]:
    xb, yb = train[0][: cfg.probe_batch], train[1][: cfg.probe_batch]
    models, grads = {}, {}
    for name, res in (("plain", False), ("residual", True)):
        torch.manual_seed(cfg.seed)
        m = init_weights(DeepCNN(cfg.cnn_depth, cfg.cnn_channels, residual=res), "he", cfg.seed)
        grads[name] = layer_grad_norms(m, m.convs(), xb, yb)
        models[name] = m
    fits = {n: _train_cnn(cfg, run, f"cnn_{n}", m, train, val) for n, m in models.items()}
    hist = {n: r.history for n, r in fits.items()}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for n in grads:
        a1.semilogy(range(1, len(grads[n]) + 1), np.maximum(grads[n], 1e-30), "o-", ms=3, label=n)
        a2.plot([h["epoch"] for h in hist[n]], [h["train_loss"] for h in hist[n]], "o-", label=f"{n} train")
        a2.plot([h["epoch"] for h in hist[n]], [h["val_loss"] for h in hist[n]], "s--", label=f"{n} val")
    a1.set(xlabel="conv layer (1 = input side)", ylabel="‖∂L/∂W‖", title="gradient norm per layer at initialisation")
    a2.set(xlabel="epoch", ylabel="loss", title="training curves")
    a1.legend(fontsize=8), a2.legend(fontsize=8)
    epoch_axis(a2, [h["epoch"] for h in hist["plain"]])
    fig.tight_layout()
    p = run.save_figure(fig, "reg_plain_vs_residual")
    ratio = {n: g[0] / max(g[-1], 1e-30) for n, g in grads.items()}
    fp, fr = hist["plain"][-1], hist["residual"][-1]
    s = Section("Deep plain CNN vs the same depth with residual connections")
    s.text(f"{cfg.cnn_depth} conv blocks of {cfg.cnn_channels} channels (He initialisation, no BN) after a stride-2 stem conv, "
           f"with or without an identity shortcut around each block (residual branch scaled by 1/√{cfg.cnn_depth} so that "
           f"{cfg.cnn_depth} summed branches keep the activations O(1) without BN).")
    if ratio["residual"] > 2 * ratio["plain"]:
        g_txt = (f"At initialisation the first conv's gradient norm is {ratio['plain']:.2g}× the last one's in the plain network "
                 f"but {ratio['residual']:.2g}× in the residual one: the shortcut adds an identity path to every layer's "
                 "Jacobian, so the gradient reaches the early layers less damped.")
    else:
        g_txt = (f"At initialisation the first conv's gradient norm is {ratio['plain']:.2g}× the last one's in the plain network "
                 f"and {ratio['residual']:.2g}× in the residual one: with He initialisation the gradient *size* per layer is "
                 "comparable, so the difference below is not plain vanishing gradients.")
    verdict = (f"The plain network fits the *training* data worse ({fp['train_loss']:.3f} vs {fr['train_loss']:.3f}) — the "
               "degradation problem: adding layers made optimisation harder, not over-fitting; with shortcuts every block starts "
               "near the identity, so depth cannot make the starting function worse." if fp["train_loss"] > fr["train_loss"] else
               "In this run the plain network is not behind on training loss; the degradation shows with more depth or epochs.")
    s.text(g_txt + f" After {len(hist['plain'])} epochs of {cfg.cnn_train.optimizer} (lr {cfg.cnn_train.lr:g}) the training loss "
           f"is {fp['train_loss']:.3f} (plain) vs {fr['train_loss']:.3f} (residual), validation accuracy {fp['val_acc']:.2%} vs "
           f"{fr['val_acc']:.2%}. " + verdict)
    s.figure(p, "Left: ‖∂L/∂W‖ per conv layer at initialisation. Right: loss per epoch.", base=run.path)
    return s, {"grad_ratio": ratio, "train_loss": {"plain": fp["train_loss"], "residual": fr["train_loss"]},
               "fits": {f"CNN {n}": r for n, r in fits.items()}}


@torch.no_grad()
def _activation_stds(model, x):
    stds, h = [], torch.relu(model.stem(x))
    stds.append(float(h.std()))
    for b in model.blocks:
        h = b(h)
        stds.append(float(h.std()))
    return stds


def initialisation(cfg, run, train, val) -> tuple[Section, dict]:
    xb = train[0][: cfg.probe_batch]
    hist, stds, fits = {}, {}, {}
    for scheme in ("zero", "xavier", "he"):
        torch.manual_seed(cfg.seed)
        m = init_weights(DeepCNN(cfg.init_depth, cfg.cnn_channels), scheme, cfg.seed)
        stds[scheme] = _activation_stds(m, xb)
        fits[f"CNN init {scheme}"] = _train_cnn(cfg, run, f"init_{scheme}", m, train, val)
        hist[scheme] = fits[f"CNN init {scheme}"].history
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    # "zero" is drawn last, black, dashed with hollow markers: its flat chance-level line was hidden under the others,
    # and a line it coincides with still shows through the gaps (issue #16)
    style = {"zero": dict(color="black", ls=(0, (4, 3)), lw=1.8, marker="s", ms=6, mfc="none", zorder=5), "xavier": dict(color="C1", marker="^", ms=4),
             "he": dict(color="C2", marker="v", ms=4)}
    for n in ("xavier", "he", "zero"):
        exact0 = max(stds[n]) == 0  # log axis: an all-zero curve is drawn at 1e-30 and the legend says so
        a1.semilogy(range(len(stds[n])), np.maximum(stds[n], 1e-30), **style[n], label=f"{n} (exactly 0, drawn at 1e-30)" if exact0 else n)
        a2.plot([h["epoch"] for h in hist[n]], [h["val_acc"] for h in hist[n]], **style[n], label=n)
    a1.set(xlabel="layer (0 = stem)", ylabel="activation std (log scale)", title="activation scale through the ReLU CNN at init")
    a2.set(xlabel="epoch", ylabel="validation accuracy", title="training")
    a1.legend(fontsize=8), a2.legend(fontsize=8)
    a1.xaxis.get_major_locator().set_params(integer=True)
    epoch_axis(a2, [h["epoch"] for h in hist["he"]])
    fig.tight_layout()
    p = run.save_figure(fig, "reg_init")
    per_layer = {n: (s[-1] / s[0]) ** (1 / max(1, len(s) - 1)) if s[0] > 0 else 0.0 for n, s in stds.items()}
    s = Section("Zero vs Xavier vs He initialisation for a ReLU CNN")
    s.text(f"A {cfg.init_depth}-block ReLU CNN ({cfg.cnn_channels} channels, no BN). Zero init: every activation is "
           f"{stds['zero'][-1]:.1g}, so every weight's gradient is 0 too (ReLU'(0) = 0 and the inputs to each layer are 0), and "
           f"even where it were not, all units of a layer would get the same update — the symmetry is never broken and "
           f"validation accuracy stays at {hist['zero'][-1]['val_acc']:.2%}. Xavier (Var = 2/(fan_in + "
           f"fan_out)) ignores that ReLU zeroes half the units: the activation std shrinks by ×{per_layer['xavier']:.2f} per layer "
           f"(from {stds['xavier'][0]:.3g} to {stds['xavier'][-1]:.3g}); He (Var = 2/fan_in) keeps it at ×{per_layer['he']:.2f} "
           f"per layer ({stds['he'][0]:.3g} → {stds['he'][-1]:.3g}). After {len(hist['he'])} epochs: validation accuracy "
           f"{hist['zero'][-1]['val_acc']:.2%} (zero), {hist['xavier'][-1]['val_acc']:.2%} (Xavier), {hist['he'][-1]['val_acc']:.2%} (He).")
    s.table(["init", "activation std, first layer", "last layer", "per-layer factor", "final val accuracy"],
            [[n, stds[n][0], stds[n][-1], per_layer[n], hist[n][-1]["val_acc"]] for n in stds])
    s.figure(p, "Left: activation std per layer at initialisation. Right: validation accuracy per epoch.", base=run.path)
    return s, {"val_acc": {n: hist[n][-1]["val_acc"] for n in hist}, "per_layer": per_layer, "fits": fits}
