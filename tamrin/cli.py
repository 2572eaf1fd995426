"""`tamrin list | run | report | answers | calc | explain`.

User mistakes end with one line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from tamrin.errors import UserError

DEFAULT_OUT = "runs"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tamrin", description="tamrin: deep-learning course exercises as tested experiments with reports.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser("list", help="list the experiments and the exercises they implement")

    r = sub.add_parser("run", help="run an experiment (or 'all') and write its report")
    r.add_argument("experiment", help="experiment name from `tamrin list`; an assignment (hw2, hw4, p4, solA, solB): one report "
                   "in the course's question order; or 'all': every assignment and the solution-set checks")
    r.add_argument("--quick", action="store_true", help="the fast preset (small data, few epochs)")
    r.add_argument("--preset", default=None, metavar="NAME",
                   help="a named preset of the experiment (e.g. cnn-cifar10's 'cpu': every part within 2 hours on a 2-core CPU)")
    r.add_argument("--config", metavar="FILE.yaml", help="YAML file of config overrides")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="override a config field (repeatable), e.g. --set train.lr=0.1")
    r.add_argument("--seed", type=int, help="random seed")
    r.add_argument("--data-dir", help="where the data sets are (default: ../shared/data, $TAMRIN_DATA, download, embedded)")
    r.add_argument("--out", default=DEFAULT_OUT, help="folder for run folders (default: runs/)")
    r.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run in its folder")
    r.add_argument("--no-pdf", action="store_true", help="write only the HTML report")
    r.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration (every key --set accepts, with its value) as YAML and stop")
    add_student_options(r)

    rep = sub.add_parser("report", help="re-render a run's report from its folder, without training")
    rep.add_argument("run_dir")
    add_student_options(rep)

    from tamrin.answers.cli import add_parser as add_answers

    add_student_options(add_answers(sub))

    for name, help_ in (("calc", "layer calculator: shapes, parameters, multiply-adds, receptive fields"),
                        ("explain", "CAM / Grad-CAM maps for a trained run")):
        s = sub.add_parser(name, help=help_, add_help=False)
        s.add_argument("args", nargs=argparse.REMAINDER)
    return p


def add_student_options(p) -> None:
    p.add_argument("--student", metavar="'NAME SURNAME'", help="shown in the left of every page's header (default: "
                   "$TAMRIN_STUDENT, else `student:` in ~/.config/tamrin/config.yaml or $TAMRIN_CONFIG)")
    p.add_argument("--student-id", metavar="NUMBER", help="the student number, shown beside the name")


def _recorded_student(run_dir: Path):
    """The student a run folder recorded (run.json of a run or of a `run all` folder)."""
    from tamrin.experiment_runner import read_run_info
    from tamrin.student import Student

    return Student.from_dict(read_run_info(run_dir).get("student"))


def _assignment_keys():
    from tamrin import course

    return course.ASSIGNMENTS


def cmd_list() -> int:
    from tamrin.registry import discover

    exps = discover()
    width = max((len(n) for n in exps), default=10)
    for name, e in exps.items():
        print(f"{name:<{width}}  {e.description}")
        print(f"{'':<{width}}  exercise: {e.exercise}")
    return 0


def resolve_config(exp, args):
    """Defaults (or quick preset) <- YAML file <- --set <- --seed/--data-dir."""
    from tamrin.config import apply_overrides, load_yaml

    cfg = exp.default_config(quick=args.quick, preset=args.preset)
    cfg = apply_overrides(cfg, {})  # validates the defaults too
    if args.config:
        cfg = apply_overrides(cfg, load_yaml(args.config))
    if args.sets:
        cfg = apply_overrides(cfg, args.sets)
    if args.seed is not None:
        cfg = apply_overrides(cfg, {"seed": args.seed})
    if args.data_dir is not None:
        if not Path(args.data_dir).exists():
            raise UserError(f"--data-dir: no such folder: {args.data_dir}")
        cfg = apply_overrides(cfg, {"data_dir": args.data_dir})
    return cfg


def cmd_run(args) -> int:
    from tamrin import registry
    from tamrin.experiment_runner import run_all, run_experiment, resume_run

    from tamrin.student import resolve

    if args.resume:
        student = resolve(args.student, args.student_id, _recorded_student(Path(args.resume)))
        path = resume_run(Path(args.resume), pdf=not args.no_pdf, student=student)
        print(f"report: {path / 'report.html'}")
        return 0
    if args.preset and (args.experiment == "all" or args.experiment in _assignment_keys()):
        raise UserError(f"--preset names one experiment's preset; for {args.experiment!r} use --quick or the defaults")
    if args.print_config and (args.experiment == "all" or args.experiment in _assignment_keys()):
        raise UserError(f"--print-config needs one experiment name, not {args.experiment!r}")
    from tamrin import course

    if args.experiment == "all" or args.experiment in course.ASSIGNMENTS:
        from tamrin.bundle import bundle_assignments, bundle_experiments

        assignments = bundle_assignments(args.experiment)
        names, missing = bundle_experiments(assignments)
        for m in missing:
            print(f"note: experiment {m!r} (named by the course catalogue) is not available in this version", file=sys.stderr)
        exps = [registry.get(n) for n in names]
        configs = {e.name: _config_for_all(e, args) for e in exps}
        parent, failures = run_all(exps, configs, Path(args.out), pdf=not args.no_pdf, quick=args.quick,
                                   student=resolve(args.student, args.student_id), assignments=assignments,
                                   name=args.experiment)
        print(f"\nreports: {parent / 'report.html'} (combined), one folder per experiment inside {parent}")
        if failures:
            print(f"failed: {', '.join(failures)} (see the report)", file=sys.stderr)
            return 1
        return 0
    exp = registry.get(args.experiment)
    cfg = resolve_config(exp, args)
    if args.print_config:
        from tamrin.config import dump_yaml

        for note in getattr(cfg, "config_notes", lambda: [])():
            print(f"# {note}")
        print(dump_yaml(cfg), end="")
        return 0
    path = run_experiment(exp, cfg, Path(args.out), pdf=not args.no_pdf, preset=args.preset or ("quick" if args.quick else None),
                          student=resolve(args.student, args.student_id))
    print(f"report: {path / 'report.html'}" + ("" if args.no_pdf else f" and {path / 'report.pdf'}"))
    return 0


def _config_for_all(exp, args):
    """With `all`, a --set key applies to the experiments that have it and is ignored by the others."""
    try:
        return resolve_config(exp, args)
    except UserError:
        sets = args.sets
        args.sets = []
        try:
            return resolve_config(exp, args)
        finally:
            args.sets = sets


def cmd_report(args) -> int:
    from tamrin.experiment_runner import BUNDLE, read_run_info, render_folder
    from tamrin.report.render import render_run_dir
    from tamrin.runs import atomic_write_json
    from tamrin.student import Student, resolve

    path = Path(args.run_dir)
    if not path.is_dir():
        raise UserError(f"{path} is not a finished run folder (no such folder)")
    info = read_run_info(path)
    student = resolve(args.student, args.student_id, Student.from_dict(info.get("student")))
    if info.get("experiment") == BUNDLE:
        unfinished = [n for n in info.get("experiments", []) if not (path / n / "sections.json").exists()]
        if unfinished:
            raise UserError(f"{path}: {', '.join(unfinished)} not finished; run `tamrin run all --resume {path}` to finish them")
        render_folder(path, student=student)
        atomic_write_json(path / "run.json", {**info, "student": student.to_dict()})  # kept for the next re-render
    else:
        if not (path / "sections.json").exists():
            raise UserError(f"{path} is not a finished run folder (no sections.json); run `tamrin run NAME --resume {path}` to finish it")
        render_run_dir(path, student=student)
    print(f"report: {path / 'report.html'}")
    return 0


def cmd_delegate(module: str, argv: list[str]) -> int:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("tamrin"):
            raise UserError(f"`tamrin {module.split('.')[1]}` is not available in this version") from None
        raise
    return int(mod.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # sub-tools parse their own options (argparse REMAINDER would reject `tamrin calc --example list`)
        if argv and argv[0] in ("calc", "explain"):
            return cmd_delegate(f"tamrin.{argv[0]}.cli", argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "answers":
            from tamrin.answers.cli import cmd_answers

            return cmd_answers(args)
        if args.command in ("calc", "explain"):
            return cmd_delegate(f"tamrin.{args.command}.cli", args.args)
    except UserError as e:
        print(f"tamrin: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ntamrin: interrupted; continue with `tamrin run EXPERIMENT --resume RUN_DIR`", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
