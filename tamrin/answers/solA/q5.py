"""solA question 5: a 512x512x3 input, 4x4 kernels, stride 2, padding 1, 64/128/256 channels; network A (depthwise +
pointwise) vs network B (standard convolutions): shapes, parameters, multiplications, the comparison (q5a–q5d);
MobileNet's cost ratio (q5e) and its width and resolution multipliers (q5f)."""
from __future__ import annotations

import functools

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims, verdict_numbers
from tamrin.answers.solA._util import subclaims
from tamrin.calc.examples.separable import CHANNELS, SEP, STD

ASSUME = ["Network A = three (4x4 depthwise s2 p1 → 1x1 pointwise) pairs, network B = three 4x4 s2 p1 standard convs, "
          "to 64, 128 and 256 channels (the solution's reading); weights only, biases listed apart."]


def _nets():
    from tamrin.calc.analyze import analyze

    return analyze(SEP), analyze(STD)


def _torch_nets():
    """The two networks as plain torch modules (no tamrin code), bias-free."""
    import torch.nn as nn

    a, b, cin = [], [], 3
    for c in CHANNELS:
        a += [nn.Conv2d(cin, cin, 4, 2, 1, groups=cin, bias=False), nn.Conv2d(cin, c, 1, bias=False)]
        b += [nn.Conv2d(cin, c, 4, 2, 1, bias=False)]
        cin = c
    return a, b


@functools.lru_cache(maxsize=1)
def _torch_both():
    """(_torch_counts of A, of B), computed once for q5a–q5c (three forward passes at 512x512 cost ~0.3 s)."""
    a, b = _torch_nets()
    return _torch_counts(a), _torch_counts(b)


def _torch_counts(layers):
    """(H x W x C shapes, weights, multiplications) per layer, from real forward passes on a 1x3x512x512 input:
    each output value costs (kernel area · input channels per group) multiplications."""
    import torch

    x = torch.zeros(1, 3, 512, 512)
    shapes, weights, mults = [], [], []
    with torch.no_grad():
        for m in layers:
            x = m(x)
            shapes.append([x.shape[2], x.shape[3], x.shape[1]])
            weights.append(m.weight.numel())
            mults.append(x.numel() * m.weight[0].numel())
    return shapes, weights, mults


CLAIM_SHAPES_A = [[256, 256, 3], [256, 256, 64], [128, 128, 64], [128, 128, 128], [64, 64, 128], [64, 64, 256]]
CLAIM_SHAPES_B = [[256, 256, 64], [128, 128, 128], [64, 64, 256]]
CLAIM_PARAMS_A = [48, 192, 1024, 8192, 2048, 32768]
CLAIM_PARAMS_B = [3072, 131072, 524288]
CLAIM_MULTS_A = [3145728, 12582912, 16777216, 134217728, 8388608, 134217728]
CLAIM_MULTS_B = [201326592, 2147483648, 2147483648]
CLAIM_TOTALS = [309329920, 4496293888]


def _hwc(shape) -> list:
    c, h, w = shape
    return [h, w, c]


@answer("solA.q5a")
def q5a(ctx) -> Answer:
    a, b = _nets()
    sa, sb = [_hwc(r.out_shape) for r in a.rows], [_hwc(r.out_shape) for r in b.rows]
    ta, tb = (c[0] for c in _torch_both())
    v = verdict_numbers(CLAIM_SHAPES_A + CLAIM_SHAPES_B, sa + sb)
    fmt_s = lambda s: "x".join(map(str, s))  # noqa: E731
    return Answer(
        f"Each 4x4, stride-2, padding-1 layer halves the side: (512 − 4 + 2)/2 + 1 = {sb[0][0]}, then {sb[1][0]}, "
        f"{sb[2][0]}. Network A (H x W x C): {', '.join(fmt_s(s) for s in sa)}; network B: {', '.join(fmt_s(s) for s in sb)}. "
        f"The solution's shapes are {'all right' if v == 'correct' else 'not all right'}.",
        values={"shapes_A": sa, "shapes_B": sb}, how="tamrin.calc.analyze on `" + SEP + "` and `" + STD + "`.",
        checks=[close("shapes of real torch forward passes (network A)", ta, sa), close("shapes of real torch forward passes (network B)", tb, sb)],
        claim="A: 256x256x3, 256x256x64, 128x128x64, 128x128x128, 64x64x128, 64x64x256; B: 256x256x64, 128x128x128, 64x64x256 "
              "(output size (512 − 4 + 2·1)/2 + 1 = 256, …).",
        verdict=v, assumptions=ASSUME)


