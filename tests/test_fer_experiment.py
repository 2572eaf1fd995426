"""The fer experiment end to end on a tiny synthetic image folder (3 classes of 16x16 RGB, a test split):
proves nothing assumes 7 classes, 48 px or greyscale. Also: cached features equal recomputation."""
import dataclasses
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
    for fig in ("samples", "augmented", "class_balance", "hg_vgg_confusion_train", "hg_vgg_validation_roc",
                "vgg16_confusion_test", "explain_cam_examples", "explain_gradcam_examples"):
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
    titles = [sec.title for sec in run(cfg, main)]
    assert "VGG16 transfer: not in this run" in titles  # the left-out transfer is said, not silently missing
    assert not (tmp_path / "main" / "metrics.jsonl").is_file() or "epoch" not in (tmp_path / "main" / "metrics.jsonl").read_text()
    with pytest.raises(UserError, match="stage must be one of"):
        train_stage(cfg, main, "resnet")


def test_quick_leaves_the_transfer_out_under_its_question():
    """The demo's fer leaves the VGG16 transfer out (at chance in its seconds); the section saying so, with the command
    that trains it, lands under p4.q5b in an assignment report."""
    from tamrin import course
    from tamrin.bundle import assign_sections
    from tamrin.experiments._fer_transfer import left_out_section
    from tamrin.experiments.fer import Config

    cfg = Config.quick()
    assert not cfg.transfer.enabled and cfg.compact.threads == cfg.gap.threads == 2
    sec = left_out_section(0.25)
    assert "`tamrin run fer`" in sec.blocks[0].text and "×0.25" in sec.blocks[0].text
    placed = assign_sections(course.questions("p4"), {"fer": [sec]})
    assert [g[0].title for g in placed["p4.q5b"]] == [sec.title]


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


# ---------------------------------------------------------------- issue #16: the report's blocks, by caption and columns
def _tables(sections):
    """(section title, table) for every table of the report."""
    return [(s.title, b) for s in sections for b in s.blocks if b.kind == "table"]


def _table(sections, *columns):
    """The one table whose columns include all of `columns`, as a list of dicts."""
    hits = [b for _, b in _tables(sections) if all(c in b.columns for c in columns)]
    assert len(hits) == 1, (columns, [b.columns for _, b in _tables(sections)])
    return [dict(zip(hits[0].columns, r)) for r in hits[0].rows]


def _smoke_run(tmp_path, monkeypatch, classes=("calm", "grin", "wow")):
    save = Run.save_figure
    monkeypatch.setattr(Run, "save_figure", lambda self, fig, name, dpi=120: save(self, fig, name, dpi=25))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))
    make_folder(tmp_path / "faces", classes=classes)  # train/, validation/ and test/
    cfg = Config.smoke()
    cfg.data_dir = str(tmp_path / "faces")
    cfg.validate()
    out = run_experiment(get("fer"), cfg, tmp_path / "runs", pdf=False)
    return cfg, out, json.loads((out / "results.json").read_text()), load_sections(out / "sections.json")[1]


