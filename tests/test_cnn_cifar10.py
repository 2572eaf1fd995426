"""cnn-cifar10 end to end on tiny synthetic images (the CIFAR loader is replaced; no real data needed)."""
import dataclasses
import json

import pytest
import torch

from tamrin.data import synthetic_images
from tamrin.errors import UserError
from tamrin.experiments import cnn_cifar10 as exp
from tamrin.runs import Run
from tamrin.train import TrainConfig


def fake_loader(data_dir="", split="train", run=None, fallback=True):
    if split != "train":
        raise UserError("no test split")
    return synthetic_images(n=160, size=32, num_classes=10, channels=3, seed=0)


def test_cnn_cifar10_tiny_run(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setattr(exp, "load_cifar10", fake_loader)
    cfg = dataclasses.replace(
        exp.Config.quick(), models=("mobilenet_v1", "inception"), widths=(0.25, 0.125), sizes=(32, 16), subset=0,
        val_fraction=0.2, latency_repeats=1, cost_channels=(8, 16),
        train=TrainConfig(epochs=1, batch_size=64, lr=0.05, threads=1, progress=False))
    cfg.validate()
    sections = exp.run(cfg, Run(tmp_path, "cnn-cifar10", quiet=True))
    titles = [s.title for s in sections]
    assert titles[:5] == ["Summary", "Data and recipe", "Model comparison", "Width and resolution multipliers",
                          "Depthwise-separable vs full convolution"] and "What a 1x1 convolution computes" in titles
    res = json.loads((tmp_path / "results.json").read_text())
    assert [r["model"] for r in res["models"]] == ["mobilenet_v1", "inception"]
    for r in res["models"]:
        assert r["onnx_max_diff"] < 1e-4 and r["torch_ms_b1"] > 0 and r["size_mb"] > 0
        assert (tmp_path / "onnx" / f"{r['tag']}.onnx").exists()
    # sweeps: alpha=0.25 reuses the compared model; the others were trained at their own width / size
    assert [r["width"] for r in res["width_sweep"]] == [0.25, 0.125]
    assert res["width_sweep"][1]["macs"] < res["width_sweep"][0]["macs"]
    assert [r["size"] for r in res["size_sweep"]] == [32, 16]
    assert res["size_sweep"][1]["macs"] * 3.5 < res["size_sweep"][0]["macs"]  # ~ (16/32)^2
    for r in res["separable_cost"]:
        assert r["macs_ratio"] == pytest.approx(1 / r["channels"] + 1 / 9)


def test_config_errors():
    with pytest.raises(UserError, match="unknown model"):
        dataclasses.replace(exp.Config(), models=("resnet",)).validate()
    with pytest.raises(UserError, match="sizes"):
        dataclasses.replace(exp.Config(), sizes=(64,)).validate()
