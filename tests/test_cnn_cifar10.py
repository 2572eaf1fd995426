"""cnn-cifar10 end to end on tiny synthetic images (the CIFAR loader is replaced; no real data needed)."""
import dataclasses
import json

import pytest
import torch

from tamrin.data import synthetic_images
from tamrin.errors import SplitNotFound, UserError
from tamrin.experiments import cnn_cifar10 as exp
from tamrin.experiments.cnn_cifar10 import data as exp_data
from tamrin.runs import Run
from tamrin.train import TrainConfig


def fake_loader(data_dir="", split="train", run=None, fallback=True):
    if split != "train":
        raise SplitNotFound("no test split")
    return synthetic_images(n=160, size=32, num_classes=10, channels=3, seed=0)


def test_cnn_cifar10_tiny_run(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setattr(exp_data, "load_cifar10", fake_loader)
    cfg = dataclasses.replace(
        exp.Config.quick(), models=("mobilenet_v1", "inception"), sweeps=True, widths=(0.25, 0.125), sizes=(32, 16), subset=0,
        val_fraction=0.2, latency_repeats=1, cost_channels=(8, 16),
        train=TrainConfig(epochs=1, batch_size=64, lr=0.05, threads=1, progress=False))
    cfg.validate()
    sections = exp.run(cfg, Run(tmp_path, "cnn-cifar10", quiet=True))
    titles = [s.title for s in sections]
    assert titles[:6] == ["Summary", "Data and recipe", "Model comparison", "Training report: the compared models",
                          "Width and resolution multipliers", "Depthwise-separable vs full convolution"]
    assert "What a 1x1 convolution computes" in titles and "Test split" not in titles
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


def _tiny(models=("fast_cnn",), **kw):
    return dataclasses.replace(
        exp.Config.smoke(), models=models, subset=0, val_fraction=0.2, latency_repeats=1, cost_channels=(8,), **kw)


def test_fast_cnn_row_and_accuracy_against_time(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setattr(exp_data, "load_cifar10", fake_loader)
    cfg = _tiny(sweeps=False)
    cfg.validate()
    sections = exp.run(cfg, Run(tmp_path, "cnn-cifar10", quiet=True))
    titles = [s.title for s in sections]
    assert "Width and resolution multipliers" not in titles  # sweeps switched off
    res = json.loads((tmp_path / "results.json").read_text())
    (row,) = res["models"]
    assert row["model"] == "fast_cnn" and row["steps"] == 6 and row["epochs"] == 2 and row["train_s"] > 0
    assert 0 <= row["val_tta_acc"] <= 1 and res["width_sweep"] == [] and res["test"] is None
    assert (tmp_path / "figures" / "accuracy_vs_time.png").exists()
    comp = next(s for s in sections if s.title == "Model comparison")
    assert any("Accuracy against" in str(b) or "wall-clock" in str(b) for b in comp.blocks)


def _relabelled(ds, keep):
    """ds restricted to the class indices `keep`, with its own class list (as a test folder lacking classes reads)."""
    import numpy as np

    from tamrin.data.dataset import ArrayDataset

    mask = np.isin(ds.labels, keep)
    mapping = {c: i for i, c in enumerate(keep)}
    return ArrayDataset(ds.images[mask], np.array([mapping[int(v)] for v in ds.labels[mask]]),
                        [ds.classes[c] for c in keep], "fake test split")


def test_test_split_is_matched_by_class_name_and_reported(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    train = fake_loader()

    def loader(data_dir="", split="train", run=None, fallback=True):
        return train if split == "train" else _relabelled(synthetic_images(n=80, size=32, num_classes=10, channels=3, seed=5),
                                                          list(range(1, 10)))  # no class 0 ("airplane")

    monkeypatch.setattr(exp_data, "load_cifar10", loader)
    cfg = _tiny(sweeps=False)
    run = Run(tmp_path, "cnn-cifar10", quiet=True)
    _, _, _, test, tds = exp_data.load_data(cfg, run)
    assert tds.classes == train.classes and int(test[1].min()) >= 1  # class 1 stays class 1, never relabelled 0
    with pytest.warns(UserWarning, match="no images of class"):
        sections = exp.run(cfg, Run(tmp_path / "r", "cnn-cifar10", quiet=True))
    assert "Test split" in [s.title for s in sections]
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    assert res["test"]["n"] == len(test[1]) and 0 <= res["models"][0]["test_acc"] <= 1
    assert "test_macro_f1" in res["models"][0]


def test_unknown_test_class_and_broken_test_folder_are_errors(tmp_path, monkeypatch):
    from PIL import Image

    train = fake_loader()
    bad = _relabelled(synthetic_images(n=40, size=32, num_classes=10, channels=3, seed=5), [0, 1])
    bad.classes = [train.classes[0], "zebra"]
    monkeypatch.setattr(exp_data, "load_cifar10", lambda d="", split="train", run=None, fallback=True: train if split == "train" else bad)
    with pytest.raises(UserError, match="zebra"):
        exp_data.load_data(_tiny(), Run(tmp_path / "a", "cnn-cifar10", quiet=True))
    # a test folder that exists but cannot be read is an error, not "no test split"
    folder = tmp_path / "mytest"
    (folder / train.classes[0]).mkdir(parents=True)
    (folder / train.classes[1]).mkdir()
    Image.new("RGB", (32, 32)).save(folder / train.classes[0] / "a.png")
    (folder / train.classes[1] / "b.png").write_bytes(b"not an image")
    monkeypatch.setattr(exp_data, "load_cifar10", lambda d="", split="train", run=None, fallback=True: train if split == "train"
                        else (_ for _ in ()).throw(SplitNotFound("none")))
    cfg = _tiny(test_dir=str(folder))
    _, _, _, test, tds = exp_data.load_data(cfg, Run(tmp_path / "b", "cnn-cifar10", quiet=True))
    assert len(test[1]) == 1 and tds.skipped  # the unreadable file is reported, the readable one used
    (folder / train.classes[0] / "a.png").unlink()
    with pytest.raises(UserError):
        exp_data.load_data(cfg, Run(tmp_path / "c", "cnn-cifar10", quiet=True))
    with pytest.raises(UserError, match="does not exist"):
        exp_data.load_data(_tiny(test_dir=str(tmp_path / "nowhere")), Run(tmp_path / "d", "cnn-cifar10", quiet=True))


def test_scatter_labels_do_not_overlap():
    from tamrin.experiments.cnn_cifar10 import figures as cf

    pts = {"width alpha": [(10e6, 0.50, "a=1.0"), (10.5e6, 0.505, "a=0.75"), (11e6, 0.50, "a=0.5")],
           "resolution rho": [(10.2e6, 0.502, "32px"), (10.8e6, 0.498, "28px")], "models": [(10.3e6, 0.501, "mobilenet_v1")]}
    fig = cf.accuracy_vs_macs(pts)
    ax = fig.axes[0]
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts]
    assert len(boxes) == 6
    overlaps = sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert overlaps <= 1  # six labels within 10% on x and 1 point on y: at most one pair may still touch


def test_demo_lists_what_it_leaves_out():
    """The quick preset drops what cannot be meaningful in seconds and says so, with the command that runs it all."""
    from tamrin.experiments.cnn_cifar10.report import left_out_text

    quick = exp.Config.quick()
    assert "mobilenet_v2" not in quick.models and not quick.sweeps
    text = left_out_text(quick)
    assert "mobilenet_v2" in text and "sweeps of mobilenet_v1" in text and "--preset cpu" in text
    assert "91 min" in text  # 900 + 5 x 600 + 4 x 390 s of budgets
    assert left_out_text(exp.Config.cpu()) == ""
    assert left_out_text(dataclasses.replace(exp.Config.cpu(), sweeps=False)).startswith("Not in this run: the width")


def test_a_budgeted_sweep_is_read_as_accuracy_per_second_not_capacity():
    """At one wall-clock budget for every setting, alpha 0.25 beat alpha 1.0 in the cpu preset (65.8% vs 58.1%, 7 vs 4
    epochs): the text must say which question such a sweep answers, in each branch."""
    from tamrin.experiments.cnn_cifar10.report import budget_reading

    def row(width, macs, acc, epochs, chance=False, size=32):
        return {"width": width, "size": size, "macs": macs, "val_acc": acc, "epochs": epochs, "at_chance": chance}

    cheap_wins = budget_reading(390, "width", [row(1.0, 12e6, 0.5814, 4), row(0.25, 1e6, 0.6584, 7)])
    assert "same 390 s" in cheap_wins and "alpha=1.0 4, alpha=0.25 7" in cheap_wins
    assert "alpha=0.25, ends 7.70 points above alpha=1.0" in cheap_wins and "does not measure" in cheap_wins
    dear_wins = budget_reading(390, "resolution", [row(1, 12e6, 0.5162, 3, size=32), row(1, 3e6, 0.4392, 3, size=16)])
    assert "32px 3, 16px 3" in dear_wins and "Even so 32px ends 7.70 points above 16px" in dear_wins
    assert budget_reading(0, "width", [row(1.0, 12e6, 0.5, 4), row(0.25, 1e6, 0.6, 7)]) == ""  # no budget: epochs were equal
    assert budget_reading(390, "width", [row(1.0, 12e6, 0.1, 1, chance=True), row(0.25, 1e6, 0.6, 7)]) == ""  # nothing to compare
