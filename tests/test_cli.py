"""CLI behaviour a user meets first: listing, clear one-line errors, a full quick run, report re-rendering, resume."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tamrin.cli import main
from tamrin.train.fit import TIMING_KEYS

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, timeout=300, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAMRIN_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tamrin", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=kw.get("cwd", ROOT))


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "digits-mlp" in out and "exercise:" in out


@pytest.mark.parametrize("argv, words", [
    (["run", "nope"], ["unknown experiment 'nope'", "digits-mlp"]),
    (["run", "digits-mpl"], ["did you mean 'digits-mlp'"]),
    (["run", "digits-mlp", "--set", "train.lrr=1"], ["unknown config key train.lrr", "train.lr"]),
    (["run", "digits-mlp", "--set", "train.lr=fast"], ["train.lr", "not a float"]),
    (["run", "digits-mlp", "--set", "train.optimizer=lion"], ["train.optimizer", "sgd"]),
    (["run", "digits-mlp", "--data-dir", "/no/such/dir"], ["no such folder", "/no/such/dir"]),
    (["run", "digits-mlp", "--config", "/no/such.yaml"], ["config file not found"]),
    (["report", "/no/such/run"], ["not a finished run folder"]),
    (["run", "digits-mlp", "--resume", "/no/such/run"], ["not a run folder"]),
    (["frobnicate"], ["invalid choice", "run"]),
])
def test_user_errors_are_one_line_without_traceback(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for w in words:
        assert w in err


def test_user_error_exit_code_in_a_real_process():
    r = _cli("run", "nope")
    assert r.returncode == 2 and r.stderr.startswith("tamrin: error: unknown experiment") and "Traceback" not in r.stderr


def test_quick_run_writes_the_run_folder_and_report_rerenders(tmp_path):
    r = _cli("run", "digits-mlp", "--quick", "--set", "train.epochs=2", "--seed", "3", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "env.json", "metrics.jsonl", "checkpoints", "figures", "report.html", "report.pdf", "sections.json", "run.json"} <= names
    assert "seed: 3" in (run_dir / "config.yaml").read_text()
    env = json.loads((run_dir / "env.json").read_text())
    assert env["seed"] == 3 and "torch" in env["versions"]
    assert len([json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]) == 2
    assert list((run_dir / "figures").glob("*.png"))
    html_before = (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    (run_dir / "report.pdf").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.pdf").exists() and (run_dir / "report.html").read_text() == html_before


def test_sigkill_then_resume_from_the_cli_matches_uninterrupted(tmp_path):
    args = ["digits-mlp", "--quick", "--set", "train.epochs=3", "--set", "train_limit=1200", "--set", "hidden=[512,512]",
            "--set", "train.batch_size=16", "--no-pdf"]
    ref = _cli("run", *args, "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAMRIN_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tamrin", "run", *args, "--out", str(tmp_path / "killed")],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    ck = None
    while time.time() < deadline:
        found = list((tmp_path / "killed").glob("*/checkpoints/mlp.pt"))
        if found:
            ck = found[0]
            break
        time.sleep(0.05)
    assert ck is not None, "no checkpoint appeared"
    time.sleep(0.3)  # inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = ck.parent.parent
    assert not (run_dir / "report.html").exists()
    import torch

    assert not torch.load(ck, weights_only=True)["finished"], "the kill came too late to test a resume"
    r = _cli("run", "digits-mlp", "--resume", str(run_dir), "--no-pdf")
    assert r.returncode == 0, r.stderr[-3000:]

    def metrics(d):
        return [{k: v for k, v in json.loads(x).items() if k not in TIMING_KEYS}
                for x in (d / "metrics.jsonl").read_text().splitlines()]

    (ref_dir,) = list((tmp_path / "ref").iterdir())
    assert metrics(run_dir) == metrics(ref_dir)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "done"


def test_print_config_shows_every_key_with_overrides_applied(capsys):
    import yaml

    assert main(["run", "fer", "--print-config", "--set", "transfer.width=0.5", "--set", "gap.lr=0.01"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["transfer"]["width"] == 0.5 and cfg["gap"]["lr"] == 0.01
    assert {"compact", "gap", "transfer", "augment", "dropout_fc"} <= set(cfg)  # nested configs are listed in full
    assert main(["run", "fer", "--quick", "--print-config"]) == 0
    from tamrin.registry import get

    fer = get("fer").config
    assert fer.quick().train_per_class != fer().train_per_class  # --quick prints the quick preset's value
    assert yaml.safe_load(capsys.readouterr().out)["train_per_class"] == fer.quick().train_per_class
    assert main(["run", "all", "--print-config"]) == 2  # one line, exit 2
    assert "needs one experiment" in capsys.readouterr().err
