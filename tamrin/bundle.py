"""Assignment bundles: `tamrin run hw2 | hw4 | p4 | solA | solB | all` runs what an assignment needs and writes ONE
report whose sections follow the assignment's question order, each headed by its id and statement from the course
catalogue (tamrin.course): theory answers from the answer key (tamrin.answers), practical answers from the
experiments the catalogue names, configurations and environment in an appendix at the end.

Which experiment sections answer which question: a question's `sections` (title prefixes of the experiment's top-level
sections) claim them; an experiment's unclaimed sections go to the first question that names the experiment.

The folder: run.json ("experiment": "all", the assignments, the experiments, presets, student), answers/ (answers.json
and its figures), one sub-folder per experiment; `--resume` and `tamrin report` work on it like on any run folder.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from tamrin import course
from tamrin.report.render import frame_sections, rebase_figures
from tamrin.report.sections import Section, load_sections
from tamrin.runs import atomic_write_json

ALL = ("hw2", "hw4", "p4", "solA", "solB")  # `tamrin run all`: the three assignments, then the solution-set checks


def bundle_assignments(name: str) -> list[str]:
    return list(ALL) if name == "all" else [name]


def bundle_experiments(assignments: list[str]) -> tuple[list[str], list[str]]:
    """(registered experiments the assignments' questions name, in order of first mention; names not registered)."""
    from tamrin.registry import discover

    known, seen, missing = discover(), [], []
    for a in assignments:
        for q in course.questions(a):
            for e in q.experiments:
                if e in seen or e in missing:
                    continue
                (seen if e in known else missing).append(e)
    return seen, missing


def compute_answers(parent: Path, assignments: list[str], seed: int = 0, echo=print) -> Path:
    """The answer key of the bundle's questions into parent/answers/answers.json (skipped when already there)."""
    from tamrin.answers.cli import compute_key

    out = parent / "answers"
    path = out / "answers.json"
    if path.exists():
        return path
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    records = compute_key([q for a in assignments for q in course.questions(a)], out, seed, echo)
    atomic_write_json(path, {"answers": records, "seconds": round(time.perf_counter() - t0, 2)})
    return path


def _groups(sections: list[Section]) -> list[list[Section]]:
    """An experiment's sections as groups: a top-level section with the deeper sections that follow it."""
    out: list[list[Section]] = []
    top = min((s.level for s in sections), default=1)
    for s in sections:
        if s.level == top or not out:
            out.append([s])
        else:
            out[-1].append(s)
    return out


def assign_sections(questions: list, experiments: dict[str, list[Section]]) -> dict[str, list[list[Section]]]:
    """question id -> the experiment section groups placed under it (see the module docstring)."""
    placed: dict[str, list[list[Section]]] = {q.id: [] for q in questions}
    for name, secs in experiments.items():
        naming = [q for q in questions if name in q.experiments]
        if not naming:
            continue
        rest = []
        for g in _groups(secs):
            owner = next((q for q in naming if q.sections and any(g[0].title.startswith(p) for p in q.sections)), None)
            (placed[owner.id] if owner else rest).append(g)
        placed[naming[0].id] = rest + placed[naming[0].id]
    return placed


def bundle_sections(parent: Path) -> tuple[list[Section], dict]:
    """The bundle's report: one part per assignment, one section per question in the course's order, the appendix."""
    from tamrin.answers.render import answer_blocks

    from tamrin.experiment_runner import read_run_info

    info = read_run_info(parent)
    assignments = info.get("assignments") or list(ALL)
    records = {}
    if (parent / "answers" / "answers.json").exists():
        recs = json.loads((parent / "answers" / "answers.json").read_text())["answers"]
        for r in recs:
            for f in r.get("figures", []):
                f["path"] = str(Path("answers") / f["path"])
        records = {r["id"]: r for r in recs}
    metas, exp_secs = {}, {}
    for name in info.get("experiments", []):
        p = parent / name / "sections.json"
        if p.exists():
            meta, secs = load_sections(p)
            rebase_figures(secs, name)
            metas[name], exp_secs[name] = meta, secs
    out: list[Section] = []
    shown_at: dict[tuple[str, str], str] = {}  # (experiment, section title) -> the question it was shown under
    for a in assignments:
        qs = course.questions(a)
        placed = assign_sections(qs, exp_secs)
        asg = course.ASSIGNMENTS[a]
        part = Section(f"{a} — {asg.title}", level=1)
        part.text(f"Questions of {asg.kind} `{a}` in the course's order ({asg.source} of the course documents), each headed by "
                  "its id. Theory answers are computed and checked by tamrin's answer key; practical answers are the reports of "
                  "the experiments named under each question.")
        out.append(part)
        shown = set()
        for q in qs:
            s = Section(f"{q.id} — {q.statement}", level=2)
            if q.id in records:
                s.blocks += answer_blocks(records[q.id])
            for name in q.experiments:
                if name not in exp_secs and name not in metas:
                    s.notice(f"Answered by the experiment `{name}`, which is not part of this run (not available in this version "
                             "or it failed).")
                elif name not in shown:
                    m = metas[name]
                    s.text(f"From `tamrin run {name}` ({m.get('preset', 'full')} preset, {m.get('seconds', 0):.0f} s): {m.get('exercise', '')}.")
                    for n in m.get("notices", []):
                        s.notice(n)
                    shown.add(name)
            if not s.blocks and not placed[q.id]:
                where = [x.id for x in qs if x.id != q.id and set(x.experiments) & set(q.experiments) and placed[x.id]]
                s.text(f"Answered together with {', '.join(where)} above." if where else "Not answered in this version.")
            out.append(s)
            for g in placed[q.id]:
                key = (next(n for n in q.experiments if n in exp_secs and g[0] in exp_secs[n]), g[0].title)
                if key in shown_at:  # shown in an earlier part of an `all` report: point to it instead of repeating it
                    s.text(f"The section \"{g[0].title}\" of `{key[0]}` that answers this is shown under {shown_at[key]}.")
                    continue
                shown_at[key] = q.id
                out += [Section(x.title, x.blocks, 3) for x in g]
    appendix = [Section("Appendix: configurations and environment", level=1).text(
        "Every value each experiment used (reproduce one with `tamrin run NAME --config <its folder>/config.yaml`) and the "
        "software and hardware of the run.")]
    for name, m in metas.items():
        framed = frame_sections({k: v for k, v in m.items() if k in ("config",)}, [], level_shift=0)
        for s in framed[1:]:
            appendix.append(Section(f"{name}: {s.title}", s.blocks, 2))
    env = next((m.get("env") for m in metas.values() if m.get("env")), None)
    if env:
        appendix += [Section(s.title, s.blocks, 2) for s in frame_sections({"env": env}, [], level_shift=0)[1:]]
    meta = {"env": env, "assignment": ", ".join(f"{a} — {course.ASSIGNMENTS[a].title}" for a in assignments), "assignments": assignments,
            "data_sources": [x for m in metas.values() for x in m.get("data_sources", [])],
            "preset": next((p for p in ("smoke", "quick", "custom") if p in (info.get("presets") or {}).values()), "full"),
            "student": info.get("student")}
    meta["data_sources"] = list(dict.fromkeys(meta["data_sources"]))
    return out + appendix, meta


def render_bundle(parent: Path, pdf: bool = True, student=None) -> None:
    from tamrin.report.page import page_info
    from tamrin.report.render import _write

    sections, meta = bundle_sections(parent)
    if student is not None:
        meta["student"] = student.to_dict()
    names = meta["assignments"]
    title = "tamrin: " + (", ".join(names) if len(names) < len(ALL) else "all assignments and solution-set checks")
    name = names[0] if len(names) == 1 else "all" if len(names) == len(ALL) else None
    quick = meta["preset"] in ("quick", "smoke")
    call = f"tamrin.run({name!r}, quick={quick}, pdf=False)" if name else None
    _write(parent, sections, title, f"assignment report · {parent.name}", pdf, page_info(meta), call,
           announce="the assignment report")
