"""Assignment bundles (issue #19): one report per assignment whose sections follow the course's question order,
each headed by its id; an experiment's sections placed under the questions that claim them; the appendix last."""
from __future__ import annotations

import json

from tamrin import course
from tamrin.bundle import ALL, assign_sections, bundle_experiments, bundle_sections
from tamrin.report.sections import Section, save_sections


def _folder(tmp_path, assignments, experiments):
    (tmp_path / "run.json").write_text(json.dumps({"experiment": "all", "assignments": assignments, "experiments": experiments,
                                                   "presets": {e: "quick" for e in experiments}, "student": {"name": "A", "id": "1"}}))
    (tmp_path / "answers").mkdir()
    recs = [{"id": "p4.q4a", "assignment": "p4", "question": "rf", "answer": "K x K.", "values": {"rf": 3}, "how": "",
             "checks": [{"method": "brute force", "passed": True}]}]
    (tmp_path / "answers" / "answers.json").write_text(json.dumps({"answers": recs}))
    for e in experiments:
        secs = [Section("Data and augmentation").text("d"), Section("Counts", level=2).text("c"),
                Section("VGG16 transfer (width-reduced)").text("v"), Section("Compact VGG (Hewitt & Gunes)").text("h"),
                Section("Class activation maps").text("cam"), Section("Something else").text("x")]
        save_sections(tmp_path / e / "sections.json", secs, {"experiment": e, "config": {"seed": 0}, "env": {"python": "3"},
                                                              "preset": "quick", "seconds": 1.0, "exercise": "ex"})


def test_sections_follow_the_catalogue_order_and_appendix_is_last(tmp_path):
    _folder(tmp_path, ["p4"], ["fer"])
    secs, meta = bundle_sections(tmp_path)
    heads = [s.title.split(" — ")[0] for s in secs if s.level == 2 and " — " in s.title]
    assert heads == [q.id for q in course.questions("p4")]
    assert secs[0].title.startswith("p4 — ") and secs[-1].level == 2
    app = [i for i, s in enumerate(secs) if s.title.startswith("Appendix")]
    assert len(app) == 1 and all(s.level == 2 for s in secs[app[0] + 1:])
    assert meta["preset"] == "quick" and meta["student"] == {"name": "A", "id": "1"}
    answer = next(s for s in secs if s.title.startswith("p4.q4a"))
    assert any("K x K." in getattr(b, "text", "") for b in answer.blocks)


def test_experiment_sections_go_to_the_questions_that_claim_them():
    qs = [course.Question("x.q1", "data", experiments=("e",), sections=("Data",)),
          course.Question("x.q2", "model", experiments=("e",), sections=("Model",)),
          course.Question("x.q3", "other", experiments=("f",))]
    secs = [Section("Data a"), Section("sub", level=2), Section("Model b"), Section("Rest")]
    placed = assign_sections(qs, {"e": secs, "f": [Section("F")]})
    assert [[s.title for s in g] for g in placed["x.q1"]] == [["Rest"], ["Data a", "sub"]]
    assert [[s.title for s in g] for g in placed["x.q2"]] == [["Model b"]]
    assert [[s.title for s in g] for g in placed["x.q3"]] == [["F"]]


def test_every_assignment_names_registered_or_reported_experiments():
    names, missing = bundle_experiments(list(ALL))
    assert names and len(names) == len(set(names))
    assert set(missing) <= {"rnn-sentiment", "deconv-inversion"}  # named by the catalogue, built by other issues


def test_render_bundle_says_it_is_writing_and_how_long_it_took(tmp_path, capsys):
    """`run all` ends with the bundle's report, the longest single step of `make demo` after training: it must not
    look like a hang (the combined report of `run` without assignments says the same, test_report_render)."""
    from tamrin.bundle import render_bundle

    _folder(tmp_path, ["p4"], ["fer"])
    render_bundle(tmp_path, pdf=False)
    err = capsys.readouterr().err
    assert "writing the assignment report (" in err and "sections) ..." in err
    assert f"the assignment report written to {tmp_path} in " in err and err.index("writing") < err.index("written")
    assert (tmp_path / "report.html").exists() and not (tmp_path / "report.pdf").exists()
