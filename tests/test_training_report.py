"""Every training experiment's report meets the course's report rules (issue #16, "Tests"): its smoke run's
sections contain — found by block tag, not by prose — the loss/accuracy curves, a confusion matrix for each
available split (train, validation, and test when there is one), and the settings table with every item the
course asks for, optimizer steps included; and the rendered report prints no nan/None or absolute home paths.

Runs go through the real CLI (one subprocess each, one torch thread, --no-pdf), as in test_resume_all.py.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_resume_all import ENV, ROOT, TRAINING, preset, report_defects

from tamrin.config import dump_yaml
from tamrin.report.sections import load_sections
from tamrin.report.training_report import REQUIRED_SETTINGS

# experiment -> does its smoke run evaluate a test split? True: always; False: never (regularization-lab measures
# every study on validation); None: only when the data has one, which the run then says by writing
# metrics_test.json through its own per-class evaluation
COVERED: dict[str, bool | None] = {
    "digits-mlp": True, "fc-from-scratch": True, "ff-supervised": True, "ff-unsupervised": True,
    "committee": True, "centre-loss": True, "rnn-sentiment": None, "regularization-lab": False,
    "explain-demo": True, "deconv-inversion": True, "cnn-cifar10": None, "fer": None,
}
# experiments whose owners call training_report themselves; until they do, an xfail says so (never a skip);
# not strict, so the day they produce the blocks the run shows XPASS and they move to COVERED
EXPECTED_TO_JOIN: dict[str, str] = {
}


def _params():
    out = []
    for e in TRAINING:
        marks = [pytest.mark.xfail(strict=False, reason=EXPECTED_TO_JOIN[e.name])] if e.name in EXPECTED_TO_JOIN else []
        out.append(pytest.param(e, id=e.name, marks=marks))
    return out


def test_every_training_experiment_is_listed():
    """A new training experiment must be added to COVERED (or, with a reason, to EXPECTED_TO_JOIN)."""
    names = {e.name for e in TRAINING}
    assert names == set(COVERED) | set(EXPECTED_TO_JOIN), names ^ (set(COVERED) | set(EXPECTED_TO_JOIN))
    assert not set(COVERED) & set(EXPECTED_TO_JOIN)


def _smoke_run(exp, tmp_path: Path) -> Path:
    cfg_file = tmp_path / "smoke.yaml"
    cfg_file.write_text(dump_yaml(preset(exp)))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tamrin", "run", exp.name, "--config", str(cfg_file), "--no-pdf", "--out", str(out)],
                       env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _tagged(sections, tag):
    return [b for s in sections for b in s.blocks if getattr(b, "tag", "") == tag]


def _counts(v) -> list[int]:
    """An optimizer-steps cell: an int, text starting with the number ("1,234 per member"), or one
    "model: number" per model separated by semicolons ("bow: 6; lstm: 6")."""
    if isinstance(v, int):
        return [v]
    out = []
    for part in str(v).split(";"):
        m = re.match(r"\s*(?:[^:]+:\s*)?([\d,]+)\b", part)
        assert m, f"optimizer steps is not a number: {v!r}"
        out.append(int(m.group(1).replace(",", "")))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("exp", _params())
def test_smoke_report_has_the_standard_blocks(exp, tmp_path):
    run_dir = _smoke_run(exp, tmp_path)
    _, sections = load_sections(run_dir / "sections.json")

    curves = _tagged(sections, "curves")
    assert curves, "no loss/accuracy curves figure (tag 'curves')"
    for f in curves:
        assert (run_dir / f.path).is_file(), f.path

    splits = ["train", "validation"]
    has_test = COVERED.get(exp.name)  # the owners' experiments: a test split when their run evaluated one
    if has_test is None:
        has_test = any(run_dir.glob("metrics*test*.json"))
    if has_test:
        splits.append("test")
    for split in splits:
        figs = _tagged(sections, f"confusion:{split}")
        assert figs, f"no confusion matrix for the {split} split (tag 'confusion:{split}')"
        assert all((run_dir / f.path).is_file() for f in figs)

    settings = _tagged(sections, "settings")
    assert settings, "no settings table (tag 'settings')"
    for t in settings:
        items = {str(r[0]): r[1] for r in t.rows}
        missing = [k for k in REQUIRED_SETTINGS if k not in items]
        assert not missing, f"settings table lacks {missing}"
        assert min(_counts(items["optimizer steps"])) > 0
        for k, v in items.items():
            assert v not in (None, "") and str(v) not in ("nan", "None"), (k, v)  # "none" in words is fine
    assert _tagged(sections, "metrics"), "no accuracy table per split (tag 'metrics')"
    assert _tagged(sections, "split-sizes"), "no split statistics (tag 'split-sizes')"

    assert report_defects((run_dir / "report.html").read_text()) == [], "the report prints nan/None or an absolute path"
