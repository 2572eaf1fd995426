"""hw4.t2a / t2b: dL/dW and dL/dX of the given 3x3 valid convolution, by tamrin.scratch's conv2d_backward,
checked with PyTorch autograd, centred finite differences and the closed-form formulas of the conv-gradients
experiment."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close

X = [[1, 2, 1, 0], [2, 1, 0, 1], [1, 0, 2, 1], [0, 1, 2, 1]]
W = [[1, -1, 0], [0, 1, -1], [-1, 0, 1]]
DY = [[1, -1], [-1, 1]]

CONVENTION = ("'Convolution' is taken as a CNN layer computes it (PyTorch, Keras): the "
              "cross-correlation Y[i,j] = Σ_pq X[i+p, j+q]·W[p,q], with no kernel flip. The Persian text says only "
              "'a convolution layer' (لایه کانولوشن) and does not define a flip; the flipped (mathematical) "
              "convolution is given as well.")


def _mats():
    return tuple(np.array(m, dtype=np.float64) for m in (X, W, DY))


def scratch_grads(x, w, dy) -> dict:
    """Forward and backward with tamrin.scratch (the layer code the course's from-scratch nets train with)."""
    from tamrin.experiments.conv_gradients import library_grads

    return library_grads(x, w, dy)


def flipped_grads(x, w, dy) -> dict:
    """The same for the mathematical convolution Y = X * W = X ⋆ rot180(W): dL/dW = rot180(X ⋆ dL/dY)."""
    g = scratch_grads(x, np.rot90(w, 2), dy)
    return {"y": g["y"], "dW": np.rot90(g["dW"], 2), "dX": g["dX"]}


def _torch_flipped(x, w, dy) -> dict:
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    F.conv2d(xt[None, None], torch.flip(wt, (0, 1))[None, None])[0, 0].backward(torch.tensor(dy))
    return {"dW": wt.grad.numpy(), "dX": xt.grad.numpy()}


def whole(m):
    """Integer-valued matrices as ints (the report then prints 1, not 1.0000)."""
    m = np.asarray(m)
    return m.astype(int) if np.all(m == np.round(m)) else m


def _fmt(m) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v + 0.0:g}" for v in row) + "]" for row in np.asarray(m)) + "]"


def _refs(x, w, dy):
    from tamrin.experiments.conv_gradients import formula_grads, numerical_grads, torch_grads

    return torch_grads(x, w, dy), numerical_grads(x, w, dy), formula_grads(x, w, dy)


@answer("hw4.t2a")
def grad_w(ctx) -> Answer:
    x, w, dy = _mats()
    g, fl = scratch_grads(x, w, dy), flipped_grads(x, w, dy)
    t, num, form = _refs(x, w, dy)
    dw = g["dW"]
    terms = " ".join(f"{dy[i, j]:+g}·X[{i}+p, {j}+q]" for i in range(2) for j in range(2))
    return Answer(
        f"dL/dW[p,q] = Σ_ij dL/dY[i,j]·X[i+p, j+q] = {terms}, i.e. the valid cross-correlation of X with dL/dY: "
        f"dL/dW = {_fmt(dw)}. (Forward output Y = {_fmt(g['y'])}.) Each weight meets every output once, always "
        f"multiplied by the input shifted by its offset, so its gradient sums those inputs weighted by the upstream "
        f"gradient. With the flipped (mathematical) convolution the gradient is the same matrix rotated by 180°: "
        f"{_fmt(fl['dW'])}.",
        values={"dL_dW": whole(dw), "Y": whole(g["y"]), "dL_dW_flipped_convention": whole(fl["dW"])},
        how="tamrin.scratch.conv.conv2d_forward / conv2d_backward (via tamrin.experiments.conv_gradients.library_grads)",
        checks=[close("PyTorch autograd (F.conv2d, y.backward(dL/dY))", dw, t["dW"]),
                close("centred finite differences of L = Σ Y ⊙ dL/dY", dw, num["dW"], atol=1e-6),
                close("closed form X ⋆ dL/dY (numpy sliding windows)", dw, form["dW"]),
                close("flipped convention: PyTorch autograd through conv2d with torch.flip(W)", fl["dW"],
                      _torch_flipped(x, w, dy)["dW"])],
        assumptions=[CONVENTION])


@answer("hw4.t2b")
def grad_x(ctx) -> Answer:
    from tamrin.experiments.conv_gradients import chain_two_layers

    x, w, dy = _mats()
    g, fl = scratch_grads(x, w, dy), flipped_grads(x, w, dy)
    t, num, form = _refs(x, w, dy)
    dx = g["dX"]
    ch = chain_two_layers(ctx.seed)
    return Answer(
        f"dL/dX[m,n] = Σ_pq dL/dY[m−p, n−q]·W[p,q] (terms with m−p or n−q outside the 2x2 output are 0): the 'full' "
        f"convolution of dL/dY with W, equivalently dL/dY zero-padded by 2 and cross-correlated with W rotated by 180°. "
        f"dL/dX = {_fmt(dx)}. Corner pixels touch one output, the centre ones all four. This is the gradient the "
        f"layer passes down: X is the previous layer's output, so dL/dX is that layer's upstream gradient dL/dY; "
        f"it is multiplied by the previous activation's derivative and then gives that layer's dL/dW and its own "
        f"dL/dX by the same two formulas, down to the first layer. (Checked on a conv → ReLU → conv chain: the ReLU "
        f"zeroed {ch['relu_zeros']} of {ch['n']} entries of the passed-down gradient, and the chained result matches "
        f"autograd to {ch['err']:.1e}.) With the flipped convention dL/dX = {_fmt(fl['dX'])}.",
        values={"dL_dX": whole(dx), "dL_dX_flipped_convention": whole(fl["dX"]), "chain_max_abs_diff": ch["err"]},
        how="tamrin.scratch.conv.conv2d_backward; tamrin.experiments.conv_gradients.chain_two_layers for the chain",
        checks=[close("PyTorch autograd", dx, t["dX"]),
                close("centred finite differences", dx, num["dX"], atol=1e-6),
                close("closed form: full convolution pad(dL/dY) ⋆ rot180(W)", dx, form["dX"]),
                close("conv → ReLU → conv chained with tamrin.scratch = PyTorch autograd (max |diff|)", ch["err"], 0.0,
                      atol=1e-10),
                close("flipped convention: PyTorch autograd", fl["dX"], _torch_flipped(x, w, dy)["dX"])],
        assumptions=[CONVENTION])
