"""solB.q2 (a 2x2 filter on a 3x3 input, then GAP: dL/dF and dL/dX), q3a (a 1D CNN's table) and q3b (Conv2D vs
Conv3D). The solution's formulas are encoded as it writes them and compared symbolically (sympy) and numerically
(torch autograd) with the computation; its numbers are compared with the calculator's."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims, verdict_numbers

# --- q2 --------------------------------------------------------------------------------------------
# The solution's final right-hand sides, as transcribed: dL/dF_ij = Σ dL/dO_kl · X_.., dL/dX_ij = Σ dL/dO_kl · F_..
SOL_DF = {"F11": [("O11", "X11"), ("O12", "X12"), ("O21", "X21"), ("O22", "X22")],
          "F12": [("O11", "X12"), ("O12", "X13"), ("O21", "X22"), ("O22", "X23")],
          "F21": [("O11", "X21"), ("O12", "X22"), ("O21", "X31"), ("O22", "X32")],
          "F22": [("O11", "X22"), ("O12", "X23"), ("O21", "X32"), ("O22", "X33")]}
SOL_DX = {"X11": [("O11", "F11")], "X12": [("O11", "F12"), ("O12", "F11")], "X13": [("O12", "F12")],
          "X21": [("O11", "F21"), ("O21", "F11")],
          "X22": [("O11", "F22"), ("O22", "F21"), ("O21", "F12"), ("O22", "F11")],  # the 2nd term as written: O22, not O12
          "X23": [("O12", "F22"), ("O22", "F12")], "X31": [("O21", "F21")], "X32": [("O21", "F22"), ("O22", "F21")],
          "X33": [("O22", "F22")]}
# The worked example's matrices are images in the document; what its legible arithmetic implies (see `assumptions`).
F_READ = [[1.0, 0.0], [-3.0, 1.0]]
X_READ = [[4.0, 4.0, 0.0], [1.0, 1.0, -4.0], [1.0, -1.0, 0.0]]
X_GUESSED = {(0, 0): "illegible line, guessed", (1, 0): "chosen with X31 to give ∂L/∂F21 = 1/2", (2, 0): "chosen with X21"}
# The solution's legible numbers: ∂L/∂X entries (0-based (row, col)) and ∂L/∂F entries; `used` ones fixed F or X above.
SOL_DX_NUM = {(0, 0): 0.25, (0, 1): 0.25, (0, 2): 0.0, (1, 2): 0.25, (2, 0): -0.75, (2, 1): -0.5, (2, 2): 0.25}
SOL_DX_USED = {(0, 0), (0, 2), (2, 0), (2, 2)}  # the corners are ¼·F_ij: they are how F was read
SOL_DF_NUM = {(1, 0): 0.5, (1, 1): -1.0}  # ∂L/∂F21 = 1/2 (used to choose X21 + X31), ∂L/∂F22 = ¼(1 − 4 − 1 + 0) = −1


def _symbols():
    import sympy as sp

    X = {f"X{i}{j}": sp.Symbol(f"X{i}{j}") for i in (1, 2, 3) for j in (1, 2, 3)}
    F = {f"F{i}{j}": sp.Symbol(f"F{i}{j}") for i in (1, 2) for j in (1, 2)}
    G = {f"O{i}{j}": sp.Symbol(f"dO{i}{j}") for i in (1, 2) for j in (1, 2)}  # dL/dO_ij, any upstream gradient
    O = {f"O{i}{j}": sum(X[f"X{i + a}{j + b}"] * F[f"F{1 + a}{1 + b}"] for a in (0, 1) for b in (0, 1))
         for i in (1, 2) for j in (1, 2)}
    return sp, X, F, G, O


def symbolic_comparison() -> dict:
    """For every entry: does the solution's formula equal ∂(Σ dO_kl·O_kl)/∂entry for a general upstream gradient?
    Also the terms of the true derivative (pairs (O_kl, variable)), to name what a wrong formula has in excess / lacks."""
    sp, X, F, G, O = _symbols()
    L = sum(G[k] * O[k] for k in O)
    true_terms = {}
    for table, var, other in ((SOL_DF, F, X), (SOL_DX, X, F)):
        for name in table:
            d = sp.diff(L, var[name])
            true_terms[name] = sorted((o, v) for o, g in G.items() for v, s_ in other.items() if sp.diff(d, g, s_) != 0)
    out = {}
    for table, var in ((SOL_DF, F), (SOL_DX, X)):
        for name, terms in table.items():
            sol = sum(G[o] * {**X, **F}[v] for o, v in terms)
            out[name] = sp.simplify(sol - sp.diff(L, var[name])) == 0
    # with GAP every dL/dO_kl = 1/4: does each formula still give the right value?
    quarter = {g: sp.Rational(1, 4) for g in G.values()}
    out_gap = {}
    for table, var in ((SOL_DF, F), (SOL_DX, X)):
        for name, terms in table.items():
            sol = sum(G[o] * {**X, **F}[v] for o, v in terms)
            out_gap[name] = sp.simplify((sol - sp.diff(L, var[name])).subs(quarter)) == 0
    return {"general": out, "gap": out_gap, "terms": true_terms}


def gap_conv_grads(x, f):
    """L = GAP(conv(x, f)) with ∂L/∂(GAP output) = 1, through tamrin.scratch: (∂L/∂O, ∂L/∂F, ∂L/∂X)."""
    from tamrin.scratch import conv2d_backward, conv2d_forward, global_avg_pool_backward, global_avg_pool_forward

    x4, f4 = np.asarray(x, float)[None, None], np.asarray(f, float)[None, None]
    o, cache = conv2d_forward(x4, f4)
    _, gcache = global_avg_pool_forward(o)
    do = global_avg_pool_backward(np.ones((1, 1)), gcache)
    dx, df, _ = conv2d_backward(do, cache)
    return do[0, 0], df[0, 0], dx[0, 0]


def torch_grads(x, f, upstream=None):
    """∂/∂F and ∂/∂X of Σ upstream·conv(x, f) (upstream = None: GAP, i.e. the mean) by torch autograd."""
    import torch

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ft = torch.tensor(f, dtype=torch.float64, requires_grad=True)
    o = torch.nn.functional.conv2d(xt[None, None], ft[None, None])[0, 0]
    (o.mean() if upstream is None else (o * torch.tensor(upstream, dtype=torch.float64)).sum()).backward()
    return ft.grad.numpy(), xt.grad.numpy()


def valid_corr(a, k):
    a, k = np.asarray(a, float), np.asarray(k, float)
    h, w = a.shape[0] - k.shape[0] + 1, a.shape[1] - k.shape[1] + 1
    return np.array([[np.sum(a[i:i + k.shape[0], j:j + k.shape[1]] * k) for j in range(w)] for i in range(h)])


def full_conv_rot(g, f):
    """'Full' convolution of g with f, written as the solution does: zero-pad g by (size of f − 1), then slide the
    180°-rotated filter."""
    g, f = np.asarray(g, float), np.asarray(f, float)
    p = f.shape[0] - 1
    return valid_corr(np.pad(g, p), f[::-1, ::-1])


@answer("solB.q2")
def conv_gap_gradients(ctx) -> Answer:
    sym = symbolic_comparison()
    gen, gap = sym["general"], sym["gap"]
    do, df, dx = gap_conv_grads(X_READ, F_READ)
    tf, tx = torch_grads(X_READ, F_READ)
    # the two matrix forms the solution states, on random inputs and a random upstream gradient
    xr, fr, gr = ctx.rng.normal(size=(3, 3)), ctx.rng.normal(size=(2, 2)), ctx.rng.normal(size=(2, 2))
    tfr, txr = torch_grads(xr, fr, gr)
    form_f = bool(np.allclose(valid_corr(xr, gr), tfr, atol=1e-12))
    form_x = bool(np.allclose(full_conv_rot(gr, fr), txr, atol=1e-12))
    df_ok = [k for k in SOL_DF if gen[k]]
    dx_ok = [k for k in SOL_DX if gen[k]]
    dx_bad = [k for k in SOL_DX if not gen[k]]
    legible_dx = [(ij, v, float(dx[ij])) for ij, v in SOL_DX_NUM.items()]
    legible_df = [(ij, v, float(df[ij])) for ij, v in SOL_DF_NUM.items()]
    nums_ok = all(abs(v - m) < 1e-12 for _, v, m in legible_dx + legible_df)
    checks_only = [(ij, v, m) for ij, v, m in legible_dx if ij not in SOL_DX_USED]
    parts = [bool(np.allclose(do, 0.25)), len(df_ok) == len(SOL_DF), len(dx_ok) == len(SOL_DX), form_f, form_x, nums_ok]
    entry = lambda ij: f"{ij[0] + 1}{ij[1] + 1}"  # noqa: E731
    txt = (f"GAP averages the {do.size} outputs, so ∂L/∂O_kl = 1/{do.size} = {do[0, 0]:g} for every k, l (∂L/∂GAP = 1). "
           "In symbols: ∂L/∂F_ij = Σ_kl ∂L/∂O_kl · X_(i+k−1)(j+l−1) = ¼·(the sum of the 2×2 window of X at offset (i, j)), i.e. "
           "the valid cross-correlation of X with ∂L/∂O; ∂L/∂X_mn = Σ_kl ∂L/∂O_kl · F_(m−k+1)(n−l+1) = ¼·(the sum of the filter "
           "entries that touch X_mn), i.e. the full convolution of ∂L/∂O with F (zero-pad ∂L/∂O, slide the 180°-rotated F). "
           f"Worked example (the reconstruction below): ∂L/∂F = {_mat(df)}, ∂L/∂X = {_mat(dx)}. ")
    txt += (f"The solution's final formulas: {len(df_ok)} of {len(SOL_DF)} for ∂L/∂F and {len(dx_ok)} of {len(SOL_DX)} for ∂L/∂X "
            "agree with sympy's derivative for a general upstream gradient")
    for k in dx_bad:
        extra = [t for t in SOL_DX[k] if t not in sym["terms"][k]]
        missing = [t for t in sym["terms"][k] if t not in SOL_DX[k]]
        txt += (f"; ∂L/∂{k} as transcribed has " + " + ".join(f"∂L/∂{o}·{v}" for o, v in extra) + " where "
                + " + ".join(f"∂L/∂{o}·{v}" for o, v in missing) + " belongs, a slip "
                + ("that the GAP case hides (every ∂L/∂O is ¼)" if gap[k] else "that changes the GAP value too"))
    txt += (f". Its two matrix forms hold (checked on random X, F and upstream gradient: ∂L/∂F {'=' if form_f else '≠'} "
            f"valid correlation, ∂L/∂X {'=' if form_x else '≠'} full convolution with the rotated filter). Its legible numbers "
            + ("agree with the computation" if nums_ok else "do not all agree")
            + " (the entries " + ", ".join(f"∂L/∂X{entry(ij)}" for ij, _, _ in checks_only)
            + " are genuine checks; the corners and ∂L/∂F21 fixed the reconstruction).")
    rows = [[f"∂L/∂X{entry(ij)}", v, m, "reconstruction" if ij in SOL_DX_USED else "check"] for ij, v, m in legible_dx]
    rows += [[f"∂L/∂F{entry(ij)}", v, m, "reconstruction" if ij == (1, 0) else "check"] for ij, v, m in legible_df]
    frows = [[k, " + ".join(f"∂L/∂{o}·{v}" for o, v in t), "yes" if gen[k] else "NO", "yes" if gap[k] else "NO"]
             for k, t in {**SOL_DF, **SOL_DX}.items()]
    guessed = "; ".join(f"X{i + 1}{j + 1} = {X_READ[i][j]:g} ({why})" for (i, j), why in X_GUESSED.items())
    return Answer(
        txt,
        values={"dL_dO": do, "dL_dF": df, "dL_dX": dx, "solution_formulas_dF_correct": len(df_ok),
                "solution_formulas_dX_correct": len(dx_ok)},
        how="sympy: O = valid correlation of symbolic X (3×3) and F (2×2), L = Σ dO_kl·O_kl, exact derivatives; worked example "
            "through tamrin.scratch (conv2d_forward/backward, global_avg_pool_forward/backward).",
        checks=[close("torch autograd ∂L/∂F of mean(conv2d(X, F)) = tamrin.scratch", df, tf, atol=1e-12),
                close("torch autograd ∂L/∂X = tamrin.scratch", dx, tx, atol=1e-12),
                close("∂L/∂F = ¼·(window sums of X), brute force", df, valid_corr(X_READ, np.full((2, 2), 0.25)), atol=1e-12),
                holds("random X, F, upstream: valid correlation and rotated-filter full convolution = autograd", form_f and form_x)],
        claim="∂L/∂O = a 2×2 matrix of 0.25 (GAP); ∂L/∂F11 = ∂L/∂O11·X11 + ∂L/∂O12·X12 + ∂L/∂O21·X21 + ∂L/∂O22·X22 (and likewise "
              "F12, F21, F22), i.e. ∂L/∂F = Convolution(X, ∂L/∂O); ∂L/∂X11 = ∂L/∂O11·F11, …, ∂L/∂X22 = ∂L/∂O11·F22 + ∂L/∂O22·F21 + "
              "∂L/∂O21·F12 + ∂L/∂O22·F11, …, i.e. a 'full' convolution of the 180°-rotated F with ∂L/∂O; numbers such as "
              "∂L/∂X13 = ¼·0 = 0, ∂L/∂X31 = −0.75, ∂L/∂X33 = 0.25, ∂L/∂F22 = ¼(1 − 4 − 1 + 0) = −1.",
        verdict=verdict_claims(parts),
        assumptions=[f"The worked example's X and F are images that were not transcribed. F = {_mat(F_READ)} is read from the "
                     "corner entries of the solution's ∂L/∂X (each is ¼·one filter entry); X's entries X12, X13, X22, X23, X32, "
                     f"X33 from the legible sums of ∂L/∂F12 and ∂L/∂F22; {guessed}. X = {_mat(X_READ)}. Only the legible "
                     "entries are compared; the symbolic comparison does not depend on the reconstruction.",
                     "The solution's intermediate chain-rule lines for ∂L/∂F have index slips (e.g. ∂O21/∂F11 in the ∂L/∂F11 line) and "
                     "a repeated fifth term, and ∂L/∂F22 is written twice; its final right-hand sides are what is compared."],
        tables=[(["entry", "the solution", "computed", "role"], rows, "The solution's legible numbers against the computation."),
                (["entry", "the solution's formula (as transcribed)", "= derivative (any ∂L/∂O)", "= derivative (GAP)"], frows,
                 "The solution's formulas against sympy.")])


def _mat(m) -> str:
    return "[" + "; ".join(" ".join(f"{float(v):g}" for v in r) for r in np.asarray(m)) + "]"


# --- q3a: the 1D CNN table ---------------------------------------------------------------------------
# The solution's table: (layer, output shape as Keras writes it, parameters)
SOL_TABLE = [("Input", (500, 7), 0), ("Conv1D 16, k3", (498, 16), 352), ("MaxPool 2", (249, 16), 0),
             ("Conv1D 32, k5", (245, 32), 2592), ("MaxPool 2", (122, 32), 0), ("Conv1D 64, k5", (118, 64), 10304),
             ("Flatten", (3776,), 0), ("Dense 128", (128,), 483456), ("Dense 5", (5,), 645)]


def _keras_rows(spec) -> tuple:
    """(shape as Keras writes it, parameters, kind) for the input and every layer but the activations."""
    from tamrin.calc.analyze import analyze

    a = analyze(spec)
    keras = lambda s: (s[1], s[0]) if len(s) == 2 else tuple(s)  # noqa: E731  calc: (channels, steps)
    return [(keras(a.input_shape), 0, "input")] + [(keras(r.out_shape), r.params, r.kind) for r in a.rows if r.kind != "relu"], a


def _torch_cnn1d(pools: int):
    """The network written directly in torch (LazyLinear infers the Flatten size): an oracle independent of tamrin.calc."""
    import torch
    from torch import nn

    layers = [nn.Conv1d(7, 16, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Conv1d(16, 32, 5), nn.ReLU(), nn.MaxPool1d(2),
              nn.Conv1d(32, 64, 5), nn.ReLU()] + [nn.MaxPool1d(2)] * (pools - 2) + [nn.Flatten(), nn.LazyLinear(128), nn.ReLU(), nn.Linear(128, 5)]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        flat = net[:-3](torch.zeros(1, 7, 500)).shape[1]
        net(torch.zeros(1, 7, 500))
    return net, int(flat)


@answer("solB.q3a")
def cnn1d_table(ctx) -> Answer:
    from tamrin.calc.examples.basic import CNN1D, CNN1D_3POOL

    rows, a = _keras_rows(CNN1D)
    rows3, a3 = _keras_rows(CNN1D_3POOL)
    sol_params = [p for _, _, p in SOL_TABLE]
    sol_flat = SOL_TABLE[6][1][0]
    true_params = [p for _, p, _ in rows]
    true_flat = rows[6][0][0]
    # the variant with a third MaxPool 2: drop its extra pooling row to line it up with the solution's 9 rows
    third = [j for j, r in enumerate(rows3) if r[2] == "maxpool"][2]
    rows3_aligned = rows3[:third] + rows3[third + 1:]
    v3_params = [p for _, p, _ in rows3_aligned]
    v3_flat = rows3_aligned[6][0][0]
    shapes_ok = [tuple(s) == tuple(t) for (_, s, _), (t, _, _) in zip(SOL_TABLE, rows)]
    verdict = verdict_numbers(sol_params + [sol_flat], true_params + [true_flat])
    matches_3pool = verdict_numbers(sol_params + [sol_flat], v3_params + [v3_flat]) == "correct"
    net2, flat2 = _torch_cnn1d(2)
    net3, flat3 = _torch_cnn1d(3)
    torch_params = [sum(p.numel() for p in m.parameters()) for m in net2 if sum(p.numel() for p in m.parameters())]
    dense_true = true_params[7]
    pre = rows[5][0]
    txt = (f"Valid convolutions shorten the sequence by k − 1 and MaxPool 2 halves it (rounding down): 500 → "
           + " → ".join(str(r[0][0]) for r in rows[1:6]) + f". Parameters (k·C_in + 1)·F: "
           + ", ".join(f"{p:,}" for p in true_params[1:6] if p) + f". The last conv leaves {pre[0]} steps × {pre[1]} channels, so "
           f"Flatten gives **{true_flat:,}** values, Dense 128 has {true_flat:,}·128 + 128 = **{dense_true:,}** parameters and "
           f"Dense 5 {true_params[8]:,}; total **{a.params:,}**. ")
    txt += ((f"The solution's rows agree up to the last conv (all {sum(shapes_ok[:6])} shapes and parameter counts), but" if all(shapes_ok[:6])
             and sol_params[:6] == true_params[:6] else f"Up to the last conv {sum(shapes_ok[:6])} of 6 of the solution's shapes agree;")
            + f" its Flatten {sol_flat:,} and "
            f"Dense {sol_params[7]:,} are wrong for this network: {sol_flat:,} = {rows3[third][0][0]} × {rows3[third][0][1]} is the Flatten of a "
            f"network with a third MaxPool 2 after the last conv ({pre[0]} → {rows3[third][0][0]}), and "
            + (f"all its numbers are exactly that variant's (total {a3.params:,})" if matches_3pool else "its numbers do not match that variant either")
            + "; its table has no such pooling row (its Flatten row even repeats the pooling rows' text 'halves the length, "
              f"channels unchanged'), so the table is inconsistent with itself: after ({pre[0]}, {pre[1]}) Flatten must give {true_flat:,}.")
    trows = [[name, str(s), p, str(t), q] for (name, s, p), (t, q, _) in zip(SOL_TABLE, rows)]
    return Answer(
        txt,
        values={"flatten": true_flat, "dense128_params": dense_true, "total_params": a.params, "conv_params": true_params[1:6:2],
                "flatten_with_third_pool": v3_flat, "dense128_params_with_third_pool": v3_params[7],
                "total_params_with_third_pool": a3.params, "solution_matches_third_pool_variant": matches_3pool},
        how=f"tamrin.calc.analyze on `{CNN1D}` (and `{CNN1D_3POOL}` for the variant), from tamrin/calc/examples/basic.py.",
        checks=[close("PyTorch parameter count of the network written directly in torch", sum(p.numel() for p in net2.parameters()), a.params),
                close("PyTorch per-layer parameter counts", torch_params, [p for p in true_params if p]),
                close("PyTorch Flatten size (two pools / three pools)", [flat2, flat3], [true_flat, v3_flat]),
                close("PyTorch parameter count with a third pool", sum(p.numel() for p in net3.parameters()), a3.params)],
        claim="Its table: Input (500, 7) 0; Conv1D (498, 16) (3·7+1)·16 = 352; MaxPool (249, 16); Conv1D (245, 32) (5·16+1)·32 = 2,592; "
              "MaxPool (122, 32); Conv1D (118, 64) (5·32+1)·64 = 10,304; Flatten 3,776; Dense 128 (3776+1)·128 = 483,456; "
              "Dense 5 (128+1)·5 = 645.",
        verdict=verdict,
        tables=[(["layer", "the solution: output", "its parameters", "computed output", "computed parameters"], trows,
                 "The solution's table against tamrin.calc (Keras order: steps, channels).")])


# --- q3b: Conv2D vs Conv3D -----------------------------------------------------------------------------
CLIP = (3, 16, 112, 112)  # an RGB clip: channels, frames, height, width (C3D's input)


@answer("solB.q3b")
def conv2d_vs_conv3d(ctx) -> Answer:
    import torch
    from torch import nn

    from tamrin.calc.analyze import analyze

    c, t, h, w = CLIP
    n_out = 64
    specs = {"Conv3D 3×3×3 on the clip": f"in:{c}x{t}x{h}x{w} conv3p1:{n_out}",
             "Conv2D 3×3 on one frame": f"in:{c}x{h}x{w} conv3p1:{n_out}",
             "Conv2D 3×3 on the frames stacked as channels": f"in:{c * t}x{h}x{w} conv3p1:{n_out}"}
    res = {k: analyze(v) for k, v in specs.items()}
    rows = [[k, "×".join(map(str, a.input_shape)), "×".join(map(str, a.output_shape)), a.params, a.macs] for k, a in res.items()]
    k3, k2, ks = list(res)
    # torch: shapes and counts, and Conv3D with a depth-1 kernel = the same Conv2D applied to every frame
    torch.manual_seed(ctx.seed)
    x = torch.randn(1, c, 4, 20, 20)
    c3 = nn.Conv3d(c, 8, (1, 3, 3), padding=(0, 1, 1))
    c2 = nn.Conv2d(c, 8, 3, padding=1)
    with torch.no_grad():
        c2.weight.copy_(c3.weight[:, :, 0])
        c2.bias.copy_(c3.bias)
        per_frame = torch.stack([c2(x[:, :, i]) for i in range(x.shape[2])], dim=2)
        diff = float((c3(x) - per_frame).abs().max())
    m3, m2 = nn.Conv3d(c, n_out, 3, padding=1), nn.Conv2d(c, n_out, 3, padding=1)
    out3 = tuple(res[k3].output_shape)  # the full clip is large: its shape from calc, torch checks a small one
    with torch.no_grad():
        small3 = tuple(m3(torch.zeros(1, c, 5, 9, 9)).shape[1:])
        small2 = tuple(m2(torch.zeros(1, c, 9, 9)).shape[1:])
    parts = [
        ("Conv2D works on (height, width, channels) data and slides its kernel over the two spatial axes", m2.weight.dim() - 2 == 2 and len(small2) == 3,
         f"a Conv2D kernel has {m2.weight.dim() - 2} spatial axes; its output {small2} keeps 2 of them"),
        ("Conv3D adds a third axis (depth or time: frames × height × width × channels) and slides over all three", m3.weight.dim() - 2 == 3 and len(small3) == 4,
         f"a Conv3D kernel has {m3.weight.dim() - 2} spatial axes; its output {small3} keeps the frame axis"),
        ("it is 'like Conv2D, but in three dimensions'", diff < 1e-5,
         f"a Conv3D with kernel depth 1 equals the same Conv2D applied frame by frame (max |difference| {diff:.1e})"),
    ]
    txt = (f"On an RGB clip of {t} frames of {h}×{w} (input {c}×{t}×{h}×{w}), a 3×3×3 Conv3D with {n_out} filters has "
           f"{res[k3].params:,} parameters (3·3·3·{c}·{n_out} + {n_out}) and keeps the time axis (output "
           f"{'×'.join(map(str, out3))}); a 3×3 Conv2D on one frame has {res[k2].params:,} ({res[k3].params / res[k2].params:.1f}× fewer: "
           f"the kernel has no depth) and outputs {'×'.join(map(str, res[k2].output_shape))}; stacking the {t} frames as {c * t} channels "
           f"lets one Conv2D see all of them ({res[ks].params:,} parameters) but it collapses time in its first layer, so no later layer "
           "can slide along it. The Conv3D costs "
           f"{res[k3].macs / res[ks].macs:.2g}× the multiply-adds of the stacked Conv2D. The solution's description (2D data and "
           "images vs volumes and video, the kernel sliding over one more axis) is "
           + ("right" if all(p[1] for p in parts) else "not fully right: " + "; ".join(p[0] for p in parts if not p[1]))
           + "; its applications (video, medical volumes, "
           "spatio-temporal data, gestures) are examples, not claims to compute.")
    return Answer(
        txt,
        values={"params": {k: a.params for k, a in res.items()}, "macs": {k: a.macs for k, a in res.items()},
                "conv3d_output": list(out3), "depth1_conv3d_vs_per_frame_conv2d": diff},
        how="tamrin.calc.analyze on " + "; ".join(f"`{v}`" for v in specs.values()) + "; torch.nn.Conv3d / Conv2d for the checks.",
        checks=[close("torch parameter counts (Conv3d, Conv2d)", [sum(p.numel() for p in m.parameters()) for m in (m3, m2)],
                      [res[k3].params, res[k2].params]),
                close("torch output shape of the Conv3d on a small clip = calc", small3,
                      analyze(f"in:{c}x5x9x9 conv3p1:{n_out}").output_shape),
                close("Conv3d with a depth-1 kernel = Conv2d frame by frame", diff, 0.0, atol=1e-5)],
        claim="Conv2D works on two-dimensional data such as images (width × height × channels, e.g. 224×224×3) and slides a 2D window; "
              "Conv3D works on three-dimensional data, adding depth (e.g. frames × height × width × channels for video) and is 'like "
              "Conv2D but convolving in three spatial dimensions'; uses: video analysis, medical imaging (CT, MRI), spatio-temporal data, gestures.",
        verdict=verdict_claims([p[1] for p in parts]),
        tables=[(["layer", "input", "output", "parameters", "multiply-adds"], rows, "One layer of 64 filters, padding 1."),
                (["the solution's sub-claim", "measured", "evidence"],
                 [[a, "confirmed" if b else "refuted", e] for a, b, e in parts], "Each sub-claim against the computation.")])
