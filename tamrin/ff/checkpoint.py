"""Atomic per-epoch checkpoints: a killed run resumes to the same final numbers."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from tamrin.runs import atomic_write_bytes


def save_checkpoint(path: str | Path, state: dict) -> None:
    """torch.save into memory, then one atomic rename: never a half-written file."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict | None:
    """The saved state, or None when there is none. weights_only: never runs pickled code."""
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, weights_only=True, map_location="cpu")  # load_state_dict moves to the model's device
