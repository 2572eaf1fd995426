"""Answers to Project 4's checkable questions (seeds/004_*): equivariance (q1), the 1D CNN (q3a, q3b) and
dilated convolution (q4a–q4c). q2 and q5a–q5d are practical (the deconv-inversion and fer experiments)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tamrin.answers import Answer, answer, close, holds

POOL, WIDTH = 2, 10  # q3: the missing figure's pooling size s and FC1 width h, for the worked example


# --- q1 -------------------------------------------------------------------------------------------------
def conv_circular(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'Same' convolution with wrap-around padding (tamrin.scratch conv on a circularly padded input): on a
    torus no border breaks the symmetry, so equivariance to circular shifts holds exactly."""
    from tamrin.scratch.conv import conv2d_forward

    p = k.shape[0] // 2
    return conv2d_forward(np.pad(x, p, mode="wrap")[None, None], k[None, None], None)[0][0, 0]


@answer("p4.q1")
def equivariance(ctx) -> Answer:
    from tamrin.experiments.conv_gradients import invariance_table, pattern_image

    rng = ctx.rng
    n, shifts = 16, [(1, 0), (2, 3), (-4, 5)]
    x, k = rng.standard_normal((n, n)), rng.standard_normal((3, 3))
    lib_err = max(float(np.abs(conv_circular(np.roll(x, s, (0, 1)), k) - np.roll(conv_circular(x, k), s, (0, 1))).max())
                  for s in shifts)
    xt, kt = torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None]
    conv_t = lambda t: F.conv2d(F.pad(t, (1, 1, 1, 1), mode="circular"), kt)  # noqa: E731
    t_err = max(float((conv_t(torch.roll(xt, s, (2, 3))) - torch.roll(conv_t(xt), s, (2, 3))).abs().max()) for s in shifts)
    # a dense layer with its own weights per position has no such property
    wd = torch.from_numpy(rng.standard_normal((n * n, n * n)) / n)
    dense = lambda t: (wd @ t.reshape(-1)).reshape(1, 1, n, n)  # noqa: E731
    d_err = max(float((dense(torch.roll(xt, s, (2, 3))) - torch.roll(dense(xt), s, (2, 3))).abs().max()) for s in shifts)
    # zero padding (what CNNs use): exact away from the border only
    zp = lambda t: F.conv2d(t, kt, padding=1)  # noqa: E731
    s0 = (2, 3)
    diff = (zp(torch.roll(xt, s0, (2, 3))) - torch.roll(zp(xt), s0, (2, 3))).abs()[0, 0]
    inner = diff[s0[0] + 1:n - 1, s0[1] + 1:n - 1]
    inv = invariance_table(pattern_image())
    n_conv = 3 * 3 + 1  # one 3x3 kernel and its bias
    n_dense = n * n * n * n + n * n  # a weight for every (input pixel, output pixel) pair and a bias per output
    one = inv[1]
    text = (f"Equivariance: conv(shift(x)) = shift(conv(x)). Parameter sharing means the same kernel is applied at "
            f"every position, so moving the input moves the feature map by the same amount and nothing else changes. "
            f"Measured on a random {n}x{n} input and 3x3 kernel with wrap-around shifts {shifts}: largest "
            f"|conv(shift x) − shift(conv x)| = {lib_err:.1e} (tamrin.scratch) and {t_err:.1e} (PyTorch); a dense layer "
            f"with a separate weight per position gives {d_err:.2f}. With zero padding it holds exactly away from the "
            f"border ({float(inner.max()):.1e}) and fails only where the padding or the wrapped-around seam enters the "
            f"window ({float(diff.max()):.2f}). "
            + ("Pooling adds approximate invariance: " if one["pool_same"] > one["feature_same"] else
               "Here pooling did not add invariance: ")
            + f"after a 1-pixel shift {one['feature_same']:.0%} of the active conv outputs keep their value and "
            f"{one['pool_same']:.0%} of the 2x2-max-pooled ones do, and global average pooling "
            + ("does not change at all (the pattern stays inside the image)" if max(r['gap_change'] for r in inv) == 0 else
               f"changes by at most {max(r['gap_change'] for r in inv):.1e}")
            + f". Uses: a feature detector (edge, eye, wheel) learned at one place "
            f"works everywhere, so the layer needs {n_conv} parameters instead of the {n_dense:,} of a dense {n}x{n} → "
            f"{n}x{n} layer and generalises to objects at new positions; dense outputs (segmentation, detection, key "
            f"points) move with the object as they should; and followed by pooling it gives the translation "
            f"invariance a classifier wants.")
    return Answer(
        text,
        values={"equivariance_error_scratch": lib_err, "equivariance_error_torch": t_err, "dense_layer_error": d_err,
                "zero_padding_interior_error": float(inner.max()), "zero_padding_border_error": float(diff.max()),
                "pooling_table": inv, "conv_params": n_conv, "dense_params": n_dense},
        how="tamrin.scratch.conv.conv2d_forward on circularly padded inputs; tamrin.experiments.conv_gradients."
            "invariance_table for pooling",
        checks=[close("PyTorch conv2d (circular padding): conv∘shift − shift∘conv", t_err, 0.0, atol=1e-12),
                close("tamrin.scratch: conv∘shift − shift∘conv", lib_err, 0.0, atol=1e-12),
                holds("a dense layer (no sharing) is not equivariant", d_err > 0.1, f"error {d_err:.3g}"),
                close("parameter counts by PyTorch (Conv2d(1, 1, 3), Linear(256, 256))", [n_conv, n_dense],
                      [sum(p.numel() for p in torch.nn.Conv2d(1, 1, 3).parameters()),
                       sum(p.numel() for p in torch.nn.Linear(n * n, n * n).parameters())])],
        tables=[(["shift", "conv outputs unchanged", "2x2 max-pooled unchanged", "|Δ GAP|"],
                 [[r["shift"], f"{r['feature_same']:.0%}", f"{r['pool_same']:.0%}", f"{r['gap_change']:.1e}"] for r in inv],
                 "Horizontal shifts of a pattern: pooling makes the response partly invariant")])


