"""The answer key: every registered answer runs and its independent checks pass; the catalogue covers
exactly the ids of ../shared/course/questions.md; the JSON schema; the CLI's one-line errors."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tamrin import answers, course
from tamrin.answers.cli import run_answers
from tamrin.errors import UserError
from tests.conftest import ROOT

QUESTIONS_MD = ROOT.parent / "shared" / "course" / "questions.md"


def ids_in_questions_md(text: str) -> list[str]:
    """Every id of questions.md: `hw2.t5a`–`t5e` is a range, `hw4.t3a` / `t3b` a list (prefix inherited)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"- ((?:`[^`]+`\s*(?:/|–|-)?\s*)+)", line)
        if not m:
            continue
        tokens = re.findall(r"`([^`]+)`\s*(–|/)?", m.group(1))
        prefix, prev, rng = None, None, False
        for tok, sep in tokens:
            if "." in tok:
                prefix, part = tok.split(".", 1)
            else:
                part = tok
            if rng and prev:
                stem, a, b = part[:-1], prev[-1], part[-1]
                out += [f"{prefix}.{stem}{chr(c)}" for c in range(ord(a) + 1, ord(b) + 1)]
            else:
                out.append(f"{prefix}.{part}")
            prev, rng = part, sep == "–"
    return out


@pytest.mark.skipif(not QUESTIONS_MD.exists(), reason="../shared/course/questions.md is not beside the checkout")
def test_catalogue_covers_questions_md():
    md = ids_in_questions_md(QUESTIONS_MD.read_text())
    assert len(md) == len(set(md)) and len(md) >= 80
    cat = [q.id for q in course.questions()]
    assert len(cat) == len(set(cat))
    assert sorted(set(md) - set(cat)) == [], "ids of questions.md missing from the catalogue"
    assert sorted(set(cat) - set(md)) == [], "catalogue ids not in questions.md"


def test_questions_md_parser_expands_ranges_and_lists():
    text = "- `hw2.t5a`–`t5e` f(w)\n- `hw4.t3a` / `t3b` / `t3c` rnn\n- `solA.q1f` / `q1g` x\n- `p4.q1` y\n"
    assert ids_in_questions_md(text) == ["hw2.t5a", "hw2.t5b", "hw2.t5c", "hw2.t5d", "hw2.t5e", "hw4.t3a", "hw4.t3b",
                                          "hw4.t3c", "solA.q1f", "solA.q1g", "p4.q1"]


def test_every_question_has_a_source():
    funcs = answers.registered()
    for q in course.questions():
        assert q.statement and q.assignment in course.ASSIGNMENTS
        assert q.experiments or q.answer, q.id
        assert set(funcs) <= {x.id for x in course.questions()}, "an answer registered under an unknown id"


def _plain_numbers(v) -> bool:
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, (int, float, str)):
        return True
    if isinstance(v, list):
        return all(_plain_numbers(x) for x in v)
    if isinstance(v, dict):
        return all(_plain_numbers(x) for x in v.values())
    return False


@pytest.mark.parametrize("qid", sorted(answers.registered()))
def test_answer_runs_and_its_checks_pass(qid, tmp_path):
    rec = answers.compute(qid, answers.Context(tmp_path))
    assert rec["id"] == qid and rec["answer"].strip() and rec["checks"]
    assert all(c["passed"] for c in rec["checks"]), [c for c in rec["checks"] if not c["passed"]]
    assert _plain_numbers(rec["values"])
    json.dumps(rec, allow_nan=False)  # the schema: plain JSON
    if qid.startswith(("solA.", "solB.")):
        assert rec.get("verdict") in answers.VERDICTS and rec.get("claim")
    for f in rec.get("figures", []):
        assert (tmp_path / f["path"]).exists()


def test_select_order_and_errors():
    sel = course.select(["solA.q4f", "hw2.t1d", "hw4"])
    ids = [q.id for q in sel]
    assert ids[0] == "hw2.t1d" and ids[-1] == "solA.q4f" and "hw4.t2a" in ids
    assert ids == sorted(ids, key=course.order_key)
    with pytest.raises(UserError, match="valid|ids"):
        course.select(["no.such"])


def test_run_answers_writes_json_md_html(tmp_path):
    lines = []
    out, recs = run_answers(["hw2.t1d"], ["json", "md", "html"], tmp_path, echo=lines.append)
    doc = json.loads((out / "answers.json").read_text())
    assert [r["id"] for r in doc["answers"]] == ["hw2.t1d"]
    assert doc["answers"][0]["values"]["parameters"] == recs[0]["values"]["parameters"]
    assert "hw2.t1d" in (out / "answers.md").read_text() and (out / "answers.html").exists()
    assert lines and lines[0].startswith("hw2.t1d")


def test_cli_unknown_id_is_one_line_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tamrin.cli", "answers", "--only", "no.such", "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "hw2.t1d" in err[0] and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "tamrin.cli", "answers", "--format", "docx", "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and "pdf" in p.stderr


def test_every_checkable_question_is_answered():
    """Done when (issue #14): every id the catalogue marks as computable has its answer function."""
    funcs = answers.registered()
    missing = [q.id for q in course.questions() if q.answer and q.id not in funcs]
    assert missing == []
