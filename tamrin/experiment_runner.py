"""Runs an experiment into a run folder: config, environment, seeding, the experiment itself, then
sections.json and the rendered reports. Also `run all` (one combined report) and `--resume` of either.

The run folder records who the report is for (the student) and the preset (full / quick / smoke / custom),
so a resumed run and `tamrin report` render the same pages."""
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
from tamrin.student import Student

BUNDLE = "all"  # run.json's "experiment" of a multi-experiment folder


def preset_of(exp, cfg, quick: bool = False) -> str:
    """'smoke' / 'quick' when the config is that preset (--quick with overrides stays 'quick'), 'full' for the
    defaults, else 'custom'."""
    cls = exp.config
    if hasattr(cls, "smoke") and cfg == cls.smoke():
        return "smoke"
    if quick or (hasattr(cls, "quick") and cfg == cls.quick()):
        return "quick"
    for name in getattr(cls, "PRESETS", ()):
        if name not in ("quick", "smoke") and callable(getattr(cls, name, None)) and cfg == getattr(cls, name)():
            return name
    return "full" if cfg == cls() else "custom"


def read_run_info(run_dir: Path) -> dict:
    """A run folder's run.json ({} when missing or unreadable)."""
    import json

    try:
        return json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def _execute(exp, cfg, run_dir: Path, pdf: bool, resumed: bool = False, preset: str | None = None,
             student: Student | None = None) -> Path:
    run = Run(run_dir, exp.name)
    recorded = read_run_info(run_dir)
    preset = preset or recorded.get("preset") or preset_of(exp, cfg)
    student = student if student is not None else Student.from_dict(recorded.get("student"))
    info = {"experiment": exp.name, "preset": preset, "student": student.to_dict(), "resumed": resumed}
    if resumed:
        # per-epoch records ("epoch" field) are reconciled with the checkpoints by the training loops;
        # every other record is a summary that the resumed experiment logs again (no duplicates)
        run.truncate_metrics(lambda r: "epoch" in r)
    if run.is_writer:
        atomic_write_text(run_dir / "config.yaml", dump_yaml(cfg))
        atomic_write_json(run_dir / "run.json", {**info, "status": "running"})
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
        "preset": preset,
        "student": student.to_dict(),
        "data_sources": run.data_sources,
    }
    save_sections(run_dir / "sections.json", sections, meta)
    render_run_dir(run_dir, pdf=pdf)
    atomic_write_json(run_dir / "run.json", {**info, "status": "done", "seconds": elapsed})
    return run_dir


def run_experiment(exp, cfg, out_root: Path, pdf: bool = True, run_dir: Path | None = None, preset: str | None = None,
                   student: Student | None = None) -> Path:
    from tamrin.train import distributed as D

    # under torchrun: rank 0 makes the folder, every rank works in it, only rank 0 writes
    D.init_from_env(getattr(getattr(cfg, "train", None), "device", "cpu"))
    if run_dir is None:
        run_dir = D.broadcast_object(new_run_dir(out_root, exp.name) if D.is_main() else None)
    return _execute(exp, cfg, Path(run_dir), pdf, preset=preset, student=student)


def resume_run(run_dir: Path, pdf: bool = True, student: Student | None = None) -> Path:
    """Continue an interrupted run (or a whole `run all` folder) where it stopped."""
    from tamrin import registry

    info = read_run_info(run_dir)
    if info.get("experiment") == BUNDLE:
        return resume_all(run_dir, pdf, student)
    if not info or not (run_dir / "config.yaml").exists():
        raise UserError(f"--resume: {run_dir} is not a run folder (needs run.json and config.yaml)")
    exp = registry.get(info["experiment"])
    cfg = from_dict(exp.config, yaml.safe_load((run_dir / "config.yaml").read_text()) or {})
    from tamrin.train import distributed as D

    D.init_from_env(getattr(getattr(cfg, "train", None), "device", "cpu"))
    return _execute(exp, cfg, run_dir, pdf, resumed=True, student=student)


