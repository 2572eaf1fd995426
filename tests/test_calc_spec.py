"""The calculator's spec language, errors, layer formulas, formats, conventions and CLI."""
import csv
import io
import json

import pytest

from tamrin.calc.analyze import analyze
from tamrin.calc.cli import main as calc_main
from tamrin.calc.conventions import CONVENTIONS, all_totals, ops
from tamrin.calc.format import render
from tamrin.calc.spec import load, parse_text
from tamrin.cli import main as tamrin_main
from tamrin.errors import UserError

EXAMPLE = "in:3x224x224 conv3x3s2p1:32 dw3x3:32 pw:64 maxpool2 gap dense:10"


def test_brief_example_shapes_and_counts():
    a = analyze(EXAMPLE)
    assert [r.out_shape for r in a.rows] == [(32, 112, 112), (32, 110, 110), (64, 110, 110), (64, 55, 55), (64,), (10,)]
    conv = a.rows[0]
    assert (conv.weights, conv.biases, conv.macs) == (3 * 9 * 32, 32, 3 * 9 * 32 * 112 * 112)
    dw = a.rows[1]
    assert (dw.weights, dw.macs) == (32 * 9, 32 * 9 * 110 * 110)
    assert a.rows[-1].macs == 640 and a.params == 864 + 32 + 288 + 32 + 2048 + 64 + 650


@pytest.mark.parametrize("spec, shape", [
    ("in:3x10x10 conv3psame:4", (4, 10, 10)),
    ("in:3x10x10 conv4psame:4", (4, 10, 10)),  # even kernel: the extra pixel goes right
    ("in:3x10x10 conv3d2pvalid:4", (4, 6, 6)),
    ("in:2x9x9 maxpool2c", (2, 5, 5)),  # ceil mode
    ("in:2x9x9 maxpool2", (2, 4, 4)),
    ("in:2x5x5 maxpool2s2p1c", (2, 3, 3)),  # the last window would start in the padding only: dropped
    ("in:4x7x7 convt4s2p1:3", (3, 14, 14)),
    ("in:4x7x7 convt3s2p1op1:3", (3, 14, 14)),
    ("in:4x7 conv3s2:8", (8, 3)),
    ("in:4x6x8x8 conv3p1g2:8", (8, 6, 8, 8)),
    ("in:3x8x8 conv3x1p0x1:4", (4, 6, 10)),
    ("in:3x8x8 cat( pw:4 | conv3p1:5 | maxpool3s1p1 )", (12, 8, 8)),
    ("in:3x8x8 res( conv3p1:3 bn relu ) flatten dense:7", (7,)),
    ("in:3x8x8 add( conv3s2p1:6 | pws2:6 )", (6, 4, 4)),
])
def test_shapes(spec, shape):
    assert analyze(spec).output_shape == shape


@pytest.mark.parametrize("spec, pos, words", [
    ("in:3x224x224 conv3x3q1:32", "position 2", ["conv3x3q1", "valid layer types", "dw", "maxpool"]),
    ("in:3x32x32 relu foo:3", "position 3", ["'foo:3'", "valid layer types"]),
    ("in:3x32x32 conv3:0", "position 2", ["positive width"]),
    ("in:3x32x32 conv:8", "position 2", ["needs a kernel size"]),
    ("in:3x32x32 dense:10", "position 2", ["flat input", "flatten"]),
    ("in:3x32x32 conv3s2psame:8", "position 2", ["'same' needs stride 1"]),
    ("in:3x4x4 conv5:8", "position 2", ["smaller than the kernel"]),
    ("in:3x32x32 conv3g2:8", "position 2", ["groups=2"]),
    ("in:3x32x32 maxpool2s2p2", "position 2", ["at most half"]),
    ("in:3x32x32 cat( pw:4 | pws2:4 )", "position 2", ["same spatial size"]),
    ("in:3x32x32 cat( pw:4 | pw:4", "position 2", ["never closed"]),
    ("in:3x32x32 relu )", "position 3", ["unexpected ')'"]),
    ("conv3:8 relu", "position 1", ["input shape"]),
    ("in:3x0x4 relu", "position 1", ["bad input shape"]),
    ("in:3x32x32 relu:2", "position 2", ["nothing after"]),
    ("in:3x32x32 maxpool2nb", "position 2", ["no bias"]),
    ("in:3x32x32 pw3:4", "position 2", ["no kernel size"]),
])
def test_bad_specs_point_at_the_token(spec, pos, words):
    with pytest.raises(UserError) as e:
        analyze(spec)
    msg = str(e.value)
    assert pos in msg and "\n" not in msg
    for w in words:
        assert w in msg, msg


YAML = """
input: 3x32x32
layers:
  - conv3x3s1p1:16 bn relu
  - {type: conv, kernel: 3, stride: 2, padding: 1, out: 32, bias: false}
  - cat:
      - [pw:8]
      - [pw:8, conv3p1:16]
      - [{type: maxpool, kernel: 3, stride: 1, padding: 1}, pw:8]
  - res:
      - conv3psame:32
      - bn
  - gap
  - dense:10
"""


