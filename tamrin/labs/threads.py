"""Run a lab with one BLAS thread and one torch thread, restoring both afterwards.

The labs are thousands of tiny matrix products; on a shared 2-core CPU the thread hand-off costs ~11×
more CPU than the arithmetic (benchmarks/labs.md). Restoring the previous settings keeps `tamrin run all`
from slowing down the experiments that come after a lab.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits


@contextmanager
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)