def run_all(exps, configs: dict, out_root: Path, pdf: bool = True, quick: bool = False,
            student: Student | None = None, assignments: list[str] | None = None, name: str = BUNDLE) -> tuple[Path, list[str]]:
    """Every experiment into a sub-folder of one parent folder, then one combined report. The parent's run.json
    and every child's config.yaml are written first, so a killed `run all` can be finished with --resume.

    With `assignments` (tamrin.bundle): the answer key of those assignments is computed first, and the report
    follows the assignments' question order."""
    parent = new_run_dir(out_root, name)
    student = student or Student()
    presets = {e.name: preset_of(e, configs[e.name], quick) for e in exps}
    for exp in exps:
        (parent / exp.name).mkdir()
        atomic_write_text(parent / exp.name / "config.yaml", dump_yaml(configs[exp.name]))
    atomic_write_json(parent / "run.json", {"experiment": BUNDLE, "status": "running", "experiments": [e.name for e in exps],
                                            "presets": presets, "student": student.to_dict(),
                                            **({"assignments": assignments} if assignments else {})})
    return parent, _run_children(parent, exps, configs, presets, pdf, student)


def resume_all(parent: Path, pdf: bool = True, student: Student | None = None) -> Path:
    from tamrin import registry

    info = read_run_info(parent)
    exps = [registry.get(n) for n in info.get("experiments", [])]
    configs = {}
    for e in exps:
        p = parent / e.name / "config.yaml"
        if not p.exists():
            raise UserError(f"--resume: {p} is missing; this `run all` folder cannot be resumed")
        configs[e.name] = from_dict(e.config, yaml.safe_load(p.read_text()) or {})
    student = student if student is not None else Student.from_dict(info.get("student"))
    _run_children(parent, exps, configs, info.get("presets", {}), pdf, student, resumed=True)
    return parent


def _run_children(parent: Path, exps, configs: dict, presets: dict, pdf: bool, student: Student,
                  resumed: bool = False) -> list[str]:
    info = read_run_info(parent)
    if info.get("assignments"):
        from tamrin.bundle import compute_answers

        compute_answers(parent, info["assignments"])
    children, failures = [], []
    for exp in exps:
        child = parent / exp.name
        state = read_run_info(child)
        children.append(child)
        if state.get("status") == "done" and (child / "sections.json").exists():
            continue  # finished before the interruption: not run again
        # an experiment that had started resumes from its checkpoints; one that failed or never started runs anew
        again = resumed and state.get("status") == "running"
        try:
            _execute(exp, configs[exp.name], child, pdf=pdf, resumed=again, preset=presets.get(exp.name), student=student)
        except UserError:
            raise
        except Exception as e:  # one failing experiment must not lose the others' reports
            failures.append(exp.name)
            tb = traceback.format_exc()
            atomic_write_text(child / "error.txt", tb)
            sec = Section(f"{exp.name}: FAILED").notice(f"{type(e).__name__}: {e}").text("Traceback saved in error.txt of this experiment's folder.")
            save_sections(child / "sections.json", [sec], {"experiment": exp.name, "title": f"{exp.name} (failed)", "config": to_dict(configs[exp.name]), "notices": []})
            print(tb)
    render_folder(parent, pdf=pdf, student=student)
    info = read_run_info(parent)
    atomic_write_json(parent / "run.json", {**info, "status": "done", "failures": failures, "student": student.to_dict()})
    return failures


def render_folder(parent: Path, pdf: bool = True, student: Student | None = None) -> None:
    """Re-render a multi-experiment folder: an assignment bundle in question order, else the combined report."""
    info = read_run_info(parent)
    if info.get("assignments"):
        from tamrin.bundle import render_bundle

        render_bundle(parent, pdf=pdf, student=student)
    else:
        render_combined(parent, [parent / n for n in info.get("experiments", [])], pdf=pdf, student=student)
