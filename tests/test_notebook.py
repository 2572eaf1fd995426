"""report.ipynb (issue #19): every run folder gets a valid nbformat-4 notebook with the report's sections in order,
figures as image outputs and a first code cell that re-runs the experiment through `tamrin.run`; executed with
nbclient, it reproduces the run's metrics."""
from __future__ import annotations

import json
import os

import nbformat
import pytest

from tamrin.config import apply_overrides
from tamrin.experiment_runner import run_experiment
from tamrin.registry import get
from tests.test_resume_all import final_metrics


def _smoke_run(tmp_path):
    exp = get("committee")
    return run_experiment(exp, apply_overrides(exp.config.smoke(), {}), tmp_path / "runs", pdf=False)


def test_notebook_valid_ordered_with_figures(tmp_path):
    run_dir = _smoke_run(tmp_path)
    nb = nbformat.read(run_dir / "report.ipynb", as_version=4)
    nbformat.validate(nb)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    html = (run_dir / "report.html").read_text()
    heads = [line.lstrip("#").strip() for s in md for line in s.splitlines() if line.startswith("#")][1:]
    positions = [html.find(h) for h in heads]
    assert heads and all(p >= 0 for p in positions) and positions == sorted(positions), "notebook sections out of the report's order"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "tamrin.run('committee'" in code[0].source
    images = [c for c in code[1:] if c.outputs and "image/png" in c.outputs[0]["data"]]
    from tamrin.report.sections import load_sections

    n_fig = sum(b.kind == "figure" for s in load_sections(run_dir / "sections.json")[1] for b in s.blocks)
    assert n_fig >= 2 and len(images) == n_fig


@pytest.mark.slow
def test_notebook_executes_and_reproduces_the_metrics(tmp_path):
    from nbclient import NotebookClient

    run_dir = _smoke_run(tmp_path)
    nb = nbformat.read(run_dir / "report.ipynb", as_version=4)
    work = tmp_path / "exec"
    (work / "figures").mkdir(parents=True)
    for f in (run_dir / "figures").iterdir():  # the figure cells display the run folder's files
        (work / "figures" / f.name).write_bytes(f.read_bytes())
    env_before = dict(os.environ)
    os.environ.update({"OMP_NUM_THREADS": "1", "TAMRIN_OFFLINE": "1"})
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    first = nb.cells[1]
    printed = "".join(o.get("text", "") for o in first.outputs if o.output_type == "stream").strip().splitlines()[-1]
    new_dir = work / printed if not os.path.isabs(printed) else type(work)(printed)
    assert json.loads((new_dir / "run.json").read_text())["status"] == "done"
    assert final_metrics(new_dir) == final_metrics(run_dir)
