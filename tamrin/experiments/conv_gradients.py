"""conv-gradients: the backward pass of a convolution, by formula, checked three ways.

For Y = X ⋆ W (valid cross-correlation, stride 1):
    dL/dW = X ⋆ dL/dY                      (valid cross-correlation of the input with the upstream gradient)
    dL/dX = dL/dY * W = pad(dL/dY) ⋆ rot180(W)   (full convolution)
Each result is compared with PyTorch autograd, centred finite differences and tamrin.scratch's conv2d_backward.
Then translation equivariance of convolution and the partial invariance added by pooling.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tamrin.errors import UserError
from tamrin.registry import Experiment
from tamrin.report import Section


def _m(rows):
    return [list(map(float, r)) for r in rows]


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # unused
    x: list[list[float]] = field(default_factory=lambda: _m([[1, 2, 1, 0], [2, 1, 0, 1], [1, 0, 2, 1], [0, 1, 2, 1]]))
    w: list[list[float]] = field(default_factory=lambda: _m([[1, -1, 0], [0, 1, -1], [-1, 0, 1]]))
    dy: list[list[float]] = field(default_factory=lambda: _m([[1, -1], [-1, 1]]))
    # second case: 3x3 input, 2x2 filter, global average pool, loss = the pooled value
    x2: list[list[float]] = field(default_factory=lambda: _m([[1, 2, 0], [3, 1, 2], [0, 2, 1]]))
    w2: list[list[float]] = field(default_factory=lambda: _m([[1, -1], [2, 0]]))
    shift: tuple[int, int] = (2, 3)  # (rows, columns) for the equivariance demo

    @classmethod
    def quick(cls) -> "Config":
        return cls()

    def validate(self):
        x, w, dy = (np.array(v, dtype=float) for v in (self.x, self.w, self.dy))
        if x.ndim != 2 or w.ndim != 2 or dy.ndim != 2:
            raise UserError("x, w and dy must be matrices (lists of equally long lists)")
        expect = (x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1)
        if dy.shape != expect:
            raise UserError(f"dy must have the valid-convolution output shape {expect}, got {dy.shape}")
        x2, w2 = np.array(self.x2, dtype=float), np.array(self.w2, dtype=float)
        if x2.ndim != 2 or w2.ndim != 2 or w2.shape[0] > x2.shape[0] or w2.shape[1] > x2.shape[1]:
            raise UserError("x2 and w2 must be matrices with w2 no larger than x2")
        if max(abs(self.shift[0]), abs(self.shift[1])) > 5:
            raise UserError("shift must be at most 5 pixels in each direction")


# --- the formulas, written directly with numpy ------------------------------------------------------
def xcorr_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """out[i, j] = Σ_pq a[i + p, j + q] k[p, q]  (what frameworks call convolution)."""
    win = sliding_window_view(a, k.shape)
    return np.einsum("ijpq,pq->ij", win, k)


def conv_full(g: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Full convolution: zero-pad g by (kernel - 1) on every side and cross-correlate with rot180(k)."""
    kh, kw = k.shape
    return xcorr_valid(np.pad(g, ((kh - 1, kh - 1), (kw - 1, kw - 1))), np.rot90(k, 2))


def formula_grads(x, w, dy) -> dict:
    return {"y": xcorr_valid(x, w), "dW": xcorr_valid(x, dy), "dX": conv_full(dy, w)}


def torch_grads(x, w, dy) -> dict:
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(xt[None, None], wt[None, None])[0, 0]
    y.backward(torch.tensor(dy, dtype=torch.float64))
    return {"y": y.detach().numpy(), "dW": wt.grad.numpy(), "dX": xt.grad.numpy()}


def numerical_grads(x, w, dy, h=1e-6) -> dict:
    """Centred differences of L = Σ Y ⊙ dL/dY (the loss whose gradient w.r.t. Y is exactly dy)."""
    from tamrin.scratch.gradcheck import eval_numerical_gradient

    x, w = x.astype(np.float64).copy(), w.astype(np.float64).copy()
    return {"dW": eval_numerical_gradient(lambda ww: np.sum(xcorr_valid(x, ww) * dy), w, h),
            "dX": eval_numerical_gradient(lambda xx: np.sum(xcorr_valid(xx, w) * dy), x, h)}


def library_grads(x, w, dy) -> dict:
    from tamrin.scratch.conv import conv2d_backward, conv2d_forward

    y, cache = conv2d_forward(x[None, None], w[None, None], None)
    dx, dw, _ = conv2d_backward(dy[None, None], cache)
    return {"y": y[0, 0], "dW": dw[0, 0], "dX": dx[0, 0]}


