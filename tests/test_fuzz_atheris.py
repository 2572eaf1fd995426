"""A short coverage-guided fuzzing session (benchmarks/fuzz_atheris.py) when atheris is installed.

atheris is optional (not a project dependency); without it this test is skipped with that reason.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris not installed (optional: pip install atheris)")
ROOT = Path(__file__).resolve().parents[1]


def test_atheris_session_finds_no_crash(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAMRIN_DATA": str(tmp_path)}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_atheris.py"), "-atheris_runs=1500", "-seed=1"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "Done 1500" in out, out[-2000:]
