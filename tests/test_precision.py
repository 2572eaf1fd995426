"""Mixed precision and deterministic mode in tamrin.train.fit (CPU: bf16 autocast, fp16 + GradScaler)."""
import json
import os

import pytest
import torch
import torch.nn as nn

from tamrin.errors import UserError
from tamrin.runs import Run
from tamrin.train import TrainConfig, fit
from tamrin.train.precision import _use_deterministic_algorithms, amp_dtype, configure_determinism, make_scaler
from tamrin.train.fit import TIMING_KEYS


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long()
    return x, y


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 2))


def _strip(h):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in h]


@pytest.fixture
def restore_determinism():
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    _use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]


def test_dtype_choice_per_device():
    assert amp_dtype(torch.device("cpu")) == torch.bfloat16
    assert amp_dtype(torch.device("cuda")) == torch.float16
    assert amp_dtype(torch.device("cpu"), "fp16") == torch.float16
    assert not make_scaler(torch.device("cpu"), True).is_enabled()  # bf16 needs no loss scaling
    assert make_scaler(torch.device("cpu"), True, "fp16").is_enabled()
    assert not make_scaler(torch.device("cpu"), False, "fp16").is_enabled()
    with pytest.raises(UserError, match="amp_dtype"):
        TrainConfig(amp_dtype="fp8").validate()


def test_deterministic_switches(restore_determinism):
    configure_determinism(True, "cpu")
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark
    assert torch.is_deterministic_algorithms_warn_only_enabled()  # a missing deterministic kernel warns, never stops a run
    configure_determinism(False, "cpu")
    assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark


def test_deterministic_mode_sets_cublas_workspace_on_cuda(monkeypatch, restore_determinism):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    configure_determinism(True, "cuda")  # only sets flags and the variable: no GPU needed
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_bf16_autocast_trains_and_runs_in_bf16(tmp_path, restore_determinism):
    x, y = _data()
    seen = []
    model = _cnn()
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.1, amp=True, progress=False)
    res = fit(model, (x[:200], y[:200]), (x[200:], y[200:]), cfg, Run(tmp_path, quiet=True))
    assert torch.bfloat16 in seen  # the convolution really ran in bfloat16
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_fp16_gradscaler_state_is_checkpointed_and_resumed(tmp_path, restore_determinism):
    """fp16 autocast + GradScaler on CPU (the CUDA code path): interrupting after epoch 1 and resuming
    gives the uninterrupted history, and the scaler's scale is in the checkpoint."""
    x, y = _data()
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.1, amp=True, amp_dtype="fp16", progress=False)
    ref = fit(_cnn(), (x[:200], y[:200]), (x[200:], y[200:]), cfg, Run(tmp_path / "ref", quiet=True), tag="m")
    ck = torch.load(tmp_path / "ref" / "checkpoints" / "m.pt", weights_only=True)
    assert ck["scaler"]["scale"] > 0 and "_growth_tracker" in ck["scaler"]

    def crash(rec):  # called right after the epoch's checkpoint is written: a kill at that moment
        if rec["epoch"] == 1:
            raise KeyboardInterrupt

    run = Run(tmp_path / "cut", quiet=True)
    with pytest.raises(KeyboardInterrupt):
        fit(_cnn(), (x[:200], y[:200]), (x[200:], y[200:]), cfg, run, tag="m", callbacks=[crash])
    res = fit(_cnn(seed=9), (x[:200], y[:200]), (x[200:], y[200:]), cfg, Run(tmp_path / "cut", quiet=True), tag="m")
    assert res.resumed_from == 1
    assert _strip(res.history) == _strip(ref.history)
    lines = [json.loads(s) for s in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]


def test_epoch_record_without_its_checkpoint_is_not_duplicated(tmp_path):
    """A kill between logging epoch 1 and writing its checkpoint leaves a record and no checkpoint;
    the rerun starts clean instead of logging epoch 1 twice."""
    x, y = _data()
    run = Run(tmp_path, quiet=True)
    run.log(tag="m", epoch=1, train_loss=123.0)  # the orphan record
    run.log(tag="other", epoch=1, train_loss=1.0)  # another model's record stays
    fit(_cnn(), (x, y), None, TrainConfig(epochs=1, batch_size=64, progress=False), Run(tmp_path, quiet=True), tag="m")
    recs = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["tag"], r["epoch"]) for r in recs] == [("other", 1), ("m", 1)]
    assert recs[1]["train_loss"] != 123.0
