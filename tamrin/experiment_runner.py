"""Runs an experiment into a run folder: config, environment, seeding, the experiment itself, then
sections.json and the rendered reports. Also `run all` (one combined report) and `--resume`."""
from __future__ import annotations

import time
import traceback
from pathlib import Path

import yaml

from tamrin.config import dump_yaml, from_dict, to_dict
from tamrin.errors import UserError
from tamrin.report.render import render_combined, render_run_dir
from tamrin.report.sections import Section, save_sections
from tamrin.runs import Run, atomic_write_json, atomic_write_text, environment, new_run_dir
from tamrin.seed import seed_everything


def _execute(exp, cfg, run_dir: Path, pdf: bool, resumed: bool = False) -> Path:
    run = Run(run_dir, exp.name)
    if resumed:
        # per-epoch records ("epoch" field) are reconciled with the checkpoints by the training loops;
        # every other record is a summary that the resumed experiment logs again (no duplicates)
        run.truncate_metrics(lambda r: "epoch" in r)
    if run.is_writer:
        atomic_write_text(run_dir / "config.yaml", dump_yaml(cfg))
        atomic_write_json(run_dir / "run.json", {"experiment": exp.name, "status": "running", "resumed": resumed})
        atomic_write_json(run_dir / "env.json", environment(getattr(cfg, "seed", None)))
    seed_everything(int(getattr(cfg, "seed", 0)))
    train_cfg = getattr(cfg, "train", None)
    if hasattr(train_cfg, "deterministic"):  # before any GPU work: cuBLAS reads its setting at start-up
        from tamrin.train.precision import configure_determinism

        configure_determinism(bool(train_cfg.deterministic), str(getattr(train_cfg, "device", "cpu")).replace("auto", "cuda"))
    run.info(f"== {exp.name}: {exp.description}\n   run folder: {run_dir}")
    t0 = time.time()
    sections = exp.run(cfg, run)
    elapsed = time.time() - t0
    if not run.is_writer:
        return run_dir
    meta = {
        "experiment": exp.name,
        "title": f"{exp.name}: {exp.description}",
        "description": exp.description,
        "exercise": exp.exercise,
        "config": to_dict(cfg),
        "notices": run.notices,
        "env": environment(getattr(cfg, "seed", None)),
        "seconds": elapsed,
    }
    save_sections(run_dir / "sections.json", sections, meta)
    render_run_dir(run_dir, pdf=pdf)
    atomic_write_json(run_dir / "run.json", {"experiment": exp.name, "status": "done", "resumed": resumed, "seconds": elapsed})
    return run_dir


def run_experiment(exp, cfg, out_root: Path, pdf: bool = True, run_dir: Path | None = None) -> Path:
    from tamrin.train import distributed as D

    # under torchrun: rank 0 makes the folder, every rank works in it, only rank 0 writes
    D.init_from_env(getattr(getattr(cfg, "train", None), "device", "cpu"))
    if run_dir is None:
        run_dir = D.broadcast_object(new_run_dir(out_root, exp.name) if D.is_main() else None)
    return _execute(exp, cfg, Path(run_dir), pdf)


def resume_run(run_dir: Path, pdf: bool = True) -> Path:
    from tamrin import registry

    info_path = run_dir / "run.json"
    if not info_path.exists() or not (run_dir / "config.yaml").exists():
        raise UserError(f"--resume: {run_dir} is not a run folder (needs run.json and config.yaml)")
    import json

    name = json.loads(info_path.read_text())["experiment"]
    exp = registry.get(name)
    cfg = from_dict(exp.config, yaml.safe_load((run_dir / "config.yaml").read_text()) or {})
    from tamrin.train import distributed as D

    D.init_from_env(getattr(getattr(cfg, "train", None), "device", "cpu"))
    return _execute(exp, cfg, run_dir, pdf, resumed=True)


def run_all(exps, configs: dict, out_root: Path, pdf: bool = True) -> tuple[Path, list[str]]:
    parent = new_run_dir(out_root, "all")
    children, failures = [], []
    for exp in exps:
        child = parent / exp.name
        child.mkdir()
        try:
            _execute(exp, configs[exp.name], child, pdf=pdf)
        except UserError:
            raise
        except Exception as e:  # one failing experiment must not lose the others' reports
            failures.append(exp.name)
            tb = traceback.format_exc()
            atomic_write_text(child / "error.txt", tb)
            sec = Section(f"{exp.name}: FAILED").notice(f"{type(e).__name__}: {e}").text("Traceback saved in error.txt of this experiment's folder.")
            save_sections(child / "sections.json", [sec], {"experiment": exp.name, "title": f"{exp.name} (failed)", "config": to_dict(configs[exp.name]), "notices": []})
            print(tb)
        children.append(child)
    render_combined(parent, children, pdf=pdf)
    return parent, failures
