"""solB.q4 (sequential vs functional builds), q5 (what conv layers are good at), q6 (1x1 convolutions) and q7
(stride; the solution's "Inception" network). Claims are checked with tamrin.calc (shapes, parameters, multiply-adds),
tamrin.models.inception and small torch computations."""
from __future__ import annotations


from tamrin.answers import Answer, answer, close, holds, verdict_claims


def _table(parts) -> tuple:
    rows = [[t, "confirmed" if ok is True else "refuted" if ok is False else "not checkable", why] for t, ok, why in parts]
    return ["the solution's sub-claim", "measured", "evidence"], rows, "Each sub-claim against the computation."


def _n_params(m) -> int:
    return sum(p.numel() for p in m.parameters())


# --- q4: the same model, sequential and functional ----------------------------------------------------
Q4_SPEC = "in:3x32x32 conv3p1:16 relu maxpool2 conv3p1:32 relu maxpool2 flatten dense:64 relu dense:10"


def _functional_twin(seq):
    """The functional-API build of the same network: layers called one after another on tensors in forward(), with
    their own parameters (torch.nn.functional ops), as Keras' functional API wires `x = layer(x)`."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    convs = [m for m in seq if isinstance(m, nn.Conv2d)]
    fcs = [m for m in seq if isinstance(m, nn.Linear)]

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.ParameterList([nn.Parameter(m.weight.detach().clone()) for m in convs + fcs])
            self.b = nn.ParameterList([nn.Parameter(m.bias.detach().clone()) for m in convs + fcs])

        def forward(self, x):
            for i in range(len(convs)):
                x = F.max_pool2d(F.relu(F.conv2d(x, self.w[i], self.b[i], padding=1)), 2)
            x = torch.flatten(x, 1)
            x = F.relu(F.linear(x, self.w[len(convs)], self.b[len(convs)]))
            return F.linear(x, self.w[-1], self.b[-1])

    return Functional()


def _train(model, xs, ys, steps: int, lr: float = 0.05) -> list:
    import torch
    import torch.nn.functional as F

    opt = torch.optim.SGD(model.parameters(), lr=lr)
    out = []
    for t in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(xs[t]), ys[t])
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


@answer("solB.q4")
def sequential_vs_functional(ctx) -> Answer:
    import torch
    from torch import nn

    from tamrin.calc.analyze import analyze
    from tamrin.calc.build import build

    torch.manual_seed(ctx.seed)
    seq = build(Q4_SPEC)
    fun = _functional_twin(seq)
    g = torch.Generator().manual_seed(ctx.seed)
    xs, ys = torch.randn(6, 16, 3, 32, 32, generator=g), torch.randint(0, 10, (6, 16), generator=g)
    with torch.no_grad():
        out_diff = float((seq(xs[0]) - fun(xs[0])).abs().max())
    ls, lf = _train(seq, xs, ys, 6), _train(fun, xs, ys, 6)
    a = analyze(Q4_SPEC)
    kinds = lambda mods: sorted(type(m).__name__ for m in mods if isinstance(m, (nn.Conv2d, nn.Linear)))  # noqa: E731
    n_seq, n_fun = _n_params(seq), _n_params(fun)
    parts = [
        ("both builds have the same number and types of layers", kinds(seq) == sorted(["Conv2d"] * 2 + ["Linear"] * 2) and n_seq == n_fun,
         f"{len(kinds(seq))} weighted layers in each; {n_seq:,} vs {n_fun:,} parameters"),
        ("their results are very close", bool(out_diff == 0 and max(abs(p - q) for p, q in zip(ls, lf)) < 1e-6),
         f"with the same weights the outputs differ by {out_diff:.1g} and {len(ls)} SGD steps give the same losses "
         f"(max difference {max(abs(p - q) for p, q in zip(ls, lf)):.1g})"),
    ]
    txt = (f"Sequential and functional are two ways to wire the same layers; the model is the same function. Built both ways "
           f"(`{Q4_SPEC}`), both have {n_seq:,} parameters; with the sequential model's weights copied into the functional one "
           f"their outputs differ by {out_diff:.1g} and {len(ls)} SGD steps on the same batches give identical losses "
           f"({ls[0]:.4f} → {ls[-1]:.4f}). Any difference between two trained runs therefore comes from the random initialisation "
           "and batch order, not from the API; the functional API is needed only for graphs that are not a chain (branches, "
           "several inputs or outputs, shared layers). The data-set download, split and the 5 images shown are practical steps "
           "(the data set is not named in the document), not claims to compute.")
    return Answer(
        txt,
        values={"params": n_seq, "output_max_abs_diff": out_diff, "losses_sequential": ls, "losses_functional": lf},
        how="tamrin.calc.build (an nn.Sequential) and a module whose forward() calls torch.nn.functional ops on its own "
            "parameters; tamrin.calc.analyze for the count.",
        checks=[close("tamrin.calc parameter count = both torch models", [n_seq, n_fun], [a.params, a.params]),
                close("per-layer count: Σ (k·k·C_in + 1)·C_out and (n + 1)·m",
                      a.params, (27 + 1) * 16 + (9 * 16 + 1) * 32 + (32 * 8 * 8 + 1) * 64 + (64 + 1) * 10)],
        claim="The data set was downloaded, unpacked, split into training and validation; 5 images shown; both models (sequential "
              "and functional) trained and tested: 'the number and types of layers were the same in both; the results are very close'.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_table(parts)])


# --- q5: what conv layers are good at -----------------------------------------------------------------
@answer("solB.q5")
def conv_layers(ctx) -> Answer:
    import torch
    from torch import nn

    from tamrin.calc.analyze import analyze

    c, h = 64, 32
    conv, dense = analyze(f"in:{c}x{h}x{h} conv3p1:{c}"), analyze(f"in:{c * h * h} dense:{c * h * h}")
    # an edge detector (Sobel) finds a vertical edge wherever it is: the response peaks at the edge, and shifting the
    # image shifts the map (translation equivariance, exact away from the border)
    sob = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
    peaks, shifts = [], []  # the peak (centre of the window) vs the last dark column before the step
    for col in (8, 15, 22):
        img = torch.zeros(1, 1, 32, 32)
        img[..., col:] = 1.0
        r = torch.nn.functional.conv2d(img, sob)[0, 0]  # valid: output column j looks at input columns j..j+2
        peaks.append(int(r.abs().sum(0).argmax()) + 1)  # centre of the window
        shifts.append(col - 1)
    torch.manual_seed(ctx.seed)
    x = torch.randn(1, 3, 24, 24)
    m = nn.Conv2d(3, 4, 3, bias=False)
    with torch.no_grad():
        eq = float((m(torch.roll(x, 3, dims=3))[..., 3:] - torch.roll(m(x), 3, dims=3)[..., 3:]).abs().max())
    per_weight = conv.macs / conv.rows[0].weights
    parts = [
        ("conv layers detect features such as edges, corners and patterns, and pass them on to later layers",
         bool(peaks == shifts and eq < 1e-5),
         "a 3×3 edge filter's response peaks at column " + ", ".join(f"{p}" for p in peaks) + " for dark-to-bright steps after column "
         + ", ".join(f"{c}" for c in shifts) + "; shifting the input by 3 shifts the map by 3 "
         f"(max |difference| {eq:.1g})"),
        ("their computational cost is high", bool(per_weight >= 100),
         f"one 3×3 conv {c}→{c} on {h}×{h}: {conv.macs:,} multiply-adds for {conv.params:,} parameters ({per_weight:,.0f} per weight)"),
        ("they may extract meaningless or redundant features, or distort the feature space", None, "general statements; nothing to measure"),
        ("overfitting is one of their main challenges", None, "a property of a model and its data, not of conv layers"),
    ]
    txt = (f"What conv layers are good at is locality and weight sharing: one 3×3 conv {c}→{c} on {h}×{h} maps has "
           f"{conv.params:,} parameters, while a dense layer between the same {c * h * h:,} inputs and outputs would need "
           f"{dense.params:,} ({dense.params / conv.params:,.0f}× more). The same filter is applied at every position, so a feature "
           f"is detected wherever it appears (an edge filter's response peaks at column " + ", ".join(map(str, peaks))
           + " for steps after column " + ", ".join(map(str, shifts)) + f"; shifting the input "
           f"shifts the output by the same amount, max |difference| {eq:.1g}). The price is compute: each weight is used at "
           f"every output position, {per_weight:,.0f} multiply-adds per weight here ({conv.macs:,} in total), so conv nets are "
           "compute-heavy for their size. The solution's other 'challenges' (wrong, redundant or distorted features; overfitting) "
           "are generic statements no computation backs.")
    lin = nn.Linear(c * h * h, c * h * h, device="meta")
    return Answer(
        txt,
        values={"conv_params": conv.params, "dense_params": dense.params, "conv_macs": conv.macs, "macs_per_weight": per_weight,
                "edge_peaks": peaks, "edge_columns": shifts, "equivariance_max_abs_diff": eq},
        how=f"tamrin.calc.analyze of `in:{c}x{h}x{h} conv3p1:{c}` and `in:{c * h * h} dense:{c * h * h}`; torch conv2d for the edge "
            "and shift demonstrations.",
        checks=[close("torch parameter counts: nn.Conv2d and nn.Linear (meta device, no memory)",
                      [_n_params(nn.Conv2d(c, c, 3, padding=1)), _n_params(lin)], [conv.params, dense.params]),
                close("multiply-adds = weights × output positions", conv.macs, 9 * c * c * h * h)],
        claim="Conv layers are widely used for image classification; they can identify features such as edges, corners, patterns and "
              "shapes, passed on to later layers, which improves accuracy. Challenges: mistakes in feature extraction, "
              "computational complexity, redundant/condensed features, transformation of the feature space, and overfitting "
              "(the example of a car detector that learns too-specific details).",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_table(parts)])


# --- q6: 1x1 convolutions -----------------------------------------------------------------------------
BOTTLENECK = (192, 28, 16, 32)  # GoogLeNet's inception 3a, 5x5 branch: 192 channels at 28×28, reduce to 16, 32 filters


@answer("solB.q6")
def one_by_one(ctx) -> Answer:
    import torch
    from torch import nn

    from tamrin.calc.analyze import analyze
    from tamrin.models.inception import Inception
    from tamrin.models.mobilenet_v1 import MobileNetV1

    torch.manual_seed(ctx.seed)
    # (b) a 1x1 conv = the same linear map of the channel vector at every pixel
    c_in, k = 16, 4
    x = torch.randn(2, c_in, 7, 7)
    pw = nn.Conv2d(c_in, k, 1)
    with torch.no_grad():
        per_pixel = torch.einsum("kc,nchw->nkhw", pw.weight[:, :, 0, 0], x) + pw.bias[:, None, None]
        lin = nn.Linear(c_in, k)
        lin.weight.copy_(pw.weight[:, :, 0, 0])
        lin.bias.copy_(pw.bias)
        as_linear = lin(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        d_lin = float((pw(x) - as_linear).abs().max())
    # (a) the bottleneck saving
    c, h, r, f = BOTTLENECK
    direct, reduced = analyze(f"in:{c}x{h}x{h} conv5p2:{f}"), analyze(f"in:{c}x{h}x{h} pw:{r} relu conv5p2:{f}")
    saving_macs, saving_params = direct.macs / reduced.macs, direct.params / reduced.params
    # (e) without a reduction the 1x1 only adds cost; without a nonlinearity after it, it folds into the next conv
    c2 = 64
    plain3, nored = analyze(f"in:{c2}x{h}x{h} conv3p1:{c2}"), analyze(f"in:{c2}x{h}x{h} pw:{c2} relu conv3p1:{c2}")
    a3, p1 = nn.Conv2d(c2, c2, 3, padding=1), nn.Conv2d(c2, c2, 1)
    y = torch.randn(1, c2, 9, 9)
    with torch.no_grad():
        folded = nn.Conv2d(c2, c2, 3, padding=1)
        pm = p1.weight[:, :, 0, 0]
        folded.weight.copy_(torch.einsum("ok,kcij->ocij", pm, a3.weight))
        folded.bias.copy_(pm @ a3.bias + p1.bias)
        d_fold = float((p1(a3(y)) - folded(y)).abs().max())
    # (d) the 1x1 convs of an Inception network
    convs = [m for m in Inception().modules() if isinstance(m, nn.Conv2d)]
    n11 = sum(m.kernel_size == (1, 1) for m in convs)
    mob = [m for m in MobileNetV1().modules() if isinstance(m, nn.Conv2d)]
    mob11 = sum(m.kernel_size == (1, 1) for m in mob)
    # (f) the solution's code: np.random.rand(...) in [0, 1) cast to uint8 for plt.imshow
    img = ctx.rng.random((1, 28, 28, 3))
    shown_max = int(img[0].astype("uint8").max())
    code = analyze("in:3x28x28 pw:16 relu")
    parts = [
        ("1x1 filters reduce the number of feature maps (depth) and so the computation", bool(saving_macs > 1),
         f"{c}→{f} 5×5 on {h}×{h}: {direct.macs:,} multiply-adds directly, {reduced.macs:,} through a 1×1 reduction to {r} "
         f"({saving_macs:.1f}× fewer)"),
        ("their output map is a linear combination of the input maps with different weights", bool(d_lin < 1e-5),
         f"Conv2d(16, 4, 1) vs a Linear applied to every pixel's channel vector: max |difference| {d_lin:.1g}"),
        ("the map holds more compressed information than the previous maps", None, "qualitative"),
        ("they are used widely in Inception networks", bool(n11 * 2 > len(convs)),
         f"tamrin's Inception: {n11} of its {len(convs)} convolutions are 1×1"),
        ("they do not help when no reduction is needed", bool(nored.macs > plain3.macs),
         f"1×1 {c2}→{c2} before a 3×3 {c2}→{c2}: {nored.macs:,} vs {plain3.macs:,} multiply-adds ({nored.macs / plain3.macs:.2f}×)"),
        ("they may not help when the input has very few channels", None, "how few is 'very few' is not stated; not measured"),
        ("its code displays the input image (its 'Input Image' panel)", shown_max > 0,
         f"`np.random.rand(1, 28, 28, 3).astype('uint8')` has maximum {shown_max}: the 'Input Image' panel is black"),
    ]
    txt = (f"A 1×1 convolution is a per-pixel linear map across channels (a Conv2d(16, 4, 1) equals a Linear on each pixel's "
           f"16-vector, max |difference| {d_lin:.1g}); followed by a nonlinearity it is a tiny MLP per pixel. Purpose: change the "
           f"depth cheaply. In GoogLeNet's 3a 5×5 branch ({c}→{f} channels at {h}×{h}) a 1×1 reduction to {r} cuts the multiply-adds "
           f"from {direct.macs:,} to {reduced.macs:,} ({saving_macs:.1f}×) and the parameters from {direct.params:,} to "
           f"{reduced.params:,} ({saving_params:.1f}×). The output maps hold weighted mixtures of the input maps at the same "
           f"pixel (no spatial context). They are everywhere in Inception ({n11} of {len(convs)} convs in tamrin's) and MobileNet "
           f"({mob11} of {len(mob)}: the pointwise half of every separable conv), as in ResNet's bottlenecks. They do not help when there is nothing to reduce: a 1×1 "
           f"{c2}→{c2} before a 3×3 raises the cost {nored.macs / plain3.macs:.2f}×, and without a nonlinearity next to it it adds "
           f"nothing, since a 1×1 after a 3×3 folds into one 3×3 (max |difference| {d_fold:.1g}). ")
    txt += (f"The solution's code builds Conv2D(16, 1×1) on 28×28×3 ({code.params:,} parameters, output "
            f"{'×'.join(map(str, code.output_shape))}), but "
            + ("its 'Input Image' is all zeros: random floats in [0, 1) cast to uint8 truncate to 0." if shown_max == 0
               else "its input image is shown."))
    return Answer(
        txt,
        values={"bottleneck_macs": [direct.macs, reduced.macs], "bottleneck_params": [direct.params, reduced.params],
                "saving_macs": saving_macs, "no_reduction_cost_ratio": nored.macs / plain3.macs, "fold_max_abs_diff": d_fold,
                "inception_1x1": n11, "inception_convs": len(convs), "mobilenet_1x1": mob11, "mobilenet_convs": len(mob), "code_params": code.params, "code_image_max": shown_max},
        how="tamrin.calc.analyze for counts; torch for the per-pixel-linear and folding identities; tamrin.models.inception.Inception.",
        checks=[close("1×1 conv = einsum over channels at every pixel", pw(x).detach(), per_pixel, atol=1e-5),
                close("torch parameter counts of the bottleneck (direct, reduced)",
                      [_n_params(nn.Conv2d(c, f, 5, padding=2)), _n_params(nn.Conv2d(c, r, 1)) + _n_params(nn.Conv2d(r, f, 5, padding=2))],
                      [direct.params, reduced.params]),
                close("bottleneck multiply-adds by hand: H·W·(C·r + 25·r·F) and H·W·25·C·F", [reduced.macs, direct.macs],
                      [h * h * (c * r + 25 * r * f), h * h * 25 * c * f]),
                close("a 1×1 after a 3×3 (no activation) = one folded 3×3", d_fold, 0.0, atol=1e-4)],
        claim="(a) 1×1 filters reduce the number of feature maps (depth) while keeping the important features, reducing computation; "
              "(b) the output map is a linear combination of the input maps with different weights; (c) it holds more compressed "
              "information; (d) used widely in Inception networks; (e) may not help if the input has very few channels or no "
              "reduction is needed; (f) code: a Keras Conv2D(16, (1, 1)) on a random 28×28×3 image, showing the input and the maps.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_table(parts)])


# --- q7: stride, and the solution's "Inception" network -----------------------------------------------
SOL_NET = "in:3x32x32 pw:64 relu pw:64 relu conv3:128 relu conv5:256 relu maxpool3s1p1 flatten dense:512 relu dense:10"
SOL_BLOCK = "in:64x32x32 pw:64 relu conv3:128 relu conv5:256 relu"  # what its code calls the "Inception Module"
# GoogLeNet's module 3a widths (1x1 64 | 1x1 96 → 3x3 128 | 1x1 16 → 5x5 32 | pool → 1x1 32) on the same 64-channel input
REAL_BLOCK = ("in:64x32x32 cat( pw:64 relu | pw:96 relu conv3p1:128 relu | pw:16 relu conv5p2:32 relu | "
              "maxpool3s1p1 pw:32 relu )")


def out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _fanout(module) -> tuple[int, int]:
    """(largest number of consumers of one value, number of concatenations) in the module's traced graph: a chain has
    fan-out 1 and no concatenation; an Inception module feeds one input to several branches and concatenates them."""
    import torch
    import torch.fx as fx

    g = fx.symbolic_trace(module).graph
    fan = max(len(n.users) for n in g.nodes if n.op != "output")
    cats = sum(1 for n in g.nodes if n.op == "call_function" and n.target in (torch.cat, torch.concat))
    return fan, cats


@answer("solB.q7")
def stride_and_inception(ctx) -> Answer:
    import torch
    from torch import nn

    from tamrin.calc.analyze import analyze
    from tamrin.calc.build import build
    from tamrin.models.inception import Inception, InceptionModule

    # stride: the output size, calculator vs torch on every small case
    cases = [(n, k, s, p) for n in range(1, 25) for k in (1, 2, 3, 5) for s in (1, 2, 3, 4) for p in (0, 1, 2)
             if n + 2 * p >= k and 2 * p <= k]
    calc_sizes = [analyze(f"in:1x{n} conv{k}s{s}p{p}:1").output_shape[1] for n, k, s, p in cases]
    with torch.no_grad():
        torch_sizes = [torch.nn.functional.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p).shape[-1]
                       for n, k, s, p in cases]
    ex = {s: analyze(f"in:3x32x32 conv3s{s}p1:16").output_shape[1] for s in (1, 2, 3, 4)}
    net, blk, real = analyze(SOL_NET), analyze(SOL_BLOCK), analyze(REAL_BLOCK)
    dense = next(r for r in net.rows if r.kind == "dense")
    flat = next(r for r in net.rows if r.kind == "flatten")
    pool = next(r for r in net.rows if r.kind == "maxpool")
    with torch.device("meta"):  # 89.5 M parameters: count and trace them without allocating or initialising
        sol_model = build(SOL_NET)
    sol_fan, sol_cats = _fanout(sol_model)
    mod = InceptionModule(64, 64, 96, 128, 16, 32, 32)
    inc_fan, inc_cats = _fanout(mod)
    with torch.no_grad():
        mod_out = tuple(mod(torch.zeros(1, 64, 32, 32)).shape[1:])
    full = Inception()
    n_full = _n_params(full)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in sol_model.modules())
    parts = [
        ("stride: 'the size of the stride plays an important role' (no formula, no numbers)", None, "nothing stated to check"),
        ("Inception applies 1×1, 3×3 and 5×5 convolutions in parallel, with 1×1 convs reducing the depth", bool(inc_fan >= 4 and inc_cats == 1),
         f"tamrin's InceptionModule: one input feeds {inc_fan} branches, concatenated {inc_cats}× (output {mod_out})"),
        ("its code implements an Inception network (Inception-module layers)", bool(sol_fan > 1 or sol_cats > 0),
         f"traced graph of its model: largest fan-out {sol_fan}, {sol_cats} concatenations: a plain chain"),
        ("its network uses batch normalisation (listed among 'the key layers used in this network')", bool(n_bn > 0),
         f"{n_bn} batch-norm layers in its model"),
    ]
    txt = (f"Stride s skips s − 1 positions between windows, so each spatial size becomes ⌊(n + 2p − k)/s⌋ + 1: a 3×3 conv with "
           f"padding 1 on 32×32 gives " + ", ".join(f"{v}×{v} at stride {s}" for s, v in ex.items())
           + " — roughly n/s per axis, so the output positions (and multiply-adds) fall "
           + ", ".join(f"{(ex[1] / v) ** 2:.1f}×" for s, v in ex.items() if s > 1) + f" for s = 2, 3, 4 (about s²). "
           f"(Checked against PyTorch on {len(cases)} cases.) "
           f"The solution gives no such relation. Its 'Inception' network is "
           f"{'a plain chain' if sol_fan == 1 and sol_cats == 0 else 'a branching graph'} 1×1 64 → 1×1 64 → 3×3 128 → 5×5 256 → "
           f"max-pool 3×3 stride 1 'same' (which {'keeps' if pool.out_shape == pool.in_shape else 'changes'} "
           f"{pool.in_shape[1]}×{pool.in_shape[2]} → {pool.out_shape[1]}×{pool.out_shape[2]}: at stride 1 pooling does not shrink) → Flatten "
           f"{flat.out_shape[0]:,} → Dense 512 → 10: {net.params:,} parameters, {dense.params / net.params:.1%} of them in the first "
           f"Dense layer. Its traced graph has fan-out {sol_fan} and {sol_cats} concatenations, while an Inception module feeds one "
           f"input to {inc_fan} parallel branches and concatenates them ({inc_cats} concatenation). On the same 64-channel 32×32 "
           f"input its 'module' (1×1 64 → 3×3 128 → 5×5 256 in series) has {blk.params:,} parameters, {blk.macs:,} multiply-adds and "
           f"output {'×'.join(map(str, blk.output_shape))}; GoogLeNet's module 3a (4 branches) has {real.params:,} parameters, "
           f"{real.macs:,} multiply-adds and output {'×'.join(map(str, real.output_shape))} ({blk.macs / real.macs:.1f}× "
           f"{'cheaper' if real.macs < blk.macs else 'dearer'}, {'the same' if real.output_shape[0] == blk.output_shape[0] else 'a different'} "
           f"number of channels). tamrin's whole CIFAR Inception network has {n_full:,} parameters. ")
    txt += ("So it is not an Inception network: the same kernel sizes stacked in series are a plain CNN." if not parts[2][1]
            else "Its graph branches, as an Inception network's does.")
    return Answer(
        txt,
        values={"stride_example": ex, "cases_checked": len(cases), "solution_params": net.params,
                "solution_dense_share": dense.params / net.params, "solution_flatten": flat.out_shape[0],
                "solution_block_params": blk.params, "solution_block_macs": blk.macs, "inception_3a_params": real.params,
                "inception_3a_macs": real.macs, "solution_fanout": sol_fan, "inception_fanout": inc_fan,
                "tamrin_inception_params": n_full},
        how=f"tamrin.calc.analyze on `{SOL_NET}`, `{SOL_BLOCK}` and `{REAL_BLOCK}`; torch.fx traces of tamrin.calc.build(…) and "
            "tamrin.models.inception.InceptionModule.",
        checks=[close(f"output sizes: tamrin.calc = torch conv1d on {len(cases)} (n, k, s, p) cases", calc_sizes, torch_sizes),
                close("output sizes = ⌊(n + 2p − k)/s⌋ + 1", calc_sizes, [out_size(*c) for c in cases]),
                close("torch parameter counts of the solution's network and of module 3a (built from the specs)",
                      [_n_params(sol_model), _n_params(build(REAL_BLOCK))], [net.params, real.params]),
                holds("tamrin's InceptionModule output channels = the sum of its branches (64 + 128 + 32 + 32)", mod_out[0] == mod.out_channels == 256)],
        claim="'The Inception structure uses 1×1, 3×3 and 5×5 convolutions in parallel', with a 1×1 conv reducing depth; 'the size of "
              "the stride also plays an important role here'; key layers 'used in this network': convolution, pooling, batch "
              "normalisation, activations. Its code: Sequential Conv2D 64 1×1 → '# Inception Module layers' Conv2D 64 1×1, Conv2D "
              "128 3×3, Conv2D 256 5×5, MaxPooling2D 3×3 stride 1 'same' → Flatten → Dense 512 → Dense 10, trained 3 epochs (the log "
              "stops in epoch 1).",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[_table(parts),
                (["network", "parameters", "multiply-adds", "output"],
                 [["the solution's 'Inception module' (series)", blk.params, blk.macs, "×".join(map(str, blk.output_shape))],
                  ["GoogLeNet module 3a (parallel branches)", real.params, real.macs, "×".join(map(str, real.output_shape))],
                  ["the solution's whole network", net.params, net.macs, "×".join(map(str, net.output_shape))]],
                 "On a 64-channel 32×32 input (the whole network: on the 3×32×32 image).")])
