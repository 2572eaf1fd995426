"""The fer experiment end to end on a tiny synthetic image folder (3 classes of 16x16 RGB, a test split):
proves nothing assumes 7 classes, 48 px or greyscale. Also: cached features equal recomputation."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from tamrin.data.fer import face_folder
from tamrin.errors import UserError
from tamrin.experiments._fer_transfer import cached_features, pretrained_backbone, transfer_model
from tamrin.experiments.fer import Config, TransferConfig, _adam, run, train_stage
from tamrin.data.face_augment import FaceAugment
from tamrin.models import create
from tamrin.experiment_runner import run_experiment
from tamrin.registry import get
from tamrin.report.sections import load_sections
from tamrin.runs import Run

torch.set_num_threads(1)


def make_folder(root, classes=("calm", "grin", "wow"), size=16, per_split=None):
    rng = np.random.default_rng(0)
    per_split = per_split or {"train": 10, "validation": 6, "test": 4}
    for split, n in per_split.items():
        for k, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                a = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                a[:, :, k] += 150  # the class is the dominant colour channel: learnable in a few steps
                Image.fromarray(a).save(root / split / name / f"{i}.png")
    (root / "train" / classes[1] / "broken.png").write_bytes(b"not a png")


def tiny_config(data_dir, pretrained=""):
    t = lambda e=1: _adam(e, 1e-3, 8, progress=False)  # noqa: E731
    return Config(data_dir=str(data_dir), image_size=16, compact=t(2), gap=t(1), explain_per_class=3, compact_width=0.25,
                  augment=FaceAugment(), transfer=TransferConfig(size=16, width=0.125, cifar_images=50, pretrain=t(1),
                                                                 head=t(2), finetune=t(1), head_hidden=8, pretrained=pretrained))


def test_experiment_end_to_end_on_tiny_rgb_folder(tmp_path, monkeypatch):
    save = Run.save_figure  # every figure is still drawn and written, at a low resolution (the machine is shared)
    monkeypatch.setattr(Run, "save_figure", lambda self, fig, name, dpi=120: save(self, fig, name, dpi=25))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))  # CIFAR-10 -> the synthetic stand-in, fast
    make_folder(tmp_path / "faces")
    cfg = tiny_config(tmp_path / "faces")
    cfg.validate()
    exp = get("fer")
    out = run_experiment(exp, cfg, tmp_path / "runs", pdf=False)  # the CLI's code path, HTML report included
    res = json.loads((out / "results.json").read_text())
    assert [m["tag"] for m in res["models"]] == ["hg_vgg", "hg_vgg_gap", "vgg16"]
    assert res["classes"] == ["calm", "grin", "wow"] and res["train_images"] == 30
    for m in res["models"]:
        assert 0 <= m["acc"] <= 1 and m["params"] > 0 and m["latency_ms"] > 0
        assert "test_acc" in m  # the optional test/ split is evaluated
    meta, sections = load_sections(out / "sections.json")
    titles = " | ".join(s.title for s in sections).lower()
    for words in ("comparison", "class balance", "augmentation", "cam", "grad-cam", "improvement", "vgg16 transfer (width-reduced ×0.125): test"):
        assert words in titles, words
    for fig in ("samples", "augmented", "class_balance", "hg_vgg_train_confusion", "hg_vgg_validation_roc",
                "vgg16_test_confusion", "explain_cam_examples", "explain_gradcam_examples"):
        assert (out / "figures" / f"{fig}.png").is_file(), fig
    assert (out / "cache" / "vgg16_features_train.pt").is_file() and (out / "report.html").is_file()
    # the CIFAR-10-pretrained backbone is saved (BN folded: plain VGG16 keys) and reusable by another run
    backbone = out / "cache" / "vgg16_cifar10_backbone.pt"
    saved = torch.load(backbone, weights_only=True)
    assert set(saved) >= {"state_dict", "mean", "std", "source"} and "folded" in saved["source"]
    assert all(k.startswith("features.") and "running" not in k for k in saved["state_dict"])
    reuse = tiny_config(tmp_path / "faces", pretrained=str(backbone))
    reuse.validate()  # a width-reduced file of our own is fine (only ImageNet files need width 1)
    pre = pretrained_backbone(reuse, Run(tmp_path / "other", "fer", quiet=True))
    assert pre["mean"] == tuple(saved["mean"]) and "loaded from" in pre["source"]
    model = transfer_model(reuse, 3, pre)
    torch.testing.assert_close(model.features[0].weight, saved["state_dict"]["features.0.weight"])
    with pytest.raises(UserError, match="does not fit"):  # saved for another width: one clear line, before training
        transfer_model(Config(transfer=TransferConfig(width=0.25, size=16, pretrained=str(backbone))), 3, pre)
    assert any("skipped" in n for n in meta["notices"]) and any("CIFAR-10" in n for n in meta["notices"])
    # `tamrin explain RUN_DIR` can rebuild the models from their checkpoints (model_spec + classes/input size)
    from tamrin.explain import load_model_from_run

    gap = load_model_from_run(out, "hg_vgg_gap")
    assert gap(torch.rand(2, 3, 16, 16)).shape == (2, 3)
    # resume: a rerun in the same folder retrains nothing (finished checkpoints) and reproduces the numbers
    run_experiment(exp, cfg, tmp_path / "runs", pdf=False, run_dir=out)
    again = json.loads((out / "results.json").read_text())["models"]
    assert [(m["acc"], m["macro_f1"]) for m in again] == [(m["acc"], m["macro_f1"]) for m in res["models"]]


def test_shared_archive_is_unpacked_once_into_the_cache(tmp_path, monkeypatch):
    import tarfile

    make_folder(tmp_path / "src" / "fer2013", per_split={"train": 1, "validation": 1})
    (tmp_path / "shared" / "fer2013").mkdir(parents=True)
    with tarfile.open(tmp_path / "shared" / "fer2013" / "fer2013-subset.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "fer2013", arcname="fer2013")
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "shared"))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    root = face_folder()
    assert root == tmp_path / "cache" / "fer2013-subset" / "fer2013" and (root / "validation" / "wow" / "0.png").is_file()
    (tmp_path / "shared" / "fer2013" / "fer2013-subset.tar.gz").unlink()  # the second call needs only the cache
    assert face_folder() == root
    assert face_folder(tmp_path / "src") == tmp_path / "src" / "fer2013"  # a wrapping folder is looked into


def test_config_errors_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match="width=1"):
        tiny_config(tmp_path, pretrained="vgg16-397923af.pth").validate()  # ImageNet weights need the full widths
    cfg = tiny_config(tmp_path)
    cfg.color_mode = "CMYK"
    with pytest.raises(UserError, match="color_mode"):
        cfg.validate()


def test_missing_validation_split_is_a_user_error(tmp_path):
    make_folder(tmp_path / "f", per_split={"train": 2})
    with pytest.raises(UserError, match="validation"):
        run(tiny_config(tmp_path / "f"), Run(tmp_path / "run", "fer", quiet=True))


def test_cached_features_equal_recomputation_and_head_matches_model(tmp_path):
    torch.manual_seed(0)
    model = create("vgg16", num_classes=4, width_mult=0.125, input_size=32, head="gap", head_hidden=8).eval()
    x = torch.rand(10, 3, 32, 32)
    path = tmp_path / "f.pt"
    first = cached_features(model, x, path)
    assert path.is_file() and first.shape == (10, model.num_features)
    with torch.no_grad():
        model.features[0].weight.add_(1.0)  # if the cache were ignored, the features would change
    torch.testing.assert_close(cached_features(model, x, path), first)
    with torch.no_grad():
        model.features[0].weight.sub_(1.0)
        torch.testing.assert_close(cached_features(model, x), first, rtol=1e-5, atol=1e-6)  # recomputed
        torch.testing.assert_close(model.classifier(first), model(x), rtol=1e-5, atol=1e-6)  # head on cache == full model


def test_stages_trained_elsewhere_are_reused_as_finished(tmp_path, monkeypatch):
    """benchmarks/fer.py --jobs 2: each model trained by train_stage in its own folder; the checkpoints,
    copied into one run folder, are found finished by `run` (no retraining: same history, no new epochs)."""
    import shutil

    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))
    make_folder(tmp_path / "faces", per_split={"train": 6, "validation": 3})
    cfg = tiny_config(tmp_path / "faces")
    cfg.transfer.enabled = False
    for stage in ("hg_vgg", "hg_vgg_gap"):
        assert train_stage(cfg, Run(tmp_path / stage, "fer", quiet=True), stage) > 0
        shutil.copytree(tmp_path / stage / "checkpoints", tmp_path / "main" / "checkpoints", dirs_exist_ok=True)
    main = Run(tmp_path / "main", "fer", quiet=True)
    run(cfg, main)
    assert not (tmp_path / "main" / "metrics.jsonl").is_file() or "epoch" not in (tmp_path / "main" / "metrics.jsonl").read_text()
    with pytest.raises(UserError, match="stage must be one of"):
        train_stage(cfg, main, "resnet")


def test_benchmark_table_states_budget_parallelism_and_target():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("fer_bench", Path(__file__).parents[1] / "benchmarks" / "fer.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cfg = bench.make_config(bench.parse(["--budget-min", "2", "--epochs", "3", "--no-transfer"]))
    assert cfg.compact.time_budget_s == 120 and cfg.compact.epochs == 3 and not cfg.transfer.enabled
    row = lambda tag, acc: {"tag": tag, "name": tag, "params": 10, "mb": 0.1, "latency_ms": 1.0, "seconds": 5.0,  # noqa: E731
                            "acc": acc, "macro_f1": 0.5, "kappa": 0.4, "auc": 0.8}
    r = {"date": "2026-11-22", "cpus": 2, "cpu": "x86_64", "torch": "2.13.0", "jobs": 2, "threads": 1,
         "load_average_at_end": (2.0, 2.0, 2.0), "train_images": 100, "classes": list("abc"), "image_size": 48,
         "transfer_size": 48, "transfer_width": 0.25, "budget_min_per_model": 30, "planned_epochs": 60,
         "pretrain_epochs": 6, "finetune_epochs": 35, "dropout": [0, 0], "augment": "face",
         "recipe": {k: "sgd" for k in ("compact", "gap", "pretrain", "finetune")}, "training_wall_s": 3500,
         "evaluation_wall_s": 90,
         "epochs_run": {"hg_vgg": 48}, "stage_wall_s": {"hg_vgg": 1850.0},
         "models": [row("hg_vgg", 0.5748), row("vgg16", 0.51)], "improvement": None}
    text = bench.table(r)
    assert "**met**" in text and "2 trainings at a time" in text and "hg_vgg 30.8 min" in text and "width ×0.25" in text
    assert "Training phase: 58.3 min" in text and "report: 1.5 min" in text
    r["models"] = [row("hg_vgg", 0.54)]
    assert "**NOT met**" in bench.table(r) and "no transfer model" in bench.table(r)
