"""What every page of a report shows besides its content: the student (left of the header), the preset banner
of a quick/smoke run, and the facts of the title page. Built from a run folder's meta, so `tamrin report`
re-renders the same pages."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from tamrin.student import Student

QUICK_BANNER = "quick preset — a smoke run, not a result"
_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")  # Hebrew, Arabic (Persian letters included) and their forms


def has_rtl(text: str) -> bool:
    return bool(_RTL.search(text or ""))


@dataclass
class PageInfo:
    student: Student = field(default_factory=Student)
    preset: str = "full"  # full | quick | smoke | custom
    facts: list = field(default_factory=list)  # [[label, value]] for the title page

    @property
    def banner(self) -> str:
        return QUICK_BANNER if self.preset in ("quick", "smoke") else ""


def title_facts(meta: dict, student: Student, preset: str) -> list[list[str]]:
    """The title page's table: course, assignment, student, date, tamrin version and commit, preset, data."""
    env = meta.get("env") or {}
    version = (env.get("versions") or {}).get("tamrin", "")
    commit = (env.get("git_commit") or "")[:10]
    rows = [["course", "Deep learning (tamrin course lab)"]]
    if meta.get("assignment"):
        rows.append(["assignment", meta["assignment"]])
    if meta.get("exercise"):
        rows.append(["exercise", meta["exercise"]])
    if student.name:
        rows.append(["student", student.name])
    if student.id:
        rows.append(["student number", student.id])
    date = meta.get("date") or (env.get("time") or "")[:10]
    if date:
        rows.append(["date", date])
    rows.append(["tamrin", " · ".join(x for x in (f"version {version}" if version else "", f"commit {commit}" if commit else "") if x)
                 or "unknown version"])
    rows.append(["preset", {"quick": "quick (" + QUICK_BANNER + ")", "smoke": "smoke (" + QUICK_BANNER + ")"}.get(preset, preset)])
    for src in meta.get("data_sources") or []:
        rows.append(["data", src])
    return rows


def page_info(meta: dict, student: Student | None = None) -> PageInfo:
    st = student if student is not None else Student.from_dict(meta.get("student"))
    preset = meta.get("preset", "full")
    return PageInfo(st, preset, title_facts(meta, st, preset))
