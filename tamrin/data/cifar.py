"""CIFAR-10 in its two common forms.

* The official python version (`cifar-10-python.tar.gz`, unpacking to `cifar-10-batches-py/`): pickled
  dicts with a (10000, 3072) uint8 `data` array (channel-planar R, G, B rows) and `labels`; train =
  data_batch_1..5, test = test_batch, class names in batches.meta.
* An image-folder tree `.../train/<class>/<n>.jpg`, as folders or as a tar.gz of such a tree (our
  shared copy): the tar's images are decoded straight from the archive and cached as uint8 arrays.

The pickles are read with an unpickler that accepts only numpy arrays: unpickling an arbitrary file
could run arbitrary code, and these files come from the internet.
"""
from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from tamrin.errors import UserError

from .dataset import ArrayDataset
from .paths import display_path
from .tarfolder import load_image_tar, read_image_tar

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
        if (module, name) == ("_codecs", "encode"):  # how protocol-2 pickles written by Python 3 store bytes
            import _codecs

            return _codecs.encode
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


def load_cifar_folder_archive(archive: str | Path, split: str) -> tuple[ArrayDataset | None, bool]:
    """(data set or None, archive holds any split) from a tar of `cifar10/<split>/<class>/*.jpg` images,
    decoded to 32x32 RGB straight from the archive and cached (see tarfolder.py)."""
    archive = Path(archive)
    ds = load_image_tar(archive, split, size=(32, 32), mode="RGB", missing_ok=True)
    if ds is None:
        return None, bool(read_image_tar(archive, split)[5])
    ds.source = f"CIFAR-10 JPEG folder from {display_path(archive)}"
    return ds, True
