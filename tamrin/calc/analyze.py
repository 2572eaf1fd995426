"""Walk a spec layer by layer: shapes, parameters, multiply-adds and receptive fields per row, plus totals."""
from __future__ import annotations

from dataclasses import dataclass, field

from tamrin.calc import rf as rfmod
from tamrin.calc.layers import Layer, apply, fmt_shape, numel
from tamrin.calc.spec import Block, Spec, parse


@dataclass
class Row:
    """One line of the calculator's table (a layer, or the merge of a block's branches)."""

    name: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    weights: int = 0
    biases: int = 0
    bn_params: int = 0
    bn_buffers: int = 0
    macs: int = 0
    rf: list | None = None
    depth: int = 0  # branch nesting, for indentation
    info: dict = field(default_factory=dict)

    @property
    def params(self) -> int:
        """Trainable parameters: weights + biases + batch-norm scale and shift."""
        return self.weights + self.biases + self.bn_params


@dataclass
class Analysis:
    input_shape: tuple
    rows: list
    source: str = ""

    @property
    def output_shape(self) -> tuple:
        return self.rows[-1].out_shape if self.rows else self.input_shape

    def total(self, key: str) -> int:
        return sum(getattr(r, key) for r in self.rows)

    @property
    def params(self) -> int:
        return self.total("params")

    @property
    def macs(self) -> int:
        return self.total("macs")

    def totals(self) -> dict:
        return {k: self.total(k) for k in ("weights", "biases", "bn_params", "bn_buffers", "params", "macs")}


def analyze(spec, input_shape=None) -> Analysis:
    """Spec (or compact text / YAML data) -> Analysis. Raises UserError at the first impossible layer."""
    sp = parse(spec)
    shape = tuple(input_shape) if input_shape is not None else tuple(sp.input_shape)
    rows: list[Row] = []
    _walk(sp.nodes, shape, rfmod.initial(shape), rows, depth=0)
    return Analysis(shape, rows, sp.text if isinstance(sp, Spec) else "")


def _walk(nodes, shape, field_, rows, depth):
    for node in nodes:
        if isinstance(node, Block):
            shape, field_ = _block(node, shape, field_, rows, depth)
        else:
            shape, field_ = _layer(node, shape, field_, rows, depth)
    return shape, field_


def _layer(layer: Layer, shape, field_, rows, depth):
    c = apply(layer, shape)
    new_rf = rfmod.step(layer.kind, c.info, shape, field_)
    rows.append(Row(layer.token, layer.kind, tuple(shape), tuple(c.out_shape), c.weights, c.biases,
                    c.bn_params, c.bn_buffers, c.macs, new_rf, depth, c.info))
    return tuple(c.out_shape), new_rf


def _block(block: Block, shape, field_, rows, depth):
    outs, fields = [], []
    for b, branch in enumerate(block.branches):
        if branch:
            rows.append(Row(f"branch {b + 1}", "branch", shape, shape, rf=field_, depth=depth + 1))
        o, f = _walk(branch, shape, field_, rows, depth + 1)
        outs.append(o)
        fields.append(f)
    if block.mode == "add":
        if any(o != outs[0] for o in outs):
            raise block.fail("the branches of add( end with different shapes: "
                             + " vs ".join(fmt_shape(o) for o in outs) + " (they must match to be summed)")
        out = outs[0]
    else:
        if any(len(o) != len(outs[0]) or o[1:] != outs[0][1:] for o in outs):
            raise block.fail("the branches of cat( must keep the same spatial size: "
                             + " vs ".join(fmt_shape(o) for o in outs))
        out = (sum(o[0] for o in outs),) + tuple(outs[0][1:])
    merged = rfmod.union(fields)
    name = "add" if block.mode == "add" else "concat"
    rows.append(Row(name, name, shape, out, rf=merged, depth=depth,
                    info={"n_inputs": len(outs), "in_numels": [numel(o) for o in outs]}))
    return out, merged
