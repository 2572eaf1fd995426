"""`tamrin calc`: the layer calculator on the command line.

    tamrin calc "in:3x224x224 conv3x3s2p1:32 dw3x3p1 pw:64 maxpool2 gap dense:10"
    tamrin calc --file stack.yaml --format markdown
    tamrin calc --model mobilenet_v2 --input 3x32x32 --convention ptflops
    tamrin calc --zoo mobilenet_v1 --width 0.5 --input 3x160x160
    tamrin calc --example list
"""
from __future__ import annotations

import argparse
import sys

from tamrin.calc.conventions import CONVENTIONS
from tamrin.calc.format import FORMATS, render
from tamrin.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"tamrin calc: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tamrin calc", description="Shapes, parameters, multiply-adds and receptive fields of a layer stack.",
                epilog="Spec syntax: see `tamrin calc --help-spec` or docs/calc_conventions.md.")
    p.add_argument("spec", nargs="*", help="compact spec, e.g. in:3x32x32 conv3p1:16 relu maxpool2 gap dense:10")
    src = p.add_argument_group("other inputs")
    src.add_argument("--file", help="a YAML or JSON spec file")
    src.add_argument("--model", help="a model registered in tamrin.models (counted with forward hooks)")
    src.add_argument("--zoo", help="a built-in spec: mobilenet_v1, mobilenet_v2")
    src.add_argument("--example", help="a worked course question by name, or 'list'")
    p.add_argument("--input", help="input shape CxHxW (for --model / --zoo, or to override the spec's)")
    p.add_argument("--classes", type=int, default=None, help="number of classes (--model: 10, --zoo: 1000)")
    p.add_argument("--width", type=float, default=1.0, help="width multiplier alpha (--model / --zoo)")
    p.add_argument("--format", default="table", choices=FORMATS, help="output format (default: table)")
    p.add_argument("--convention", default="tamrin", choices=CONVENTIONS,
                   help="how to count operations (default: tamrin = conv + FC multiply-adds, as the MobileNet papers)")
    p.add_argument("--verify", action="store_true", help="also build the spec in PyTorch and check shapes and counts with hooks")
    p.add_argument("--help-spec", action="store_true", help="print the spec syntax")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `tamrin calc -- --example list`: the top-level parser passes the separator on
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    if args.help_spec:
        from tamrin.calc import spec

        print(spec.__doc__)
        return 0
    if args.example:
        from tamrin.calc.examples import get, names

        if args.example == "list":
            from tamrin.calc.examples import EXAMPLES

            width = max(len(n) for n in EXAMPLES)
            for name, fn in EXAMPLES.items():
                print(f"{name:<{width}}  {fn.__doc__.strip().splitlines()[0]}")
            return 0
        print(get(args.example)().to_text())
        return 0
    chosen = [n for n, v in (("spec", args.spec), ("--file", args.file), ("--model", args.model), ("--zoo", args.zoo)) if v]
    if len(chosen) != 1:
        raise UserError("give exactly one of: a spec, --file, --model, --zoo or --example "
                        f"(got {', '.join(chosen) or 'none'}); e.g. tamrin calc \"in:3x32x32 conv3p1:16 relu gap dense:10\"")
    analysis = _analysis(args)
    print(render(analysis, args.format, args.convention), end="")
    if args.verify:
        print(_verify(args, analysis))
    return 0


def _input(args, default=None):
    from tamrin.calc.spec import parse_shape

    return parse_shape(args.input, "--input") if args.input else default


def _analysis(args):
    from tamrin.calc.analyze import analyze

    if args.model:
        return _model_analysis(args)
    if args.zoo:
        from tamrin.calc.zoo import spec_for

        shape = _input(args, (3, 224, 224))
        if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2]:
            raise UserError(f"--input for --zoo must be 3xSxS, got {args.input}")
        return analyze(spec_for(args.zoo, args.width, shape[1], args.classes or 1000))
    if args.file:
        from tamrin.calc.spec import load

        return analyze(load(args.file), _input(args))
    return analyze(" ".join(args.spec), _input(args))


def _model_analysis(args):
    try:
        from tamrin.models import create  # noqa: F401  (the model helper's registry; absent in older versions)
    except ImportError:
        raise UserError("--model needs tamrin.models, which is not available in this version") from None
    from tamrin.calc.trace import analyze_module

    return analyze_module(_model(args), _input(args, (3, 32, 32)))


def _model(args):
    from tamrin.models import create

    shape = _input(args, (3, 32, 32))
    return create(args.model, num_classes=args.classes or 10, width_mult=args.width, input_size=shape[-1])


def _verify(args, analysis) -> str:
    """Build the spec in torch and compare: the calculator's claims against hooks on the real module."""
    if args.model:
        from tamrin.calc.verify import verify_module

        problems = verify_module(_model(args), analysis.input_shape)
        if problems:
            raise UserError(f"verify failed for {len(problems)} layer(s), first: {problems[0]}")
        return "verify: every known leaf layer's formula agrees with what PyTorch measured"
    from tamrin.calc.build import build
    from tamrin.calc.trace import analyze_module

    import torch

    module = build(_spec_obj(args), analysis.input_shape)
    measured = analyze_module(module, analysis.input_shape)
    with torch.no_grad():
        out = tuple(module.eval()(torch.zeros((1,) + tuple(analysis.input_shape))).shape[1:])
    a, m = analysis.totals(), measured.totals()
    bad = [k for k in a if a[k] != m[k]] + (["output shape"] if out != tuple(analysis.output_shape) else [])
    if bad:
        raise UserError(f"verify failed: {', '.join(bad)} differ between the calculator and PyTorch")
    return f"verify: PyTorch agrees (output {out}, {m['params']:,} parameters, {m['macs']:,} MACs measured with hooks)"


def _spec_obj(args):
    from tamrin.calc.spec import load, parse_text
    from tamrin.calc.zoo import spec_for

    if args.zoo:
        shape = _input(args, (3, 224, 224))
        return parse_text(spec_for(args.zoo, args.width, shape[1], args.classes or 1000))
    return load(args.file) if args.file else parse_text(" ".join(args.spec))