@answer("solA.q5b")
def q5b(ctx) -> Answer:
    a, b = _nets()
    wa, wb = [r.weights for r in a.rows], [r.weights for r in b.rows]
    ta, tb = (c[1] for c in _torch_both())
    v = verdict_numbers(CLAIM_PARAMS_A + CLAIM_PARAMS_B, wa + wb)
    return Answer(
        f"Depthwise k·k·C_in, pointwise C_in·C_out, standard k·k·C_in·C_out: network A has "
        f"{' + '.join(f'{w:,}' for w in wa)} = {sum(wa):,} weights, network B {' + '.join(f'{w:,}' for w in wb)} = "
        f"{sum(wb):,} ({sum(wa) / sum(wb):.4f} of B). With biases A adds {a.total('biases'):,} and B {b.total('biases'):,}. "
        f"The solution's per-layer counts are {'all right' if v == 'correct' else 'not all right'}.",
        values={"weights_A": wa, "weights_B": wb, "total_A": sum(wa), "total_B": sum(wb), "biases_A": a.total("biases"),
                "biases_B": b.total("biases")},
        how="tamrin.calc.analyze (weights and biases per row).",
        checks=[close("torch parameter count per layer (bias=False), network A", ta, wa),
                close("torch parameter count per layer (bias=False), network B", tb, wb)],
        claim="A: 48, 192, 1,024, 8,192, 2,048, 32,768; B: 3,072, 131,072, 524,288 (k·k·C_in for depthwise, C_in·C_out for "
              "pointwise, k·k·C_in·C_out for standard; no biases).",
        verdict=v, assumptions=ASSUME)


@answer("solA.q5c")
def q5c(ctx) -> Answer:
    a, b = _nets()
    ma, mb = [r.macs for r in a.rows], [r.macs for r in b.rows]
    ta, tb = (c[2] for c in _torch_both())
    v = verdict_numbers(CLAIM_MULTS_A + CLAIM_MULTS_B + CLAIM_TOTALS, ma + mb + [sum(ma), sum(mb)])
    return Answer(
        f"Multiplications = output positions x weights per output value: network A needs {sum(ma):,} "
        f"({', '.join(f'{m:,}' for m in ma)}), network B {sum(mb):,} ({', '.join(f'{m:,}' for m in mb)}): "
        f"A costs {sum(ma) / sum(mb):.4f} of B, {sum(mb) / sum(ma):.1f}x fewer. The solution's numbers are "
        f"{'all right' if v == 'correct' else 'not all right'}.",
        values={"mults_A": ma, "mults_B": mb, "total_A": sum(ma), "total_B": sum(mb)},
        how="tamrin.calc.analyze (multiply-adds per row).",
        checks=[close("counted from real torch outputs (numel × weights per output), A", ta, ma),
                close("counted from real torch outputs (numel × weights per output), B", tb, mb)],
        claim="A: 3,145,728 + 12,582,912 + 16,777,216 + 134,217,728 + 8,388,608 + 134,217,728 = 309,329,920; "
              "B: 201,326,592 + 2,147,483,648 + 2,147,483,648 = 4,496,293,888.",
        verdict=v, assumptions=ASSUME)


