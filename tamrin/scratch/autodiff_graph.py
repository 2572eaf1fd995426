"""Draw the computational graph of a `Value` expression with matplotlib only (no Graphviz).

Layout: a node's column is its topological depth (leaves in column 0, every node one column right
of its deepest input), so data flows left to right and gradients flow right to left. Inside a
column, nodes are sorted by the mean height of their inputs, which keeps most edges short and
uncrossed. Each value is a box showing `label | data | grad`; the operation that produced it is a
small circle just left of the box, with an arrow from every input. A deep graph is drawn top to bottom
instead (leaves on top), so it fits the page width with readable text.
"""
from __future__ import annotations

from collections import defaultdict

from tamrin.scratch.autodiff import Value, topological_order

__all__ = ["graph_layout", "draw_graph"]

# short symbols so the op name fits in its circle
_OP_SYMBOL = {"sigmoid": "σ", "*": "×", "relu": "ReLU", "**2": "x²", "**-1": "1/x", "**0.5": "√"}


def graph_layout(root: Value) -> dict[int, tuple[float, float]]:
    """(column, row) position for each node id; column = longest path from a leaf."""
    order = topological_order(root)
    depth: dict[int, int] = {}
    for v in order:  # inputs come before consumers, so their depth is known
        depth[id(v)] = 0 if not v._prev else 1 + max(depth[id(p)] for p in v._prev)
    # Pull each leaf (input or constant) right to sit just before its first consumer, so a constant
    # used deep in the graph does not draw an edge across the whole figure.
    consumers: dict[int, list[int]] = defaultdict(list)
    for v in order:
        for p in v._prev:
            consumers[id(p)].append(depth[id(v)])
    for v in order:
        if not v._prev and consumers[id(v)]:
            depth[id(v)] = min(consumers[id(v)]) - 1
    columns: dict[int, list[Value]] = defaultdict(list)
    for v in order:
        columns[depth[id(v)]].append(v)
    users: dict[int, list[Value]] = defaultdict(list)
    for v in order:
        for p in v._prev:
            users[id(p)].append(v)
    pos: dict[int, tuple[float, float]] = {}
    # A few sweeps of barycentre ordering: an operation sits near the mean height of its inputs,
    # a leaf near the mean height of its consumers (known from the previous sweep).
    for _sweep in range(3):
        new_pos: dict[int, tuple[float, float]] = {}

        def key(v):
            if v._prev:
                return sum(new_pos[id(p)][1] for p in v._prev) / len(v._prev)
            ys = [pos[id(u)][1] for u in users[id(v)] if id(u) in pos]
            return sum(ys) / len(ys) if ys else 0.0

        for col in sorted(columns):
            nodes = sorted(columns[col], key=key, reverse=True)  # larger y = higher on the page
            n = len(nodes)
            for i, v in enumerate(nodes):
                new_pos[id(v)] = (float(col), (n - 1) / 2.0 - i)
        pos = new_pos
    return pos


