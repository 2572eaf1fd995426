"""MNIST's IDX file format (http://yann.lecun.com/exdb/mnist/), gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order. We check all of it, so that a
wrong or truncated file gives one clear error instead of garbage images.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from tamrin.errors import UserError

from .dataset import ArrayDataset
from .paths import display_path

__all__ = ["read_idx", "write_idx", "find_mnist_files", "load_mnist_dir", "MNIST_FILES"]

# type code -> big-endian numpy dtype
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the file name
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise UserError(f"{path}: corrupt or truncated gzip file ({e})") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip or raw) into a native-endian numpy array, validating its header and size."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    dtype, ndim = np.dtype(_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise UserError(f"{path}: truncated IDX header ({ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise UserError(f"{path}: IDX header says shape {shape} ({expected} bytes) but the file holds "
                        f"{len(data) - header} bytes (truncated or wrong file)")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file (gzip when the name ends in .gz); used by tests and tools."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v): k for k, v in _DTYPES.items()}  # dtype equality ignores byte order for 1-byte types
    big = array.dtype.newbyteorder(">")
    if big not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    code = codes[big]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


def find_mnist_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of `split` in `folder`, in any of the common spellings, or None."""
    found = []
    for stem in MNIST_FILES[split]:
        # official name, its .gz, and the dotted variant some mirrors use (train-images.idx3-ubyte)
        names = [stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"]
        hit = next((folder / n for n in names if (folder / n).is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found[0], found[1]


def load_mnist_dir(folder: str | Path, split: str) -> ArrayDataset | None:
    """MNIST `split` from the IDX files in `folder`, or None when they are not there."""
    folder = Path(folder)
    files = find_mnist_files(folder, split)
    if files is None:
        return None
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"{files[0]}: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise UserError(f"{files[1]}: {labels.shape[0] if labels.ndim else 0} labels for {len(images)} images in {files[0].name}")
    if len(labels) and labels.max() > 9:
        raise UserError(f"{files[1]}: label {int(labels.max())} out of range 0..9")
    return ArrayDataset(images[..., None].copy(), labels.astype(np.int64), [str(d) for d in range(10)],
                        source=f"MNIST IDX from {display_path(folder)}")
