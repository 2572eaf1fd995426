"""MobileNet V1/V2 written in the calculator's spec language reproduce the published figures."""
import pytest

from tamrin.calc.analyze import analyze
from tamrin.calc.zoo import make_divisible, mobilenet_v1, mobilenet_v2, spec_for
from tamrin.errors import UserError


@pytest.mark.parametrize("alpha, size, params_m, macs_m", [
    (1.0, 224, 4.21, 569), (0.75, 224, 2.57, 325), (0.5, 224, 1.32, 149), (0.25, 224, 0.47, 41),
    (1.0, 192, 4.21, 418), (1.0, 160, 4.21, 291), (1.0, 128, 4.21, 186),
])
def test_mobilenet_v1_published_figures(alpha, size, params_m, macs_m):
    a = analyze(mobilenet_v1(alpha, size))
    assert abs(a.params / 1e6 - params_m) / params_m < 0.01
    assert abs(a.macs / 1e6 - macs_m) / macs_m < 0.01
    assert a.output_shape == (1000,)


def test_mobilenet_v1_stage_shapes():
    a = analyze(mobilenet_v1())
    pw = [r.out_shape for r in a.rows if r.name.startswith("pw")]
    assert pw[0] == (64, 112, 112) and pw[-1] == (1024, 7, 7)
    assert analyze(mobilenet_v1(1.0, 32, 10)).rows[-2].in_shape == (1024, 1, 1)


def test_mobilenet_v2_published_figures():
    a = analyze(mobilenet_v2())
    assert a.params == 3_504_872
    assert round(a.macs / 1e6, 1) == 300.8
    assert sum(r.kind == "add" for r in a.rows) == 10  # residuals only where stride 1 and channels match
    assert [r.out_shape for r in a.rows if r.kind == "gap"] == [(1280,)]


def test_mobilenet_v2_width_rounding():
    assert [make_divisible(32 * a) for a in (1.0, 0.75, 0.5, 0.35)] == [32, 24, 16, 16]
    a = analyze(mobilenet_v2(0.5))
    assert a.rows[-1].in_shape == (1280,)  # the last 1x1 conv is not shrunk for alpha < 1
    with pytest.raises(UserError, match="choose one of"):
        spec_for("mobilenet_v3")


def test_mobilenet_specs_built_in_torch_measure_the_same():
    """The specs built as real torch modules and counted with forward hooks give the same numbers."""
    from tamrin.calc.build import build
    from tamrin.calc.trace import analyze_module
    from tamrin.calc.verify import verify_module

    for spec, shape in ((mobilenet_v2(), (3, 224, 224)), (mobilenet_v1(0.25, 128), (3, 128, 128))):
        module = build(spec)
        m, a = analyze_module(module, shape), analyze(spec)
        assert m.totals() == a.totals()
        assert sum(p.numel() for p in module.parameters()) == a.params
        assert verify_module(module, shape) == []
