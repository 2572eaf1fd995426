"""Who hands the report in: the student's name and student number, shown in the left of every page's header.

Looked up in this order (the first that gives a value wins, for the name and the number separately):
`--student` / `--student-id` on the command line, what the run folder recorded (re-rendering keeps it), `$TAMRIN_STUDENT` / `$TAMRIN_STUDENT_ID`, then the user config
file (`$TAMRIN_CONFIG`, else `~/.config/tamrin/config.yaml`) with the keys `student` and `student_id`.
Without any, reports carry nothing personal: no placeholder a student could hand in by mistake.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from tamrin.errors import UserError


@dataclass(frozen=True)
class Student:
    name: str = ""
    id: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.id)

    def label(self) -> str:
        """'NAME · ID', 'NAME', 'student no. ID' or ''."""
        if self.name and self.id:
            return f"{self.name} · {self.id}"
        return self.name or (f"student no. {self.id}" if self.id else "")

    def to_dict(self) -> dict:
        return {"name": self.name, "id": self.id}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Student":
        d = d or {}
        return cls(str(d.get("name") or ""), str(d.get("id") or ""))


def config_path() -> Path:
    env = os.environ.get("TAMRIN_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".config" / "tamrin" / "config.yaml"


def _from_file() -> dict:
    p = config_path()
    if not p.exists():
        if os.environ.get("TAMRIN_CONFIG"):
            raise UserError(f"$TAMRIN_CONFIG points to {p}, which does not exist")
        return {}
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a mapping with the keys student and student_id")
    unknown = set(data) - {"student", "student_id"}
    if unknown:
        raise UserError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; the user config knows: student, student_id")
    return data


def _clean(v, what: str) -> str:
    s = " ".join(str(v).split()) if v is not None else ""
    if len(s) > 80:
        raise UserError(f"{what} is longer than 80 characters")
    return s


def resolve(name: str | None = None, student_id: str | None = None, recorded: Student | None = None) -> Student:
    """The student for a report: command line > what the run folder recorded (so `tamrin report` keeps it) >
    environment > user config file."""
    file = None

    def pick(cli, env_key, file_key, rec):
        nonlocal file
        if cli is not None:
            return cli
        if rec:
            return rec
        if os.environ.get(env_key):
            return os.environ[env_key]
        if file is None:
            file = _from_file()
        if file.get(file_key) is not None:
            return file[file_key]
        return ""

    rec = recorded or Student()
    return Student(_clean(pick(name, "TAMRIN_STUDENT", "student", rec.name), "--student"),
                   _clean(pick(student_id, "TAMRIN_STUDENT_ID", "student_id", rec.id), "--student-id"))
