"""hw4.t1a–t1c: depth, initialisation and shortcuts, each measured at initialisation on tamrin.labs' DeepCNN
(stem conv → `depth` conv3x3+ReLU blocks, optionally residual → GAP → linear) and re-derived with the NumPy
layers of tamrin.scratch as the independent route."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn

from tamrin.answers import Answer, answer, close, holds

DEPTHS = (5, 20, 50)
CHANNELS = 16
BATCH, SIZE = 16, 20  # 20x20 inputs → 10x10 maps after the stride-2 stem


def _batch(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, SIZE, SIZE, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (BATCH,), generator=g)
    return x, y


def _net(depth: int, residual: bool, seed: int, scheme: str = "default"):
    """DeepCNN in float64 (depth 50 gradients reach 1e-20: float32 would round some of them to 0)."""
    from tamrin.labs.nets import DeepCNN, init_weights

    torch.manual_seed(seed)
    m = DeepCNN(depth, CHANNELS, residual=residual)  # "default": PyTorch's own init, U(±1/√fan_in)
    if scheme != "default":
        init_weights(m, scheme, seed)
    return m.double()


@functools.lru_cache(maxsize=16)
def _flow(depth: int, residual: bool, seed: int) -> dict:
    """gradient_flow of the net on the seed's batch (t1a and t1c share the plain networks)."""
    x, y = _batch(seed)
    return gradient_flow(_net(depth, residual, seed), x, y)


def gradient_flow(m, x, y) -> dict:
    """‖∂L/∂h_l‖ for the stem output h_0 and every block output h_l, and ‖∂L/∂W‖ per conv, by autograd."""
    hs = [torch.relu(m.stem(x))]
    for b in m.blocks:
        hs.append(b(hs[-1]))
    for h in hs:
        h.retain_grad()
    m.zero_grad()
    nn.functional.cross_entropy(m.head(hs[-1].mean((2, 3))), y).backward()
    return {"act": [float(h.grad.norm()) for h in hs], "w": [float(c.weight.grad.norm()) for c in m.convs()]}


def scratch_gradient_flow(m, x, y) -> list[float]:
    """The same ‖∂L/∂h_l‖ with tamrin.scratch's conv/ReLU/GAP/affine/softmax layers (NumPy, own backward)."""
    from tamrin.scratch.conv import conv2d_backward, conv2d_forward
    from tamrin.scratch.layers import affine_backward, affine_forward, relu_backward, relu_forward
    from tamrin.scratch.losses import softmax_loss
    from tamrin.scratch.pool import global_avg_pool_backward, global_avg_pool_forward

    P = lambda t: t.detach().numpy()  # noqa: E731
    z, c0 = conv2d_forward(P(x), P(m.stem.weight), P(m.stem.bias), stride=2, padding=1)
    h, r0 = relu_forward(z)
    caches = []
    for b in m.blocks:
        z, cc = conv2d_forward(h, P(b.conv.weight), P(b.conv.bias), padding=1)
        a, cr = relu_forward(z)
        caches.append((cc, cr))
        h = h + b.branch_scale * a if b.residual else a
    g, cg = global_avg_pool_forward(h)
    s, ca = affine_forward(g, P(m.head.weight).T, P(m.head.bias))
    _, ds = softmax_loss(s, y.numpy())
    dh = global_avg_pool_backward(affine_backward(ds, ca)[0], cg)
    norms = [float(np.linalg.norm(dh))]
    for b, (cc, cr) in zip(reversed(list(m.blocks)), reversed(caches)):
        da = dh * b.branch_scale if b.residual else dh
        dprev = conv2d_backward(relu_backward(da, cr), cc)[0]
        dh = dh + dprev if b.residual else dprev  # the shortcut passes dh through unchanged
        norms.append(float(np.linalg.norm(dh)))
    return norms[::-1]