@answer("solA.q5d")
def q5d(ctx) -> Answer:
    a, b = _nets()
    pa, pb, ma, mb = a.total("weights"), b.total("weights"), a.macs, b.macs
    spatial_a = [r.out_shape[1] for r in a.rows[1::2]]  # after each depthwise + pointwise pair
    spatial_b = [r.out_shape[1] for r in b.rows]
    parts, table = subclaims([
        ("A's feature maps are spatially larger than B's", any(x > y for x, y in zip(spatial_a, spatial_b)),
         f"sides after each stage: A {spatial_a}, B {spatial_b}"),
        ("A has more parameters in total", pa > pb, f"A {pa:,} vs B {pb:,} weights"),
        ("B needs fewer multiplications than A", mb < ma, f"A {ma:,} vs B {mb:,}")])
    return Answer(
        f"The two networks produce maps of the same sides at every stage ({spatial_a}); A, with depthwise-separable "
        f"layers, has {pa:,} weights vs B's {pb:,} ({pb / pa:.1f}x fewer) and needs {ma:,} multiplications vs B's "
        f"{mb:,} ({mb / ma:.1f}x fewer). "
        + ("The solution's comparison reverses its own tables of q5b and q5c: " if not any(parts) else "")
        + f"{sum(v is False for v in parts)} of the solution's {len(parts)} comparisons are refuted by the numbers.",
        values={"params_A": pa, "params_B": pb, "mults_A": ma, "mults_B": mb, "param_ratio_B_over_A": pb / pa,
                "mult_ratio_B_over_A": mb / ma},
        how="tamrin.calc.analyze totals of both networks.",
        checks=[close("A's weights = sum of the per-layer formulas", pa, sum(k * k * c for k, c in ((4, 3), (4, 64), (4, 128)))
                      + 3 * 64 + 64 * 128 + 128 * 256),
                holds("same output shape for both networks", a.output_shape == b.output_shape, f"{a.output_shape}")],
        claim="A's feature maps are spatially larger but have fewer channels; despite fewer parameters per convolution, A "
              "has more parameters in total (more layers, extra pointwise convs); B needs fewer multiplications than A.",
        verdict=verdict_claims(parts), tables=[table], assumptions=ASSUME)


@answer("solA.q5e")
def q5e(ctx) -> Answer:
    import sympy as sp

    a, b = _nets()
    dk, m, n, df = sp.symbols("D_k M N D_F", positive=True)
    claimed = (dk ** 2 * m * df ** 2 + n * m * df ** 2) / (n * dk ** 2 * m * df ** 2)
    diff = sp.simplify(claimed - (1 / n + 1 / dk ** 2))
    measured = [(a.rows[2 * i].macs + a.rows[2 * i + 1].macs) / b.rows[i].macs for i in range(len(CHANNELS))]
    theory = [1 / c + 1 / 16 for c in CHANNELS]
    ok = diff == 0 and np.allclose(measured, theory, rtol=1e-12)
    dw_only = [a.rows[2 * i].macs / b.rows[i].macs for i in range(len(CHANNELS))]
    return Answer(
        f"Depthwise D_k²·M·D_F² plus pointwise M·N·D_F² over standard D_k²·M·N·D_F² = 1/N + 1/D_k²: for 3x3 kernels and "
        f"N = 256 channels {1 / (1 / 256 + 1 / 9):.1f}x cheaper. Sympy reduces the solution's fraction minus 1/N + 1/D_k² to {diff}, and the "
        f"per-layer ratios of q5c are {', '.join(f'{r:.6f}' for r in measured)} = 1/N + 1/16 for N = "
        f"{', '.join(map(str, CHANNELS))}. The solution's result is {'right' if ok else 'wrong'}; its first line "
        f"'depthwise/standard = (depthwise + pointwise)/standard' is a slip (the depthwise part alone is "
        f"{', '.join(f'{r:.6f}' for r in dw_only)} = 1/N).",
        values={"ratios_measured": measured, "ratios_formula": theory, "sympy_difference": str(diff)},
        how="sympy simplification; tamrin.calc.analyze per-layer multiply-adds of q5's networks.",
        checks=[holds("sympy: claimed fraction − (1/N + 1/D_k²) simplifies to 0", diff == 0),
                close("per-layer (dw + pw)/standard = 1/N + 1/D_k²", measured, theory, rtol=1e-12)],
        claim="(D_k²·M·D_F² + N·M·D_F²) / (N·D_k²·M·D_F²) = 1/N + 1/D_k².",
        verdict=verdict_claims([bool(ok)]))


