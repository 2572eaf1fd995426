"""A killed `run all` (issue #19): `tamrin run all --resume DIR` finishes it — experiments that had finished are
not run again, the interrupted one resumes from its checkpoint — with the metrics of an uninterrupted run, and
`tamrin report DIR` re-renders the combined folder (keeping the recorded student)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.test_resume_all import ENV, ROOT, final_metrics

NAMES = ["autodiff-graph", "committee"]  # a fast one that finishes first, then a training one to kill
DRIVER = f"""
import sys
from pathlib import Path
from tamrin.experiment_runner import run_all
from tamrin.registry import get
from tamrin.student import Student
exps = [get(n) for n in {NAMES!r}]
cfgs = {{e.name: (e.config.smoke() if hasattr(e.config, "smoke") else e.config.quick()) for e in exps}}
run_all(exps, cfgs, Path(sys.argv[1]), pdf=False, student=Student("Ada Lovelace", "42"))
"""


def _start(out):
    out.mkdir()
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(out)], env=ENV, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _bundle(out):
    (d,) = [p for p in out.iterdir() if p.is_dir()]
    return d


def test_killed_bundle_resumes_and_rerenders(tmp_path):
    ref = _start(tmp_path / "ref")
    assert ref.wait(timeout=300) == 0
    ref_dir = _bundle(tmp_path / "ref")

    proc = _start(tmp_path / "killed")
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 240:
        ck = list((tmp_path / "killed").glob("*/committee/checkpoints/*.pt"))
        if ck or proc.poll() is not None:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the bundle finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = _bundle(tmp_path / "killed")
    first = run_dir / "autodiff-graph" / "sections.json"
    assert json.loads((run_dir / "autodiff-graph" / "run.json").read_text())["status"] == "done"
    mtime = first.stat().st_mtime_ns

    r = subprocess.run([sys.executable, "-m", "tamrin", "run", "all", "--resume", str(run_dir), "--no-pdf"],
                       env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert first.stat().st_mtime_ns == mtime, "a finished experiment was run again"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "done"
    for n in NAMES:
        assert final_metrics(run_dir / n) == final_metrics(ref_dir / n), n
    assert "Ada Lovelace" in (run_dir / "report.html").read_text()

    r = subprocess.run([sys.executable, "-m", "tamrin", "report", str(run_dir)], env=ENV, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    from pypdf import PdfReader

    pages = PdfReader(run_dir / "report.pdf").pages
    assert all("Ada Lovelace" in p.extract_text() for p in pages)
