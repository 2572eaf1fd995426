"""Fuzz the config / --set parser: whatever a user types, the answer is a valid config or one clear line."""
from dataclasses import dataclass, field
from typing import Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamrin.config import apply_overrides, parse_set
from tamrin.errors import UserError
from tamrin.registry import discover
from tamrin.train import TrainConfig


@dataclass
class Cfg:
    seed: int = 0
    name: str = "a"
    ratio: float = 0.5
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    grid: list[list[float]] = field(default_factory=lambda: [[0.0]])
    maybe: Optional[int] = None
    train: TrainConfig = field(default_factory=TrainConfig)


KEYS = ["seed", "name", "ratio", "flag", "sizes", "grid", "maybe", "train.lr", "train.epochs", "train.optimizer",
        "train.schedule", "train.amp", "train", "nope", "train.nope", "seed.x", "", "a..b", "1x"]
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1", "-3", "1e-3", "nan", "inf", "true", "no", "[1,2]", "[[1,2],[3]]", "{a: 1}", "[", "{", "null",
                     "sgd", "adam", "cosine", "1,2,3", "'quoted'", "!!python/object:os.system", "*anchor", "&a [1]"]),
    st.integers().map(str), st.floats(allow_nan=True).map(str),
)


def _check(items):
    try:
        cfg = apply_overrides(Cfg(), items)
    except UserError as e:
        msg = str(e)
        assert msg and "\n" not in msg, repr(msg)
        return
    assert isinstance(cfg, Cfg) and isinstance(cfg.train, TrainConfig)
    assert isinstance(cfg.seed, int) and isinstance(cfg.ratio, float) and isinstance(cfg.flag, bool)
    assert all(isinstance(s, int) for s in cfg.sizes)


@settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"), min_size=1, max_size=3))
def test_set_items(items):
    _check(items)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(max_size=40), min_size=1, max_size=3))
def test_arbitrary_strings(items):
    _check(items)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(KEYS + ["train"]), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["lr", "epochs", "x"]), inner, max_size=2),
    max_leaves=6), max_size=4))
def test_yaml_mappings(data):
    """What a --config YAML file parses to."""
    try:
        apply_overrides(Cfg(), data)
    except UserError as e:
        assert "\n" not in str(e)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=40))
def test_parse_set_never_crashes(item):
    try:
        path, _ = parse_set(item)
        assert path and all(p.isidentifier() for p in path)
    except UserError as e:
        assert "\n" not in str(e)


def test_every_experiment_config_rejects_junk_cleanly():
    for exp in discover().values():
        for item in ["seed=abc", "nokey=1", "train.lr=-1"]:
            try:
                apply_overrides(exp.default_config(quick=True), [item])
            except UserError as e:
                assert "\n" not in str(e)
