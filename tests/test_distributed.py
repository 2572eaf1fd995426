"""Two processes with gloo on this CPU give the same model as one process with the same global batch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("_ddp_script.py")


@pytest.mark.slow
def test_two_process_gloo_equals_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = subprocess.run([sys.executable, str(SCRIPT), str(one), str(ROOT)], capture_output=True, text=True, timeout=300, env=env)
    assert r1.returncode == 0, r1.stderr[-2000:]
    r2 = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                         str(SCRIPT), str(two), str(ROOT)], capture_output=True, text=True, timeout=300, env=env)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "RANK 0 DONE" in r2.stdout and "RANK 1 DONE" in r2.stdout
    a = torch.load(one / "final.pt", weights_only=True)
    b = torch.load(two / "final.pt", weights_only=True)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), k
    # only rank 0 wrote: one metrics file with one record per epoch, one checkpoint
    lines = (two / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == ["ddp.pt"]
    assert sorted(p.name for p in two.iterdir()) == ["checkpoints", "final.pt", "metrics.jsonl"]
