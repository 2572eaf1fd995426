"""Parameter counting: a small fully connected net, and a 1D CNN whose circulated solution is inconsistent."""
from __future__ import annotations

import torch

from tamrin.calc.analyze import analyze
from tamrin.calc.build import build
from tamrin.calc.examples import Example
from tamrin.calc.layers import fmt_shape


def fc_params() -> Example:
    """Trainable parameters of a fully connected net 20 -> 5 hidden layers of 10 -> 1."""
    n_in, width, depth, n_out = 20, 10, 5, 1
    spec = f"in:{n_in} " + " ".join([f"dense:{width} relu"] * depth) + f" dense:{n_out}"
    a = analyze(spec)
    ex = Example("fc-params", "Parameters of a fully connected network (20 inputs, 5 hidden layers of 10, 1 output)")
    ex.text(f"A dense layer from n inputs to m outputs has an m x n weight matrix and m biases: n*m + m parameters.\n\n"
            f"Spec: `{spec}`")
    rows, sizes = [], [n_in] + [width] * depth + [n_out]
    dense = [r for r in a.rows if r.kind == "dense"]
    for i, r in enumerate(dense):
        n, m = sizes[i], sizes[i + 1]
        rows.append([f"dense {i + 1}", f"{n} -> {m}", f"{n}*{m} + {m}", r.weights, r.biases, r.params])
    ex.table(["layer", "units", "formula", "weights", "biases", "parameters"], rows, "activations have no parameters")
    formula = (n_in * width + width) + (depth - 1) * (width * width + width) + (width * n_out + n_out)
    torch_count = sum(p.numel() for p in build(spec).parameters())
    ex.text(f"Total: ({n_in}*{width} + {width}) + {depth - 1}*({width}*{width} + {width}) + ({width}*{n_out} + {n_out}) "
            f"= {n_in * width + width} + {(depth - 1) * (width * width + width)} + {width * n_out + n_out} = **{a.params:,}** "
            f"trainable parameters (PyTorch counts {torch_count:,} in the same network).")
    ex.check("calculator total = closed formula", a.params, formula)
    ex.check("calculator total = PyTorch parameter count", a.params, torch_count)
    return ex


CNN1D = "in:7x500 conv3:16 relu maxpool2 conv5:32 relu maxpool2 conv5:64 relu flatten dense:128 relu dense:5"
CNN1D_3POOL = "in:7x500 conv3:16 relu maxpool2 conv5:32 relu maxpool2 conv5:64 relu maxpool2 flatten dense:128 relu dense:5"


def _keras_shape(shape) -> str:
    """Keras writes a 1D feature map as (steps, channels); the calculator stores (channels, steps)."""
    return f"({shape[1]}, {shape[0]})" if len(shape) == 2 else f"({shape[0]},)"


def cnn1d() -> Example:
    """1D CNN on (500, 7): shapes and parameters per layer; why a Flatten of 3,776 needs a third pooling layer."""
    ex = Example("cnn1d", "A 1D CNN on input (500, 7): shapes, parameters, and the size of the Flatten")
    ex.text("Conv1D with K taps, C_in input channels and F filters has K*C_in*F weights and F biases; a 'valid' conv "
            "shortens the sequence by K-1; MaxPool 2 halves it (rounding down); Flatten multiplies steps by channels.\n\n"
            f"As asked (two pooling layers): `{CNN1D}` (channels first: in:7x500 is Keras' (500, 7)).")
    tables = {}
    for label, spec in (("as asked", CNN1D), ("with a third MaxPool 2", CNN1D_3POOL)):
        a = analyze(spec)
        rows = [[r.name, _keras_shape(r.out_shape), r.params] for r in a.rows if r.kind != "relu"]
        tables[label] = a
        ex.table(["layer", "output (steps, channels)", "parameters"], rows + [["total", "", a.params]],
                 f"{label}: {a.params:,} parameters")
    a, b = tables["as asked"], tables["with a third MaxPool 2"]
    conv_params = [r.params for r in a.rows if r.kind == "conv"]
    flat_a = next(r for r in a.rows if r.kind == "flatten")
    flat_b = next(r for r in b.rows if r.kind == "flatten")
    dense_a = next(r for r in a.rows if r.kind == "dense")
    dense_b = next(r for r in b.rows if r.kind == "dense")
    steps = [r.out_shape[1] for r in a.rows if len(r.out_shape) == 2 and r.kind in ("conv", "maxpool")]
    ex.text(f"Sequence length: 500 -> {' -> '.join(str(s) for s in steps)}; the conv layers have "
            f"{', '.join(f'{p:,}' for p in conv_params)} parameters "
            f"(3*7*16 + 16, 5*16*32 + 32, 5*32*64 + 64).\n\n"
            f"Without a third pooling layer the last conv leaves {flat_a.in_shape[1]} steps x {flat_a.in_shape[0]} channels, "
            f"so Flatten gives **{flat_a.out_shape[0]:,}** values and Dense 128 has {flat_a.out_shape[0]:,}*128 + 128 = "
            f"**{dense_a.params:,}** parameters. The widely circulated solution's Flatten of {flat_b.out_shape[0]:,} = "
            f"{flat_b.in_shape[1]} x {flat_b.in_shape[0]} only appears after a third MaxPool 2 "
            f"({flat_b.in_shape[1] * 2} -> {flat_b.in_shape[1]}), and then Dense 128 has {dense_b.params:,} parameters.")
    with torch.no_grad():
        real = build(CNN1D)[:-3](torch.zeros(1, 7, 500)).shape  # up to and including Flatten
    ex.text(f"PyTorch agrees: the real network's Flatten output is {tuple(real)} for one sample.")
    ex.check("conv parameters", tuple(conv_params), (352, 2592, 10304))
    ex.check("Flatten size with two pools", flat_a.out_shape[0], 7552)
    ex.check("Dense 128 parameters with two pools", dense_a.params, 966784)
    ex.check("Flatten size with three pools", flat_b.out_shape[0], 3776)
    ex.check("PyTorch Flatten size with two pools", int(real[1]), flat_a.out_shape[0])
    ex.check("shape before Flatten with two pools", fmt_shape(flat_a.in_shape), "64x118")
    return ex
