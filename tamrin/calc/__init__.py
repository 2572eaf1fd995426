"""Layer calculator: shapes, parameters, multiply-adds and receptive fields of a layer stack.

    from tamrin.calc import analyze, analyze_module, render
    a = analyze("in:3x224x224 conv3x3s2p1:32 bn relu dw3x3p1 pw:64 gap dense:10")
    print(render(a, "table", convention="tamrin"))
    m = analyze_module(torch_model, (3, 32, 32))      # any nn.Module, counted with forward hooks

Files: spec.py (the spec language), layers.py (one layer's arithmetic), rf.py (receptive fields),
analyze.py (walking a spec), build.py (the same spec as a torch module), trace.py (hooks on any module),
conventions.py (ptflops / fvcore / thop / torchinfo rules), format.py (table, CSV, JSON, Markdown),
zoo.py (MobileNet specs), examples/ (worked course questions), cli.py (`tamrin calc`).
"""
from tamrin.calc.analyze import Analysis, Row, analyze
from tamrin.calc.conventions import CONVENTIONS, all_totals, ops
from tamrin.calc.format import FORMATS, render, to_dict
from tamrin.calc.spec import Spec, load, parse


def analyze_module(module, input_shape, batch: int = 1):
    """Count any nn.Module with forward hooks (see tamrin.calc.trace); imports torch on first use."""
    from tamrin.calc.trace import analyze_module as _am

    return _am(module, input_shape, batch)


def verify_module(module, input_shape):
    """Formula vs hook measurement for every leaf of any nn.Module: [] when all agree (see tamrin.calc.verify)."""
    from tamrin.calc.verify import verify_module as _vm

    return _vm(module, input_shape)


def build(spec, input_shape=None):
    """The spec as a real torch nn.Sequential (see tamrin.calc.build)."""
    from tamrin.calc.build import build as _b

    return _b(spec, input_shape)


__all__ = ["analyze", "analyze_module", "verify_module", "build", "render", "to_dict", "parse", "load", "ops", "all_totals",
           "Analysis", "Row", "Spec", "CONVENTIONS", "FORMATS"]
