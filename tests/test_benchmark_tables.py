"""The benchmark scripts' tables and harness rules, on synthetic results (no training)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import cifar10_budget as CB  # noqa: E402
import cifar10_preset as CP  # noqa: E402
import ff as FFB  # noqa: E402
import ff_peers as FP  # noqa: E402

ZEN4 = {"cpu": "AMD EPYC", "cores": 2, "native_bf16": True, "torch": "2.13.0+cpu", "platform": "x"}
ZEN3 = dict(ZEN4, native_bf16=False)


def _run(model="fast_cnn", budget=300, acc=0.86, **kw):
    r = {"model": model, "width": 1.0, "budget_s": budget, "train_s": budget, "val_acc": acc + 0.01, "val_acc_no_tta": acc,
         "tta": 2, "eval_s": 10.0, "epochs": 8, "steps": 700, "amp": True, "threads": 2, "curve": [[10, 0.5], [budget, acc]],
         "load_avg_start": 0.1, "load_avg_end": 2.0, "date": "2026-12-02T05:00:00+0000", "commit": "abc"}
    r.update(kw)
    return r


def test_budget_table_names_the_machine_of_each_run():
    res = {"machine": ZEN4, "runs": [_run(), _run("mobilenet_v1", 600, 0.7, eval_s=None, amp=False, machine=ZEN3,
                                                  source="cnn-cifar10 --preset cpu")]}
    md = CB.write_md(res)
    row_v1 = next(line for line in md.splitlines() if line.startswith("| mobilenet_v1"))
    assert "AMD EPYC (no bf16)" in row_v1 and "cnn-cifar10 --preset cpu" in row_v1 and "| 600 |" in row_v1
    row_fast = next(line for line in md.splitlines() if line.startswith("| fast_cnn"))
    assert "AMD EPYC (native bf16)" in row_fast and "benchmarks/cifar10_budget.py" in row_fast  # older runs: the file's machine
    assert "None" not in md and "nan" not in md


def test_targets_without_a_separate_tta_time():
    text = CB.targets_text([_run(budget=1800, acc=0.89, eval_s=None)])
    assert "90% in <= 30 min: NOT met" in text and "timed with the rest of its experiment" in text
    assert "80% in <= 5 min: not measured" in text


def _preset_results():
    def row(tag, model, width=1.0, size=32, budget=600, tta=0.71):
        r = {"tag": tag, "model": model, "width": width, "size": size, "budget_s": budget, "train_s": budget - 1.0,
             "epochs": 5, "steps": 800, "val_acc": 0.70, "amp": False, "threads": 2}
        if tta is not None:
            r["val_tta_acc"] = tta
        return r
    v1 = row("mobilenet_v1", "mobilenet_v1")
    return {"models": [row("fast_cnn", "fast_cnn", budget=900), v1],
            "width_sweep": [v1, row("mobilenet_v1_a0.5", "mobilenet_v1", width=0.5, budget=390, tta=None)],
            "size_sweep": [v1, row("mobilenet_v1_r16", "mobilenet_v1", size=16, budget=390, tta=None)]}


def test_preset_trainings_counted_once_and_merged_as_budget_runs():
    rows = CP.trainings(_preset_results())
    assert [r["tag"] for r in rows] == ["fast_cnn", "mobilenet_v1", "mobilenet_v1_a0.5", "mobilenet_v1_r16"]
    runs = CP.budget_rows(rows, {"fast_cnn": [[5, 0.4]]}, ZEN3, "cpu", "2026-12-02", "abc", (0.1, 2.0))
    assert [(r["model"], r["budget_s"]) for r in runs] == [("fast_cnn", 900), ("mobilenet_v1", 600)]  # sweeps stay out
    assert runs[0]["val_acc"] == 0.71 and runs[0]["val_acc_no_tta"] == 0.70 and runs[0]["curve"] == [[5, 0.4]]
    res = {"preset": "cpu", "machine": ZEN3, "date": "2026-12-02", "wall_s": 7300.0, "load_avg_start": 0.1,
           "load_avg_end": 2.0, "pdf": True, "n_train": 45000, "n_val": 5000, "trainings": rows}
    md = CP.table(res)
    assert "121.7 min" in md and "Target <= 2 hours: NOT met" in md and "report and PDF" in md
    assert CP.table({**res, "wall_s": 5400.0}).count("met") == 1 and "None" not in md


def test_ff_peer_batches_follow_the_peers_rule():
    x, y = torch.rand(40, 784), torch.arange(40) % 10
    batches = FP.peer_batches(x, y, 16, torch.Generator().manual_seed(0))
    assert len(batches) == 2  # drop_last=True: 40 images, two full batches of 16
    for inputs, labels in batches:
        yb = labels["class_labels"]
        assert torch.equal(inputs["pos_images"][:, :10].argmax(1), yb)
        assert (inputs["neg_images"][:, :10].argmax(1) != yb).all()
        assert torch.all(inputs["neg_images"][:, :10].sum(1) == 1)
        assert torch.all(inputs["neutral_sample"][:, :10] == 0.1)
        assert torch.equal(inputs["pos_images"][:, 10:], inputs["neg_images"][:, 10:])


def test_ff_peers_table_and_ff_line():
    res = {"env": {"cpu_count": 2, "versions": {"torch": "2.13.0+cpu"}, "time": "2026-12-02T05:00"}, "cpu": "AMD EPYC (avx2)",
           "epochs": 60, "n_train": 2707, "load_average_at_start": [0.7], "load_average_at_end": [1.0],
           "sec_per_epoch": {"tamrin": 0.5, "loewex": 0.75, "loewex_b50": 1.0},
           "per_round_sec_per_epoch": {"tamrin": [0.5], "loewex": [0.75], "loewex_b50": [1.0]},
           "test_err": {"tamrin": [0.069], "loewex": [0.0709], "loewex_b50": [0.0716]}}
    md = FP.table(res)
    assert "| 1.50x |" in md and "| 2.00x |" in md and "6.90%" in md
    line = FFB.peers_line({"sec_per_epoch": res["sec_per_epoch"]})
    assert "(1.50x)" in line and "(2.00x)" in line
    assert "not measured" in FFB.peers_line({})


@pytest.mark.parametrize("val30", [0.0397, 0.0500])
def test_ff_epochs_text_from_the_saved_runs(tmp_path, monkeypatch, val30):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    saved = {"experiments": {"supervised": {"results": {"ff_test": 0.0787, "bp_test": 0.0636, "ff_val": val30}}}}
    (tmp_path / "benchmarks" / "results" / "ff_30ep.json").write_text(json.dumps(saved))
    monkeypatch.setattr(FFB, "ROOT", tmp_path)
    text = FFB.epochs_text({"experiments": {"supervised": {"n_val": 302, "results": {"ff_val": 0.0331}}}})
    assert "+1.51 points" in text and "NOT met" in text
    images = round(abs(val30 - 0.0331) * 302)
    assert f"({images} images of 302)" in text
    assert ("rests on validation" in text) == (images >= 3)


def test_interrupted_preset_rows_come_from_the_metrics_log(tmp_path):
    from tamrin.experiments.cnn_cifar10 import Config

    log = [{"tag": "fast_cnn", "epoch": 1, "val_acc": 0.7, "elapsed_s": 400.0, "steps": 88},
           {"tag": "fast_cnn", "epoch": 2, "val_acc": 0.8, "elapsed_s": 890.0, "steps": 176},
           {"tag": "mobilenet_v1", "epoch": 1, "val_acc": 0.5, "elapsed_s": 590.0, "steps": 170},
           {"tag": "mobilenet_v1_a0.5", "epoch": 1, "val_acc": 0.4, "elapsed_s": 380.0, "steps": 200},
           {"tag": "mobilenet_v1_r16", "epoch": 1, "val_acc": 0.3, "elapsed_s": 385.0, "steps": 300}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in log))
    (tmp_path / "env.json").write_text(json.dumps({"torch_threads": 2}))
    rows = CP.trainings_from_metrics(tmp_path, Config.cpu())
    got = {r["tag"]: (r["part"], r["model"], r["width"], r["size"], r["budget_s"], r["epochs"], r["val_acc"]) for r in rows}
    assert got == {"fast_cnn": ("models", "fast_cnn", 1.0, 32, 900, 2, 0.8),
                   "mobilenet_v1": ("models", "mobilenet_v1", 1.0, 32, 600, 1, 0.5),
                   "mobilenet_v1_a0.5": ("width_sweep", "mobilenet_v1", 0.5, 32, 390, 1, 0.4),
                   "mobilenet_v1_r16": ("size_sweep", "mobilenet_v1", 1.0, 16, 390, 1, 0.3)}
    runs = CP.budget_rows(rows, {}, ZEN3, "cpu", "2026-12-02", None, (None, None))
    assert all(r["tta"] == 0 and r["val_acc"] == r["val_acc_no_tta"] for r in runs)
    md = CB.write_md({"machine": ZEN3, "runs": runs})
    assert "| — |" in md and "not recorded" in md and "None" not in md
    res = {"preset": "cpu", "machine": ZEN3, "date": "2026-12-02", "wall_s": 5520.0, "complete": False, "note": "Stopped.",
           "trainings": rows}
    text = CP.table(res)
    assert "**not measured**" in text and "92.0 min" in text and "Stopped." in text


def test_budget_runs_of_the_other_cpu_are_kept_and_old_rows_keep_the_files_machine(tmp_path, monkeypatch):
    """A rerun on a CPU without bf16 adds rows beside the bf16 ones (a budget buys ~3.7x fewer steps there); the same
    model, width, budget and CPU kind replaces. Rows recorded before per-run machines carry the file's, on load."""
    old = _run()  # no "machine": recorded under the file's
    p = tmp_path / "cifar10_budget.json"
    p.write_text(json.dumps({"machine": ZEN4, "runs": [old]}))
    monkeypatch.setattr(CB, "OUT", p)
    res = CB.load_results()
    assert res["runs"][0]["machine"] == ZEN4
    runs = CB.merge(res["runs"], _run(acc=0.7, machine=ZEN3))
    assert sorted(r["machine"]["native_bf16"] for r in runs) == [False, True]
    runs = CB.merge(runs, _run(acc=0.9, machine=ZEN4))
    assert len(runs) == 2 and next(r for r in runs if r["machine"]["native_bf16"])["val_acc_no_tta"] == 0.9


