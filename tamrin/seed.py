"""Seeding and determinism in one place."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency, but scratch code never needs it
        pass


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