@answer("solA.q5f")
def q5f(ctx) -> Answer:
    from tamrin.calc.analyze import analyze

    dk, M, N, DF, alpha, rho = 3, 64, 128, 56, 0.5, 0.5
    am, an, rdf = int(alpha * M), int(alpha * N), int(rho * DF)

    def layer(m, n, side):
        return analyze(f"in:{m}x{side}x{side} dw{dk}p1 pw:{n}")

    base, wide, both = layer(M, N, DF), layer(am, an, DF), layer(am, an, rdf)
    f_width = dk ** 2 * am * DF ** 2 + am * an * DF ** 2
    f_both = dk ** 2 * am * rdf ** 2 + am * an * rdf ** 2
    params_same = both.total("weights") == wide.total("weights")
    parts, table = subclaims([
        ("width multiplier α: cost D_k²·αM·D_F² + αM·αN·D_F²", wide.macs == f_width, f"{wide.macs:,} MACs (calculator) vs {f_width:,}"),
        ("resolution multiplier ρ: cost D_k²·αM·ρ²D_F² + αM·αN·ρ²D_F²", both.macs == f_both, f"{both.macs:,} vs {f_both:,}"),
        ("the resolution multiplier, like the width multiplier, reduces the parameters", not params_same,
         f"weights with ρ = {rho}: {both.total('weights'):,}; with ρ = 1: {wide.total('weights'):,}")])
    return Answer(
        f"The width multiplier α thins every layer to αM inputs and αN outputs: cost D_k²·αM·D_F² + αM·αN·D_F², about α² "
        f"of the cost and of the parameters. The resolution multiplier ρ shrinks the input (hence every map) to ρD_F: cost "
        f"D_k²·αM·ρ²D_F² + αM·αN·ρ²D_F², ρ² of the cost, but the parameters do not change — the kernels do not depend on "
        f"the map size. Checked on a dw{dk}x{dk} + pointwise layer, M = {M}, N = {N}, D_F = {DF}, α = ρ = {alpha}: "
        f"{base.macs:,} → {wide.macs:,} → {both.macs:,} MACs; weights {base.total('weights'):,} → {wide.total('weights'):,} "
        f"→ {both.total('weights'):,}. The solution's formulas are {'right' if parts[0] and parts[1] else 'not both right'}; "
        f"its statement that ρ reduces the parameters is {'wrong' if params_same else 'right'}.",
        values={"macs_base": base.macs, "macs_width": wide.macs, "macs_width_resolution": both.macs,
                "weights_base": base.total("weights"), "weights_width": wide.total("weights"),
                "weights_width_resolution": both.total("weights")},
        how="tamrin.calc.analyze on one depthwise-separable layer at three settings.",
        checks=[close("cost ratio with ρ = ρ²", both.macs / wide.macs, rho ** 2, rtol=1e-12),
                close("torch: a layer's parameter count does not depend on the input size",
                      _torch_params(am, an, dk), both.total("weights"))],
        claim="Width multiplier α (0 < α ≤ 1): cost D_k²·αM·D_F² + αM·αN·D_F²; resolution multiplier ρ, which 'like the width "
              "multiplier reduces the parameters and the computational cost': D_k²·αM·ρ²D_F² + αM·αN·ρ²D_F².",
        verdict=verdict_claims(parts), tables=[table])


def _torch_params(m: int, n: int, k: int) -> int:
    import torch.nn as nn

    layers = [nn.Conv2d(m, m, k, padding=1, groups=m, bias=False), nn.Conv2d(m, n, 1, bias=False)]
    return sum(p.numel() for layer in layers for p in layer.parameters())