# --- q3 -------------------------------------------------------------------------------------------------
def conv_outputs(padding_sides: int = 2) -> int:
    """Conv1D 1x2 over 785 values padded with one zero on `padding_sides` sides (2: both, the usual reading)."""
    return 785 + padding_sides - 2 + 1


@answer("p4.q3a")
def params_1d(ctx) -> Answer:
    from tamrin.calc.analyze import analyze
    from tamrin.calc.examples.gradients import Net, n_params, spec

    a = analyze(spec(POOL, WIDTH))
    total = a.params
    per = [(r.name, r.params) for r in a.rows if r.params]
    grid = [(s, h) for s in (2, 3, 4) for h in (10, 32)]
    rows = [[s, h, n_params(s, h), analyze(spec(s, h)).params, sum(p.numel() for p in Net(s, h).parameters())]
            for s, h in grid]
    grid_values = [dict(zip(("s", "h", "formula", "calculator", "torch"), r)) for r in rows]
    n = conv_outputs()
    one_side = WIDTH * (conv_outputs(1) // POOL) + 2 * WIDTH + 4
    text = (f"Layer by layer (pooling of size and stride s, FC1 of width h): zero padding 1 on both sides gives 787 "
            f"values; CONV1 has one 1x2 kernel W^C = [W^C_1, W^C_2] and a bias b^C: 3 parameters, {n} outputs "
            f"(787 − 2 + 1). AVGPOOL1 has no parameters and leaves floor({n}/s) values. FC1: W^A_ji for every pair "
            f"(pooled value, FC1 unit) plus b^M_i: h·floor({n}/s) + h. Output Z: W^F_i and b^F: h + 1. Total "
            f"P(s, h) = 3 + h·floor({n}/s) + h + h + 1 = h·floor({n}/s) + 2h + 4. Example with s = {POOL}, h = {WIDTH}: "
            + " + ".join(f"{p:,} ({nm})" for nm, p in per) + f" = {total:,} parameters.")
    return Answer(
        text,
        values={"formula": "h*floor(786/s) + 2h + 4", "example_s": POOL, "example_h": WIDTH, "example_total": total,
                "per_layer": {nm: p for nm, p in per}, "grid": grid_values, "one_sided_padding_total": one_side},
        how="tamrin.calc.analyze on the spec `" + spec(POOL, WIDTH) + "`; tamrin.calc.examples.gradients.n_params",
        checks=[close(f"PyTorch parameter count of Conv1d(1,1,2,padding=1) → AvgPool1d({POOL}) → Linear → Linear",
                      total, sum(p.numel() for p in Net(POOL, WIDTH).parameters())),
                close("formula = calculator = PyTorch on a grid of (s, h)", [r[2] for r in rows] + [r[3] for r in rows],
                      [r[4] for r in rows] * 2)],
        tables=[(["s", "h", "formula", "calculator", "PyTorch"], rows, "P(s, h) for a few pool sizes and widths")],
        assumptions=[f"the figure is missing: pooling size = stride = s, worked example s = {POOL}, h = {WIDTH}; "
                     f"'zero-padding of length 1' read as one zero at each end (with a zero at one end only the conv "
                     f"gives {conv_outputs(1)} outputs and the example would have {one_side:,} parameters)"])


@answer("p4.q3b")
def grads_1d(ctx) -> Answer:
    from tamrin.calc.examples.gradients import LENGTH, Net, hand_gradients

    torch.manual_seed(ctx.seed)
    net = Net(POOL, WIDTH).double()
    with torch.no_grad():  # positive kernel and bias: most conv outputs active, so the gradient is not trivially 0
        net.conv.weight.abs_()
        net.conv.bias.fill_(0.1)
    x, target = ctx.rng.uniform(-1, 1, LENGTH), 1.0
    gw1, gwa, z = hand_gradients(net, x, target, POOL)
    xt = torch.from_numpy(x)[None, None]
    out = net(xt)[0, 0]
    loss = -(target * torch.log(out) + (1 - target) * torch.log(1 - out))
    loss.backward()
    auto_w1, auto_wa = float(net.conv.weight.grad[0, 0, 0]), net.fc_a.weight.grad.numpy()

    def cost(w1: float) -> float:  # the cost as a function of W^C_1 alone, for finite differences
        with torch.no_grad():
            old = net.conv.weight[0, 0, 0].item()
            net.conv.weight[0, 0, 0] = w1
            o = float(net(xt)[0, 0])
            net.conv.weight[0, 0, 0] = old
        return -(target * np.log(o) + (1 - target) * np.log(1 - o))

    w1 = net.conv.weight[0, 0, 0].item()
    fd = (cost(w1 + 1e-6) - cost(w1 - 1e-6)) / 2e-6
    i, j = 0, int(np.argmax(np.abs(gwa[0])))
    text = ("With x̃ the padded input, v_t = W^C_1 x̃_t + W^C_2 x̃_(t+1) + b^C and c_t = ReLU(v_t) for t = 1…786, "
            "a_j = (1/s) Σ_(t in window j) c_t, u_i = Σ_j W^A_ji a_j + b^M_i, f_i = ReLU(u_i), "
            "z = σ(Σ_i W^F_i f_i + b^F) and cost = −Y log z − (1 − Y) log(1 − z). The sigmoid and the cross-entropy "
            "combine: ∂cost/∂(pre-activation of z) = z − Y. Then\n\n"
            "∂Cost/∂W^A_ji = (z − Y) · W^F_i · 1[u_i > 0] · a_j\n\n"
            "∂Cost/∂W^C_1 = (z − Y) Σ_i W^F_i 1[u_i > 0] Σ_j W^A_ji (1/s) Σ_(t in window j) 1[v_t > 0] · x̃_t\n\n"
            f"(W^C_1 multiplies x̃_t in every conv output: the sum over t collects them). Evaluated on one random example "
            f"(s = {POOL}, h = {WIDTH}, Y = {target:g}, z = {z:.4f}): ∂Cost/∂W^C_1 = {gw1:.8f}; ∂Cost/∂W^A_ji has "
            f"{gwa.size} entries, e.g. ∂Cost/∂W^A_({j + 1},{i + 1}) = {gwa[i, j]:.8f}; "
            f"{int(np.sum(np.abs(gwa).sum(1) > 0))} of {WIDTH} FC1 units are active, the others' rows are 0.")
    return Answer(
        text,
        # W^A is h x floor(786/s): stored flat (row i = FC1 unit) so the report shows a summary, not 393 columns
        values={"dCost_dWC1": gw1, "dCost_dWA_flat": gwa.ravel(), "dCost_dWA_shape": list(gwa.shape), "z": z,
                "Y": target, "s": POOL, "h": WIDTH},
        how="tamrin.calc.examples.gradients.hand_gradients (the chain rule written out in NumPy) on a seeded network",
        checks=[close("PyTorch autograd: ∂Cost/∂W^C_1", gw1, auto_w1, atol=1e-10),
                close("PyTorch autograd: ∂Cost/∂W^A (all entries)", gwa, auto_wa, atol=1e-10),
                close("centred finite differences of the cost in W^C_1", gw1, fd, atol=1e-6),
                holds("the gradients are not trivially zero", abs(gw1) > 0 and float(np.abs(gwa).max()) > 0)],
        assumptions=[f"the figure is missing: pooling size = stride = s = {POOL}, FC1 width h = {WIDTH}; torch's "
                     "fc1.weight[i, j] is W^A_ji (from pooled value j to FC1 unit i, the document's indices)"])


# --- q4 -------------------------------------------------------------------------------------------------
@answer("p4.q4a")
def receptive_field(ctx) -> Answer:
    from tamrin.calc.analyze import analyze
    from tamrin.calc.examples.fields import measured_rf

    ks = (1, 3, 5, 7)
    calc = [int(analyze(f"in:1x32x32 conv{k}:1").rows[0].rf[0][0]) for k in ks]
    meas = [measured_rf(f"in:1x32x32 conv{k}:1", 32) for k in ks]
    dil = [int(analyze(f"in:1x32x32 conv3d{d}:1").rows[0].rf[0][0]) for d in (1, 2, 3)]
    return Answer(
        "K (a K x K field): each output is a weighted sum of exactly the K x K input pixels under the kernel, and with "
        "stride 1 nothing else reaches it. Calculator for K = " + ", ".join(map(str, ks)) + ": "
        + ", ".join(map(str, calc)) + ". (L such layers stacked: L(K − 1) + 1; with dilation D one layer sees "
        f"D(K − 1) + 1, e.g. K = 3: " + ", ".join(f"{v} for D = {d}" for d, v in zip((1, 2, 3), dil)) + ".)",
        values={"K": list(ks), "rf": calc, "rf_dilated_K3": dil},
        how="tamrin.calc.analyze (receptive-field recurrence r_out = r_in + (k' − 1)·j_in)",
        checks=[close("autograd: span of input pixels with non-zero gradient for one output (tamrin.calc.examples.fields)",
                      meas, calc),
                close("r = K", calc, list(ks)),
                close("dilated: D(K − 1) + 1", dil, [d * 2 + 1 for d in (1, 2, 3)])])


def dilated_by_definition(img: np.ndarray, k: np.ndarray, d: int) -> np.ndarray:
    """(K ⋆_D I)(i, j) = Σ_mn K(m, n) I(i + Dm, j + Dn), only where every tap lies inside I (loops, as written)."""
    f = k.shape[0]
    rows = [i for i in range(img.shape[0]) if i + d * (f - 1) < img.shape[0]]
    cols = [j for j in range(img.shape[1]) if j + d * (f - 1) < img.shape[1]]
    return np.array([[sum(k[m, n] * img[i + d * m, j + d * n] for m in range(f) for n in range(f)) for j in cols]
                     for i in rows])


@answer("p4.q4b")
def dilated_size(ctx) -> Answer:
    from tamrin.scratch.conv import conv2d_forward

    cases, bad, lib_bad = 0, [], 0
    fs, ms = range(1, 5), range(1, 16)  # F and D over fs, M over ms, N = M and M + 3
    for F_ in fs:
        for D in fs:
            for M in ms:
                for N in (M, M + 3):
                    if M - D * F_ + D < 1 or N - D * F_ + D < 1:
                        continue  # the kernel does not fit: no output
                    y = F.conv2d(torch.zeros(1, 1, M, N), torch.zeros(1, 1, F_, F_), dilation=D)
                    cases += 1
                    if tuple(y.shape[2:]) != (M - D * F_ + D, N - D * F_ + D):
                        bad.append((M, N, F_, D))
                    if conv2d_forward(np.zeros((1, 1, M, N)), np.zeros((1, 1, F_, F_)), dilation=D)[0].shape[2:] != \
                            (M - D * F_ + D, N - D * F_ + D):
                        lib_bad += 1
    # M − D(F − 1) and M − DF + D are polynomials of degree ≤ 1 in each of M, F, D: agreeing on the 2x2x2 grid
    # {0, 1}³ makes them identical (without importing sympy, which costs a second)
    same_poly = all(m - d * (f - 1) == m - d * f + d for m in (0, 1) for f in (0, 1) for d in (0, 1))
    img, k = ctx.rng.standard_normal((11, 9)), ctx.rng.standard_normal((3, 3))
    direct = dilated_by_definition(img, k, 2)
    return Answer(
        f"The claim holds. With the kernel's taps at offsets 0, D, …, D(F − 1), output row i needs rows i … i + D(F − 1) "
        f"of I, so full overlap means 0 ≤ i ≤ M − 1 − D(F − 1): M − D(F − 1) = M − DF + D rows, and likewise "
        f"N − DF + D columns (the dilated kernel spans D(F − 1) + 1 pixels; valid when M, N ≥ D(F − 1) + 1). "
        f"Brute force: PyTorch conv2d(dilation=D) gives exactly this size in all {cases} cases "
        f"(F, D = {fs[0]}…{fs[-1]}, M = {ms[0]}…{ms[-1]}, N = M and M + 3), e.g. an 11x9 input with F = 3, D = 2 gives {direct.shape[0]}x{direct.shape[1]}.",
        values={"formula": "(M - D*F + D) x (N - D*F + D)", "cases": cases, "mismatches": len(bad),
                "example_11x9_F3_D2": list(direct.shape)},
        how="torch.nn.functional.conv2d(dilation=D) and tamrin.scratch.conv.conv2d_forward over a grid of (M, N, F, D)",
        checks=[close(f"PyTorch output size = formula in {cases} cases (mismatches)", len(bad), 0),
                close("tamrin.scratch conv2d_forward size = formula (mismatches)", lib_bad, 0),
                holds("M − D(F − 1) ≡ M − DF + D (multilinear polynomials equal on {0, 1}³)", same_poly),
                close("the definition evaluated by loops has that size (11x9, F = 3, D = 2)", list(direct.shape),
                      [11 - 6 + 2, 9 - 6 + 2])])


@answer("p4.q4c")
def dilated_kernel(ctx) -> Answer:
    from tamrin.calc.examples.fields import dilate_kernel
    from tamrin.scratch.conv import conv2d_forward

    D, F_ = 3, 3
    img, k = ctx.rng.standard_normal((14, 12)), ctx.rng.standard_normal((F_, F_))
    A = np.zeros((D, D), dtype=int)
    A[0, 0] = 1
    full = np.kron(k, A)  # DF x DF: K's weights D apart, then D − 1 trailing zero rows/columns
    kd = dilate_kernel(k, D)  # the same with the trailing zeros trimmed: D(F − 1) + 1 square
    plain = conv2d_forward(img[None, None], kd[None, None])[0][0, 0]  # an ordinary convolution with K'
    torch_dil = F.conv2d(torch.from_numpy(img)[None, None], torch.from_numpy(k)[None, None], dilation=D)[0, 0].numpy()
    direct = dilated_by_definition(img, k, D)
    untrimmed = conv2d_forward(img[None, None], full[None, None])[0][0, 0]
    h, w = untrimmed.shape
    return Answer(
        f"A is the D x D matrix with a single 1 in its top-left corner and zeros elsewhere (A_11 = 1). K ⊗ A replaces "
        f"each weight K(m, n) by the block K(m, n)·A, so K'(Dm, Dn) = K(m, n) and every other entry is 0: D − 1 zeros "
        f"between neighbouring taps, and Σ_pq K'(p, q) I(i + p, j + q) = Σ_mn K(m, n) I(i + Dm, j + Dn). K ⊗ A is "
        f"DF x DF and ends with D − 1 zero rows and columns: they change no value, but kept in the kernel they shrink "
        f"the full-overlap output to M − DF + 1, so K' is K ⊗ A with them trimmed, a D(F − 1) + 1 square "
        f"({kd.shape[0]}x{kd.shape[1]} for F = {F_}, D = {D}) whose output has the (M − DF + D) x (N − DF + D) size of "
        f"q4b. Checked on a random 14x12 image: an ordinary "
        f"convolution with K' equals the dilated convolution.",
        values={"A": A, "D": D, "F": F_, "K": k, "K_prime": kd, "kron_shape": list(full.shape)},
        how="np.kron(K, A) and tamrin.calc.examples.fields.dilate_kernel; ordinary conv by tamrin.scratch.conv2d_forward",
        checks=[close("ordinary conv with K' (tamrin.scratch) = PyTorch conv2d(dilation=D)", plain, torch_dil, atol=1e-12),
                close("= the definition Σ K(m,n) I(i+Dm, j+Dn) by loops", plain, direct, atol=1e-12),
                close("untrimmed K ⊗ A: same values on the first M − DF + 1 rows/columns", untrimmed, torch_dil[:h, :w],
                      atol=1e-12),
                close("K'(Dm, Dn) = K(m, n)", kd[::D, ::D], k)])