def learning_phrase(first_w: float, last_w: float) -> str:
    """What the first block's weight gradient, relative to the last block's, means for learning."""
    r = first_w / last_w if last_w > 0 else 0.0
    if r < 1e-6:
        return (f"the early filters practically do not learn (their gradient is {r:.0e} of the last block's) and the "
                f"network behaves as if its first layers were frozen random features. This is how adding layers can "
                f"make even the *training* error worse (the degradation problem of He et al. 2016): an optimisation "
                f"failure, not over-fitting — the deeper net could copy the shallower one and set the extra layers to "
                f"the identity, but SGD on a plain stack does not find that solution.")
    if r < 0.1:
        return (f"the early filters learn about {1 / r:.0f}× more slowly than the last ones, which slows training "
                f"and, with more depth, stalls it.")
    return "the early filters get gradients of the same order as the last ones: no vanishing at this depth."


def gain_phrase(gain: float) -> str:
    return f"{gain:.1e}× larger" if gain > 1 else f"{gain:.2g}× as large: the shortcuts did not help here"


def per_layer_factor(first: float, last: float, depth: int) -> float:
    return (first / last) ** (1.0 / depth) if first > 0 and last > 0 else 0.0


@answer("hw4.t1a")
def vanishing(ctx) -> Answer:
    x, y = _batch(ctx.seed)
    rows, flows = [], {}
    for d in DEPTHS:
        f = _flow(d, False, ctx.seed)
        flows[d] = f
        rows.append([d, f["act"][0] / f["act"][-1], per_layer_factor(f["act"][0], f["act"][-1], d), f["w"][1], f["w"][-1]])
    # theory for PyTorch's default conv init U(±1/√fan_in): Var(w) = 1/(3 fan_in); a ReLU layer scales the
    # back-propagated second moment by fan_out·Var(w)·½ = 1/6 (fan_in = fan_out), so the norm by √(1/6) per layer
    theory = (1 / 6) ** 0.5
    deep = flows[DEPTHS[-1]]
    ratio_deep = rows[-1][1]
    fac = [r[2] for r in rows]
    shrinks = all(r[1] < 1 for r in rows) and rows[-1][1] < rows[0][1]
    trend = ("shrinks geometrically from the output towards the input" if shrinks else
             "does not shrink towards the input")
    text = (f"Back-propagation multiplies the gradient by one Jacobian per layer (conv weights times the ReLU mask). "
            f"When each factor scales the norm by less than 1, the product over many layers vanishes. Measured at "
            f"initialisation on a plain ReLU CNN ({CHANNELS} channels, PyTorch's default init, random batch): the gradient "
            f"norm ‖∂L/∂h_l‖ {trend}; the ratio first/last block is "
            + ", ".join(f"{r[1]:.1e} at depth {r[0]}" for r in rows)
            + f", i.e. a factor ≈ {np.mean(fac):.2f} per layer (theory √(1/6) = {theory:.3f} for this init). "
            f"At depth {DEPTHS[-1]} the first block's weight gradient is {deep['w'][1]:.1e} against {deep['w'][-1]:.1e} "
            f"for the last: " + learning_phrase(deep["w"][1], deep["w"][-1]))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for d in DEPTHS:
        ax.semilogy(range(d + 1), flows[d]["act"], "o-", ms=3, label=f"depth {d}")
    ax.set(xlabel="block l (0 = stem output, input side)", ylabel="‖∂L/∂h_l‖", title="plain CNN at init: gradient per layer")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig_path = ctx.figure(fig, "hw4_t1a_gradient_flow")
    sc = scratch_gradient_flow(_net(DEPTHS[1], False, ctx.seed), x, y)
    return Answer(
        text,
        values={"depths": list(DEPTHS), "first_over_last": [r[1] for r in rows], "per_layer_factor": fac,
                "theory_factor": theory, "grad_norm_per_block": {str(d): flows[d]["act"] for d in DEPTHS},
                "first_block_weight_grad": [r[3] for r in rows], "last_block_weight_grad": [r[4] for r in rows]},
        how="tamrin.labs.nets.DeepCNN (plain, float64) with autograd; the same network re-run with tamrin.scratch",
        checks=[close(f"tamrin.scratch NumPy forward/backward of the depth-{DEPTHS[1]} net gives the same ‖∂L/∂h_l‖",
                      sc, flows[DEPTHS[1]]["act"], atol=1e-12, rtol=1e-8),
                holds("per-layer factor within 15% of the theory √(fan·Var(w)/2) = √(1/6) at every depth",
                      all(abs(f / theory - 1) < 0.15 for f in fac), f"measured {[round(f, 3) for f in fac]}"),
                holds("first/last ratio falls with depth", rows[0][1] > rows[1][1] > rows[2][1], f"{[r[1] for r in rows]}")],
        tables=[(["depth", "‖∂L/∂h_first‖ / ‖∂L/∂h_last‖", "factor per layer", "‖∂L/∂W‖ first block", "‖∂L/∂W‖ last block"],
                 [[r[0], f"{r[1]:.2e}", f"{r[2]:.3f}", f"{r[3]:.2e}", f"{r[4]:.2e}"] for r in rows],
                 "Plain CNN at initialisation (PyTorch default init)")],
        figures=[(fig_path, "Gradient norm per block at initialisation (log scale): it decays towards the input.")],
        assumptions=["measured on random inputs and labels at initialisation (the gradient's size there does not "
                     "need real data); the lab `regularization-lab` trains such networks on real digits"])


