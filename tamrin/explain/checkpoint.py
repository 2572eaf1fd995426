"""Rebuilding a trained model from a run folder, and reading images for it.

Convention: `run_dir/checkpoints/<tag>.pt` holds "model" (a state_dict; "best_model" is preferred when
present, as tamrin.train.fit stores the best-validation weights there) and "model_spec"
{"name": ..., "kwargs": {...}}. The trainer stores model_spec when the model has a `model_spec`
attribute. "name" is a `tamrin.models` registry name, or "package.module:Class" for a model defined
elsewhere (e.g. the explain demo's TinyGapCNN). Optional keys used when present: "classes" (names),
"input_size" [H, W] and "normalize" {"mean": [...], "std": [...]} (what the experiment fed the model).
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from tamrin.errors import UserError

__all__ = ["load_model_from_run", "load_run", "in_channels", "load_checkpoint", "build_model", "load_images", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def load_checkpoint(run_dir, tag: str | None = None) -> tuple[dict, Path]:
    """The checkpoint dict of `run_dir/checkpoints/<tag>.pt` (tag None: the only checkpoint there)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"no such run folder: {run_dir}")
    ckdir = run_dir / "checkpoints"
    found = sorted(ckdir.glob("*.pt")) if ckdir.is_dir() else []
    if not found:
        raise UserError(f"{run_dir} has no checkpoint (expected {ckdir}/<tag>.pt); was the run trained?")
    tags = [p.stem for p in found]
    if tag is None:
        if len(found) > 1:
            raise UserError(f"{run_dir} has several checkpoints; choose one with --tag: {', '.join(tags)}")
        path = found[0]
    else:
        path = ckdir / f"{tag}.pt"
        if not path.exists():
            raise UserError(f"no checkpoint {tag!r} in {ckdir}; choose one of: {', '.join(tags)}")
    try:  # tamrin checkpoints hold only tensors and plain containers, so no arbitrary unpickling is needed
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"cannot read checkpoint {path}: {type(e).__name__}: {e}") from None
    if not isinstance(ck, dict) or "model" not in ck:
        raise UserError(f"{path} is not a tamrin checkpoint (no 'model' state_dict)")
    return ck, path


def build_model(spec: dict) -> nn.Module:
    """Instantiate {"name", "kwargs"}: "module:Class" imports it, any other name goes to tamrin.models."""
    name, kwargs = spec.get("name"), dict(spec.get("kwargs") or {})
    if not isinstance(name, str) or not name:
        raise UserError(f"model_spec needs a 'name', got {spec!r}")
    if ":" in name:
        mod_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as e:
            raise UserError(f"cannot import model {name!r}: {e}") from None
        return factory(**kwargs)
    try:
        from tamrin.models import create
    except ImportError:
        raise UserError(f"model {name!r} needs the model registry tamrin.models.create, which is not available in this version") from None
    return create(name, **kwargs)


def load_model_from_run(run_dir, tag: str | None = None) -> nn.Module:
    """The trained model of a run, in eval mode, on the CPU."""
    return load_run(run_dir, tag)[0]


def load_run(run_dir, tag=None) -> tuple[nn.Module, dict]:
    ck, path = load_checkpoint(run_dir, tag)
    spec = ck.get("model_spec")
    if not isinstance(spec, dict):
        raise UserError(f"{path} has no 'model_spec' to rebuild the model from (the model needs a model_spec attribute when trained)")
    model = build_model(spec)
    try:  # the trainer keeps the last epoch in "model" and the best-validation weights (what was reported) in "best_model"
        model.load_state_dict(ck.get("best_model") or ck["model"])
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise UserError(f"{path} does not fit model {spec['name']!r}: {first}") from None
    return model.eval(), ck


def in_channels(model: nn.Module) -> int:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3


def image_paths(paths) -> list[Path]:
    """Files as given; folders expand to their image files (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            out.append(p)
        else:
            raise UserError(f"no such image file or folder: {p}")
    if not out:
        raise UserError(f"no images found in: {', '.join(map(str, paths))}")
    return out


def load_images(paths, channels: int, size=None, normalize: dict | None = None) -> torch.Tensor:
    """Images -> (N, C, H, W) float in [0, 1] (then (x - mean) / std when `normalize` is given), all
    resized to `size` (H, W) or to the first image's size."""
    from PIL import Image

    arrays = []
    for p in image_paths(paths):
        try:
            with Image.open(p) as im:
                im = im.convert("L" if channels == 1 else "RGB")
                if size is None:
                    size = (im.height, im.width)
                if (im.height, im.width) != tuple(size):
                    im = im.resize((size[1], size[0]), Image.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
        except OSError as e:
            raise UserError(f"cannot read image {p}: {e}") from None
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    x = torch.from_numpy(np.stack(arrays))
    if normalize:
        mean = torch.tensor(normalize["mean"], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(normalize["std"], dtype=torch.float32).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x
