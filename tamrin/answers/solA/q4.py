"""solA question 4: a CNN of conv → BN → ReLU blocks: the conv bias (q4a), scaling weights vs inputs by α (q4b),
operation counts (q4c), 1x1 convolutions (q4d), pooling (q4e), the receptive field (q4f)."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims, verdict_numbers
from tamrin.answers.solA._util import subclaims

BLOCKS = "conv (no bias) → BatchNorm → ReLU"


@answer("solA.q4a")
def q4a(ctx) -> Answer:
    import torch
    import torch.nn as nn

    from tamrin.labs.batchnorm_probe import bias_before_bn

    lab = bias_before_bn(seed=ctx.seed)
    torch.manual_seed(ctx.seed + 1)  # independently: BN(conv(x) + b) vs BN(conv(x)) for a large random b
    x = torch.randn(8, 3, 10, 10, dtype=torch.float64)
    conv = nn.Conv2d(3, 5, 3, bias=False).double()
    bn = nn.BatchNorm2d(5).double().train()
    b = torch.randn(5, dtype=torch.float64) * 10
    with torch.no_grad():
        diff = float((bn(conv(x) + b[:, None, None]) - bn(conv(x))).abs().max())
    grad_ratio = lab["bias_grad_norm"] / lab["weight_grad_norm"]  # float32 round-off leaves ~1e-5 absolute
    harmless = diff < 1e-9 and grad_ratio < 1e-6
    parts, table = subclaims([
        ("removing the bias limits what the network can learn and can hurt performance badly", not harmless,
         f"BN(conv(x) + b) − BN(conv(x)): at most {diff:.1g} for a bias of norm {float(b.norm()):.3g}; the bias's gradient "
         f"through BN: {lab['bias_grad_norm']:.1g}")])
    return Answer(
        f"In the block {BLOCKS}, a conv bias is a per-channel constant, and training-mode BN subtracts the per-channel "
        f"batch mean, which contains it: BN(conv(x) + b) = BN(conv(x)). Measured: the outputs differ by at most "
        f"{diff:.1g} for a bias of norm {float(b.norm()):.3g}, and the gradient reaching the bias is "
        f"{lab['bias_grad_norm']:.1g} (weights: {lab['weight_grad_norm']:.3g}), so the bias never learns; BN's β is the "
        f"learnable offset. Removing the bias is therefore {'harmless' if harmless else 'not harmless'}: it saves one "
        f"parameter per channel and an addition per output. "
        + ("The solution argues the opposite (that it reduces capacity)." if harmless else "The solution's warning stands."),
        values={"max_output_change": diff, "bias_norm": float(b.norm()), "bias_grad_norm": lab["bias_grad_norm"],
                "weight_grad_norm": lab["weight_grad_norm"]},
        how="tamrin.labs.batchnorm_probe.bias_before_bn, and an independent float64 conv + BatchNorm2d in torch.",
        checks=[close("BN(conv(x) + b) = BN(conv(x)) (float64)", diff, 0.0, atol=1e-9),
                holds("lab: output unchanged by a bias shift and bias gradient < 1e-6 of the weights'",
                      lab["max_output_change"] < 1e-4 and grad_ratio < 1e-6,
                      f"change {lab['max_output_change']:.1g}, bias grad {lab['bias_grad_norm']:.1g}")],
        claim="Removing the conv bias reduces the network's ability to learn patterns in data that is shifted or has a "
              "non-zero mean, may interfere with batch norm, and can severely reduce performance.",
        verdict=verdict_claims(parts), tables=[table],
        assumptions=[f"The question's blocks are {BLOCKS} (the solution refers to 'the stated blocks' and batch norm)."])


def _block_net(seed: int):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


@answer("solA.q4b")
def q4b(ctx) -> Answer:
    import copy

    import torch
    import torch.nn as nn

    from tamrin.labs.batchnorm_probe import recompute_bn_stats

    alpha = 3.0
    torch.manual_seed(ctx.seed)
    x = torch.randn(64, 3, 8, 8)
    net = recompute_bn_stats(_block_net(ctx.seed), torch.randn(512, 3, 8, 8))  # running statistics as after training
    first_only = copy.deepcopy(net)
    with torch.no_grad():
        first_only[0].weight.mul_(alpha)
    scaled = copy.deepcopy(net)  # every conv weight × α (the blocks' weights; the linear head is not a block)
    with torch.no_grad():
        for m in scaled.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(alpha)

    def out(m, inp, train):
        m = copy.deepcopy(m)  # training-mode passes would move the running statistics
        with torch.no_grad():
            return m.train(train)(inp)

    base = {t: out(net, x, t) for t in (True, False)}
    rel = lambda a, b: float((a - b).abs().max() / b.abs().max())  # noqa: E731
    d_w = {t: rel(out(scaled, x, t), base[t]) for t in (True, False)}
    d_x = {t: rel(out(net, alpha * x, t), base[t]) for t in (True, False)}
    same = float((out(first_only, x, False) - out(net, alpha * x, False)).abs().max())
    calib = torch.randn(512, 3, 8, 8, generator=torch.Generator().manual_seed(ctx.seed + 7))
    restored = rel(out(recompute_bn_stats(copy.deepcopy(scaled), calib), x, False),
                   out(recompute_bn_stats(copy.deepcopy(net), calib), x, False))
    flips = {t: float((out(net, alpha * x, t).argmax(1) != base[t].argmax(1)).float().mean()) for t in (True, False)}
    tol = 1e-3
    z = torch.randn(32, 4, dtype=torch.float64)
    bn = nn.BatchNorm1d(4, eps=1e-12).double().train()
    with torch.no_grad():
        bn_inv = float((bn(alpha * z) - bn(z)).abs().max())
    parts, table = subclaims([
        ("multiplying the weights by α has little effect on the output", d_w[True] < tol,
         f"relative output change with batch statistics {d_w[True]:.1g}; with frozen running statistics {d_w[False]:.3g}"),
        ("multiplying the inputs by α, unlike the weights, changes the network's behaviour significantly", d_x[True] > tol,
         f"relative output change with batch statistics {d_x[True]:.1g}; with frozen running statistics {d_x[False]:.3g}; "
         f"scaling the inputs is exactly scaling the first conv's weights (difference {same:.1g})")])
    return Answer(
        f"In {BLOCKS} blocks each conv is linear and has no bias, so conv(αx; W) = conv(x; αW) = α·conv(x; W), and BN "
        f"divides the α out again: BN(αz) = BN(z) (up to ε), for α > 0. With the batch statistics BN normalises with, "
        f"scaling every weight by α = {alpha:g} changes the logits by {d_w[True]:.1g} (relative) and scaling the inputs by "
        f"{d_x[True]:.1g}: {'both are no-ops' if max(d_w[True], d_x[True]) < tol else 'not both no-ops'}. With frozen "
        f"running statistics (eval mode), the two change the logits by {d_w[False]:.3g} and {d_x[False]:.3g} (predictions "
        f"flipped: {flips[False]:.2f} for the inputs)"
        + (", since the stored mean and variance no longer match" if min(d_w[False], d_x[False]) > tol else "")
        + f"; re-estimating "
        f"the statistics after scaling the weights brings the change down to {restored:.1g}. Either way scaling the inputs "
        f"is exactly scaling the first layer's weights (difference {same:.1g}), so the solution's asymmetry (weights "
        + ("harmless, inputs significant) does not hold." if not (parts[0] and parts[1]) else "harmless, inputs significant) holds."),
        values={"alpha": alpha, "rel_change_weights_batch_stats": d_w[True], "rel_change_inputs_batch_stats": d_x[True],
                "rel_change_weights_running_stats": d_w[False], "rel_change_inputs_running_stats": d_x[False],
                "prediction_flips_inputs_running_stats": flips[False], "inputs_vs_first_layer_weights": same,
                "rel_change_weights_recomputed_stats": restored},
        how="a small torch conv-BN-ReLU net; tamrin.labs.batchnorm_probe.scale_weights and recompute_bn_stats.",
        checks=[close("conv(αx; W) = conv(x; αW) in eval mode", same, 0.0, atol=1e-4),
                close("BN(αz) = BN(z) in training mode (float64, ε = 1e-12)", bn_inv, 0.0, atol=1e-9)],
        claim="Multiplying the weights by α (in all layers, at test time) has little effect because the network adapts to "
              "the scale of the weights and only their relative size matters; multiplying every input entry by α changes "
              "the input distribution, strengthens activations for α > 1 and can change decision boundaries.",
        verdict=verdict_claims(parts), tables=[table],
        assumptions=[f"The question's network is made of {BLOCKS} blocks (as in q4a) and α > 0; both BN modes are reported."])


@answer("solA.q4c")
def q4c(ctx) -> Answer:
    import torch
    import torch.nn.functional as F

    from tamrin.calc.examples.opcount import op_counts

    k, c, W, H, B = 3, 16, 20, 12, 8
    ex = op_counts(k, c, W, H, B, seed=ctx.seed)
    counted_mul = ex.checks["counted multiplications = B*W*H*k^2*c"][0]
    counted_add = ex.checks["counted additions = B*W*H*(k^2*c - 1)"][0]
    counted_cmp = ex.checks["counted comparisons = B*W*H*c*(k^2 - 1)"][0]
    claimed_conv = B * (k * k * c) * (W * H)  # (k·k·c)·(W·H) per sample, B times for a batch
    claimed_pool = B * (k * k * c) * (W * H)
    sizes = [(w_in, kk, s) for w_in in range(8, 16) for kk in (2, 3) for s in (1, 2)]
    torch_out = [F.conv2d(torch.zeros(1, 1, 1, w_in), torch.zeros(1, 1, 1, kk), stride=s).shape[-1] for w_in, kk, s in sizes]
    formula = [(w_in - kk) / s + 1 for w_in, kk, s in sizes]
    size_ok = verdict_numbers(formula, torch_out)
    parts, table = subclaims([
        ("output size (W_in − k)/s + 1", size_ok == "correct",
         f"agrees with torch on {sum(abs(f - t) < 1e-9 for f, t in zip(formula, torch_out))} of {len(sizes)} cases "
         "(needs the floor when s does not divide W_in − k, and + 2p with padding)"),
        ("conv: (k·k·c)·(W·H) multiplications per filter, ×B for a batch", claimed_conv == counted_mul,
         f"{claimed_conv:,} vs {counted_mul:,} multiplications counted while computing it ({counted_add:,} additions)"),
        ("pooling: (k·k·c)·(W·H) operations per sample, ×B for a batch", claimed_pool == counted_cmp,
         f"{claimed_pool:,} vs {counted_cmp:,} comparisons counted for max pooling (k² − 1 per window and channel)")])
    return Answer(
        f"A k x k x c filter costs k²c multiplications and k²c − 1 additions per output position, so W·H·k²c "
        f"multiplications per output map and B times that per batch; with k={k}, c={c}, W x H={W}x{H}, B={B}: "
        f"{counted_mul:,} multiplications and {counted_add:,} additions, counted while computing the convolution. Max "
        f"pooling works per channel and needs k² − 1 comparisons per window (no multiplications): B·W·H·c·(k² − 1) = "
        f"{counted_cmp:,}; average pooling as many additions plus one division per output. The solution's conv count is "
        f"right; its pooling count (k·k·c)·(W·H) counts the window elements, {claimed_pool - counted_cmp:,} more than the "
        f"comparisons; its size formula omits the floor and the padding.",
        values={"k": k, "c": c, "W": W, "H": H, "B": B, "conv_multiplications": counted_mul, "conv_additions": counted_add, "maxpool_comparisons": counted_cmp,
                "claimed_conv": claimed_conv, "claimed_pool": claimed_pool},
        how="tamrin.calc.examples.opcount.op_counts (unfold the windows, multiply, sum, counting every operation; compared "
            "with torch conv2d / max_pool2d and the calculator's MACs).",
        checks=[holds("every check of the op-count example passes", ex.ok),
                close("multiplications = B·W·H·k²c", counted_mul, B * W * H * k * k * c),
                close("comparisons = B·W·H·c·(k² − 1)", counted_cmp, B * W * H * c * (k * k - 1))],
        claim="Output W = (W_in − k)/s + 1, H likewise; a k x k x c kernel needs k·k·c computations per output position, "
              "(k·k·c)·(W·H) for the output map; pooling likewise (k·k·c)·(W·H), and B·(k·k·c)·(W·H) for a batch of B.",
        verdict=verdict_claims(parts), tables=[table],
        assumptions=["The question's parts (i)–(iii) are reconstructed from the solution: (i) one conv filter's operations "
                     "over the output, (ii) the same for a batch of B and pooling, (iii) pooling."])


@answer("solA.q4d")
def q4d(ctx) -> Answer:
    import torch
    import torch.nn.functional as F

    from tamrin.calc.analyze import analyze

    plain = analyze("in:256x28x28 conv3p1:256")
    bottleneck = analyze("in:256x28x28 pw:64 relu conv3p1:64 relu pw:256")
    torch.manual_seed(ctx.seed)
    x = torch.randn(2, 16, 6, 6, dtype=torch.float64)
    w1, w2 = torch.randn(8, 16, 1, 1, dtype=torch.float64), torch.randn(4, 8, 1, 1, dtype=torch.float64)
    conv = F.conv2d(F.relu(F.conv2d(x, w1)), w2)
    mlp = torch.einsum("oc,nchw->nohw", w2[:, :, 0, 0], F.relu(torch.einsum("oc,nchw->nohw", w1[:, :, 0, 0], x)))
    per_pixel = float((conv - mlp).abs().max())
    cheaper = bottleneck.macs < plain.macs and bottleneck.params < plain.params
    parts, table = subclaims([
        ("1x1 convs reduce the channels and the cost of the following layers", cheaper,
         f"256→256 3x3 conv on 28x28: {plain.macs:,} MACs, {plain.params:,} parameters; 1x1 to 64, 3x3, 1x1 back to 256: "
         f"{bottleneck.macs:,} MACs, {bottleneck.params:,} parameters"),
        ("they mix channels: a linear combination across channels at each pixel; stacked with ReLU, a per-pixel MLP",
         per_pixel < 1e-10, f"1x1 conv → ReLU → 1x1 conv equals a per-pixel two-layer MLP to {per_pixel:.1e}"),
        ("they reduce the risk of overfitting", None, "not measured here")])
    return Answer(
        f"A 1x1 convolution is a dense layer applied at every pixel over the channels (measured: a 1x1 → ReLU → 1x1 stack "
        f"equals a per-pixel MLP to {per_pixel:.1e}). Its main use is changing the channel count cheaply: replacing a "
        f"256→256 3x3 conv on 28x28 by a 1x1 bottleneck to 64 channels, a 3x3, and a 1x1 back costs "
        f"{bottleneck.macs / plain.macs:.3f} of the multiply-adds and {bottleneck.params / plain.params:.3f} of the "
        f"parameters. It adds non-linearity (with an activation) and cross-channel interaction at no spatial cost.",
        values={"plain_macs": plain.macs, "bottleneck_macs": bottleneck.macs, "plain_params": plain.params,
                "bottleneck_params": bottleneck.params, "per_pixel_mlp_difference": per_pixel},
        how="tamrin.calc.analyze on both stacks; torch conv2d vs einsum.",
        checks=[close("1x1 conv stack = per-pixel MLP (float64)", per_pixel, 0.0, atol=1e-10),
                close("bottleneck MACs = 28²·(256·64 + 9·64·64 + 64·256)", bottleneck.macs, 28 * 28 * (256 * 64 + 9 * 64 * 64 + 64 * 256))],
        claim="1x1 convolutions reduce the number of channels (dimensionality reduction) and the cost of later layers while "
              "keeping the essential features, reduce overfitting, add non-linearity when stacked with ReLU, mix the "
              "channels (linear combinations across channels), need few parameters, and make the design flexible.",
        verdict=verdict_claims(parts), tables=[table])


@answer("solA.q4e")
def q4e(ctx) -> Answer:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from tamrin.calc.analyze import analyze

    with_pool = analyze("in:16x32x32 maxpool2 conv3p1:32 flatten dense:10")
    without = analyze("in:16x32x32 conv3p1:32 flatten dense:10")
    conv_same = with_pool.rows[1].params == without.rows[0].params
    torch.manual_seed(ctx.seed)
    img = F.avg_pool2d(torch.randn(32, 1, 40, 40), 3, stride=1)  # smooth random images
    conv = nn.Conv2d(1, 8, 3)
    with torch.no_grad():
        def corr(f):
            a, b = f(img[..., 1:33, 1:33]), f(img[..., 1:33, 2:34])  # the image and a one-pixel shift of it
            return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])
        c_conv = corr(lambda t: F.relu(conv(t)))
        c_pool = corr(lambda t: F.max_pool2d(F.relu(conv(t)), 2))
    pool_params = sum(p.numel() for p in nn.MaxPool2d(2).parameters())
    parts, table = subclaims([
        ("it shrinks the feature maps, so later layers compute less and the network needs less memory",
         with_pool.macs < without.macs, f"next conv + dense: {with_pool.macs:,} vs {without.macs:,} MACs; activations "
                                        f"{int(np.prod(with_pool.rows[0].out_shape)):,} vs {int(np.prod(with_pool.rows[0].in_shape)):,} values"),
        ("and fewer parameters in later layers", with_pool.params < without.params,
         f"{with_pool.params:,} vs {without.params:,} in total; only the dense layer after flatten shrinks "
         f"(the conv's parameters are {'unchanged' if conv_same else 'changed'})"),
        ("pooling itself has (almost) no parameters", pool_params == 0, f"torch MaxPool2d parameters: {pool_params}"),
        ("less sensitive to small changes of the input", c_pool > c_conv,
         f"correlation of features of an image and its one-pixel shift: {c_pool:.3f} after max pooling vs {c_conv:.3f} before"),
        ("it extracts the salient features and reduces overfitting", None, "not measured here")])
    return Answer(
        f"Pooling summarises each window (no parameters: {pool_params}), so the maps after it are 4x smaller for 2x2: the "
        f"next conv and dense layer cost {with_pool.macs / without.macs:.3f} as many MACs and the activations take a quarter "
        f"of the memory. Parameters shrink only in a dense layer after flatten ({with_pool.params:,} vs "
        f"{without.params:,} here); a conv layer's parameters {'do not depend' if conv_same else 'depend'} on the map size. "
        f"Max pooling {'makes' if c_pool > c_conv else 'does not make'} features more tolerant to small shifts: the "
        f"correlation between the features of an image and its one-pixel shift is {c_pool:.3f} after pooling vs "
        f"{c_conv:.3f} before.",
        values={"macs_with_pool": with_pool.macs, "macs_without_pool": without.macs, "params_with_pool": with_pool.params,
                "params_without_pool": without.params, "shift_correlation_pooled": c_pool, "shift_correlation_conv": c_conv},
        how="tamrin.calc.analyze on both stacks; torch max pooling on smooth random images.",
        checks=[close("dense parameters after pooling = 32·16·16·10 + 10", with_pool.rows[-1].params, 32 * 16 * 16 * 10 + 10),
                holds("the conv layer has the same parameters with and without pooling", conv_same)],
        claim="Pooling reduces the spatial size of the feature maps, hence the parameters and computation of later layers "
              "and the memory; it keeps the most salient features, makes the network less sensitive to small changes of the "
              "input, has few parameters, and helps against overfitting.",
        verdict=verdict_claims(parts), tables=[table])


@answer("solA.q4f")
def q4f(ctx) -> Answer:
    import torch
    import torch.nn as nn

    from tamrin.calc.analyze import analyze
    from tamrin.calc.examples.fields import measured_rf

    spec = "in:1x64x64 conv3s2:1 maxpool2 conv3s2:1 maxpool2"
    a = analyze(spec)
    rf = int(a.rows[-1].rf[0][0])
    jumps = [1] + [int(r.rf[0][1]) for r in a.rows[:-1]]
    # brute force: one output's gradient w.r.t. the input of the real network (positive weights, average pools)
    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3, stride=2), nn.AvgPool2d(2)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    x = torch.randn(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    y = net(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    nz = (x.grad[0, 0] != 0).nonzero()
    support = [int(nz[:, 0].max() - nz[:, 0].min() + 1), int(nz[:, 1].max() - nz[:, 1].min() + 1)]
    stride1 = int(analyze("in:1x64x64 conv3s2:1 maxpool2s1 conv3s2:1 maxpool2s1").rows[-1].rf[0][0])
    claimed = 13
    v = verdict_numbers(claimed, rf)
    fig_path = ctx.figure(_support_figure(x.grad[0, 0].numpy(), nz, claimed), "solA_q4f_receptive_field")
    steps = [f"after {r.name.split(':')[0]} {int(r.rf[0][0])}" for r in a.rows]
    return Answer(
        f"RF_n = RF_(n−1) + (K_n − 1)·(product of all earlier strides), and the 2x2 pools have stride 2, so the products "
        f"are {', '.join(map(str, jumps))}: " + ", ".join(steps) + f", i.e. **{rf}x{rf}**. Back-propagating from one "
        f"output of the real network marks a {support[0]}x{support[1]} input window. The solution's 13x13 "
        f"{'agrees' if v == 'correct' else 'is wrong'}: it multiplies by the strides 1, 2, 2, 4, i.e. it forgets the first "
        f"pool's stride when it reaches the second conv — {stride1}x{stride1} is the field with stride-1 pools.",
        values={"receptive_field": rf, "claimed": claimed, "stride_products": jumps, "brute_force_support": support,
                "receptive_field_stride1_pools": stride1},
        how=f"tamrin.calc.analyze (receptive-field recurrence) on `{spec}`; torch autograd on the real network.",
        checks=[close("support of ∂(one output)/∂input, torch autograd (both axes)", support, [rf, rf]),
                close("tamrin.calc.examples.fields.measured_rf (all-ones weights)", measured_rf(spec, 64), rf)],
        claim="RF_0 = 1, RF_n = RF_(n−1) + (K − 1)∏S_i: 3, 5, 9, 13 — the receptive field of the last layer is 13x13.",
        verdict=v, figures=[(fig_path, f"input pixels with a non-zero gradient for one output (black): {support[0]}x{support[1]}; "
                                         f"the red square is the claimed {claimed}x{claimed}")],
        assumptions=["The 2x2 pools have stride 2 (the usual default); the solution's products of strides are those of stride-1 pools."])


def _support_figure(grad, nz, claimed: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    pad = 6  # show the support with a margin around it
    r0, c0 = max(int(nz[:, 0].min()) - pad, 0), max(int(nz[:, 1].min()) - pad, 0)
    crop = grad[r0:int(nz[:, 0].max()) + pad + 1, c0:int(nz[:, 1].max()) + pad + 1]
    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    ax.imshow(crop != 0, cmap="Greys", interpolation="nearest")
    cy, cx = (float(nz[:, 0].min() + nz[:, 0].max()) / 2 - r0, float(nz[:, 1].min() + nz[:, 1].max()) / 2 - c0)
    half = claimed / 2
    ax.add_patch(Rectangle((cx - half, cy - half), claimed, claimed, fill=False, edgecolor="red", linewidth=1.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("∂(one output)/∂input ≠ 0")
    return fig