def test_smoke_report_deviations_counts_test_split_and_improvements(tmp_path, monkeypatch):
    cfg, out, res, sections = _smoke_run(tmp_path, monkeypatch)
    rows = {m["tag"]: m for m in res["models"]}
    with torch.device("meta"):  # the real VGG16 for the course's 8 classes, counted independently here
        real = sum(p.numel() for p in create("vgg16", num_classes=8, input_size=224).parameters())
        paper = sum(p.numel() for p in create("hg_vgg", num_classes=8, input_size=128, in_chans=3).parameters())
    assert real == res["reference_vgg16_params"] > 100_000_000

    # 1. size table: every trained network named with its input and classes, plus the real VGG16 (not trained)
    size = _table(sections, "network counted", "parameters")
    by_net = {r["network counted"]: r for r in size}
    assert by_net["VGG16, 224×224×3 input, 8 classes"]["parameters"] == real
    assert by_net["VGG16, 224×224×3 input, 8 classes"]["training time (s)"] == "not trained"
    hg = rows["hg_vgg"]
    assert hg["network"] == "Compact VGG (Hewitt & Gunes), 24×24×3 input, 3 classes"
    assert by_net[hg["network"]]["parameters"] == hg["params"]
    # 2. the compact VGG's count is the same number wherever it appears, and each place names the network
    arch = [b for s in sections if s.title == "Architecture" for b in s.blocks]
    totals = [b.rows[-1][3] for b in arch if b.kind == "table"]
    texts = [b.text for b in arch if b.kind == "text"]
    assert totals[0] == hg["params"] and f"({hg['network']})" in texts[0] and f"**{hg['params']:,}**" in texts[0]
    dev = {r["item"]: r for r in _table(sections, "item", "assignment (p4.q5)", "this run")}
    assert dev["compact VGG: parameters"]["this run"] == f"{hg['params']:,} (24×24×3 input, 3 classes)"
    assert dev["compact VGG: parameters"]["assignment (p4.q5)"].startswith(f"{paper:,} ")
    # every deviation, from the config and the model objects
    assert dev["number of classes"]["this run"] == 3 and dev["number of classes"]["assignment (p4.q5)"] == 8
    assert dev["compact VGG (q5c): input"]["this run"] == "24×24×3" and dev["compact VGG (q5c): input"]["assignment (p4.q5)"] == "128×128×3"
    assert dev["compact VGG: flatten width (first dense layer's inputs)"]["this run"].startswith("128 (1×1×128)")
    assert dev["compact VGG: flatten width (first dense layer's inputs)"]["assignment (p4.q5)"] == "2,048"
    assert dev["VGG16 (q5b): input"]["this run"] == f"{cfg.transfer.size}×{cfg.transfer.size}×3"
    assert dev["VGG16: width multiplier"]["this run"] == f"{cfg.transfer.width:g}"
    assert dev["VGG16: pretraining data"]["this run"] == "CIFAR-10, pretrained in this run"
    assert dev["VGG16: parameters"]["this run"].startswith(f"{rows['vgg16']['params']:,} ")
    # "most/fewest" wording follows the counts; the compact VGG is not called the biggest when it is not
    words = " ".join(b.text for s in sections for b in s.blocks if b.kind in ("text", "notice"))
    assert "biggest" not in words
    big = max(res["models"], key=lambda m: m["params"])
    small = min(res["models"], key=lambda m: m["params"])
    assert f"{big['name']} the most ({big['params']:,}" in words and f"{small['name']} has the fewest parameters ({small['params']:,}" in words

    # 3. image counts before and after augmentation, per class and in total, side by side
    counts = _table(sections, "class", "training images (before augmentation)")
    per = {r["class"]: r["training images (before augmentation)"] for r in counts}
    assert per == {"calm": 10, "grin": 10, "wow": 10, "total": 30}  # grin/broken.png skipped
    col = next(c for c in counts[0] if c.startswith("augmented images seen: Compact VGG (Hewitt & Gunes)"))
    epochs = int(col.rsplit("(", 1)[1].split()[0])
    assert epochs == cfg.compact.epochs and all(  # smoke: 3 steps x 32 >= 30 images, so each epoch sees them all
        r[col] == epochs * r["training images (before augmentation)"] for r in counts)
    assert res["augmentation_counts"]["before"] == 30

    # 4. the test split in the headline table, the confusion matrices' headings and both improvements
    head = _table(sections, "model", "split", "accuracy")
    assert {(r["model"], r["split"]) for r in head} == {(m["name"], sp) for m in res["models"] for sp in ("validation", "test")}
    assert all(r["accuracy"] == rows[t]["splits"][r["split"]]["accuracy"] for t in rows for r in head if r["model"] == rows[t]["name"])
    titles = [s.title for s in sections]
    gap_report = next(s for s in sections if s.title == "Training report: Compact VGG, GAP head")  # the standard report
    assert {b.tag for b in gap_report.blocks if b.kind == "figure"} >= {"curves", "confusion:train", "confusion:validation",
                                                                      "confusion:test"}
    captions = [b.caption for s in sections for b in s.blocks if b.kind in ("figure", "table")]
    assert not [t for t in titles + captions if "hg_vgg" in t or "vgg16_" in t]  # no internal tags in headings or captions
    for title in ("An improvement suggested by the CAM statistics, tried and measured", "An improvement not derived from the maps: flip test-time augmentation, measured"):
        sec = next(s for s in sections if s.title == title)
        tab = next(b for b in sec.blocks if b.kind == "table")
        assert {r[0] for r in tab.rows} == {"validation", "test"} and "change" in tab.columns
    # the CAM-derived change is the one the Grad-CAM statistics point to
    st = json.loads((out / "explain_gradcam_stats.json").read_text())
    diff = st["correct"]["mass_mean"] - st["wrong"]["mass_mean"]
    assert res["cam_improvement"]["kind"] == ("border-mask" if diff > 0 else "centre-zoom")
    assert set(res["cam_improvement"]) >= {"validation", "test"} and "test" in res["improvement"]

    # 6. the VGG16 stage kept is the better one on validation, and the report says which
    ts = res["transfer_stages"]
    assert ts["kept"] == ("finetune" if ts["finetune_val_acc"] >= ts["head_val_acc"] else "head")
    assert abs(rows["vgg16"]["acc"] - max(ts["head_val_acc"], ts["finetune_val_acc"])) <= 1 / 18 + 1e-9  # within one image
    assert ("head-only model is kept" if ts["kept"] == "head" else "fine-tuned model is kept") in words

    # no nan / None in any table cell or sentence
    cells = [str(v) for _, b in _tables(sections) for r in b.rows for v in r]
    assert not [c for c in cells if c.lower() in ("nan", "none")]
    import re

    assert not re.search(r"\bnan\b|\bNone\b", words)


