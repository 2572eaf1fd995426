"""autodiff-graph: one sigmoid neuron with a squared loss and L2 regularisation, differentiated three ways.

    z = w·x + b,  y = σ(z),  L = ½(y − t)²,  R = ½w²,  L_reg = L + λR

We draw the computational graph built by the scalar `Value` engine, write every partial derivative
symbolically (chain rule), evaluate it with the formulas, with `Value.backward()` and with PyTorch
autograd, then take one gradient-descent step on w and b.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tamrin.errors import UserError
from tamrin.registry import Experiment
from tamrin.report import Section
from tamrin.scratch.autodiff import Value


@dataclass
class Config:
    seed: int = 0
    data_dir: str = ""  # unused (no data set); kept for the common interface
    w: float | None = None  # None = drawn from N(0, 1) with `seed`
    x: float | None = None
    b: float | None = None
    t: float | None = None  # target; None = drawn from U(0, 1)
    lam: float = 0.1  # λ, regularisation strength
    lr: float = 0.1  # gradient-descent learning rate

    @classmethod
    def quick(cls) -> "Config":
        return cls()

    def validate(self):
        if self.lr <= 0:
            raise UserError(f"lr must be > 0, got {self.lr}")
        if self.lam < 0:
            raise UserError(f"lam must be >= 0, got {self.lam}")


def initial_values(cfg: Config) -> dict[str, float]:
    rng = np.random.default_rng(cfg.seed)
    drawn = {"w": rng.standard_normal(), "x": rng.standard_normal(), "b": rng.standard_normal(), "t": rng.uniform()}
    return {k: float(getattr(cfg, k) if getattr(cfg, k) is not None else drawn[k]) for k in ("w", "x", "b", "t")}


def build_graph(v: dict[str, float], lam: float) -> dict[str, Value]:
    """The expression as labelled `Value` nodes (labels show up in the drawing)."""
    w, x, b, t = (Value(v[k], label=k) for k in ("w", "x", "b", "t"))
    lam_v = Value(lam, label="λ")
    wx = w * x
    wx.label = "w·x"
    z = wx + b
    z.label = "z"
    y = z.sigmoid()
    y.label = "y = σ(z)"
    d = y - t
    d.label = "y − t"
    L = 0.5 * d ** 2
    L.label = "L"
    R = 0.5 * w ** 2
    R.label = "R"
    lamR = lam_v * R
    lamR.label = "λR"
    Lreg = L + lamR
    Lreg.label = "L_reg"
    return dict(w=w, x=x, b=b, t=t, z=z, y=y, L=L, R=R, Lreg=Lreg)


def formulas(v: dict[str, float], lam: float) -> list[tuple[str, str, float]]:
    """(name, symbolic chain rule, value from the formula)."""
    w, x, b, t = v["w"], v["x"], v["b"], v["t"]
    z = w * x + b
    y = 1.0 / (1.0 + np.exp(-z))
    dy = y - t  # ∂L/∂y
    dz = dy * y * (1 - y)  # ∂L/∂z
    return [
        ("∂L_reg/∂L", "1", 1.0),
        ("∂L_reg/∂R", "λ", lam),
        ("∂L/∂y", "y − t", dy),
        ("∂y/∂z", "σ(z)(1 − σ(z)) = y(1 − y)", y * (1 - y)),
        ("∂z/∂w", "x", x),
        ("∂z/∂x", "w", w),
        ("∂z/∂b", "1", 1.0),
        ("∂R/∂w", "w", w),
        ("∂L_reg/∂z", "(y − t)·y(1 − y)", dz),
        ("∂L_reg/∂w", "(y − t)·y(1 − y)·x + λw", dz * x + lam * w),
        ("∂L_reg/∂b", "(y − t)·y(1 − y)", dz),
        ("∂L_reg/∂x", "(y − t)·y(1 − y)·w", dz * w),
        ("∂L_reg/∂t", "−(y − t)", -dy),
    ]


def torch_check(v: dict[str, float], lam: float, lr: float) -> dict:
    """Gradients and one SGD step with PyTorch autograd (the oracle)."""
    import torch

    w, x, b, t = (torch.tensor(v[k], dtype=torch.float64, requires_grad=True) for k in ("w", "x", "b", "t"))
    Lreg = 0.5 * (torch.sigmoid(w * x + b) - t) ** 2 + lam * 0.5 * w ** 2
    Lreg.backward()
    grads = {k: float(p.grad) for k, p in zip("wxbt", (w, x, b, t))}
    opt = torch.optim.SGD([w, b], lr=lr)
    opt.step()
    with torch.no_grad():
        after = float(0.5 * (torch.sigmoid(w * x + b) - t) ** 2 + lam * 0.5 * w ** 2)
    return {"loss": Lreg.item(), "grads": grads, "w_new": w.item(), "b_new": b.item(), "loss_after": after}


def _loss(w, b, v, lam):
    y = 1.0 / (1.0 + np.exp(-(w * v["x"] + b)))
    return 0.5 * (y - v["t"]) ** 2 + lam * 0.5 * w ** 2


def run(cfg: Config, run) -> list[Section]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tamrin.scratch.autodiff_graph import draw_graph

    v = initial_values(cfg)
    g = build_graph(v, cfg.lam)
    g["Lreg"].backward()
    fig = draw_graph(g["Lreg"], title="L_reg = ½(σ(w·x + b) − t)² + λ·½w²  (data and grad after backward)")
    graph_path = run.save_figure(fig, "graph")

    th = torch_check(v, cfg.lam, cfg.lr)
    engine = {"∂L_reg/∂w": g["w"].grad, "∂L_reg/∂b": g["b"].grad, "∂L_reg/∂x": g["x"].grad, "∂L_reg/∂t": g["t"].grad}
    torch_g = {"∂L_reg/∂w": th["grads"]["w"], "∂L_reg/∂b": th["grads"]["b"],
               "∂L_reg/∂x": th["grads"]["x"], "∂L_reg/∂t": th["grads"]["t"]}
    rows, max_err = [], 0.0
    for name, sym, val in formulas(v, cfg.lam):
        e, tv = engine.get(name), torch_g.get(name)
        if e is not None:
            max_err = max(max_err, abs(e - val), abs(tv - val))
        rows.append([name, sym, f"{val:.8f}", "" if e is None else f"{e:.8f}", "" if tv is None else f"{tv:.8f}"])

    # one gradient-descent step on the parameters (x and t are data, they are not updated)
    w_new = v["w"] - cfg.lr * g["w"].grad
    b_new = v["b"] - cfg.lr * g["b"].grad
    loss0, loss1 = g["Lreg"].data, float(_loss(w_new, b_new, v, cfg.lam))
    step_err = max(abs(w_new - th["w_new"]), abs(b_new - th["b_new"]), abs(loss1 - th["loss_after"]))
    run.write_json("results.json", {"values": v, "lam": cfg.lam, "lr": cfg.lr, "grads_engine": engine,
                                    "grads_torch": torch_g, "w_new": w_new, "b_new": b_new,
                                    "loss_before": loss0, "loss_after": loss1, "max_grad_error": max_err,
                                    "max_step_error": step_err})
    run.log(step=0, loss=loss0)
    run.log(step=1, loss=loss1)

    # loss along the w-axis with the tangent whose slope is ∂L_reg/∂w
    ws = np.linspace(v["w"] - 3, v["w"] + 3, 300)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(ws, _loss(ws, v["b"], v, cfg.lam), label="L_reg(w) at fixed b")
    ax.plot(ws, loss0 + g["w"].grad * (ws - v["w"]), "--", label=f"tangent, slope ∂L_reg/∂w = {g['w'].grad:.4f}")
    ax.scatter([v["w"]], [loss0], color="C3", zorder=3, label=f"w = {v['w']:.4f}")
    ax.scatter([w_new], [_loss(w_new, v["b"], v, cfg.lam)], color="C2", zorder=3, label=f"after step w = {w_new:.4f}")
    ax.set_xlabel("w")
    ax.set_ylabel("L_reg")
    ax.set_ylim(min(0, loss0) - 0.05, max(_loss(ws, v["b"], v, cfg.lam)) * 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    curve_path = run.save_figure(fig, "loss_along_w")

    s1 = Section("Computational graph")
    s1.text(f"Values (seed {cfg.seed} unless set in the config): w = {v['w']:.4f}, x = {v['x']:.4f}, "
            f"b = {v['b']:.4f}, t = {v['t']:.4f}, λ = {cfg.lam:g}. Forward pass: z = {g['z'].data:.6f}, "
            f"y = σ(z) = {g['y'].data:.6f}, L = {g['L'].data:.6f}, R = {g['R'].data:.6f}, L_reg = {loss0:.6f}.")
    s1.figure(graph_path, "Graph built by tamrin.scratch.autodiff.Value; columns are topological depth, circles are "
              "operations, each box shows the value (data) and ∂L_reg/∂node (grad) after backward().", base=run.path)
    s1.text("Subtraction appears as an addition of (−1)·t, and the constants ½ and λ are leaves of the graph: the "
            "engine only knows +, ×, powers and elementary functions, and the chain rule composes them.")

    s2 = Section("Every partial derivative")
    s2.text("Backward pass = chain rule from the output: each node multiplies the gradient arriving from above by its "
            "local derivative. w receives gradient along two paths (through z and through R) and the two "
            "contributions add up.")
    s2.table(["derivative", "symbolic", "formula value", "Value engine", "PyTorch autograd"], rows,
             "Local derivatives (top) and the full gradients of L_reg (bottom).")
    s2.text(f"Largest disagreement between the formulas, the Value engine and PyTorch: {max_err:.2e}.")

    s3 = Section("One gradient-descent step")
    s3.table(["parameter", "before", "gradient", "after (lr · gradient subtracted)", "PyTorch SGD after"],
             [["w", f"{v['w']:.6f}", f"{g['w'].grad:.6f}", f"{w_new:.6f}", f"{th['w_new']:.6f}"],
              ["b", f"{v['b']:.6f}", f"{g['b'].grad:.6f}", f"{b_new:.6f}", f"{th['b_new']:.6f}"]],
             f"w ← w − {cfg.lr:g}·∂L_reg/∂w, b ← b − {cfg.lr:g}·∂L_reg/∂b (x and t are data, not parameters).")
    verdict = "decreased" if loss1 < loss0 else "did not decrease (the step was too large for this curvature)"
    s3.text(f"L_reg went from {loss0:.6f} to {loss1:.6f} ({loss1 - loss0:+.6f}): the loss {verdict}. "
            f"PyTorch's torch.optim.SGD step gives the same parameters and loss to within {step_err:.2e}.")
    s3.figure(curve_path, "L_reg as a function of w (b fixed): the gradient is the slope of the tangent; the step "
              "moves w downhill.", base=run.path)
    return [s1, s2, s3]


EXPERIMENT = Experiment(name="autodiff-graph", description="computational graph of a regularised sigmoid neuron, "
                        "every partial derivative and one GD step, checked against PyTorch",
                        exercise="backpropagation by hand: z = w·x + b, y = σ(z), L = ½(y − t)², L_reg = L + λ·½w²",
                        config=Config, run=run, order=31, trains=False)