def check_all(x, w, dy) -> tuple[dict, dict]:
    """Formula results and the largest absolute difference to each reference."""
    f = formula_grads(x, w, dy)
    refs = {"PyTorch autograd": torch_grads(x, w, dy), "finite differences": numerical_grads(x, w, dy),
            "tamrin.scratch conv2d_backward": library_grads(x, w, dy)}
    errs = {name: max(float(np.max(np.abs(f[k] - r[k]))) for k in ("dW", "dX")) for name, r in refs.items()}
    return f, errs


def gap_case(x2, w2) -> dict:
    """Case 2: Y = X ⋆ W (valid), L = mean(Y) (global average pool), so dL/dY = 1/|Y| everywhere."""
    y = xcorr_valid(x2, w2)
    dy = np.full_like(y, 1.0 / y.size)
    g = formula_grads(x2, w2, dy)
    return {"y": y, "L": float(y.mean()), "dy": dy, "dW": g["dW"], "dX": g["dX"]}


def gap_case_torch(x2, w2) -> dict:
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w2, dtype=torch.float64, requires_grad=True)
    L = F.adaptive_avg_pool2d(F.conv2d(xt[None, None], wt[None, None]), 1).sum()
    L.backward()
    return {"L": L.item(), "dW": wt.grad.numpy(), "dX": xt.grad.numpy()}


def case_1d(x, w, dy) -> dict:
    """The 1D version: y[i] = Σ_p x[i+p] w[p]; dw[p] = Σ_i dy[i] x[i+p]; dx[m] = Σ_i dy[i] w[m-i]."""
    y = np.correlate(x, w, mode="valid")
    return {"y": y, "dw": np.correlate(x, dy, mode="valid"), "dx": np.convolve(dy, w, mode="full")}


def case_1d_torch(x, w, dy) -> dict:
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    F.conv1d(xt[None, None], wt[None, None])[0, 0].backward(torch.tensor(dy, dtype=torch.float64))
    return {"dw": wt.grad.numpy(), "dx": xt.grad.numpy()}


def chain_two_layers(seed: int) -> dict:
    """X0 → conv W1 → ReLU → conv W2 → L = Σ Y2 ⊙ G: layer 2's dL/dX is layer 1's upstream gradient."""
    from tamrin.scratch.conv import conv2d_backward, conv2d_forward
    from tamrin.scratch.layers import relu_backward, relu_forward

    rng = np.random.default_rng(seed)
    x0, w1, w2 = rng.standard_normal((6, 6)), rng.standard_normal((3, 3)), rng.standard_normal((2, 2))
    y1, c1 = conv2d_forward(x0[None, None], w1[None, None], None)
    a1, cr = relu_forward(y1)
    y2, c2 = conv2d_forward(a1, w2[None, None], None)
    g = rng.standard_normal(y2.shape)
    da1, dw2, _ = conv2d_backward(g, c2)      # layer 2: dL/d(its input) ...
    dy1 = relu_backward(da1, cr)              # ... through the ReLU becomes layer 1's dL/dY
    dx0, dw1, _ = conv2d_backward(dy1, c1)

    import torch
    import torch.nn.functional as F

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)[None, None] for k, v in
         (("x0", x0), ("w1", w1), ("w2", w2))}
    for v in t.values():
        v.retain_grad()
    out = F.conv2d(F.relu(F.conv2d(t["x0"], t["w1"])), t["w2"])
    out.backward(torch.tensor(g, dtype=torch.float64))
    err = max(float(np.max(np.abs(dw1[0, 0] - t["w1"].grad[0, 0].numpy()))),
              float(np.max(np.abs(dx0[0, 0] - t["x0"].grad[0, 0].numpy()))),
              float(np.max(np.abs(dw2[0, 0] - t["w2"].grad[0, 0].numpy()))))
    return {"da1": da1[0, 0], "dy1": dy1[0, 0], "relu_zeros": int(np.sum(y1 <= 0)), "n": y1.size, "err": err}


# --- translation equivariance and pooling invariance -------------------------------------------------
def pattern_image(size: int = 16) -> np.ndarray:
    img = np.zeros((size, size))
    img[4:10, 5] = 1.0  # an "L" shape away from the borders
    img[9, 5:9] = 1.0
    img[5, 7] = 0.5
    return img


EDGE = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # Sobel, vertical edges


def shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content by (dy, dx) pixels, filling with zeros (no wrap-around)."""
    out = np.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def feature_map(img: np.ndarray, k: np.ndarray = EDGE) -> np.ndarray:
    from tamrin.scratch.conv import conv2d_forward

    return conv2d_forward(img[None, None], k[None, None], None, padding=k.shape[0] // 2)[0][0, 0]


def max_pool(m: np.ndarray, k: int = 2) -> np.ndarray:
    from tamrin.scratch.pool import max_pool_forward

    return max_pool_forward(m[None, None], kernel_size=k, stride=k)[0][0, 0]


def invariance_table(img: np.ndarray, max_shift: int = 4) -> list[dict]:
    """For horizontal shifts s: how much of the feature map / pooled map / GAP stays identical."""
    f0 = feature_map(img)
    p0 = max_pool(np.maximum(f0, 0))
    rows = []
    for s in range(max_shift + 1):
        f = feature_map(shift(img, 0, s))
        p = max_pool(np.maximum(f, 0))
        active_f = (f0 != 0) | (f != 0)  # compare only where something is detected
        active_p = (p0 != 0) | (p != 0)
        rows.append({"shift": s,
                     "equivariance_error": float(np.max(np.abs(f - shift(f0, 0, s)))),
                     "feature_same": float(np.mean(f[active_f] == f0[active_f])),
                     "pool_same": float(np.mean(p[active_p] == p0[active_p])),
                     "gap_change": float(abs(np.maximum(f, 0).mean() - np.maximum(f0, 0).mean())),
                     # a shift by a multiple of the pool stride just shifts the pooled map
                     "pool_shifted": bool(s % 2 == 0 and np.allclose(p, shift(p0, 0, s // 2)))})
    return rows


# --- report -----------------------------------------------------------------------------------------
def _table(m: np.ndarray, prefix: str = "r") -> tuple[list[str], list[list[str]]]:
    cols = [""] + [f"c{j}" for j in range(m.shape[1])]
    return cols, [[f"{prefix}{i}"] + [f"{v + 0.0:.6g}" for v in row] for i, row in enumerate(m)]


def _grid(plt, mats, titles, suptitle, cmap="coolwarm"):
    from tamrin.experiments.residual_walkthrough import heatmap

    fig, axes = plt.subplots(1, len(mats), figsize=(3.3 * len(mats), 3.4))
    for ax, m, t in zip(np.atleast_1d(axes), mats, titles):
        heatmap(ax, np.asarray(m, dtype=float), t, cmap)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def run(cfg: Config, run) -> list[Section]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, w, dy = (np.array(v, dtype=np.float64) for v in (cfg.x, cfg.w, cfg.dy))
    f, errs = check_all(x, w, dy)
    fig = _grid(plt, [x, w, f["y"], dy, f["dW"], f["dX"]],
                ["X", "W", "Y = X ⋆ W", "dL/dY (given)", "dL/dW = X ⋆ dL/dY", "dL/dX = dL/dY * W (full)"],
                "Case 1: valid convolution, stride 1")
    p1 = run.save_figure(fig, "case1")

    s1 = Section("Case 1: gradients of a valid convolution")
    s1.text(f"X is {x.shape[0]}x{x.shape[1]}, W is {w.shape[0]}x{w.shape[1]}, so Y = X ⋆ W (valid, stride 1) is "
            f"{f['y'].shape[0]}x{f['y'].shape[1]}. The loss enters only through the given upstream gradient dL/dY.")
    s1.figure(p1, "Inputs, forward output and both gradients (values in the cells).", base=run.path)
    for name, m in (("Y = X ⋆ W", f["y"]), ("dL/dW: valid cross-correlation of X with dL/dY", f["dW"]),
                    ("dL/dX: full convolution of dL/dY with W (= padded dL/dY ⋆ rot180(W))", f["dX"])):
        s1.table(*_table(m), name)
    s1.table(["reference", "largest |difference| over dL/dW and dL/dX"], [[k, f"{v:.2e}"] for k, v in errs.items()],
             "The formula results against three independent computations.")
    s1.text("Why these formulas: Y[i,j] = Σ_pq X[i+p, j+q]·W[p,q]. A weight W[p,q] touches every output, always "
            "multiplied by the input shifted by (p, q), so dL/dW[p,q] = Σ_ij dL/dY[i,j]·X[i+p, j+q]: a cross-"
            "correlation of X with dL/dY. An input pixel X[m,n] reaches the outputs Y[m−p, n−q] through W[p,q], so "
            "dL/dX[m,n] = Σ_pq dL/dY[m−p, n−q]·W[p,q]: a true convolution (flipped kernel), and 'full' because border "
            "pixels receive contributions from fewer outputs (the missing ones are the zero padding).")

    # case 2: GAP
    x2, w2 = np.array(cfg.x2, dtype=float), np.array(cfg.w2, dtype=float)
    g2, t2 = gap_case(x2, w2), gap_case_torch(x2, w2)
    err2 = max(abs(g2["L"] - t2["L"]), float(np.max(np.abs(g2["dW"] - t2["dW"]))),
               float(np.max(np.abs(g2["dX"] - t2["dX"]))))
    fig = _grid(plt, [x2, w2, g2["y"], g2["dy"], g2["dW"], g2["dX"]],
                ["X", "W", "Y = X ⋆ W", "dL/dY = 1/|Y|", "dL/dW", "dL/dX"], f"Case 2: conv then GAP, L = {g2['L']:.4g}")
    p2 = run.save_figure(fig, "case2_gap")
    s2 = Section("Case 2: convolution followed by global average pooling")
    s2.text(f"X is {x2.shape[0]}x{x2.shape[1]}, W is {w2.shape[0]}x{w2.shape[1]}: Y has {g2['y'].size} values and "
            f"L = mean(Y) = {g2['L']:.6g}. Global average pooling sends the same share 1/{g2['y'].size} = "
            f"{1 / g2['y'].size:.4g} of the gradient to every position, so dL/dW[p,q] is the average of the inputs "
            f"that W[p,q] multiplies, and dL/dX counts, for each pixel, how many windows contain it weighted by W.")
    s2.figure(p2, "Case 2, every matrix.", base=run.path)
    s2.table(*_table(g2["dW"]), "dL/dW")
    s2.table(*_table(g2["dX"]), "dL/dX")
    s2.text(f"PyTorch (conv2d + adaptive_avg_pool2d) agrees with the formulas to {err2:.2e}.")

    # general formulas, 1D and chaining
    x1, w1, dy1 = np.array([1.0, 2, -1, 0, 3]), np.array([2.0, -1, 1]), np.array([1.0, 0.5, -1])
    c1, t1 = case_1d(x1, w1, dy1), case_1d_torch(x1, w1, dy1)
    err1 = max(float(np.max(np.abs(c1["dw"] - t1["dw"]))), float(np.max(np.abs(c1["dx"] - t1["dx"]))))
    ch = chain_two_layers(cfg.seed)
    s3 = Section("General formulas, the 1D case and how dL/dX feeds earlier layers")
    s3.text("With stride s, padding P, bias b and C input channels: Y[f,i,j] = b[f] + Σ_c,p,q W[f,c,p,q]·Xpad[c, "
            "s·i+p, s·j+q]. Then dL/db[f] = Σ_ij dL/dY[f,i,j]; dL/dW[f,c,p,q] = Σ_ij dL/dY[f,i,j]·Xpad[c, s·i+p, "
            "s·j+q]; dL/dXpad[c,m,n] = Σ_f,i,j dL/dY[f,i,j]·W[f,c, m−s·i, n−s·j] (terms with the kernel index "
            "outside the kernel are zero), and dL/dX is dL/dXpad with the padding cropped. For s > 1 this equals "
            "the full convolution of dL/dY dilated with s−1 zeros between entries.")
    s3.text(f"1D: y[i] = Σ_p x[i+p]·w[p] gives dw = x ⋆ dy (valid) and dx = dy * w (full). With x = {x1.tolist()}, "
            f"w = {w1.tolist()}, dy = {dy1.tolist()}: dw = {np.round(c1['dw'], 6).tolist()}, dx = "
            f"{np.round(c1['dx'], 6).tolist()} (numpy correlate/convolve; PyTorch conv1d agrees to {err1:.2e}).")
    s3.text(f"In a network the input of layer l is the output of layer l−1, so the dL/dX a layer computes is the "
            f"upstream gradient of the layer below. Two-layer check (conv 3x3 → ReLU → conv 2x2, random values, seed "
            f"{cfg.seed}): layer 2's dL/dX is multiplied by the ReLU derivative, which zeroed {ch['relu_zeros']} of "
            f"{ch['n']} entries, and becomes layer 1's dL/dY; the resulting dL/dW1, dL/dX0 and dL/dW2 match PyTorch "
            f"to {ch['err']:.2e}.")
    s3.table(*_table(ch["da1"]), "dL/d(input of layer 2) = dL/d(ReLU output)")
    s3.table(*_table(ch["dy1"]), "after the ReLU derivative: layer 1's dL/dY")

    # equivariance
    dyy, dxx = cfg.shift
    img = pattern_image()
    fm, fm_s = feature_map(img), feature_map(shift(img, dyy, dxx))
    eq_err = float(np.max(np.abs(fm_s - shift(fm, dyy, dxx))))
    pm, pm_s = max_pool(np.maximum(fm, 0)), max_pool(np.maximum(fm_s, 0))
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    for ax, m, t in zip(axes.flat, [img, fm, pm, shift(img, dyy, dxx), fm_s, pm_s],
                        ["input", "feature map (Sobel)", "ReLU + 2x2 max pool", f"input shifted by {cfg.shift}",
                         "feature map of the shifted input", "pooled map of the shifted input"]):
        ax.imshow(m, cmap="coolwarm" if m is not img else "gray", vmin=-np.abs(m).max() if m is not img else 0,
                  vmax=np.abs(m).max() or 1)
        ax.set_title(t, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Equivariance: feature map of shifted input = shifted feature map (max error {eq_err:.1e})")
    fig.tight_layout()
    p3 = run.save_figure(fig, "equivariance")
    inv = invariance_table(img)
    run.write_json("results.json", {"case1": {k: v.tolist() for k, v in f.items()}, "case1_errors": errs,
                                    "case2": {k: np.asarray(v).tolist() for k, v in g2.items()}, "case2_error": err2,
                                    "case1d_error": err1, "chain_error": ch["err"], "equivariance_error": eq_err,
                                    "invariance": inv})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    s_ = [r["shift"] for r in inv]
    ax.plot(s_, [r["feature_same"] for r in inv], "o-", label="feature map: same value at same place")
    ax.plot(s_, [r["pool_same"] for r in inv], "s-", label="after 2x2 max pool")
    ax.set_xlabel("horizontal shift (pixels)")
    ax.set_ylabel("fraction unchanged (active positions)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    p4 = run.save_figure(fig, "invariance")
    s4 = Section("Translation equivariance, and the invariance pooling adds")
    s4.text(f"Convolution applies the same weights at every position, so shifting the input by {cfg.shift} shifts "
            f"the feature map by exactly {cfg.shift}: conv(shift(x)) − shift(conv(x)) has a largest absolute value "
            f"of {eq_err:.1e} here (the pattern stays away from the border, where zero padding would break it).")
    s4.figure(p3, "Top: input, feature map, pooled map. Bottom: the same for the shifted input.", base=run.path)
    one = inv[1]
    two = inv[2] if len(inv) > 2 else inv[-1]
    s4.text(f"Convolution is equivariant, not invariant: after a 1-pixel shift only {one['feature_same']:.0%} of the "
            f"active feature-map positions keep their value. After ReLU and 2x2 max pooling {one['pool_same']:.0%} "
            f"do, because the maximum of a window often stays inside the same window. A 2-pixel shift (the pool "
            f"stride) moves everything to the next window: {two['pool_same']:.0%} unchanged, but the pooled map is "
            f"{'exactly' if two['pool_shifted'] else 'not exactly'} the old pooled map shifted by one cell (equivariance at "
            f"the coarser scale). Global average pooling "
            f"is invariant up to border effects: its value changes by at most "
            f"{max(r['gap_change'] for r in inv):.2e} over shifts 0 to {inv[-1]['shift']}.")
    s4.table(["shift", "max |conv(shift x) − shift(conv x)|", "feature map unchanged", "pooled map unchanged",
              "pooled map = old one shifted by shift/2", "|Δ GAP|"],
             [[r["shift"], f"{r['equivariance_error']:.1e}", f"{r['feature_same']:.0%}", f"{r['pool_same']:.0%}",
               "yes" if r["pool_shifted"] else "no", f"{r['gap_change']:.2e}"] for r in inv],
             "Horizontal shifts of the input pattern.")
    s4.figure(p4, "Fraction of active positions whose value is unchanged after a shift.", base=run.path)
    return [s1, s2, s3, s4]


EXPERIMENT = Experiment(name="conv-gradients",
                        description="backward pass of a convolution by formula, vs PyTorch and finite differences; "
                                    "equivariance and pooling invariance",
                        exercise="convolution gradients dL/dW and dL/dX by hand; translation equivariance",
                        config=Config, run=run, order=32, trains=False)
