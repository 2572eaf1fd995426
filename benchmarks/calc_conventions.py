"""Check the calculator's reproductions of ptflops, fvcore, thop and torchinfo against the real tools.

The tools are not project dependencies; install them somewhere apart and point PYTHONPATH at it:
    pip install --no-deps --target /tmp/cnttools thop ptflops torchinfo fvcore iopath yacs tabulate termcolor portalocker
    PYTHONPATH=$PWD:/tmp/cnttools python benchmarks/calc_conventions.py
Compares the named networks and N random stacks (argument, default 100) and writes
benchmarks/results/calc_conventions.json.
"""
from __future__ import annotations

import copy
import io
import json
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import torch

from tamrin.calc.analyze import analyze
from tamrin.calc.build import build
from tamrin.calc.conventions import all_totals
from tamrin.calc.zoo import mobilenet_v1, mobilenet_v2

SPECS = {
    "mobilenet_v1": mobilenet_v1(),
    "mobilenet_v2": mobilenet_v2(),
    "mobilenet_v1_0.25_128": mobilenet_v1(0.25, 128),
    "grab-bag 2D": "in:3x32x32 conv3p1:8 bn relu maxpool2 conv3p1:16 bn relu6 avgpool2 conv3p1g2:16 leakyrelu:0.1 "
                   "convt4s2p1:8 prelu gap dense:10 softmax",
    "1D": "in:4x50 conv3:8 bn elu maxpool2c avgpool3s2 flatten dense:5 sigmoid",
    "3D": "in:2x8x8x8 conv3p1:4 bn relu maxpool2 gap dense:3",
    "inception+residual": "in:3x16x16 conv3p1:8 bn relu cat( pw:4 | pw:4 conv3p1:8 | maxpool3s1p1 pw:4 ) "
                          "res( conv3p1:16 bn relu ) gap dense:4",
    "dense only": "in:20 dense:10 relu dense:10 tanh dense:1",
}


def measure(model, shape) -> dict:
    x = torch.zeros((1,) + tuple(shape))
    out = {}
    from ptflops import get_model_complexity_info

    with redirect_stdout(io.StringIO()):
        macs, _ = get_model_complexity_info(copy.deepcopy(model), tuple(shape), as_strings=False,
                                            print_per_layer_stat=False, backend="pytorch")
    out["ptflops"] = int(macs)
    from fvcore.nn import FlopCountAnalysis

    fca = FlopCountAnalysis(copy.deepcopy(model).eval(), x)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    out["fvcore"] = int(fca.total())
    from thop import profile

    with redirect_stdout(io.StringIO()):
        macs, _ = profile(copy.deepcopy(model), inputs=(x,), verbose=False)
    out["thop"] = int(macs)
    from torchinfo import summary

    out["torchinfo"] = int(summary(copy.deepcopy(model), input_size=x.shape, verbose=0).total_mult_adds)
    return out


def random_stack(rng) -> str:
    """A random valid stack (1D/2D/3D; convs with stride/padding/dilation/groups, transposed convs, pools, norms,
    activations, blocks): candidate layers the calculator refuses are left out."""
    from tamrin.calc.layers import apply
    from tamrin.calc.spec import parse_token
    from tamrin.errors import UserError

    d = rng.randint(1, 3)
    shape = (rng.randint(1, 4),) + tuple(rng.randint(6, {1: 40, 2: 16, 3: 8}[d]) for _ in range(d))
    toks = ["in:" + "x".join(map(str, shape))]
    for _ in range(rng.randint(2, 8)):
        k, s = rng.randint(1, 3), rng.randint(1, 2)
        cand = rng.choice([
            f"conv{k}s{s}p{rng.randint(0, 1)}d{rng.randint(1, 2)}g{rng.choice([1, 2])}{rng.choice(['', 'nb'])}:{rng.choice([2, 4, 6])}",
            f"dw{k}s{s}p{rng.randint(0, 1)}", f"pw:{rng.randint(1, 6)}", f"convt{k}s{s}p{rng.randint(0, k - 1)}:{rng.randint(1, 4)}",
            f"maxpool{k}s{s}p{rng.randint(0, k // 2)}{rng.choice(['', 'c'])}", f"avgpool{k}s{s}{rng.choice(['', 'c'])}",
            "bn", "relu", "relu6", "elu", "gelu", "silu", "leakyrelu", "prelu", "sigmoid", "tanh", "hardswish",
            f"res( conv3psame:{shape[0]} bn relu )"])
        try:
            if not cand.startswith("res"):
                shape = tuple(apply(parse_token(cand, "random"), shape).out_shape)
        except UserError:
            continue
        toks.append(cand)
    toks += rng.choice([["gap", "dense:3"], ["flatten", "dense:4", "relu", "dense:2", "softmax"], ["gmp"]])
    return " ".join(toks)


def main() -> int:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    import random

    rng = random.Random(0)
    n_random = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    specs = dict(SPECS, **{f"random {i}": random_stack(rng) for i in range(n_random)})
    results, worst = {}, 0.0
    for name, spec in specs.items():
        a = analyze(spec)
        ours = all_totals(a)
        real = measure(build(spec).eval(), a.input_shape)
        rows = {t: {"tool": real[t], "calculator": ours[t], "equal": real[t] == ours[t]} for t in real}
        results[name] = {"spec": spec, "tamrin": ours["tamrin"], "tools": rows}
        for t, r in rows.items():
            dev = abs(r["tool"] - r["calculator"]) / max(1, r["tool"])
            worst = max(worst, dev)
            if name.startswith("random") and r["equal"]:
                continue
            print(f"{name:<22} {t:<10} tool {r['tool']:>14,}  calculator {r['calculator']:>14,}  "
                  f"{'equal' if r['equal'] else f'differs by {100 * dev:.3f}%'}")
    from importlib.metadata import version

    versions = {t: version(t) for t in ("ptflops", "fvcore", "thop", "torchinfo")}
    versions["torch"] = torch.__version__
    equal = sum(r["equal"] for v in results.values() for r in v["tools"].values())
    total = sum(len(v["tools"]) for v in results.values())
    print(f"{equal} of {total} (network, tool) totals equal ({len(specs)} networks incl. {n_random} random stacks)")
    path = Path(__file__).parent / "results" / "calc_conventions.json"
    path.write_text(json.dumps({"versions": versions, "n_networks": len(specs), "equal": equal, "compared": total,
                                "worst_relative_difference": worst, "results": results}, indent=2))
    print(f"worst relative difference: {100 * worst:.4f}% -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