def draw_graph(root: Value, title: str = "", digits: int = 4, ax=None, vertical: bool | None = None):
    """Return a matplotlib Figure of the graph ending at `root` (call `root.backward()` first to show grads).

    `vertical` (default: when the graph is more than 5 levels deep) draws the depth downwards — leaves at the
    top, the root at the bottom — so a deep graph stays one page wide and its text prints at >= 7 pt: drawn
    left to right, an 8-level graph was 16 inches wide and its numbers printed at 3-4 pt (issue #16).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    order = topological_order(root)
    pos = graph_layout(root)
    n_cols = 1 + max(int(x) for x, _ in pos.values())
    n_rows = max(sum(1 for x, _ in pos.values() if int(x) == c) for c in range(n_cols))
    if vertical is None:
        vertical = n_cols > 5
    op_r = 0.32
    if vertical:
        xs, ys = 2.8, 2.0  # spacing between nodes of one level / between levels (data units)
        box_w, box_h = 2.4, 0.9
        data_w, data_h = (n_rows - 1) * xs + box_w + 0.4, (n_cols - 1) * ys + box_h + 2 * op_r + 1.0
        ipu = min(0.6, 7.4 / data_w, 8.5 / data_h)  # about one page wide, at most 8.5 in tall
    else:
        xs, ys = 3.2, 1.4  # spacing between columns / rows (data units)
        box_w, box_h = 2.0, 0.8
        data_w, data_h = (n_cols - 1) * xs + 2 * box_w, (n_rows - 1) * ys + 2.4 * box_h
        ipu = max(0.375, min(0.45, 7.4 / data_w))

    if ax is None:
        head = 0.45 if title else 0.05
        fig = plt.figure(figsize=(data_w * ipu, data_h * ipu + head))
        ax = fig.add_axes((0, 0, 1, data_h * ipu / (data_h * ipu + head)))
    else:
        fig = ax.figure

    def centre(v):
        x, y = pos[id(v)]
        return (y * xs, -x * ys) if vertical else (x * xs, y * ys)

    fmt = f"{{:.{digits}g}}"
    arrow = dict(arrowstyle="->", color="#475569", lw=1)
    for v in order:
        cx, cy = centre(v)
        is_root = v is root
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", fc="#fde8c8" if is_root else ("#dbeafe" if not v._prev else "#eef2f7"),
                                    ec="#334155", lw=1.2, zorder=2))
        name = v.label or ("const" if not v._prev else "")
        ax.text(cx, cy + 0.22 * box_h / 0.8, name, ha="center", va="center", fontsize=9, weight="bold", zorder=3)
        ax.text(cx, cy - 0.15 * box_h / 0.8, f"data {fmt.format(v.data)}\ngrad {fmt.format(v.grad)}",
                ha="center", va="center", fontsize=7.5 if not vertical else 8, family="monospace", zorder=3)
        if v._prev:
            if vertical:  # the operation sits above its box, inputs come from above
                ox, oy = cx, cy + box_h / 2 + 0.55
                into, out_of = (cx, cy + box_h / 2), (ox, oy - op_r)
            else:
                ox, oy = cx - box_w / 2 - 0.55, cy
                into, out_of = (cx - box_w / 2, cy), (ox + op_r, oy)
            ax.add_patch(Circle((ox, oy), op_r, fc="white", ec="#b45309", lw=1.2, zorder=2))
            op = _OP_SYMBOL.get(v._op, v._op)
            ax.text(ox, oy, op, ha="center", va="center", fontsize=8 if len(op) <= 2 else 7.5, color="#b45309", zorder=3)
            ax.annotate("", xy=into, xytext=out_of, arrowprops=arrow, zorder=1)
            for p in v._prev:
                px, py = centre(p)
                src = (px, py - box_h / 2) if vertical else (px + box_w / 2, py)
                dst = (ox, oy + op_r) if vertical else (ox - op_r, oy)
                # an edge skipping levels is bent, so it does not run straight behind a box in between and look
                # like that box's input
                skip = abs(pos[id(v)][0] - pos[id(p)][0]) > 1
                ax.annotate("", xy=dst, xytext=src, zorder=1,
                            arrowprops=dict(arrow, connectionstyle=f"arc3,rad={-0.35 if skip and vertical else 0.0}",
                                            **({"color": "#94a3b8", "ls": "--"} if skip else {})))
    all_x = [centre(v)[0] for v in order]
    all_y = [centre(v)[1] for v in order]
    ax.set_xlim(min(all_x) - box_w / 2 - 0.2, max(all_x) + box_w / 2 + 0.2) if vertical else \
        ax.set_xlim(min(all_x) - box_w, max(all_x) + box_w)
    top = max(all_y) + box_h / 2 + (0.55 + op_r if vertical else box_h * 0.7)
    ax.set_ylim(min(all_y) - box_h * (0.7 if vertical else 1.2), top + (0.2 if vertical else 0))
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
