"""Receptive fields: for each spatial dimension, (size, jump, start).

- size  r: how many input pixels one output value sees,
- jump  j: the distance in input pixels between two neighbouring outputs (the product of strides),
- start:   the input coordinate of the centre of the first output's field (pixel i has centre i).

The recurrence for a conv or pool with kernel k, stride s, padding p, dilation d
(effective kernel k' = d(k-1) + 1):

    r_out = r_in + (k' - 1) * j_in          (= RF_{n-1} + (K_n - 1) * product of the earlier strides)
    j_out = j_in * s
    start_out = start_in + ((k' - 1)/2 - p) * j_in

A transposed conv with stride s is a stride-1 conv over the input with s-1 zeros inserted between
pixels: the jump shrinks to j/s and one output sees floor((k'-1)/s) + 1 input pixels at most.
Global pooling and flatten make every output see the whole input.
Two branches that meet (concat, add) see the union of their fields.
"""
from __future__ import annotations

from fractions import Fraction

RF = list  # one (size, jump, start) triple per spatial dimension


def initial(shape) -> RF:
    return [(1, Fraction(1), Fraction(0)) for _ in shape[1:]]


def step(kind: str, info: dict, in_shape, rf: RF) -> RF:
    if rf is None:
        return None
    if "kernel" in info:  # conv, transposed conv, pooling
        out = []
        for (r, j, st), k, s, p, dl in zip(rf, info["kernel"], info["stride"], info["padding"], info["dilation"]):
            ke = dl * (k - 1) + 1
            if info.get("transposed"):
                q = ke - 1 - p  # padding of the equivalent stride-1 conv over the zero-stuffed input
                j2 = j / s
                out.append((r + ((ke - 1) // s) * j, j2, st + (Fraction(ke - 1, 2) - q) * j2))
            else:
                out.append((r + (ke - 1) * j, j * s, st + (Fraction(ke - 1, 2) - p) * j))
        return out
    if kind in ("gap", "gmp", "flatten") and len(in_shape) > 1:
        return whole(in_shape, rf)
    return rf  # pointwise-in-space layers (bn, activations, dense on a flat input) keep the field


def whole(in_shape, rf: RF) -> RF:
    """The field of an output that sees every position of `in_shape`."""
    return [(r + (n - 1) * j, j, st + Fraction(n - 1, 2) * j) for (r, j, st), n in zip(rf, in_shape[1:])]


def union(fields: list) -> RF:
    """The field of a merge (concat / add): the smallest interval covering every branch's field."""
    fields = [f for f in fields if f is not None]
    if not fields:
        return None
    out = []
    for triples in zip(*fields):
        lo = min(st - Fraction(r - 1, 2) for r, _, st in triples)
        hi = max(st + Fraction(r - 1, 2) for r, _, st in triples)
        out.append((int(hi - lo) + 1, max(j for _, j, _ in triples), (lo + hi) / 2))
    return out


def fmt_num(x) -> str:
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


def fmt_rf(rf: RF) -> tuple[str, str, str]:
    """('21x21', '8x8', '3.5x3.5') for a table."""
    if not rf:
        return ("-", "-", "-")
    return ("x".join(fmt_num(r) for r, _, _ in rf), "x".join(fmt_num(j) for _, j, _ in rf),
            "x".join(fmt_num(s) for _, _, s in rf))
