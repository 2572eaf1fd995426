"""residual-walkthrough: a 5x5 image through conv → ReLU → + skip → ReLU → max pool → global average pool.

Every number is computed with the `tamrin.scratch` layers (the same code that trains networks), shown
as a heat map with the values printed in the cells and repeated in tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tamrin.errors import UserError
from tamrin.registry import Experiment
from tamrin.report import Section

DEFAULT_INPUT = [[100, 150, 200, 50, 30], [80, 120, 180, 255, 90], [40, 70, 110, 230, 200],
                 [30, 60, 100, 150, 120], [20, 50, 80, 100, 90]]
DEFAULT_FILTER = [[0.1, -0.2, 0.1], [-0.1, 0.4, 0.1], [0.2, -0.1, 0.1]]


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # unused (the input is given below); kept for the common interface
    input: list[list[float]] = field(default_factory=lambda: [list(map(float, r)) for r in DEFAULT_INPUT])
    filter: list[list[float]] = field(default_factory=lambda: [list(r) for r in DEFAULT_FILTER])
    pool: int = 2  # max-pool window and stride

    @classmethod
    def quick(cls) -> "Config":
        return cls()

    def validate(self):
        x, k = _matrix(self.input, "input"), _matrix(self.filter, "filter")
        if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise UserError(f"filter must have odd height and width (same padding keeps the size for the skip), got {k.shape}")
        if k.shape[0] > x.shape[0] + 2 * (k.shape[0] // 2) or k.shape[1] > x.shape[1] + 2 * (k.shape[1] // 2):
            raise UserError(f"filter {k.shape} is larger than the padded input")
        if self.pool < 1 or self.pool > min(x.shape):
            raise UserError(f"pool must be between 1 and the input size {min(x.shape)}, got {self.pool}")


def _matrix(rows, name: str) -> np.ndarray:
    try:
        m = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a list of equally long lists of numbers, e.g. [[1,2],[3,4]]") from None
    if m.ndim != 2 or m.size == 0:
        raise UserError(f"{name} must be a non-empty list of equally long lists of numbers, e.g. [[1,2],[3,4]]")
    return m


def walkthrough(x: np.ndarray, k: np.ndarray, pool: int = 2) -> dict[str, np.ndarray]:
    """All intermediate matrices, computed with tamrin.scratch (float64)."""
    from tamrin.scratch.conv import conv2d_forward
    from tamrin.scratch.layers import relu_forward
    from tamrin.scratch.pool import global_avg_pool_forward, max_pool_forward

    ph, pw = k.shape[0] // 2, k.shape[1] // 2  # "same" padding: output size = input size
    x4 = x[None, None]
    conv, _ = conv2d_forward(x4, k[None, None], None, stride=1, padding=(ph, pw))
    relu1, _ = relu_forward(conv)
    skip = relu1 + x4  # the residual connection adds the block's input
    relu2, _ = relu_forward(skip)
    floor, _ = max_pool_forward(relu2, kernel_size=pool, stride=pool, ceil_mode=False)
    ceil, _ = max_pool_forward(relu2, kernel_size=pool, stride=pool, ceil_mode=True)
    gap_floor, _ = global_avg_pool_forward(floor)
    gap_ceil, _ = global_avg_pool_forward(ceil)
    gap_relu2, _ = global_avg_pool_forward(relu2)
    return {"input": x, "padded": np.pad(x, ((ph, ph), (pw, pw))), "filter": k, "conv": conv[0, 0],
            "relu1": relu1[0, 0], "skip": skip[0, 0], "relu2": relu2[0, 0], "pool_floor": floor[0, 0],
            "pool_ceil": ceil[0, 0], "gap_floor": gap_floor[0, 0], "gap_ceil": gap_ceil[0, 0],
            "gap_relu2": gap_relu2[0, 0]}


def _fmt(v: float) -> str:
    v = float(v) + 0.0  # no "-0"
    return f"{v:.0f}" if v.is_integer() and abs(v) >= 10 else f"{v:.4g}"


def heatmap(ax, m: np.ndarray, title: str, cmap: str = "viridis", fontsize: float = 8.0, boxes=()):
    """Heat map with every value printed in its cell (text colour chosen for contrast)."""
    if cmap in ("coolwarm", "RdBu_r", "bwr"):  # diverging map: keep 0 at the neutral colour
        a = float(np.max(np.abs(m))) or 1.0
        im = ax.imshow(m, cmap=cmap, vmin=-a, vmax=a)
    else:
        im = ax.imshow(m, cmap=cmap)
    for (i, j), v in np.ndenumerate(m):
        r, g, b, _ = im.cmap(im.norm(v))
        luminance = 0.299 * r + 0.587 * g + 0.114 * b  # dark text on light cells and vice versa
        ax.text(j, i, _fmt(v), ha="center", va="center", fontsize=fontsize,
                color="black" if luminance > 0.5 else "white")
    for (r0, c0, h, w, color) in boxes:  # rectangles marking pooling windows
        import matplotlib.patches as patches

        ax.add_patch(patches.Rectangle((c0 - 0.5, r0 - 0.5), w, h, fill=False, ec=color, lw=2.2))
    ax.set_title(title, fontsize=8)
    ax.set_xticks(range(m.shape[1]))
    ax.set_yticks(range(m.shape[0]))
    ax.tick_params(labelsize=7)
    return im


def _table(m: np.ndarray) -> tuple[list[str], list[list[str]]]:
    cols = ["row"] + [f"c{j}" for j in range(m.shape[1])]
    return cols, [[f"r{i}"] + [_fmt(v) for v in row] for i, row in enumerate(m)]


def _windows(shape, pool, ceil_mode):
    h, w = shape
    rng = lambda n: range(0, n - pool + 1, pool) if not ceil_mode else range(0, n, pool)  # noqa: E731
    return [(r, c, min(pool, h - r), min(pool, w - c)) for r in rng(h) for c in rng(w)]


def run(cfg: Config, run) -> list[Section]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, k = _matrix(cfg.input, "input"), _matrix(cfg.filter, "filter")
    r = walkthrough(x, k, cfg.pool)
    run.write_json("results.json", {name: np.asarray(v).tolist() for name, v in r.items()})
    ph, pw = k.shape[0] // 2, k.shape[1] // 2

    # --- figure 1: the residual block --------------------------------------------------------
    steps = [("input", "input X", "Greys_r"), ("padded", f"zero-padded X (pad {ph})", "Greys_r"),
             ("filter", "filter K", "coolwarm"), ("conv", "conv: X ⋆ K (cross-correlation)", "coolwarm"),
             ("relu1", "ReLU(conv)", "viridis"), ("skip", "ReLU(conv) + X  (skip)", "viridis"),
             ("relu2", "ReLU(ReLU(conv) + X)", "viridis")]
    # constrained layout reserves room for each panel's title above the tick labels of the panel over it (with
    # tight_layout and square panels the second row's titles sat on the first row's tick labels, issue #16); about
    # one page wide, so the cell values print at ~7 pt instead of being shrunk from a 16-inch figure
    fig, axes = plt.subplots(2, 4, figsize=(7.8, 4.9), layout="constrained")
    for ax, (key, title, cmap) in zip(axes.flat, steps):
        heatmap(ax, r[key], title, cmap, fontsize=7 if r[key].shape[0] > 5 else 8)
    axes.flat[-1].axis("off")
    fig.suptitle("Residual block step by step (values in the cells)", fontsize=10)
    block_path = run.save_figure(fig, "residual_block")

    # --- figure 2: pooling ------------------------------------------------------------------
    fw, cw = _windows(r["relu2"].shape, cfg.pool, False), _windows(r["relu2"].shape, cfg.pool, True)
    fig, axes = plt.subplots(1, 4, figsize=(7.8, 2.6), gridspec_kw={"width_ratios": [1.3, 1.3, 0.8, 1]}, layout="constrained")
    heatmap(axes[0], r["relu2"], f"floor mode windows ({len(fw)})", boxes=[(*w, "red") for w in fw])
    heatmap(axes[1], r["relu2"], f"ceil mode windows ({len(cw)})", boxes=[(*w, "orange") for w in cw])
    heatmap(axes[2], r["pool_floor"], f"max pool, floor → {r['pool_floor'].shape[0]}x{r['pool_floor'].shape[1]}")
    heatmap(axes[3], r["pool_ceil"], f"max pool, ceil → {r['pool_ceil'].shape[0]}x{r['pool_ceil'].shape[1]}")
    fig.suptitle(f"{cfg.pool}x{cfg.pool} max pool, stride {cfg.pool}: GAP(floor) = {r['gap_floor']:.4g}, "
                 f"GAP(ceil) = {r['gap_ceil']:.4g}", fontsize=10)
    pool_path = run.save_figure(fig, "pooling")

    # --- report -------------------------------------------------------------------------------
    conv = r["conv"]
    i0 = np.unravel_index(np.argmax(np.abs(conv)), conv.shape)
    patch = r["padded"][i0[0]:i0[0] + k.shape[0], i0[1]:i0[1] + k.shape[1]]
    terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(patch.ravel(), k.ravel()))
    n_neg = int(np.sum(conv < 0))
    n_skip_neg = int(np.sum(r["skip"] < 0))
    s1 = Section("The residual block")
    s1.text(f"Input {x.shape[0]}x{x.shape[1]}, filter {k.shape[0]}x{k.shape[1]}, stride 1, zero padding "
            f"({ph}, {pw}) so the output keeps the input size and the skip connection can add the input "
            f"element by element. Like every framework (torch.nn.Conv2d, Keras Conv2D), the 'convolution' is a "
            f"cross-correlation: the filter is not flipped.")
    s1.text(f"Worked cell: output[{i0[0]}, {i0[1]}] = {terms} = {conv[i0]:.4g} (the window of the padded input "
            f"starting at row {i0[0]}, column {i0[1]}, multiplied element-wise by K and summed).")
    s1.text(f"The convolution produced {n_neg} negative value(s) out of {conv.size}; the first ReLU sets them to 0. "
            f"Adding the input back (the skip) gives values between {r['skip'].min():.4g} and {r['skip'].max():.4g}"
            + (f"; {n_skip_neg} are negative, so the second ReLU changes them."
               if n_skip_neg else "; none is negative (ReLU output + non-negative pixels), so the second ReLU "
               "leaves them unchanged here: it matters when the input itself can be negative, as inside a network."))
    s1.figure(block_path, "Every intermediate matrix of the residual block.", base=run.path)
    for key, title in [("input", "Input X"), ("filter", "Filter K"), ("conv", "Convolution output"),
                       ("relu1", "After the first ReLU"), ("skip", "After adding the input (skip connection)"),
                       ("relu2", "After the second ReLU (block output)")]:
        cols, rows = _table(r[key])
        s1.table(cols, rows, title)

    s2 = Section("Max pooling: floor and ceil modes")
    hf, hc = r["pool_floor"].shape, r["pool_ceil"].shape
    s2.text(f"A {cfg.pool}x{cfg.pool} window with stride {cfg.pool} does not tile a {x.shape[0]}x{x.shape[1]} map. "
            f"Floor mode keeps only complete windows: output {hf[0]}x{hf[1]}, the last row/column of the map is "
            f"ignored. Ceil mode adds a window for the leftover part: output {hc[0]}x{hc[1]}, where the windows on "
            f"the edge contain fewer values (the max is over the values that exist).")
    s2.text("Which frameworks use which: PyTorch nn.MaxPool2d defaults to floor (ceil_mode=False, ceil_mode=True "
            "switches); Keras/TensorFlow MaxPooling2D with padding='valid' (the default) is floor as well, and "
            "padding='same' pads instead of using partial windows; Caffe rounds up (ceil), which is why "
            "models ported from Caffe (e.g. GoogLeNet) set ceil_mode=True in PyTorch.")
    s2.figure(pool_path, "Pooling windows over the block output (red: floor, orange: ceil) and the pooled maps.",
              base=run.path)
    for key, title in [("pool_floor", "Max pool, floor mode (PyTorch/Keras default)"),
                       ("pool_ceil", "Max pool, ceil mode (Caffe)")]:
        cols, rows = _table(r[key])
        s2.table(cols, rows, title)

    s3 = Section("Global average pooling")
    s3.text(f"Global average pooling replaces each map by its mean: one number per channel, whatever the spatial "
            f"size. Floor-mode map: mean of {r['pool_floor'].size} values = {r['gap_floor']:.6g}. Ceil-mode map: "
            f"mean of {r['pool_ceil'].size} values = {r['gap_ceil']:.6g}. For comparison, the GAP of the block "
            f"output before pooling is {r['gap_relu2']:.6g}: max pooling keeps the largest values, so its GAP is "
            f"{'higher' if r['gap_floor'] > r['gap_relu2'] else 'not higher'}.")
    s3.table(["map", "size", "global average"],
             [["block output", f"{x.shape[0]}x{x.shape[1]}", f"{r['gap_relu2']:.6g}"],
              ["max pool floor", f"{hf[0]}x{hf[1]}", f"{r['gap_floor']:.6g}"],
              ["max pool ceil", f"{hc[0]}x{hc[1]}", f"{r['gap_ceil']:.6g}"]], "Global average pooling results.")
    return [s1, s2, s3]


EXPERIMENT = Experiment(name="residual-walkthrough",
                        description="a 5x5 image through conv, ReLU, skip connection, max pool (floor/ceil) and GAP",
                        exercise="residual block by hand: convolution, ReLU, skip connection, pooling",
                        config=Config, run=run, order=30, trains=False)
