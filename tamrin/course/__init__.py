"""The course catalogue: every question id of the course (`../shared/course/questions.md`), its one-line
English statement, its assignment and its order there, and where its answer comes from.

One module per assignment (`hw2.py`, `hw4.py`, `p4.py`, `solA.py`, `solB.py`) holds a list `QUESTIONS` in the
assignment's own order; nothing else in tamrin lists question ids. The answer key (`tamrin answers`) and the
homework bundles read this package.

    from tamrin import course
    course.questions("hw4")          # [Question(id="hw4.t1a", ...), ...] in the course's order
    course.get("solA.q4f").statement
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from tamrin.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Question:
    id: str  # "<assignment>.<question><part>", e.g. "hw2.t3c"
    statement: str  # one line, English
    # where the answer comes from: an answer function registered under this id in tamrin.answers ("answer"),
    # and/or the experiments whose report sections answer it (a practical question)
    answer: bool = True
    experiments: tuple[str, ...] = ()
    sections: tuple[str, ...] = field(default=())  # titles (prefixes) of the experiments' sections that answer it
    note: str = ""  # e.g. how a question missing from a solution set was reconstructed

    @property
    def assignment(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Assignment:
    key: str
    title: str
    source: str  # the course document, in ../shared/course/seeds/
    kind: str  # "assignment" or "solution set"


ASSIGNMENTS: dict[str, Assignment] = {a.key: a for a in (
    Assignment("hw2", "Homework 2: perceptron networks, regularisation, optimisers; fully connected nets from scratch, Forward-Forward",
               "seeds/003_ccc7360be98a5eb8.txt", "assignment"),
    Assignment("hw4", "Homework 4: CNN theory, conv gradients, RNN, Grad-CAM; residual block by hand, MobileNet V1/V2",
               "seeds/000_9f4615b8e7ca56dd.txt", "assignment"),
    Assignment("p4", "Project 4: CNN theory, 1D CNN, dilated convolution; facial expression recognition",
               "seeds/004_533089c1a8df6dc3.txt", "assignment"),
    Assignment("solA", "Solution set A (a student's): dropout as ridge, conv and batch-norm gradients, CNN op counts, MobileNet cost, centre loss",
               "seeds/001_ac6e973f5b98dd04.txt", "solution set"),
    Assignment("solB", "Solution set B (a student's): optimisers, a 2x2 conv gradient with GAP, a 1D CNN table, 1x1 convs, \"Inception\"",
               "seeds/002_335bee4251246b31.txt", "solution set"),
)}


def questions(assignment: str | None = None) -> list[Question]:
    """Every question in course order (assignments in ASSIGNMENTS order), or those of one assignment."""
    keys = [assignment] if assignment else list(ASSIGNMENTS)
    out: list[Question] = []
    for k in keys:
        if k not in ASSIGNMENTS:
            raise UserError(f"unknown assignment {k!r}{did_you_mean(k, ASSIGNMENTS)}; choose one of: {', '.join(ASSIGNMENTS)}")
        out.extend(importlib.import_module(f"tamrin.course.{k}").QUESTIONS)
    return out


def get(qid: str) -> Question:
    for q in questions():
        if q.id == qid:
            return q
    ids = [q.id for q in questions()]
    raise UserError(f"unknown question id {qid!r}{did_you_mean(qid, ids)}; valid ids: {', '.join(ids)}")


def select(items: list[str] | None) -> list[Question]:
    """Questions named by assignment keys and/or ids, in course order (no duplicates); all when empty."""
    allq = questions()
    if not items:
        return allq
    ids = {q.id for q in allq}
    wanted: set[str] = set()
    for it in items:
        if it in ASSIGNMENTS:
            wanted |= {q.id for q in allq if q.assignment == it}
        elif it in ids:
            wanted.add(it)
        else:
            raise UserError(f"--only: unknown assignment or question id {it!r}{did_you_mean(it, list(ASSIGNMENTS) + sorted(ids))}; "
                            f"assignments: {', '.join(ASSIGNMENTS)}; ids: {', '.join(q.id for q in allq)}")
    return [q for q in allq if q.id in wanted]


def order_key(qid: str) -> tuple[int, int]:
    """(assignment position, position in the assignment): the course's order, for sorting."""
    keys = list(ASSIGNMENTS)
    a = qid.split(".", 1)[0]
    qs = [q.id for q in questions(a)]
    return keys.index(a), qs.index(qid)