def test_gpu_check_script_runs_its_smoke_on_the_cpu(tmp_path, monkeypatch):
    """benchmarks/gpu_check.py is run once, unattended, on a lent GPU: its every path is tried here first (tiny)."""
    import gpu_check as G

    import tamrin.data
    from tamrin.data import synthetic_images

    monkeypatch.setattr(tamrin.data, "load_cifar10", lambda *a, **k: synthetic_images(n=300, size=32, num_classes=10,
                                                                                     channels=3, seed=0))
    torch.set_num_threads(1)
    assert G.main(["--device", "cpu", "--smoke", "--fast-epochs", "1,2", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["smoke"] and res["facts"]["device"] == "cpu" and len(res["fast_cnn"]) == 2
    for row in res["fast_cnn"] + [res["mobilenet_v2"]]:
        assert 0 <= row["val_acc_tta"] <= 1 and row["train_s"] > 0 and row["epochs"] == 1
    assert res["mobilenet_v2"]["all_epochs"] and "time_to_target_s" in res
    assert G.time_to_target([{"val_acc_tta": 0.95, "train_s": 9.0}, {"val_acc_tta": 0.941, "train_s": 7.0},
                             {"val_acc_tta": 0.93, "train_s": 5.0}])["train_s"] == 7.0
    assert G.time_to_target([{"val_acc_tta": 0.5, "train_s": 1.0}]) is None


def test_gpu_check_table_and_its_not_yet_measured_page():
    import gpu_check as G

    assert "Not measured yet" in G.write_md(None) and "Not measured yet" in G.write_md({"smoke": True})
    row = lambda e, acc, m="fast_cnn": {"model": m, "epochs": e, "planned_epochs": e, "train_s": 3.0 * e, "val_acc_tta": acc,  # noqa: E731
                                        "val_acc_no_tta": acc - 0.01, "amp": True, "all_epochs": False}
    res = {"smoke": False, "facts": {"device": "cuda", "gpu": "NVIDIA H200", "torch": "2.11", "cuda": "13.0", "cudnn": 91},
           "date": "2026-12-03", "n_train": 45000, "n_val": 5000, "target": 0.94, "time_to_target_s": 30.0,
           "fast_cnn": [row(8, 0.93), row(10, 0.941)], "mobilenet_v2": dict(row(40, 0.9, "mobilenet_v2"), planned_epochs=60)}
    md = G.write_md(res)
    assert "**30.0 s**" in md and "| mobilenet_v2 | 40 |" in md and "ran 40 of 60 epochs" in md
    assert "not reached" in G.write_md(dict(res, time_to_target_s=None))


def test_demo_timing_from_a_finished_run_folder(tmp_path):
    """benchmarks/demo.py reads a finished `tamrin run all` folder: per-experiment seconds, the answer key before them,
    the combined report after them; the page says met / NOT met against 10 minutes, per kind of CPU."""
    import os

    import demo as D

    run = tmp_path / "20261202-145720-all"
    start = D.datetime.strptime("20261202-145720", "%Y%m%d-%H%M%S").timestamp()
    (run / "answers").mkdir(parents=True)
    (run / "answers" / "answers.json").write_text("{}")
    os.utime(run / "answers" / "answers.json", (start + 14, start + 14))
    for i, (name, sec) in enumerate((("fer", 70.0), ("cnn-cifar10", 150.0))):
        (run / name).mkdir()
        (run / name / "run.json").write_text(json.dumps({"preset": "quick", "seconds": sec}))
        os.utime(run / name / "run.json", (start + 100 + 200 * i,) * 2)
    (run / "run.json").write_text(json.dumps({"status": "done", "experiments": ["fer", "cnn-cifar10"], "failures": []}))
    (run / "report.pdf").write_bytes(b"%PDF")
    os.utime(run / "report.pdf", (start + 350, start + 350))
    rec = D.record(run)
    assert rec["answers_s"] == 14 and rec["combined_report_s"] == 50 and rec["wall_s"] == 350
    assert [p["seconds"] for p in rec["experiments"]] == [70.0, 150.0]
    entry = {"machine": ZEN4, "date": "2026-12-02", "commit": "abc", "load_avg_start": 0.5, "load_avg_end": 1.2, **rec}
    md = D.write_md({"runs": [entry, dict(entry, machine=ZEN3, wall_s=757.0)]})
    assert "(native bf16), 2026-12-02: **5.8 min** (target met)" in md and "**12.6 min** (target NOT met)" in md
    assert md.index("cnn-cifar10 (quick)") < md.index("fer (quick)")  # longest first
    (run / "run.json").write_text(json.dumps({"status": "running", "experiments": []}))
    with pytest.raises(SystemExit, match="not a finished run"):
        D.record(run)
