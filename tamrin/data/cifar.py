"""CIFAR-10 in its two common forms.

* The official python version (`cifar-10-python.tar.gz`, unpacking to `cifar-10-batches-py/`): pickled
  dicts with a (10000, 3072) uint8 `data` array (channel-planar R, G, B rows) and `labels`; train =
  data_batch_1..5, test = test_batch, class names in batches.meta.
* An image-folder tree `.../train/<class>/<n>.jpg` (our shared copy is a tar.gz of such a tree; it is
  unpacked once, safely, into the cache and then decoded through the cached folder loader).

The pickles are read with an unpickler that accepts only numpy arrays: unpickling an arbitrary file
could run arbitrary code, and these files come from the internet.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from tamrin.errors import UserError

from .archive import safe_extract
from .dataset import ArrayDataset
from .folder import load_image_folder, read_cache, write_cache
from .paths import cache_dir

__all__ = ["CIFAR10_CLASSES", "load_cifar_batches", "load_cifar_archive", "load_cifar_folder_archive",
           "read_batch"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
# numpy's pickle helpers moved from numpy.core to numpy._core in numpy 2; old pickles name the old one
_ALLOWED = {"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"}
_NUMPY_MODULES = {"numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy._core.numeric"}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module in _NUMPY_MODULES and name in _ALLOWED:
            import importlib

            for mod in (module, module.replace("numpy.core", "numpy._core")):
                try:
                    return getattr(importlib.import_module(mod), name)
                except (ImportError, AttributeError):
                    continue
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR pickle")


def read_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(images NHWC uint8, labels int64) from one pickled batch's bytes."""
    try:
        d = _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:
        raise UserError(f"{name}: not a readable CIFAR batch ({type(e).__name__}: {e})") from None
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    raw = np.asarray(d.get("data"))
    labels = np.asarray(d.get("labels", d.get("fine_labels", [])), np.int64)
    if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != 3072 or len(labels) != len(raw):
        raise UserError(f"{name}: expected uint8 data (N, 3072) and N labels, got {raw.dtype} {raw.shape} and {len(labels)} labels")
    return raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _classes(meta: bytes | None) -> list[str]:
    if meta is None:
        return list(CIFAR10_CLASSES)
    d = _NumpyOnlyUnpickler(io.BytesIO(meta), encoding="bytes").load()
    names = d.get(b"label_names", d.get("label_names"))
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names] if names else list(CIFAR10_CLASSES)


def _assemble(parts, classes, source) -> ArrayDataset:
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return ArrayDataset(images, labels, classes, source=source)


def load_cifar_batches(folder: str | Path, split: str) -> ArrayDataset | None:
    """CIFAR-10 `split` from a `cifar-10-batches-py` folder; None when that split's batches are absent."""
    folder = Path(folder)
    names = _BATCHES[split]
    if not all((folder / n).is_file() for n in names):
        return None
    meta = folder / "batches.meta"
    parts = [read_batch((folder / n).read_bytes(), str(folder / n)) for n in names]
    return _assemble(parts, _classes(meta.read_bytes() if meta.is_file() else None), f"CIFAR-10 python batches from {folder}")


def load_cifar_archive(archive: str | Path, split: str) -> ArrayDataset | None:
    """CIFAR-10 `split` read straight out of `cifar-10-python.tar.gz` (no extraction needed)."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            blobs = {}
            for m in tar.getmembers():
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and (base in _BATCHES[split] or base == "batches.meta"):
                    blobs[base] = tar.extractfile(m).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise UserError(f"{archive}: corrupt or truncated archive ({type(e).__name__}: {e})") from None
    if not all(n in blobs for n in _BATCHES[split]):
        return None
    parts = [read_batch(blobs[n], f"{archive.name}:{n}") for n in _BATCHES[split]]
    return _assemble(parts, _classes(blobs.get("batches.meta")), f"CIFAR-10 python archive {archive}")


def _archive_tag(archive: Path) -> str:
    """Identity of an archive file: it changes when the archive is replaced or modified."""
    st = archive.stat()
    return hashlib.sha256(f"{archive.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _extracted_root(archive: Path) -> Path:
    """Unpack an image-folder tar once into the cache; the folder name changes when the archive does."""
    name = archive.name.split(".tar")[0].split(".tgz")[0]
    target = cache_dir() / "extracted" / f"{name}-{_archive_tag(archive)}"
    if not target.is_dir():
        safe_extract(archive, target)
    return target


def _find_split_parent(root: Path, split: str) -> Path | None:
    """The folder holding `split/` at the top of an extracted tree (itself or one level down)."""
    for cand in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if (cand / split).is_dir():
            return cand
    return None


def load_cifar_folder_archive(archive: str | Path, split: str) -> tuple[ArrayDataset | None, bool]:
    """(data set or None, archive usable) from a tar of `cifar10/<split>/<class>/*.jpg` images.

    The decoded arrays are cached under the archive's identity, so a second load is one np.load,
    without even listing the 50,000 unpacked files.
    """
    archive = Path(archive)
    key = f"cifar-{split}-{_archive_tag(archive)}"
    ds = read_cache(key)
    if ds is None:
        root = _extracted_root(archive)
        parent = _find_split_parent(root, split)
        if parent is None:
            return None, _find_split_parent(root, "train") is not None
        ds = load_image_folder(parent, split, size=(32, 32), mode="RGB", cache=False)
        write_cache(key, ds)
    ds.source = f"CIFAR-10 JPEG folder from {archive}"
    if ds.skipped:
        import warnings

        warnings.warn(f"{len(ds.skipped)} file(s) of {archive.name} skipped: " + "; ".join(ds.skipped[:5]), stacklevel=2)
    return ds, True
