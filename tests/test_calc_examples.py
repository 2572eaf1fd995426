"""The worked course questions assert their numbers, and the calc-examples report is built from them."""
import json

import pytest

from tamrin.calc.examples import EXAMPLES, get
from tamrin.errors import UserError


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_checks_agree(name):
    ex = EXAMPLES[name]()
    assert ex.checks, name
    bad = {k: v for k, v in ex.checks.items() if not ex.ok and v[0] != v[1]}
    assert ex.ok, bad
    text = ex.to_text()
    assert ex.title in text and "Checks" in text


def test_worked_numbers():
    fc = get("fc-params")()
    assert fc.checks["calculator total = closed formula"] == (661, 661)
    cnn = get("cnn1d")()
    assert cnn.checks["Dense 128 parameters with two pools"][0] == 966_784
    assert cnn.checks["Flatten size with three pools"][0] == 3_776
    assert "7,552" in cnn.to_text() and "966,784" in cnn.to_text()
    rf = get("receptive-field")()
    assert rf.checks["autograd RF with stride-2 pools"][0] == 21 and rf.checks["RF with stride-1 pools"][0] == 13
    sep = get("separable")()
    assert "1/64 + 1/16" in sep.to_text()
    dil = get("dilated")(M=9, N=11, F_=3, D=3)  # other sizes work too
    assert dil.ok and dil.checks["output size (M - D*F + D, N - D*F + D) = PyTorch"][0] == (3, 5)
    g = get("conv1d-785")(pool=3, width=5, seed=1)
    assert g.ok
    op = get("op-counts")(k=2, c=3, W=4, H=5, B=2)
    assert op.ok and op.checks["counted multiplications = B*W*H*k^2*c"][0] == 2 * 4 * 5 * 4 * 3


def test_unknown_example():
    with pytest.raises(UserError, match="choose one of"):
        get("nope")


def test_calc_examples_experiment(tmp_path):
    from tamrin.registry import get as get_exp
    from tamrin.runs import Run

    exp = get_exp("calc-examples")
    assert exp.trains is False and exp.order == 15
    run = Run(tmp_path, "calc-examples", quiet=True)
    sections = exp.run(exp.config.quick(), run)
    titles = [s.title for s in sections]
    assert len(titles) == len(EXAMPLES) + 3 and "MobileNet figures from specs" in titles
    assert not run.notices
    assert (tmp_path / "figures" / "conventions.png").exists()
    assert (tmp_path / "figures" / "receptive-field-gradients.png").exists()
    assert (tmp_path / "figures" / "separable-costs.png").exists()
    rows = json.loads((tmp_path / "mobilenet_counts.json").read_text())["rows"]
    assert len(rows) == 8
