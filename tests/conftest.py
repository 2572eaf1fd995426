import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("TAMRIN_OFFLINE", "1")  # tests never wait on the network
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI runs the same generated cases every time (a red CI must be reproducible); locally, new cases each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _small_torch():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    yield


def shared_data() -> Path | None:
    p = ROOT.parent / "shared" / "data"
    return p if p.is_dir() else None


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    """rec(qid) -> the answer key's JSON record for qid, computed once per test module."""
    from tamrin import answers

    out = tmp_path_factory.mktemp("answers")
    cache = {}

    def get(qid):
        if qid not in cache:
            cache[qid] = answers.compute(qid, answers.Context(out))
        return cache[qid]
    return get
