"""The two FF experiments end to end on a tiny slice of the real MNIST data (or the fallback)."""
import json

import pytest

from tamrin.config import apply_overrides
from tamrin.errors import UserError
from tamrin.experiment_runner import run_experiment
from tamrin.registry import get

TINY = ["max_train=300", "max_test=200", "hidden=[32,32,32]", "train.epochs=2", "train.batch_size=50"]


@pytest.mark.parametrize("name", ["ff-supervised", "ff-unsupervised"])
def test_tiny_run_writes_results_and_a_rerun_resumes_without_retraining(tmp_path, name):
    exp = get(name)
    cfg = apply_overrides(exp.default_config(), TINY + (["probe_layers=2"] if name == "ff-unsupervised" else []))
    run_dir = run_experiment(exp, cfg, tmp_path, pdf=False)
    res = json.loads((run_dir / "results.json").read_text())["results"]
    keys = ["ff_test", "onepass_test", "bp_test"] if name == "ff-supervised" else ["probe_test", "pixels_test", "bp_test"]
    for k in keys:
        assert 0.0 <= res[k] <= 1.0
    assert (run_dir / "report.html").exists()
    metrics = (run_dir / "metrics.jsonl").read_text()
    # same folder again (what --resume does): finished tags come from their checkpoints, nothing retrains
    run_experiment(exp, cfg, tmp_path, pdf=False, run_dir=run_dir)
    assert (run_dir / "metrics.jsonl").read_text() == metrics
    assert json.loads((run_dir / "results.json").read_text())["results"][keys[0]] == res[keys[0]]


def test_full_preset_is_the_papers_recipe():
    cfg = apply_overrides(get("ff-supervised").default_config(), ["preset=full"]).resolved()
    assert cfg.hidden == [2000, 2000, 2000, 2000] and cfg.train.epochs == 60


@pytest.mark.parametrize("item, words", [("norm=l2", "rms"), ("goodness=cube", "sum"), ("train.negatives=easy", "hard"),
                                          ("train.schedule=random", "greedy"), ("score_layers=[7]", "0..")])
def test_bad_config_is_one_clear_user_error(item, words):
    with pytest.raises(UserError, match=words):
        apply_overrides(get("ff-supervised").default_config(), [item])


def test_unsupervised_bad_pairing_is_a_user_error():
    with pytest.raises(UserError, match="digit"):
        apply_overrides(get("ff-unsupervised").default_config(), ["pair=label"])


def test_unsupervised_default_trains_ff_without_labels(tmp_path, monkeypatch):
    """hw2.p2 (unsupervised part): no labels in FF training. The default pairing is label-free and the FF training
    path receives y=None; labels reach only the linear read-out."""
    import tamrin.experiments.ff_unsupervised as mod

    exp = get("ff-unsupervised")
    assert exp.config().pair == "image" and exp.config.quick().pair == "image"
    seen = []
    real = mod.train_unsupervised
    monkeypatch.setattr(mod, "train_unsupervised", lambda net, x, y, *a, **k: (seen.append(y), real(net, x, y, *a, **k))[1])
    cfg = apply_overrides(exp.default_config(), TINY + ["probe_layers=2", "baseline=false"])
    run_dir = run_experiment(exp, cfg, tmp_path, pdf=False)
    assert seen == [None]
    assert "FF training itself received none" in (run_dir / "report.html").read_text()
