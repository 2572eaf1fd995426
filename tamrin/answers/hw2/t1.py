"""Homework 2, question 1: mini-batch size vs SGD steps, batch-norm noise, a saturated sigmoid network,
a fully connected network's parameters, and two-class softmax = logistic regression."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tamrin.answers import Answer, answer, close, holds  # noqa: E402
from tamrin.labs.threads import one_thread  # noqa: E402

# t1a: the batch-size study, small enough for the answer key (~1 s on one thread)
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
RATES = (1.0, 0.3, 0.1, 0.03)  # each batch size gets its best rate: a fair "steps needed" per size
TARGET, CAP, CHECK_EVERY, N_IMAGES = 0.5, 2000, 5, 600


def _digits(ctx, n: int):
    """n MNIST training images (14×14, standardised) as float64 numpy with a bias column, labels, source."""
    from tamrin.labs.data import small_mnist
    from tamrin.labs.minibatch import with_bias

    x, y, ds = small_mnist("", None, 14, n, ctx.seed)
    return with_bias(x.flatten(1).double().numpy()), y.numpy(), ds.source


def replay_steps(x, y, batch: int, lr: float, target: float, max_steps: int, seed: int, check_every: int) -> int | None:
    """The same SGD schedule as tamrin.labs.minibatch.steps_to_target, re-done with torch autograd."""
    rng = np.random.default_rng(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    w = torch.zeros(x.shape[1], 10, dtype=torch.float64, requires_grad=True)
    order, pos = rng.permutation(len(y)), 0
    for step in range(1, max_steps + 1):
        if pos + batch > len(y):
            order, pos = rng.permutation(len(y)), 0
        idx = torch.from_numpy(order[pos:pos + batch])
        pos += batch
        g, = torch.autograd.grad(F.cross_entropy(xt[idx] @ w, yt[idx]), w)
        with torch.no_grad():
            w -= lr * g
            if (step <= 64 or step % check_every == 0) and float(F.cross_entropy(xt @ w, yt)) <= target:
                return step
    return None


def two_slopes(bs, steps) -> tuple[int, float, float]:
    """Split index k and the log-log slopes of steps on batch size for bs[:k+1] and bs[k:], the split with the
    smallest squared error of the two straight lines (the same fit as the optim-lab's report)."""
    lb, ls = np.log(np.asarray(bs, float)), np.log(np.asarray(steps, float))
    best = None
    for k in range(2, len(lb) - 1):
        fits = [np.polyfit(lb[a:b], ls[a:b], 1) for a, b in ((0, k + 1), (k, len(lb)))]
        err = sum(float(((np.polyval(c, lb[a:b]) - ls[a:b]) ** 2).sum()) for c, (a, b) in zip(fits, ((0, k + 1), (k, len(lb)))))
        if best is None or err < best[0]:
            best = (err, k, float(fits[0][0]), float(fits[1][0]))
    return best[1], best[2], best[3]


@answer("hw2.t1a")
@one_thread()
def steps_vs_batch(ctx) -> Answer:
    from tamrin.labs.minibatch import steps_to_target

    x, y, source = _digits(ctx, N_IMAGES)
    best, prev = {}, RATES[-1]
    for b in BATCHES:
        # the previous size's best rate first: its count caps the other rates' runs, which keeps the sweep cheap
        for lr in sorted(RATES, key=lambda r: abs(np.log(r / prev))):
            cap = best[b][0] if b in best else CAP
            st = steps_to_target(x, y, 10, b, lr, TARGET, cap, ctx.seed, check_every=CHECK_EVERY)
            if st is not None and (b not in best or st < best[b][0]):
                best[b] = (st, lr)
        prev = best[b][1] if b in best else prev
    ok = [b for b in BATCHES if b in best]
    steps = np.array([best[b][0] for b in ok], float)
    k, s1, s2 = two_slopes(ok, steps)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.loglog(ok, steps, "o-", label="fewest SGD updates to the target")
    ax.loglog(ok[: k + 1], steps[0] * (np.array(ok[: k + 1]) / ok[0]) ** -1.0, "k:", lw=1, label="perfect scaling (slope −1)")
    ax.axhline(steps[-1], c="gray", ls="--", lw=1, label=f"floor ≈ {steps[-1]:.0f} updates (near full-batch GD)")
    ax.axvline(ok[k], c="gray", ls=":", lw=1)
    ax.set(xlabel="mini-batch size B", ylabel=f"updates to training loss ≤ {TARGET:g}",
           title="Steps to a fixed training error vs mini-batch size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig_path = ctx.figure(fig, "hw2_t1a_steps_vs_batch")
    small = "close to" if abs(s1 + 1) < 0.3 else ("shallower than" if s1 > -1 else "steeper than")
    large = ("almost flat" if s2 > -0.2 else "much shallower" if s2 > -0.6 else "still steep")
    head = (f"The updates needed fall {'about as 1/B' if abs(s1 + 1) < 0.3 else f'as B^({s1:.2f})'} for small batches and "
            f"{'level off at a floor' if s2 > -0.3 else 'keep falling'} for large ones. ")
    text = head + (f"Measured on {len(y):,} MNIST digits with softmax regression, each batch size at the best of the rates "
            f"{', '.join(f'{r:g}' for r in RATES)}: reaching training loss {TARGET:g} takes {best[ok[0]][0]} updates at "
            f"B = {ok[0]} and {best[ok[-1]][0]} at B = {ok[-1]}. The curve falls and then flattens. Small batches "
            f"(B ≤ {ok[k]}): log-log slope {s1:.2f}, {small} −1 — the gradient estimate's variance is ∝ 1/B, so small batches "
            f"need small steps and many of them; doubling B halves the noise and nearly halves the updates. Large batches "
            f"(B ≥ {ok[k]}): slope {s2:.2f}, {large} — once the mini-batch gradient is close to the full gradient, more samples "
            f"do not make the direction better; the step is limited by the curvature (as in full-batch GD), so the number of "
            f"updates approaches a floor while each update costs B times more computation.")
    replay_b = 8 if 8 in best else ok[0]
    replay = replay_steps(x, y, replay_b, best[replay_b][1], TARGET, CAP, ctx.seed, CHECK_EVERY)
    return Answer(
        text,
        values={"batch_sizes": ok, "updates": [int(v) for v in steps], "best_lr": [best[b][1] for b in ok],
                "slope_small_batches": s1, "slope_large_batches": s2, "regime_split_batch": ok[k],
                "target_loss": TARGET, "images": len(y)},
        how=f"tamrin.labs.minibatch.steps_to_target for each batch size and rate (data: {source}); the two log-log "
            "slopes from a two-line least-squares fit",
        checks=[close(f"the same SGD run at B = {replay_b} re-done with torch autograd reaches the target at the same update",
                      replay if replay is not None else -1, best[replay_b][0]),
                holds("fewer updates at the largest batch than at B = 1", steps[-1] < steps[0],
                      f"{steps[0]:.0f} → {steps[-1]:.0f}")],
        figures=[(fig_path, "Fewest SGD updates to reach the training loss target vs mini-batch size (log-log).")])


@answer("hw2.t1b")
@one_thread()
def batchnorm_noise(ctx) -> Answer:
    from tamrin.labs.batchnorm_probe import batch_noise, first_bn
    from tamrin.labs.data import small_mnist
    from tamrin.labs.nets import MLP
    from tamrin.labs.stats import loglog_slope

    x, _, ds = small_mnist("", None, 14, 600, ctx.seed)
    source = ds.source
    torch.manual_seed(ctx.seed)
    model = MLP(196, hidden=(64,), bn=True).double()
    x = x.double()
    sizes = (4, 16, 64, 256)
    noise = {b: batch_noise(model, x, probe=0, batches=30, batch=b, seed=ctx.seed) for b in sizes}
    rel = [noise[b]["train_rel_std"] for b in sizes]
    slope = loglog_slope(sizes, rel)
    # independent: the training-mode BN output of one sample by hand, (h − batch mean)/√(batch var + eps)·γ + β
    bn, lin = first_bn(model), model.net[1]
    idx = torch.arange(32)
    model.train()
    with torch.no_grad():
        h = lin(x[idx].flatten(1))
        torch_out = bn(h)
    h_np = h.numpy()
    by_hand = (h_np - h_np.mean(0)) / np.sqrt(h_np.var(0) + bn.eps) * bn.weight.detach().numpy() + bn.bias.detach().numpy()
    model.eval()
    yes = rel[0] > 1e-6
    trend = "shrinks" if slope < -0.2 else "does not shrink clearly"
    text = ((f"Yes. In training mode a sample's normalised activation (h − μ_B)/σ_B depends on the other samples of its "
             f"mini-batch through the batch mean μ_B and standard deviation σ_B, which change from batch to batch. Measured: "
             f"the same image, put into 30 random batches, gets first-layer BN outputs whose standard deviation is "
             + ", ".join(f"{r:.1%}" for r in rel) + f" of their mean size for B = "
             + ", ".join(str(b) for b in sizes) + f"; the noise {trend} with the batch size (log-log slope {slope:.2f}; "
             f"the sampling error of a mean falls as B^−0.5). In evaluation mode BN uses fixed running statistics and "
             f"the same image gives the same output in any batch (difference {noise[sizes[0]]['eval_rel_std']:.1e}). "
             "This random, batch-dependent perturbation acts like a mild regulariser (similar in spirit to dropout).")
            if yes else
            f"No measurable noise: the relative spread is {rel[0]:.1e}.")
    return Answer(
        text,
        values={"batch_sizes": list(sizes), "relative_std_train": rel, "relative_change_eval": noise[sizes[0]]["eval_rel_std"],
                "loglog_slope": slope},
        how=f"tamrin.labs.batchnorm_probe.batch_noise on an untrained 196-64-10 MLP with BatchNorm1d (data: {source})",
        checks=[close("training-mode BatchNorm1d output = (h − batch mean)/√(batch var + ε)·γ + β computed by hand in NumPy",
                      torch_out.numpy(), by_hand, atol=1e-10),
                holds("evaluation mode: one image's output does not depend on its batch",
                      noise[sizes[0]]["eval_rel_std"] < 1e-12, f"{noise[sizes[0]]['eval_rel_std']:.1e}")])


TRAIN_STEPS = 60  # full-batch Adam steps for both nets: enough for the Xavier net to fit most of the 400 images


def _sigmoid_net(init: str, seed: int):
    from tamrin.labs.nets import MLP, init_weights

    torch.manual_seed(seed)
    return init_weights(MLP(196, hidden=(64, 64, 64), act="sigmoid").double(), init, seed=seed, scale=1.0)


def _pre_activations(model, x) -> list[torch.Tensor]:
    """The input z of every sigmoid (one tensor per hidden layer)."""
    zs = []
    hooks = [m.register_forward_hook(lambda mod, i, o: zs.append(i[0].detach())) for m in model.net
             if isinstance(m, torch.nn.Sigmoid)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return zs


def _train(model, x, y, steps: int, lr: float) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


PIXEL = 7 * 14 + 7  # the centre of the 14×14 image: a pixel that is on in many digits


def _fd_vs_autograd(net, x, y, h: float = 1e-5) -> tuple[float, float]:
    """(central finite difference, autograd) of the loss with respect to the first layer's weight [0, PIXEL]."""
    w = net.linears()[0].weight
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    auto = float(w.grad[0, PIXEL])
    with torch.no_grad():
        w[0, PIXEL] += h
        lp = float(F.cross_entropy(net(x), y))
        w[0, PIXEL] -= 2 * h
        lm = float(F.cross_entropy(net(x), y))
    return (lp - lm) / (2 * h), auto


@answer("hw2.t1c")
@one_thread()
def saturated_sigmoid(ctx) -> Answer:
    from tamrin.labs.data import small_mnist
    from tamrin.labs.nets import layer_grad_norms

    x, y, ds = small_mnist("", None, 14, 400, ctx.seed)
    source = ds.source
    x = ((x - x.min()) / (x.max() - x.min())).double()  # back to pixel intensities in [0, 1]: non-negative inputs
    rows, stats = [], {}
    for init in ("positive", "xavier"):
        net = _sigmoid_net(init, ctx.seed)
        zs = _pre_activations(net, x)
        ds = [torch.sigmoid(z) * (1 - torch.sigmoid(z)) for z in zs]  # σ'(z)
        grads = layer_grad_norms(net, net.linears(), x, y)
        acc = _train(net, x, y, TRAIN_STEPS, 0.01)
        stats[init] = {"mean_dsigma": [float(d.mean()) for d in ds], "saturated": [float((d < 1e-3).double().mean()) for d in ds],
                       "spread": [float(torch.sigmoid(z).std(0).mean()) for z in zs], "grad_w1": grads[0],
                       "train_acc": acc}
        rows.append([init] + [f"{v:.2e}" for v in stats[init]["mean_dsigma"]] + [f"{grads[0]:.2e}", f"{stats[init]['spread'][-1]:.1e}", f"{acc:.1%}"])
    p, xv = stats["positive"], stats["xavier"]
    deep_sat = min(p["saturated"])
    fit = deep_sat > 0.9 and p["train_acc"] < xv["train_acc"]
    text = ((f"No. With large positive weights and non-negative inputs (pixel intensities; every later layer's inputs are "
             f"sigmoid outputs in (0, 1)) each unit receives a sum of many positive terms, z ≫ 0, so σ(z) ≈ 1: measured, "
             f"{deep_sat:.1%} or more of the units of every hidden layer have σ'(z) < 10⁻³ "
             f"(mean σ'(z) per layer " + ", ".join(f"{v:.1e}" for v in p["mean_dsigma"]) + ", against at most 0.25). Two "
             f"consequences: (1) the hidden representation barely depends on the input (the activations' spread across images "
             f"is {p['spread'][-1]:.1e} in the last hidden layer vs {xv['spread'][-1]:.1e} with Xavier init): every image looks "
             f"the same to the output layer; (2) back-propagation multiplies by "
             f"σ'(z) ≈ 0 at every layer, so the gradients vanish: ‖∂L/∂W₁‖ = {p['grad_w1']:.1e} vs {xv['grad_w1']:.1e} with "
             f"Xavier init. After the same {TRAIN_STEPS} full-batch Adam steps (rate 0.01) the training accuracy is {p['train_acc']:.1%} vs "
             f"{xv['train_acc']:.1%}. Weights should be small and random (both signs), e.g. Xavier, so that z stays in "
             f"σ's non-saturated range.")
            if fit else
            f"The measurement does not show the expected failure here: deep-layer saturation {deep_sat:.1%}, training accuracy "
            f"{p['train_acc']:.1%} (positive init) vs {xv['train_acc']:.1%} (Xavier).")
    fd = {init: _fd_vs_autograd(_sigmoid_net(init, ctx.seed), x, y) for init in ("positive", "xavier")}
    return Answer(
        text,
        values={"saturated_fraction_positive": p["saturated"], "mean_dsigma_positive": p["mean_dsigma"],
                "mean_dsigma_xavier": xv["mean_dsigma"], "grad_norm_w1_positive": p["grad_w1"], "grad_norm_w1_xavier": xv["grad_w1"],
                "train_acc_positive": p["train_acc"],
                "train_acc_xavier": xv["train_acc"]},
        how=f"a 196-64-64-64-10 all-sigmoid MLP (tamrin.labs.nets) with weights U(0, 1) ('positive') vs Xavier, "
            f"σ'(z) from the pre-activations, tamrin.labs.nets.layer_grad_norms, {TRAIN_STEPS} full-batch Adam steps (data: {source})",
        checks=[close("Xavier net: ∂L/∂W₁[0, centre pixel] by central finite differences vs autograd", *fd["xavier"], atol=1e-9, rtol=1e-5),
                holds("saturated net: the finite-difference ∂L/∂W₁[0, centre pixel] (no autograd) is below 1e-10 too",
                      abs(fd["positive"][0]) < 1e-10, f"{fd['positive'][0]:.1e}"),
                holds("the saturated net's first-layer gradient is far below the Xavier net's", p["grad_w1"] < 0.01 * xv["grad_w1"],
                      f"{p['grad_w1']:.2e} vs {xv['grad_w1']:.2e}")],
        tables=[(["init", "mean σ'(z) layer 1", "layer 2", "layer 3", "‖∂L/∂W₁‖", "spread of last hidden layer over images", f"train acc after {TRAIN_STEPS} Adam steps"],
                 rows, "All-sigmoid MLP, large positive weights vs Xavier.")])


@answer("hw2.t1d")
def fc_parameters(ctx) -> Answer:
    from tamrin.calc.analyze import analyze
    from tamrin.calc.build import build

    n_in, width, depth, n_out = 20, 10, 5, 1
    spec = f"in:{n_in} " + " ".join([f"dense:{width} relu"] * depth) + f" dense:{n_out}"
    total = analyze(spec).params
    per_layer = [n * m + m for n, m in zip([n_in] + [width] * depth, [width] * depth + [n_out])]
    torch_count = sum(p.numel() for p in build(spec).parameters())
    return Answer(
        f"{total:,} trainable parameters: a dense layer from n to m units has n·m weights and m biases, so "
        f"({n_in}·{width}+{width}) + {depth - 1}·({width}·{width}+{width}) + ({width}·{n_out}+{n_out}) = "
        + " + ".join(str(p) for p in per_layer) + f" = {total:,}.",
        values={"parameters": total, "per_layer": per_layer},
        how=f"tamrin.calc.analyze on the spec `{spec}`",
        checks=[close("PyTorch parameter count of the same network (tamrin.calc.build)", total, torch_count),
                close("sum of n·m + m over the layers", total, sum(per_layer))])


@answer("hw2.t1e")
def softmax_is_logistic(ctx) -> Answer:
    import sympy as sp

    from tamrin.labs.softmax_logistic import equivalence, logistic, softmax2

    rng = np.random.default_rng(ctx.seed)
    d, n = 5, 2000
    x = rng.normal(size=(n, d)) * 2
    w_l, b_l = rng.normal(size=d), float(rng.normal())
    # the document: logistic ŷ ≤ 0.5 → class 0; softmax ŷ₁ ≥ ŷ₂ → class 0. So ŷ₂ plays the role of σ(W_l x + b_l).
    c, c0 = rng.normal(size=d) * 3, float(rng.normal() * 3)  # any common row: only the difference of the rows matters
    w_s, b_s = np.stack([c, c + w_l]), np.array([c0, c0 + b_l])
    p_soft = softmax2(x, w_s, b_s)
    p_log = logistic(x, w_l, b_l)
    same = bool(np.array_equal(p_log <= 0.5, p_soft[:, 0] >= p_soft[:, 1]))
    # the other direction: random softmax parameters are a logistic model with W_l = W_s,2 − W_s,1, b_l = b_s,2 − b_s,1
    w_r, b_r = rng.normal(size=(2, d)), rng.normal(size=2)
    eq = equivalence(x, w_r[::-1], b_r[::-1], ctx.seed)  # lab convention: first row ↔ σ((W₁ − W₂)x + b₁ − b₂)
    z1, z2 = sp.symbols("z1 z2", real=True)
    sym = sp.simplify(sp.exp(z2) / (sp.exp(z1) + sp.exp(z2)) - 1 / (1 + sp.exp(-(z2 - z1))))
    text = (f"No. ŷ₂ = e^(z₂)/(e^(z₁) + e^(z₂)) = 1/(1 + e^(−(z₂ − z₁))) = σ((W_s,2 − W_s,1)x + (b_s,2 − b_s,1)) and ŷ₁ = 1 − ŷ₂, "
            f"so the softmax model depends only on the difference of its two rows: it is logistic regression with "
            f"W_l = W_s,2 − W_s,1 and b_l = b_s,2 − b_s,1, and the rule ŷ₁ ≥ ŷ₂ is exactly ŷ ≤ 0.5. Conversely every logistic model "
            f"is a softmax model: W_s = [c; c + W_l], b_s = [c₀; c₀ + b_l] for any c, c₀ (e.g. c = 0: W_s = [0; W_l], b_s = [0; b_l]). "
            f"The extra {d + 1} parameters are redundant (a shift of both rows changes nothing), not extra capacity. Checked on "
            f"{n:,} random inputs in {d} dimensions: ŷ₂ and σ(W_l x + b_l) differ by at most "
            f"{float(np.abs(p_soft[:, 1] - p_log).max()):.1e}, and the two decision rules agree on "
            f"{'every' if same else 'not every'} input.")
    return Answer(
        text,
        values={"max_prob_diff_given_logistic": float(np.abs(p_soft[:, 1] - p_log).max()),
                "max_prob_diff_given_softmax": eq["max_diff_logistic"], "max_prob_diff_common_shift": eq["max_diff_shifted"],
                "decisions_agree": same, "W_l": w_l, "W_s": w_s, "b_l": b_l, "b_s": b_s},
        how="tamrin.labs.softmax_logistic.softmax2 / logistic / equivalence on random parameters and inputs",
        checks=[close("softmax ŷ₂ with W_s = [c; c + W_l], b_s = [c₀; c₀ + b_l] vs σ(W_l x + b_l)", p_soft[:, 1], p_log, atol=1e-12),
                close("random softmax vs logistic with W_l = W_s,2 − W_s,1", eq["max_diff_logistic"], 0.0, atol=1e-12),
                holds("sympy: e^z₂/(e^z₁ + e^z₂) − σ(z₂ − z₁) simplifies to 0", sym == 0, str(sym)),
                holds("the two decision rules give the same class on every input", same)])
