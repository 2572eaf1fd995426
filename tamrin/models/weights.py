"""Pretrained weight files: from a local path or a URL, always checked against their SHA-256.

torchvision names its files `<arch>-<first 8 hex digits of the file's SHA-256>.pth` (vgg16-397923af.pth),
so even without a full hash we can refuse a corrupted or substituted file: the digest must start with
that prefix. A download goes to a temporary name in the cache and is renamed only after the check.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import torch
from torch import nn

from tamrin.errors import UserError

__all__ = ["VGG16_IMAGENET_URL", "sha256_file", "hash_prefix_from_name", "fetch_weights", "load_weights",
           "load_backbone"]

VGG16_IMAGENET_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
_PREFIX = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_prefix_from_name(name: str) -> str | None:
    """'vgg16-397923af.pth' -> '397923af' (torchvision's convention), else None."""
    m = _PREFIX.search(Path(urllib.parse.urlparse(name).path).name)
    return m.group(1) if m else None


def _check(path: Path, expected: str | None, what: str) -> None:
    if not expected:
        return
    digest = sha256_file(path)
    if not digest.startswith(expected.lower()):
        raise UserError(f"{what}: SHA-256 {digest[:16]}... does not match the expected {expected}; the file is corrupt or not the published one")


def fetch_weights(source: str | Path, sha256: str | None = None, cache: str | Path | None = None,
                  timeout: float = 20.0) -> Path:
    """A local weight file for `source` (a path or an http(s) URL), checked against `sha256` (a full
    digest or a prefix; default: the prefix in the file name, if it has one). URLs are downloaded once
    into `cache` (default cache_dir()/weights)."""
    source = str(source)
    expected = sha256 or hash_prefix_from_name(source)
    if not source.startswith(("http://", "https://")):
        path = Path(source).expanduser()
        if not path.is_file():
            raise UserError(f"weight file {path} does not exist")
        _check(path, expected, str(path))
        return path
    if cache is None:
        from tamrin.data import cache_dir

        cache = cache_dir() / "weights"
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.urlparse(source).path).name or "weights.pth"
    target = cache / name
    if target.is_file():
        _check(target, expected, str(target))
        return target
    tmp = target.with_name(f".{name}.{os.getpid()}.partial")
    try:
        with urllib.request.urlopen(source, timeout=timeout) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        _check(tmp, expected, source)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot download {source}: {getattr(e, 'reason', e)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target


def load_weights(model: nn.Module, source: str | Path, sha256: str | None = None, strict: bool = True):
    """Fetch, check and load a state_dict file into `model` (weights_only: a .pth cannot run code)."""
    path = fetch_weights(source, sha256)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{path}: not a readable PyTorch state_dict ({type(e).__name__}: {e})") from None
    return model.load_state_dict(sd, strict=strict)


def load_backbone(model: nn.Module, state_dict: dict, prefix: str = "features.") -> int:
    """Copy every `prefix*` tensor of `state_dict` into `model` (for a new head on a pretrained
    backbone). Every backbone key must be present with the same shape. Returns the number copied."""
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    missing = [k for k in own if k not in state_dict]
    bad = [k for k in own if k in state_dict and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    if missing or bad:
        raise UserError(f"pretrained backbone does not fit: {len(missing)} missing, {len(bad)} with other shapes "
                        f"(first: {(missing + bad)[0]}); was it saved for another width_mult or architecture?")
    model.load_state_dict({k: state_dict[k] for k in own}, strict=False)
    return len(own)
