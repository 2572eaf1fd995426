"""Explanations of a small CNN trained (in seconds, fixed seed) on a task with known evidence; the CLI,
the report section builder and the explain-demo experiment on that model."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from tamrin.errors import UserError
from tamrin.explain import explain, explain_sections, hooks_left, load_model_from_run
from tamrin.explain.cli import main as explain_main
from tamrin.explain.report import explain_all, region_statistics
from tamrin.explain.stats import mass_in_region, threshold_iou
from tamrin.explain.synthetic import CLASSES, TinyGapCNN, accuracy, make_localized, train_quick
from tamrin.runs import Run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x, y, _ = make_localized(800, seed=0)
    model = train_quick(TinyGapCNN(1, 3, width=8), x, y, epochs=3, lr=1e-2, seed=0)
    xv, yv, mv, dv = make_localized(200, seed=1, with_distractor=True)
    return model, xv, yv, mv, dv


def test_gradcam_mass_sits_on_the_evidence(trained):
    model, xv, yv, mv, dv = trained
    assert accuracy(model, xv, yv) > 0.9
    area = mv.mean()
    for method in ("gradcam", "gradcam++", "cam"):
        e = explain(model, xv, method)
        iou = threshold_iou(e.maps, mv, 0.5)
        mass = mass_in_region(e.maps, mv)
        assert iou.mean() >= 0.5, (method, iou.mean())
        assert np.nanmean(mass) > 4 * area  # far more than a uniform map would put there
        assert np.nanmean(mass_in_region(e.maps, dv)) < 0.1 * np.nanmean(mass)  # the salient distractor is ignored
    assert hooks_left(model) == 0


def _write_run(tmp_path, model, spec=True):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    ck = {"model": model.state_dict(), "classes": CLASSES}
    if spec:
        ck["model_spec"] = model.model_spec
    torch.save(ck, run_dir / "checkpoints" / "net.pt")
    (run_dir / "run.json").write_text(json.dumps({"experiment": "explain-demo"}))
    return run_dir


def test_cli_writes_a_grid_and_reports_errors(trained, tmp_path, capsys):
    model, xv, *_ = trained
    run_dir = _write_run(tmp_path, model)
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(3):
        Image.fromarray((xv[i, 0].clamp(0, 1).numpy() * 255).astype(np.uint8)).save(imgs / f"{i}.png")
    rebuilt = load_model_from_run(run_dir)
    torch.testing.assert_close(rebuilt(xv[:4]), model(xv[:4]))

    assert explain_main([str(run_dir), "--images", str(imgs), "--method", "guided-gradcam", "--class", "1"]) == 0
    assert (run_dir / "explain" / "guided-gradcam.png").stat().st_size > 1000
    out = tmp_path / "g.png"
    assert explain_main([str(run_dir), "--images", str(imgs / "0.png"), str(imgs / "1.png"), "--layer", "features.4", "--out", str(out)]) == 0
    assert out.exists()
    assert explain_main([str(run_dir), "--list-layers"]) == 0
    assert "features.9  (default)" in capsys.readouterr().out

    with pytest.raises(UserError, match="no such image"):
        explain_main([str(run_dir), "--images", str(tmp_path / "missing.png")])
    with pytest.raises(UserError, match="unknown layer"):
        explain_main([str(run_dir), "--images", str(imgs), "--layer", "nope"])
    with pytest.raises(UserError, match="no checkpoint"):
        explain_main([str(tmp_path / "imgs"), "--images", str(imgs)])
    with pytest.raises(UserError, match="model_spec"):
        load_model_from_run(_write_run(tmp_path / "nospec", model, spec=False))
    from tamrin.explain.checkpoint import build_model

    with pytest.raises(UserError):  # a registry name: tamrin.models.create, or a clear error without it
        build_model({"name": "no-such-model", "kwargs": {}})
    with pytest.raises(UserError, match="cannot import"):
        build_model({"name": "tamrin.explain.synthetic:Nope"})
    from tamrin.cli import main as tamrin_main  # the top-level CLI turns them into exit code 2

    assert tamrin_main(["explain", str(run_dir), "--images", str(tmp_path / "missing.png")]) == 2


def test_report_section_numbers_come_from_the_data(trained, tmp_path):
    model, *_ = trained
    xh, yh, mh = make_localized(90, seed=5, noise=0.45)  # noisy: some wrong predictions
    run = Run(tmp_path / "r", quiet=True)
    secs = explain_sections(run, model, xh, yh.numpy(), CLASSES, region_mask=mh, region_name="evidence patch")
    maps, preds, _, _ = explain_all(model, xh)
    st = region_statistics(maps, mh, yh.numpy(), preds)
    assert 0 < st["correct"]["n_images"] < 90  # both groups present
    text = " ".join(b.text for b in secs[0].blocks if b.kind == "text")
    assert f"{100 * st['correct']['mass_mean']:.1f}%" in text and f"{100 * st['wrong']['mass_mean']:.1f}%" in text
    figs = [b for b in secs[0].blocks if b.kind == "figure"]
    assert len(figs) == 2 and all((run.path / f.path).exists() for f in figs)
    table = [b for b in secs[0].blocks if b.kind == "table"][0]
    assert [r[0] for r in table.rows] == CLASSES and sum(r[1] for r in table.rows) == 90
    # default region: the central box; uint8 (N, H, W, C) images are accepted too
    u8 = (xh.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert "central box" in explain_sections(run, model, u8[:12], yh.numpy()[:12], CLASSES)[0].blocks[0].text


def test_explain_demo_quick_and_resume(tmp_path):
    from tamrin.experiments.explain_demo import EXPERIMENT, Config

    from tamrin.train import TrainConfig

    cfg = Config(n_train=120, n_val=24, width=4, show=3, train=TrainConfig(epochs=1, batch_size=64, optimizer="adam", lr=1e-2, progress=False))
    run = Run(tmp_path / "demo", quiet=True)
    secs = EXPERIMENT.run(cfg, run)
    assert (run.path / "checkpoints" / "tiny_gap_cnn.pt").exists()
    assert len(secs) == 4 and secs[0].blocks[3].kind == "table" and len(secs[0].blocks[3].rows) == 5
    assert {"curves", "confusion:train", "confusion:validation", "confusion:test", "settings"} <= {b.tag for b in secs[3].blocks
                                                                                                  if hasattr(b, "tag")}
    assert "trained on 120" in secs[0].blocks[0].text
    again = EXPERIMENT.run(cfg, Run(tmp_path / "demo", quiet=True))  # resume: the finished model is loaded
    assert again[0].blocks[3].rows[1][1] == secs[0].blocks[3].rows[1][1]  # same model, same Grad-CAM IoU
    assert load_model_from_run(run.path) is not None
