"""Answers to Homework 2's checkable questions (seeds/003_*). One function per id, in the course's order."""
from __future__ import annotations

from tamrin.answers import Answer, answer, close


@answer("hw2.t1d")
def fc_parameters(ctx) -> Answer:
    from tamrin.calc.analyze import analyze
    from tamrin.calc.build import build

    n_in, width, depth, n_out = 20, 10, 5, 1
    spec = f"in:{n_in} " + " ".join([f"dense:{width} relu"] * depth) + f" dense:{n_out}"
    total = analyze(spec).params
    per_layer = [n * m + m for n, m in zip([n_in] + [width] * depth, [width] * depth + [n_out])]
    torch_count = sum(p.numel() for p in build(spec).parameters())
    return Answer(
        f"{total:,} trainable parameters: a dense layer from n to m units has n·m weights and m biases, so "
        f"({n_in}·{width}+{width}) + {depth - 1}·({width}·{width}+{width}) + ({width}·{n_out}+{n_out}) = "
        + " + ".join(str(p) for p in per_layer) + f" = {total:,}.",
        values={"parameters": total, "per_layer": per_layer},
        how=f"tamrin.calc.analyze on the spec `{spec}`",
        checks=[close("PyTorch parameter count of the same network (tamrin.calc.build)", total, torch_count),
                close("sum of n·m + m over the layers", total, sum(per_layer))])