def test_cam_grid_labels_every_row_heads_columns_and_explains_empty_cells(tmp_path):
    """A model that predicts class 0 for everything: class 0 has no wrong predictions, the others no correct ones;
    each empty cell says so inside it, every row carries its true class, the columns are headed."""
    from tamrin.explain.report import explain_sections

    torch.manual_seed(0)
    model = create("hg_vgg_gap", num_classes=3, input_size=16, in_chans=3, drop_conv=0, drop_fc=0).eval()
    with torch.no_grad():
        model.classifier[-1].bias.copy_(torch.tensor([50.0, 0.0, 0.0]))
    x, y = torch.rand(9, 3, 16, 16), np.repeat(np.arange(3), 3)
    figs = {}
    run = Run(tmp_path / "r", "fer", quiet=True)
    run.save_figure = lambda fig, name, dpi=120: figs.setdefault(name, fig) and tmp_path / f"{name}.png"  # keep the figure
    secs = explain_sections(run, model, x, y, ["calm", "grin", "wow"], method="cam")
    fig = figs["explain_cam_examples"]
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"][:12]  # 3 rows x 4 columns
    assert [axes[4 * r].get_ylabel() for r in range(3)] == ["true: calm", "true: grin", "true: wow"]
    heads = [t.get_text() for a in axes[:4] for t in a.texts if t.get_text() in ("correct", "wrong")]
    assert heads == ["correct", "correct", "wrong", "wrong"]
    inside = lambda a: " ".join(t.get_text() for t in a.texts).replace("\n", " ")  # noqa: E731
    assert "no wrong prediction of calm among its 3 explained images" in inside(axes[2])
    assert "no correct prediction of grin among its 3 explained images" in inside(axes[4])
    assert not axes[0].texts or inside(axes[0]) in ("correct",)  # a filled cell: an image, no reason text
    tab = next(b for b in secs[0].blocks if b.kind == "table")
    cells = {r[0]: r for r in tab.rows}
    assert cells["calm"][4] == "no wrong predictions" and cells["grin"][3] == "no correct predictions"
    assert not [v for r in tab.rows for v in r if isinstance(v, float) and v != v]  # no NaN cell


def test_cam_hypothesis_follows_the_sign_of_the_mass_difference():
    from tamrin.experiments._fer_improve import border_mask, cam_hypothesis, centre_zoom

    g = lambda m, se, n: {"mass_mean": m, "mass_se": se, "n": n}  # noqa: E731
    off = cam_hypothesis({"correct": g(0.6, 0.01, 50), "wrong": g(0.4, 0.01, 30)}, "Grad-CAM", "M")
    assert off["kind"] == "border-mask" and off["clear"] and "+20.0 points" in off["why"]
    inside = cam_hypothesis({"correct": g(0.40, 0.05, 5), "wrong": g(0.45, float("nan"), 1)}, "Grad-CAM", "M")
    assert inside["kind"] == "centre-zoom" and not inside["clear"] and "not clear" in inside["why"]
    assert cam_hypothesis({"correct": g(0.5, 0.01, 10), "wrong": g(float("nan"), float("nan"), 0)}, "Grad-CAM", "M") is None
    x = torch.rand(2, 1, 8, 8)
    m = border_mask(x, keep=0.5)
    torch.testing.assert_close(m[..., 2:6, 2:6], x[..., 2:6, 2:6])  # the centre is untouched
    torch.testing.assert_close(m[..., 0, 0], x.mean((2, 3)))        # the border is the image's mean
    c = torch.zeros(1, 1, 8, 8)
    c[..., 2:6, 2:6] = 1.0
    assert centre_zoom(c, keep=0.5).min() == 1.0  # the centre box fills the whole image