def _train_steps(init: str, seed: int, steps: int = 10):
    """A conv(1→4) → ReLU → conv(4→4) → ReLU → GAP → linear net trained by SGD; returns the two conv weights."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (16,), generator=g)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).double()
    with torch.no_grad():
        for p in net.parameters():
            if init == "zero":
                p.zero_()
            elif init == "constant":  # every filter the same non-zero value: symmetric but not dead
                p.fill_(0.1)
    start = [net[0].weight.detach().clone(), net[2].weight.detach().clone()]
    for _ in range(steps):  # plain SGD by hand: torch.optim's first import costs seconds (torch._dynamo)
        net.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.5 * p.grad
    return start, [net[0].weight.detach(), net[2].weight.detach()]


def filter_spread(w: torch.Tensor) -> float:
    """The largest difference between any two filters of a layer (0: all filters identical)."""
    flat = w.reshape(w.shape[0], -1)
    return float((flat[:, None] - flat[None]).abs().max())


def second_moments(scheme: str, depth: int, seed: int) -> list[float]:
    """E[z_l²] of each block's pre-activation (conv output) at initialisation. Circular padding: every output
    sees fan_in real inputs (zero padding would shrink the border outputs and bias the factor low)."""
    m = _net(depth, False, seed, scheme)
    for b in m.blocks:
        b.conv.padding_mode = "circular"
    x, _ = _batch(seed)
    out = []
    with torch.no_grad():
        h = torch.relu(m.stem(x))
        for b in m.blocks:
            z = b.conv(h)
            out.append(float(z.pow(2).mean()))
            h = torch.relu(z)
    return out


@answer("hw4.t1b")
def initialisation(ctx) -> Answer:
    steps, depth = 10, 30
    spread, moved = {}, {}
    for init in ("zero", "constant", "default"):
        start, end = _train_steps(init, ctx.seed, steps)
        spread[init] = [filter_spread(w) for w in end]
        moved[init] = [float((e - s).abs().max()) for s, e in zip(start, end)]
    mom = {s: second_moments(s, depth, ctx.seed) for s in ("xavier", "he")}
    # mean ratio of consecutive layers: its expectation over the weights is exactly fan_in·Var(w)·E[relu(z)²]/E[z²];
    # the geometric mean (v_last/v_first)^(1/depth) is biased low at finite width (log-normal fluctuations)
    fac = {s: float(np.mean(np.array(v[1:]) / np.array(v[:-1]))) for s, v in mom.items()}
    x, y = _batch(ctx.seed)
    back = {}
    for s_ in ("xavier", "he"):  # the backward pass: ‖∂L/∂h‖ per block, first/last
        a = gradient_flow(_net(depth, False, ctx.seed, s_), x, y)["act"]
        back[s_] = a[0] / a[-1]
    drift = {s_: v[-1] / v[0] for s_, v in mom.items()}
    theory = {"xavier": 0.5, "he": 1.0}  # fan_in·Var(w)·½ with Var = 2/(fan_in+fan_out) = 1/fan_in, or 2/fan_in
    z_dead = max(moved["zero"]) == 0
    text = (f"Zero initialisation: after {steps} SGD steps the conv weights "
            + ("have not moved at all (largest change 0): with all weights 0 every activation is 0, so each weight's "
               "gradient (input activation × back-propagated error, and the error is 0 because the next layer's "
               "weights are 0) is exactly 0; only the last bias learns. "
               if z_dead else f"moved by {max(moved['zero']):.2e}. ")
            + f"The deeper reason is symmetry: with a constant initialisation (all weights 0.1) the filters do move "
            f"(largest change {max(moved['constant']):.2e}) but stay identical to each other (largest difference "
            f"between two filters of a layer {max(spread['constant']):.1e}), because identical filters receive "
            f"identical gradients; a layer of F filters then computes one feature F times. With random init the "
            f"filters differ by {min(spread['default']):.2f} or more. "
            f"Xavier (Var(w) = 2/(fan_in + fan_out)) keeps the variance of a *linear* (or tanh) layer; ReLU sets half "
            f"the pre-activations to 0, halving the second moment, so He (Var(w) = 2/fan_in) doubles it back. Measured in "
            f"a {depth}-block ReLU CNN: the second moment of the conv outputs changes by ×{fac['xavier']:.3f} per layer on average "
            f"with Xavier (theory {theory['xavier']:g}: from {mom['xavier'][0]:.3g} to {mom['xavier'][-1]:.2e}) and by "
            f"×{fac['he']:.3f} with He (theory {theory['he']:g}: {mom['he'][0]:.3g} → {mom['he'][-1]:.3g}"
            + (f"; the end-to-end drift ×{drift['he']:.2g} corresponds to a geometric-mean factor "
               f"{drift['he'] ** (1 / (depth - 1)):.3f}, below the mean {fac['he']:.3f} because at {CHANNELS} channels the "
               f"ratio fluctuates from layer to layer" if abs(np.log10(drift['he'])) >= 0.5 else "")
            + f"). The backward pass sees the same factors: ‖∂L/∂h_first‖/‖∂L/∂h_last‖ is {back['xavier']:.1e} with "
            f"Xavier and {back['he']:.2g} with He"
            + (", so He keeps the gradient flow stable with depth where Xavier lets it vanish."
               if back["he"] > 100 * back["xavier"] else ", not a clear difference in this run."))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for s in mom:
        ax.semilogy(range(1, depth + 1), mom[s], "o-", ms=3, label=f"{s}: ×{fac[s]:.2f} per layer")
    ax.set(xlabel="conv layer", ylabel="E[z²] (pre-activation)", title="ReLU CNN at init: Xavier vs He")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig_path = ctx.figure(fig, "hw4_t1b_init_variance")
    return Answer(
        text,
        values={"steps": steps, "filter_spread": spread, "weight_change": moved, "depth": depth,
                "second_moment": mom, "per_layer_factor": fac, "theory_factor": theory,
                "backward_first_over_last": back},
        how="a 2-conv net trained by plain SGD steps (p −= lr·∂L/∂p) from zero / constant / default init; second moments of the conv "
            "outputs of tamrin.labs.nets.DeepCNN with tamrin.labs.nets.init_weights('xavier' | 'he')",
        checks=[holds("constant init: filters identical after SGD (difference < 1e-12) although they moved (> 1e-4)",
                      max(spread["constant"]) < 1e-12 and max(moved["constant"]) > 1e-4),
                holds("zero init: conv weights unchanged; random init: filters differ",
                      z_dead and min(spread["default"]) > 1e-3),
                holds("per-layer factor within 10% of fan_in·Var(w)/2 (Xavier 0.5, He 1)",
                      all(abs(fac[s] / theory[s] - 1) < 0.10 for s in fac), f"{fac}")],
        tables=[(["init", "filter difference, conv1", "conv2", "largest weight change"],
                 [[k, f"{spread[k][0]:.2e}", f"{spread[k][1]:.2e}", f"{max(moved[k]):.2e}"] for k in spread],
                 f"After {steps} SGD steps (lr 0.5)")],
        figures=[(fig_path, "Second moment of each conv layer's output at init: Xavier halves it per layer, He keeps it.")])


@answer("hw4.t1c")
def shortcuts(ctx) -> Answer:
    x, y = _batch(ctx.seed)
    rows, flows = [], {}
    for d in DEPTHS[1:]:
        for res in (False, True):
            f = _flow(d, res, ctx.seed)
            flows[(d, res)] = f
            rows.append([d, "residual" if res else "plain", f["act"][0] / f["act"][-1], f["w"][1]])
    plain50, res50 = flows[(DEPTHS[-1], False)], flows[(DEPTHS[-1], True)]
    gain = res50["w"][1] / plain50["w"][1]
    text = (f"A residual block computes h_(l+1) = h_l + F(h_l), so ∂h_(l+1)/∂h_l = I + ∂F/∂h_l and "
            f"∂L/∂h_l = ∂L/∂h_L · Π(I + ∂F/∂h_k): the product always contains the identity term, so the gradient "
            f"reaches every layer directly from the loss instead of through a product of many small factors. "
            f"Measured at initialisation (same init, same batch): at depth {DEPTHS[-1]} the first block's weight gradient "
            f"is {plain50['w'][1]:.1e} without shortcuts and {res50['w'][1]:.1e} with them ({gain_phrase(gain)}), and "
            f"‖∂L/∂h_first‖/‖∂L/∂h_last‖ is {rows[2][2]:.1e} vs {rows[3][2]:.2f}. Each block also starts close to the "
            f"identity (a small F), so a deep ResNet starts as a shallow one plus near-identity blocks and extra depth "
            f"cannot make the starting function worse; He et al. (2016) report that with shortcuts the training error "
            f"falls with depth instead of rising.")
    sc = scratch_gradient_flow(_net(DEPTHS[1], True, ctx.seed), x, y)
    return Answer(
        text,
        values={"rows": [[r[0], r[1], r[2], r[3]] for r in rows], "first_weight_grad_gain_depth50": gain},
        how="tamrin.labs.nets.DeepCNN plain vs residual (identity shortcut, branch scaled 1/√depth), float64 autograd",
        checks=[close(f"tamrin.scratch backward of the residual depth-{DEPTHS[1]} net (dh + branch) = autograd",
                      sc, flows[(DEPTHS[1], True)]["act"], atol=1e-12, rtol=1e-8),
                holds("with shortcuts the first-layer gradient is larger at every depth",
                      all(flows[(d, True)]["w"][1] > flows[(d, False)]["w"][1] for d in DEPTHS[1:]))],
        tables=[(["depth", "network", "‖∂L/∂h_first‖ / ‖∂L/∂h_last‖", "‖∂L/∂W‖ first block"],
                 [[r[0], r[1], f"{r[2]:.2e}", f"{r[3]:.2e}"] for r in rows], "Gradient at the first layer, with and without shortcuts")])