def test_yaml_and_json_files(tmp_path):
    p = tmp_path / "stack.yaml"
    p.write_text(YAML)
    a = analyze(load(p))
    assert a.output_shape == (10,)
    cat = next(r for r in a.rows if r.kind == "concat")
    assert cat.out_shape == (32, 16, 16)
    text = analyze("in:3x32x32 conv3x3s1p1:16 bn relu conv3s2p1nb:32 cat( pw:8 | pw:8 conv3p1:16 | maxpool3s1p1 pw:8 ) "
                   "res( conv3psame:32 bn ) gap dense:10")
    assert a.totals() == text.totals()
    j = tmp_path / "stack.json"
    j.write_text(json.dumps(["in:3x32x32 conv3p1:4", {"type": "relu"}, {"add": [["pw:4"], []]}, "flatten"]))
    assert analyze(load(j)).output_shape == (4 * 32 * 32,)
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: 3x8x8\nlayers:\n  - relu\n  - {type: conv, kernel: 3}\n")
    with pytest.raises(UserError, match=r"layers\[1\].*needs 'out'"):
        load(bad)
    bad.write_text("input: 3x8x8\nlayers:\n  - relu\n  - convv3:4\n")
    with pytest.raises(UserError, match=r"layers\[1\]"):
        analyze(load(bad))


def test_formats_are_parseable_and_agree():
    a = analyze(EXAMPLE)
    rows = list(csv.reader(io.StringIO(render(a, "csv"))))
    assert rows[-1][1] == "total" and int(rows[-1][8]) == a.macs
    d = json.loads(render(a, "json", "ptflops"))
    assert d["totals"]["macs"] == a.macs and d["totals"]["ops"] == all_totals(a)["ptflops"]
    assert d["layers"][0]["receptive_field"][0] == {"size": 3, "jump": "2", "start": "0"}
    md = render(a, "markdown")
    assert md.count("\n|") >= len(a.rows) + 2 and "**total**" in md
    table = render(a, "table")
    assert f"{a.macs:,}" in table and "RF" in table
    with pytest.raises(UserError, match="choose one of"):
        render(a, "xml")


def test_conventions_on_a_hand_counted_net():
    """conv3 (bias) + BN + ReLU + maxpool2 + avgpool + GAP + dense, counted by hand under each tool's rules."""
    a = analyze("in:2x8x8 conv3p1:4 bn relu maxpool2 avgpool2 gap dense:3")
    N = 4 * 8 * 8  # conv output elements
    conv = 2 * 9 * 4 * 64
    expect = {
        "tamrin": conv + 4 * 3,
        # ptflops 0.7.5: bias per output, BN 2N; ReLU and pools counted twice (module hook + patched F.*)
        "ptflops": conv + N + 2 * N + 2 * N + 2 * N + 2 * (4 * 16) + 2 * (4 * 4) + (4 * 3 + 3),
        "fvcore": conv + 2 * N + 4 * 3,  # no bias, BN 2N, adaptive_avg_pool2d = input elements (4*2*2)
        "thop": conv + 4 * N + 4 * 2 * 2 + (4 + 1) * 4 + 4 * 3,
        "torchinfo": conv + 4 * 64 + 8 + (4 * 3 + 3),
    }
    expect["fvcore"] += 4 * 2 * 2
    assert all_totals(a) == expect
    with pytest.raises(UserError, match="choose one of"):
        ops(a.rows[0], "flops")


def test_transposed_conv_conventions_differ_as_documented():
    a = analyze("in:4x5x5 convt4s2p1:3")
    r = a.rows[0]
    w = 4 * 3 * 16
    assert r.macs == w * 25 and ops(r, "fvcore") == w * 25
    assert ops(r, "thop") == w * 100 and ops(r, "ptflops") == w * 25 + 3 * 100
    assert ops(r, "torchinfo") == (w + 3) * 100


def test_fvcore_skips_string_padding():
    """padding='same' dispatches to aten::_convolution_mode, which fvcore does not count (checked with fvcore 0.1.5)."""
    a = analyze("in:2x8x8 conv3psame:4 conv3p1:4")
    assert [ops(r, "fvcore") for r in a.rows] == [0, a.rows[1].macs]


def test_receptive_field_columns():
    a = analyze("in:1x64x64 conv3s2:1 maxpool2 conv3s2:1 maxpool2")
    assert [r.rf[0][0] for r in a.rows] == [3, 5, 13, 21]
    assert [int(r.rf[0][1]) for r in a.rows] == [2, 4, 8, 16]
    assert analyze("in:1x64x64 conv3s2:1 maxpool2s1 conv3s2:1 maxpool2s1").rows[-1].rf[0][0] == 13


def test_cli(capsys, tmp_path):
    assert tamrin_main(["calc", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "dense:10" in out and "total" in out
    assert tamrin_main(["calc", "in:3x32x32", "conv3p1:8", "gap", "dense:2", "--format", "json", "--convention", "thop",
                        "--verify"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[: out.rindex("}") + 1])["convention"] == "thop" and "PyTorch agrees" in out
    assert tamrin_main(["calc", "in:3x224x224 conv3x3q1:32"]) == 2
    err = capsys.readouterr().err
    assert "bad token 'conv3x3q1:32' at position 2" in err and err.count("\n") == 1
    # options first: through calc's own main (the top-level parser's REMAINDER needs a leading '--' for these)
    assert calc_main(["--zoo", "mobilenet_v1", "--width", "0.25", "--input", "3x128x128", "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("\n") > 80
    f = tmp_path / "s.yaml"
    f.write_text(YAML)
    assert calc_main(["--file", str(f), "--format", "markdown"]) == 0
    assert "concat" in capsys.readouterr().out
    assert tamrin_main(["calc", "--", "--example", "list"]) == 0
    assert "receptive-field" in capsys.readouterr().out
    with pytest.raises(UserError, match="did you mean 'receptive-field'"):
        calc_main(["--example", "recepitve-field"])
    with pytest.raises(UserError, match="exactly one of"):
        calc_main([])
    with pytest.raises(UserError, match="invalid choice"):
        calc_main(["--convention", "nope", EXAMPLE])