def test_kept_stage_sentence_and_size_text_branches():
    from types import SimpleNamespace

    from tamrin.experiments._fer_eval import size_text
    from tamrin.experiments.fer import kept_text

    ft = SimpleNamespace(best_val_acc=0.30)
    assert "head-only model is kept" in kept_text({"head_val_acc": 0.35, "finetune": ft, "kept": "head"})
    assert "fine-tuned model is kept" in kept_text({"head_val_acc": 0.25, "finetune": ft, "kept": "finetune"})
    assert "a tie keeps" in kept_text({"head_val_acc": 0.30, "finetune": ft, "kept": "finetune"})
    assert "head-only model" in kept_text({"head_val_acc": 0.30, "finetune": None, "kept": "head"})
    r = lambda n, p: {"name": n, "params": p, "mb": p * 4e-6, "latency_ms": 1.0, "acc": 0.5}  # noqa: E731
    assert "all have 10 parameters" in size_text([r("a", 10), r("b", 10)], None)
    t = size_text([r("a", 10), r("b", 30), r("c", 30)], ("VGG16 ref", "VGG16, 224×224×3 input, 8 classes", 3000))
    assert "a has the fewest" in t and "b and c the most (30" in t and "100x the largest" in t


def test_augmentation_counts_are_epochs_times_images_seen_per_epoch():
    from tamrin.experiments._fer_assign import augmentation_counts

    full, capped = _adam(3, 1e-3, 10), _adam(2, 1e-3, 10, max_steps_per_epoch=2)  # capped: 20 of 40 images per epoch
    cols, rows = augmentation_counts({"a": 30, "b": 10}, [("full", 3, full), ("capped", 2, capped)])
    assert cols[1] == "training images (before augmentation)" and cols[2].endswith("full (3 epochs)")
    assert rows == [["a", 30, 90, 30], ["b", 10, 30, 10]]


def test_comparison_text_reports_the_test_split_when_it_was_evaluated():
    from tamrin.experiments._fer_eval import comparison_section

    def row(name, params, val, test):
        sp = lambda a: {"accuracy": a, "macro_f1": a - 0.1, "kappa": 0.3, "auc_macro": 0.8}  # noqa: E731
        return {"name": name, "network": f"{name}, 48×48×1 input, 7 classes", "params": params, "mb": params * 4e-6,
                "latency_ms": 1.0, "seconds": 2.0, "acc": val, "macro_f1": val - 0.1, "at_chance": False,
                "splits": {"validation": sp(val), "test": sp(test)}}
    s = comparison_section([row("A", 100, 0.55, 0.50), row("B", 300, 0.52, 0.53)], "anchors", 0.2,
                           ("VGG16 ref", "VGG16, 224×224×3 input, 8 classes", 30000))
    text = " ".join(b.text for b in s.blocks if b.kind == "text")
    assert "best validation accuracy is 55.0% (A" in text
    assert "On the test split the best is 53.0% (B, not the validation winner); A scores 50.0% there." in text
    assert "B the most (300" in text and "100x the largest network trained here" in text
    head = next(b for b in s.blocks if b.kind == "table" and "split" in b.columns)
    assert [(r[0], r[1]) for r in head.rows] == [("A", "validation"), ("A", "test"), ("B", "validation"), ("B", "test")]


def _class_folders(root, classes, n=2, size=16):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / name / f"{i}.png")


def test_test_dir_key_and_class_matching_by_name(tmp_path):
    """test_dir names a test split elsewhere; its class folders are matched to train's by name (a missing class keeps
    the other numbers), and a class train does not have is an error."""
    from tamrin.experiments._fer_data import load_face_data

    make_folder(tmp_path / "faces", per_split={"train": 4, "validation": 3})
    _class_folders(tmp_path / "elsewhere" / "heldout", ("grin", "wow"))
    cfg = dataclasses.replace(tiny_config(tmp_path / "faces"), test_dir=str(tmp_path / "elsewhere" / "heldout"))
    with pytest.warns(UserWarning, match="no images of class"):
        d = load_face_data(cfg, None)
    assert d.classes == ["calm", "grin", "wow"] and sorted(set(d.y["test"].tolist())) == [1, 2]
    _class_folders(tmp_path / "odd" / "heldout", ("grin", "zebra"))
    with pytest.raises(UserError, match="zebra"):
        load_face_data(dataclasses.replace(cfg, test_dir=str(tmp_path / "odd" / "heldout")), None)
    with pytest.raises(UserError, match="test_dir"):
        load_face_data(dataclasses.replace(cfg, test_dir=str(tmp_path / "nowhere")), None)
