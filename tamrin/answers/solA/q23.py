"""solA questions 2 and 3: the 1D convolution's weight gradient (q2); batch norm's backward pass, benefits, γ and β,
single-class mini-batches (q3a–q3d)."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims, verdict_numbers
from tamrin.answers.solA._util import fmt, subclaims
from tamrin.labs.threads import one_thread


@answer("solA.q2")
def q2(ctx) -> Answer:
    import torch

    from tamrin.scratch.conv import conv1d_backward, conv1d_forward

    L, K = 10, 3
    x, w = ctx.rng.normal(size=L), ctx.rng.normal(size=K)
    g = ctx.rng.normal(size=L - K + 1)  # ∂L/∂Z for the loss L = Σ_i g_i Z_i
    claimed = np.array([sum(g[i] * x[i + j] for i in range(len(g))) for j in range(K)])  # Σ_i ∂L/∂Z_i X_{i+j}
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    z = torch.stack([sum(wt[j] * xt[i + j] for j in range(K)) for i in range(L - K + 1)])  # Z_i = Σ_j W_j X_{i+j}
    (z * torch.tensor(g)).sum().backward()
    out, cache = conv1d_forward(x[None, None], w[None, None])
    _, dw, _ = conv1d_backward(g[None, None], cache)
    same_op = np.correlate(x, g, mode="valid")  # "∂L/∂Z * X" with the same * as Z = W * X (cross-correlation)
    v = verdict_numbers(claimed, wt.grad.numpy())
    return Answer(
        f"∂L/∂W_j = Σ_i (∂L/∂Z_i)·X_(i+j): the weight gradient is the same sliding-window operation as the forward pass, "
        f"with the upstream gradient ∂L/∂Z as the kernel slid over X. On a random length-{L} input and a {K}-tap kernel "
        f"the formula gives [{', '.join(fmt(v_, 5) for v_ in claimed)}]; torch autograd "
        f"{'agrees' if v == 'correct' else 'disagrees'}.",
        values={"claimed_dW": claimed, "autograd_dW": wt.grad.numpy()},
        how="the solution's sum evaluated directly; tamrin.scratch.conv.conv1d_backward; numpy correlate.",
        checks=[close("torch autograd through Z_i = Σ_j W_j X_(i+j)", claimed, wt.grad.numpy(), rtol=1e-12),
                close("tamrin.scratch.conv.conv1d_backward dW", dw[0, 0], claimed, rtol=1e-12),
                close("np.correlate(X, ∂L/∂Z, 'valid'): the forward operation with ∂L/∂Z as kernel", same_op, claimed, rtol=1e-12)],
        claim="∂L/∂W_j = Σ_i (∂L/∂Z_i) X_(i+j) = (∂L/∂Z) * X: the weight gradient is itself a convolution of the input with ∂L/∂Z.",
        verdict=v)


@answer("solA.q3a")
def q3a(ctx) -> Answer:
    import torch

    from tamrin.scratch.norm import batchnorm_backward, batchnorm_forward

    m, d, eps = 8, 3, 1e-5
    x = ctx.rng.normal(size=(m, d)) * 2 + 1
    gamma, beta, dout = ctx.rng.normal(size=d), ctx.rng.normal(size=d), ctx.rng.normal(size=(m, d))
    xt = torch.tensor(x, requires_grad=True)
    gt, bt = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    mu, var = xt.mean(0), xt.var(0, unbiased=False)
    (((xt - mu) / torch.sqrt(var + eps) * gt + bt) * torch.tensor(dout)).sum().backward()
    var_np = x.var(0)
    xhat = (x - x.mean(0)) / np.sqrt(var_np + eps)
    c_dx = dout * gamma / np.sqrt(var_np + eps)  # the solution's ∂l/∂x_i
    c_dgamma, c_dbeta = (dout * xhat).sum(0), dout.sum(0)
    # where it breaks: its ∂l/∂x_i is the gradient with μ_B and σ_B² held constant
    xd = torch.tensor(x, requires_grad=True)
    ((xd - mu.detach()) / torch.sqrt(var.detach() + eps) * torch.tensor(gamma) * torch.tensor(dout)).sum().backward()
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    s_dx, s_dg, s_db = batchnorm_backward(dout, cache)
    ok = [bool(np.allclose(c, t, rtol=1e-9, atol=1e-12)) for c, t in
          ((c_dx, xt.grad.numpy()), (c_dgamma, gt.grad.numpy()), (c_dbeta, bt.grad.numpy()))]
    parts, table = subclaims([("∂l/∂x_i = ∂l/∂y_i·γ/√(σ_B² + ε)", ok[0], f"largest difference from autograd {np.abs(c_dx - xt.grad.numpy()).max():.3g}"),
                              ("∂l/∂γ = Σ_i ∂l/∂y_i·x̂_i", ok[1], f"largest difference {np.abs(c_dgamma - gt.grad.numpy()).max():.2g}"),
                              ("∂l/∂β = Σ_i ∂l/∂y_i", ok[2], f"largest difference {np.abs(c_dbeta - bt.grad.numpy()).max():.2g}")])
    return Answer(
        "∂l/∂γ = Σ_i ∂l/∂y_i·x̂_i and ∂l/∂β = Σ_i ∂l/∂y_i, but every x_i also moves μ_B and σ_B², so "
        "∂l/∂x_i = γ/(m√(σ_B² + ε))·(m·∂l/∂y_i − Σ_k ∂l/∂y_k − x̂_i·Σ_k ∂l/∂y_k·x̂_k). "
        f"On a random batch of m = {m}: the solution's ∂l/∂x_i "
        f"{'matches' if ok[0] else 'misses autograd by up to ' + fmt(float(np.abs(c_dx - xt.grad.numpy()).max()), 3)}; "
        f"it equals the gradient with the batch statistics detached (constants), i.e. it drops the paths through the "
        f"batch mean and variance. Its ∂l/∂γ and ∂l/∂β {'are right' if ok[1] and ok[2] else 'are not both right'}.",
        values={"claimed_dx": c_dx, "autograd_dx": xt.grad.numpy(), "dgamma": gt.grad.numpy(), "dbeta": bt.grad.numpy()},
        how="torch autograd through the batch-norm forward; tamrin.scratch.norm.batchnorm_backward (node-by-node backward).",
        checks=[close("tamrin.scratch.norm.batchnorm_backward dx = autograd", s_dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12),
                close("closed form γ/(mσ)(m·dy − Σdy − x̂Σdy·x̂) = autograd",
                      gamma / (m * np.sqrt(var_np + eps)) * (m * dout - dout.sum(0) - xhat * (dout * xhat).sum(0)),
                      xt.grad.numpy(), rtol=1e-9, atol=1e-12),
                close("the solution's ∂l/∂x = autograd with μ_B, σ_B² detached", c_dx, xd.grad.numpy(), rtol=1e-12),
                close("scratch dγ, dβ = autograd", np.concatenate([s_dg, s_db]), np.concatenate([gt.grad.numpy(), bt.grad.numpy()]), rtol=1e-10)],
        claim="∂l/∂x_i = ∂l/∂y_i·γ·1/√(σ_B² + ε); ∂l/∂γ = Σ_i ∂l/∂y_i·x̂_i; ∂l/∂β = Σ_i ∂l/∂y_i.",
        verdict=verdict_claims(parts), tables=[table])


def _mlp(depth: int, width: int, bn: bool, d_in: int = 10, scale: float = 1.0, seed: int = 0):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    layers, n = [], d_in
    for _ in range(depth):
        lin = nn.Linear(n, width, bias=not bn)
        with torch.no_grad():
            lin.weight.mul_(scale)
        layers += [lin] + ([nn.BatchNorm1d(width)] if bn else []) + [nn.Tanh()]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, 2))


def _halfspace_data(rng, n: int = 512, d: int = 10):
    """An easy task (the sign of a random projection), so any difference comes from how well the deep net trains."""
    import torch

    x = rng.normal(size=(n, d))
    y = (x @ rng.normal(size=d) > 0).astype(np.int64)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def _train(model, x, y, steps: int, lr: float, batch: int = 64, seed: int = 0) -> list[float]:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@answer("solA.q3b")
@one_thread()
def q3b(ctx) -> Answer:
    import torch

    from tamrin.labs.batchnorm_probe import batch_noise

    x, y = _halfspace_data(ctx.rng)
    steps, lr, depth = 60, 0.1, 8
    curves = {bn: _train(_mlp(depth, 32, bn, seed=ctx.seed), x, y, steps, lr, seed=ctx.seed) for bn in (False, True)}
    late = {bn: float(np.mean(c[-10:])) for bn, c in curves.items()}
    faster = late[True] < late[False]
    spread = {}
    with torch.no_grad():  # std of the last hidden layer for two initial weight scales
        for bn in (False, True):
            s = []
            for scale in (0.5, 2.0):
                net = _mlp(depth, 32, bn, scale=scale, seed=ctx.seed).train()
                s.append(float(net[:-2](x[:128]).std()))  # pre-activation of the last hidden layer
            spread[bn] = s[1] / s[0]
    init_robust = abs(np.log(spread[True])) < 0.1 * abs(np.log(spread[False]))
    noise = batch_noise(_mlp(depth, 32, True, seed=ctx.seed), x, batches=20, batch=32, seed=ctx.seed)
    fig_path = ctx.figure(_curves_figure(curves), "solA_q3b_bn_curves")
    parts, table = subclaims([
        ("faster convergence", faster, f"mean training loss over the last 10 of {steps} SGD steps (lr {lr}), {depth} tanh layers: "
                                       f"{late[True]:.3f} with BN vs {late[False]:.3f} without"),
        ("less dependence on the initialisation", init_robust,
         f"last hidden pre-activation std, init scale 2 over init scale 0.5: {spread[True]:.3g} with BN vs {spread[False]:.3g} without"),
        ("it adds a little noise (a regulariser)", noise["train_rel_std"] > 1e-3 and noise["eval_rel_std"] < 1e-6,
         f"one sample's BN output varies by {noise['train_rel_std']:.3f} (relative std) with its batch companions; "
         f"{noise['eval_rel_std']:.1g} in eval mode"),
        ("it works by reducing internal covariate shift", None, "the explanation is disputed (Santurkar et al. 2018); no computation here decides it"),
        ("it may make dropout unnecessary", None, "a statement of practice")])
    return Answer(
        f"Measured on an easy synthetic task (the sign of a random projection) with an {depth}-layer tanh MLP: BN {'speeds up' if faster else 'does not speed up'} "
        f"training at lr {lr} (late loss {late[True]:.3f} vs {late[False]:.3f}); it makes the forward signal "
        f"{'insensitive' if init_robust else 'still sensitive'} to the initial weight scale (a 4x change of scale changes the "
        f"last layer's activation spread by a factor {spread[True]:.3g} with BN and {spread[False]:.3g} without), because "
        f"BN(αWx) = BN(Wx); and in training mode a sample's output depends on its batch companions (relative std "
        f"{noise['train_rel_std']:.3f}), the noise behind BN's mild regularisation. The internal-covariate-shift "
        f"explanation the solution gives is not something these numbers decide.",
        values={"late_loss_bn": late[True], "late_loss_plain": late[False], "init_spread_ratio_bn": spread[True],
                "init_spread_ratio_plain": spread[False], "batch_noise_rel_std": noise["train_rel_std"]},
        how="torch MLPs with and without BatchNorm1d trained with SGD in the call; tamrin.labs.batchnorm_probe.batch_noise.",
        checks=[holds("eval-mode BN output does not depend on the batch (noise exactly 0)", noise["eval_rel_std"] < 1e-6),
                holds("both runs made the same number of finite steps", all(np.isfinite(c).all() and len(c) == steps for c in curves.values()))],
        figures=[(fig_path, f"training loss per SGD step of the {depth}-layer tanh MLP, with and without batch norm")],
        claim="BN gives faster convergence (it reduces internal covariate shift, stabilises the input distributions, reduces "
              "the dependence on careful initialisation and vanishing/exploding gradients) and regularises by adding a "
              "little noise, sometimes making dropout unnecessary.",
        verdict=verdict_claims(parts), tables=[table])


def _curves_figure(curves):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.8))
    for bn, c in curves.items():
        ax.plot(c, label="with batch norm" if bn else "without", lw=1)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    return fig


@answer("solA.q3c")
def q3c(ctx) -> Answer:
    import torch
    import torch.nn as nn

    torch.manual_seed(ctx.seed)
    x = torch.randn(256, 4) * torch.tensor([0.5, 3.0, 1.0, 8.0]) + torch.tensor([2.0, -5.0, 0.0, 10.0])
    bn0 = nn.BatchNorm1d(4, affine=False).train()
    out = bn0(x)
    mean_dev = float(out.mean(0).abs().max())
    std_dev = float((out.std(0, unbiased=False) - 1).abs().max())
    fixed = mean_dev < 1e-5 and std_dev < 1e-3
    bn1 = nn.BatchNorm1d(4).train()
    with torch.no_grad():  # γ = σ_B, β = μ_B undoes the normalisation: with γ, β the layer can be the identity
        bn1.weight.copy_(torch.sqrt(x.var(0, unbiased=False) + bn1.eps))
        bn1.bias.copy_(x.mean(0))
        identity_err = float((bn1(x) - x).abs().max())
        relu_active = float((out > 0).float().mean())
        gamma, beta = torch.randn(4), torch.randn(4)  # a following linear layer absorbs γ and β exactly
        lin = nn.Linear(4, 3)
        lin2 = nn.Linear(4, 3)
        lin2.weight.copy_(lin.weight * gamma)
        lin2.bias.copy_(lin.bias + lin.weight @ beta)
        absorb_err = float((lin(out * gamma + beta) - lin2(out)).abs().max())
    absorbed = absorb_err < 1e-5
    parts, table = subclaims([
        ("without γ, β the network cannot set the mean or spread of the normalised values", fixed,
         f"per-feature mean within {mean_dev:.1g} of 0 and std within {std_dev:.1g} of 1 for inputs of any mean and scale"),
        ("so the model's capacity is limited (whatever follows)", not absorbed,
         f"a following linear layer absorbs γ and β exactly (W' = W·diag(γ), b' = b + Wβ; difference {absorb_err:.1g}); "
         f"a following ReLU sees mean 0 and is active on {relu_active:.2f} of the values"),
        ("lower accuracy on complex data distributions", None, "not measured here")])
    return Answer(
        f"Without γ and β every feature leaves BN with batch mean 0 and variance 1 (measured: within {mean_dev:.1g} and "
        f"{std_dev:.1g}), and the layer can no longer represent other scales and offsets — with them it can even undo the "
        f"normalisation (γ = σ_B, β = μ_B reproduces the input to {identity_err:.1g}). What that costs depends on the next "
        f"layer: a ReLU directly after BN sees zero-mean inputs and fires on {relu_active:.2f} of them, with no way to move "
        f"its threshold; a linear layer directly after BN "
        f"{'absorbs γ and β exactly' if absorbed else 'does not absorb γ and β'} (difference {absorb_err:.1g}), so there "
        f"nothing is lost. The solution's 'cannot adjust mean and spread' is right; that this always limits the model is not.",
        values={"max_mean_deviation": mean_dev, "max_std_deviation": std_dev, "identity_error_with_gamma_beta": identity_err,
                "relu_active_fraction": relu_active, "absorb_error": absorb_err},
        how="torch BatchNorm1d with and without affine parameters in training mode.",
        checks=[close("BN without affine: per-feature batch mean = 0", out.mean(0).detach().numpy(), np.zeros(4), atol=1e-5),
                close("BN with γ = σ_B, β = μ_B is the identity", identity_err, 0.0, atol=1e-4)],
        claim="Removing the scale and shift parameters limits the model's ability to adapt to different data distributions: "
              "it cannot adjust the mean or the spread of the normalised values and may fit complex distributions worse, "
              "reducing accuracy.",
        verdict=verdict_claims(parts), tables=[table])


@answer("solA.q3d")
@one_thread()
def q3d(ctx) -> Answer:
    import torch
    import torch.nn as nn

    from tamrin.labs import batchnorm_probe as bp

    torch.manual_seed(ctx.seed)
    k, d, n = 3, 4, 600
    means = torch.zeros(k, d)
    means[torch.arange(k), torch.arange(k)] = 2.0
    y, yt = torch.arange(n) % k, torch.arange(n) % k
    x, xt = means[y] + torch.randn(n, d), means[yt] + torch.randn(n, d)

    def net():
        torch.manual_seed(ctx.seed)
        return nn.Sequential(nn.Linear(d, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, k))

    single = bp.train_single_class(net(), x, y, epochs=8, lr=0.05, batch=32, seed=ctx.seed)
    mixed = net()  # the same network and number of steps on shuffled batches
    opt = torch.optim.SGD(mixed.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(ctx.seed)
    for _ in range(8):
        for idx in torch.randperm(n, generator=g).split(32):
            loss = torch.nn.functional.cross_entropy(mixed.train()(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    acc_single_batches = bp.accuracy_with_batch_stats(single, xt, yt, bp.single_class_batches(yt, 32, ctx.seed + 1))
    acc_single, acc_mixed = bp.accuracy(single, xt, yt), bp.accuracy(mixed, xt, yt)
    gap = bp.train_test_activation_gap(single, xt, yt, 32, seed=ctx.seed)
    with torch.no_grad():
        pre = single[0](x)
        bn = single[1]
        var_ratio = float((bn.running_var / pre.var(0)).median())
        mean_off = float(((bn.running_mean - pre.mean(0)).abs() / pre.std(0)).median())
    parts, table = subclaims([
        ("BN behaves differently in training and at test time", gap > 0.1,
         f"mean |train-mode − eval-mode| BN output on single-class batches: {gap:.2f} standard deviations"),
        ("test performance drops", acc_single < acc_mixed - 0.05,
         f"test accuracy {acc_single:.3f} after single-class training vs {acc_mixed:.3f} after shuffled training "
         f"(same network, steps and rate)"),
        ("the running mean/std are biased estimates for the whole data set", var_ratio < 0.9 or mean_off > 0.1,
         f"running variance / variance over all classes {var_ratio:.2f}; running mean off by {mean_off:.2f} standard "
         f"deviations (medians over units)")])
    return Answer(
        f"In training mode BN subtracts each batch's mean; with one class per batch that is the class's own mean, exactly "
        f"the offset that separates the classes here, so the network learns from statistics that test time does not "
        f"reproduce. Measured on {k} Gaussian classes: after single-class training the test accuracy in eval mode (running "
        f"statistics) is {acc_single:.3f} (and {acc_single_batches:.3f} when tested on single-class batches), against "
        f"{acc_mixed:.3f} for the same network trained on shuffled batches; the first BN layer's output differs between "
        f"the modes by {gap:.2f} standard deviations. The running variance averages within-class variances "
        f"({'under' if var_ratio < 1 else 'over'}estimating the variance over all data, ratio {var_ratio:.2f}) and the "
        f"running mean is off by {mean_off:.2f} standard deviations. Fix: shuffle the batches (or use a norm without batch "
        f"statistics, e.g. layer or group norm).",
        values={"accuracy_eval_single_class_training": acc_single, "accuracy_single_class_test_batches": acc_single_batches,
                "accuracy_eval_shuffled_training": acc_mixed, "activation_gap_sd": gap, "running_var_ratio": var_ratio,
                "running_mean_offset_sd": mean_off},
        how="tamrin.labs.batchnorm_probe: train_single_class, accuracy_with_batch_stats, train_test_activation_gap; "
            "torch SGD for the shuffled baseline.",
        checks=[holds("eval-mode accuracy equals a direct argmax count", abs(acc_single - float(
            (single.eval()(xt).argmax(1) == yt).float().mean())) < 1e-9),
                holds("single-class batches: each holds one label", all(len(torch.unique(yt[i])) == 1
                                                                        for i in bp.single_class_batches(yt, 32, 0)))],
        claim="If every mini-batch holds one class, the batch mean and std describe that class only; the running averages "
              "used at test time are biased estimates for the whole data set, causing a train/test discrepancy and lower "
              "test performance.",
        verdict=verdict_claims(parts), tables=[table])
