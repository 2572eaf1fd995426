"""The answer key: one small function per checkable course question, computed with tamrin's own library
and confirmed independently. `tamrin answers` runs them; `tamrin.course` says which ids exist.

    from tamrin.answers import answer, Answer, close
    @answer("hw2.t1d")
    def _(ctx):
        ...
        return Answer("…", values={"parameters": n}, checks=[close("torch parameter count", n, m)])

Modules or packages: one per assignment (hw2, hw4, p4, solA, solB), each registering its ids.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import asdict
from typing import Callable

from tamrin.answers.base import VERDICTS, Answer, Check, Context, close, holds, plain, verdict_claims, verdict_numbers, within_se

__all__ = ["answer", "Answer", "Check", "Context", "close", "holds", "within_se", "plain", "verdict_claims",
           "verdict_numbers", "registered", "compute", "VERDICTS"]

_FUNCS: dict[str, Callable] = {}
_MODULES = ("hw2", "hw4", "p4", "solA", "solB")


def answer(qid: str):
    """Register `fn(ctx) -> Answer` as the answer to question `qid` (an id of tamrin.course)."""
    def deco(fn):
        if qid in _FUNCS and _FUNCS[qid] is not fn:
            raise ValueError(f"answer {qid!r} registered twice")
        _FUNCS[qid] = fn
        return fn
    return deco


def registered() -> dict[str, Callable]:
    for m in _MODULES:
        try:
            importlib.import_module(f"tamrin.answers.{m}")
        except ModuleNotFoundError as e:
            if e.name != f"tamrin.answers.{m}":
                raise
    return dict(_FUNCS)


def compute(qid: str, ctx: Context) -> dict:
    """Run one answer and return its JSON record (the schema of answers.json)."""
    from tamrin import course

    q = course.get(qid)
    fn = registered().get(qid)
    if fn is None:
        raise KeyError(f"no answer function for {qid}")
    t0 = time.perf_counter()
    a = fn(ctx)
    seconds = time.perf_counter() - t0
    if not isinstance(a, Answer):
        raise TypeError(f"answer {qid} returned {type(a).__name__}, not Answer")
    if not a.checks:
        raise ValueError(f"answer {qid} has no independent check")
    if a.verdict is not None and a.verdict not in VERDICTS:
        raise ValueError(f"answer {qid}: verdict {a.verdict!r} is not one of {VERDICTS}")
    rec = {"id": qid, "assignment": q.assignment, "question": q.statement, "answer": a.answer,
           "values": plain(a.values), "how": a.how,
           "checks": [{k: v for k, v in asdict(c).items() if v is not None and v != ""} for c in a.checks]}
    for k in ("claim", "verdict"):
        if getattr(a, k) is not None:
            rec[k] = getattr(a, k)
    assumptions = list(a.assumptions) + ([q.note] if q.note else [])
    if assumptions:
        rec["assumptions"] = assumptions
    if a.tables:
        rec["tables"] = [{"columns": list(c), "rows": plain(r), "caption": cap} for c, r, cap in a.tables]
    if a.figures:
        rec["figures"] = [{"path": p, "caption": cap} for p, cap in a.figures]
    rec["seconds"] = round(seconds, 3)
    return rec
