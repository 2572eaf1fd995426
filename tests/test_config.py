from dataclasses import dataclass, field
from typing import Optional

import pytest

from tamrin.config import apply_overrides, dump_yaml, from_dict, load_yaml
from tamrin.errors import UserError


@dataclass
class Inner:
    lr: float = 0.1
    layers: tuple[int, ...] = (10, 20)
    name: str = "x"
    flag: bool = False


@dataclass
class Cfg:
    seed: int = 0
    inner: Inner = field(default_factory=Inner)
    opt: Optional[float] = None
    grid: list[list[float]] = field(default_factory=lambda: [[1.0, 2.0]])


def test_nested_override_and_types():
    c = apply_overrides(Cfg(), ["inner.lr=0.5", "seed=3", "inner.layers=[1,2,3]", "inner.flag=true", "opt=2"])
    assert c.inner.lr == 0.5 and isinstance(c.inner.lr, float)
    assert c.seed == 3 and c.inner.layers == (1, 2, 3) and c.inner.flag is True and c.opt == 2.0
    assert Cfg().inner.lr == 0.1  # the default is untouched


def test_int_to_float_and_comma_lists():
    c = apply_overrides(Cfg(), ["inner.lr=1", "inner.layers=4,5"])
    assert c.inner.lr == 1.0 and c.inner.layers == (4, 5)


def test_nested_lists():
    c = apply_overrides(Cfg(), ["grid=[[1,2],[3,4.5]]"])
    assert c.grid == [[1.0, 2.0], [3.0, 4.5]]


@pytest.mark.parametrize("item, words", [
    ("inner.lrr=1", ["unknown config key inner.lrr", "did you mean 'lr'", "inner.lr"]),
    ("inner.lr=abc", ["inner.lr", "not a float"]),
    ("seed=1.5", ["seed", "not an int"]),
    ("inner.flag=maybe", ["inner.flag", "bool"]),
    ("nokey", ["key=value"]),
    ("seed.x=1", ["no sub-keys"]),
    ("inner.layers=[a]", ["inner.layers[0]", "int"]),
])
def test_errors_are_one_clear_line(item, words):
    with pytest.raises(UserError) as e:
        apply_overrides(Cfg(), [item])
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_yaml_roundtrip(tmp_path):
    c = apply_overrides(Cfg(), ["inner.lr=0.25", "inner.layers=[7]"])
    p = tmp_path / "c.yaml"
    p.write_text(dump_yaml(c))
    back = from_dict(Cfg, load_yaml(p))
    assert back == c
    assert apply_overrides(Cfg(), load_yaml(p)) == c


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("a: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_yaml(p)
    with pytest.raises(UserError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_validate_hook_runs():
    @dataclass
    class V:
        x: int = 1

        def validate(self):
            if self.x < 0:
                raise UserError("x must be >= 0")

    with pytest.raises(UserError, match=">= 0"):
        apply_overrides(V(), ["x=-1"])
