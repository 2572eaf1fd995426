import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from tamrin.errors import UserError
from tamrin.runs import Run
from tamrin.train import DivergedError, TrainConfig, fit, load_checkpoint, load_model_state
from tamrin.train.fit import TIMING_KEYS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("_train_script.py")


def _data(n=400, d=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def _model(seed=0, d=10):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))


def _metrics(path):
    return [json.loads(line) for line in (Path(path) / "metrics.jsonl").read_text().splitlines()]


def _strip(recs):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in recs]


def test_learns_and_selects_best(tmp_path):
    x, y = _data()
    cfg = TrainConfig(epochs=5, batch_size=32, lr=0.1, progress=False)
    res = fit(_model(), (x[:300], y[:300]), (x[300:], y[300:]), cfg, Run(tmp_path, quiet=True), tag="m")
    assert res.best_val_acc > 0.85
    assert res.best_val_acc == max(h["val_acc"] for h in res.history)
    assert len(res.history) == 5 and (tmp_path / "checkpoints" / "m.pt").exists()


def test_epoch_lines_print_accuracy_only_for_classification(tmp_path, capsys):
    """A regression (deconv-inversion's pixel decoders train with MSE) has no accuracy: its epoch lines used to say
    "acc 0.0000", which reads like a broken model."""
    import torch.nn.functional as F

    x, y = _data()
    cfg = TrainConfig(epochs=1, batch_size=32, lr=0.01, progress=False)
    fit(_model(), (x[:300], y[:300]), (x[300:], y[300:]), cfg, Run(tmp_path / "c"), tag="cls")
    reg = fit(nn.Linear(10, 3), (x[:300], x[:300, :3] * 2), None, cfg, Run(tmp_path / "r"), tag="reg", loss_fn=F.mse_loss)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if " epoch 1:" in ln]
    cls_line, reg_line = (next(ln for ln in lines if f"{t} epoch" in ln) for t in ("cls", "reg"))
    assert " acc " in cls_line and "val loss" in cls_line
    assert "train loss" in reg_line and " acc " not in reg_line
    assert reg.history[0]["classification"] is False


def test_same_seed_identical_metrics(tmp_path):
    x, y = _data()
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.1, progress=False)
    a = fit(_model(), (x[:300], y[:300]), (x[300:], y[300:]), cfg, Run(tmp_path / "a", quiet=True), seed=3)
    b = fit(_model(), (x[:300], y[:300]), (x[300:], y[300:]), cfg, Run(tmp_path / "b", quiet=True), seed=3)
    assert _strip(a.history) == _strip(b.history)


def test_checkpoint_is_weights_only_and_finished_tag_not_retrained(tmp_path):
    x, y = _data()
    cfg = TrainConfig(epochs=2, batch_size=64, progress=False)
    run = Run(tmp_path, quiet=True)
    m = _model()
    fit(m, (x, y), None, cfg, run, tag="t")
    ck = torch.load(tmp_path / "checkpoints" / "t.pt", weights_only=True)
    assert ck["finished"] and ck["epoch"] == 2
    m2 = _model(seed=5)
    res = fit(m2, (x, y), None, cfg, run, tag="t")  # loads, does not train again
    assert res.resumed_from == 2
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_nan_loss_stops_with_clear_message_and_keeps_last_good_checkpoint(tmp_path):
    x, y = _data()
    model = _model()

    def poison(rec):  # after epoch 1, the weights blow up: epoch 2's loss is nan
        if rec["epoch"] == 1:
            with torch.no_grad():
                model[0].weight.fill_(float("nan"))

    cfg = TrainConfig(epochs=3, batch_size=100, lr=0.1, schedule="none", progress=False)
    run = Run(tmp_path, quiet=True)
    with pytest.raises(DivergedError) as e:
        fit(model, (x, y), None, cfg, run, tag="bad", callbacks=[poison])
    msg = str(e.value)
    assert "loss became nan at epoch 2" in msg and "\n" not in msg and "last good checkpoint" in msg
    ck = torch.load(tmp_path / "checkpoints" / "bad.pt", weights_only=True)
    assert ck["epoch"] == 1  # the checkpoint written at the end of epoch 1 is kept, with finite weights
    assert all(torch.isfinite(v).all() for v in ck["model"].values())


def test_checkpoint_from_another_model_is_a_clear_error(tmp_path):
    x, y = _data()
    run = Run(tmp_path, quiet=True)
    fit(_model(), (x, y), None, TrainConfig(epochs=1, progress=False), run, tag="a")
    other = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(UserError, match="does not match this model"):
        load_model_state(other, load_checkpoint(tmp_path / "checkpoints" / "a.pt")["model"])
    with pytest.raises(UserError, match="cannot read checkpoint"):
        (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
        load_checkpoint(tmp_path / "junk.pt")


def test_early_stopping(tmp_path):
    x, y = _data()
    y_val = torch.randint(0, 2, (100,), generator=torch.Generator().manual_seed(1))  # unlearnable validation
    cfg = TrainConfig(epochs=30, batch_size=64, lr=0.05, early_stopping=2, progress=False)
    res = fit(_model(), (x[:300], y[:300]), (x[300:], y_val), cfg, Run(tmp_path, quiet=True))
    assert res.stopped_early and len(res.history) < 30


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    """The acceptance test of issue #2 §6: same final metrics bit for bit after a SIGKILL and a resume."""
    ref = tmp_path / "ref"
    out = subprocess.run([sys.executable, str(SCRIPT), str(ref), "0", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert "DONE" in out.stdout, out.stderr
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(killed), "0.01", str(ROOT)])
    ck = killed / "checkpoints" / "net.pt"
    deadline = time.time() + 60
    while not ck.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.15)  # now inside epoch 2 (16 batches x 10 ms)
    proc.kill()
    proc.wait()
    assert ck.exists()
    partial = torch.load(ck, weights_only=True)
    assert not partial["finished"], "the kill came too late to test anything"
    out = subprocess.run([sys.executable, str(SCRIPT), str(killed), "0", str(ROOT)], capture_output=True, text=True, timeout=120)
    assert "DONE" in out.stdout, out.stderr
    assert _strip(_metrics(killed)) == _strip(_metrics(ref))
    a = torch.load(ref / "checkpoints" / "net.pt", weights_only=True)["model"]
    b = torch.load(ck, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
