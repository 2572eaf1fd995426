"""`load_mnist` and `load_cifar10`: find the real data set, or fall back to an embedded stand-in.

Lookup order (the first that has the data wins):
  1. an explicit `data_dir` -- if it has no data, that is the user's mistake: a UserError, never a fallback;
  2. the shared data folder (`shared_data_dir()`, normally ../shared/data);
  3. the download cache (`cache_dir()`, `$TAMRIN_DATA` or ~/.cache/tamrin);
  4. a download from the public URL into the cache (skipped at once when `TAMRIN_OFFLINE=1`, and
     within a few seconds when the host cannot be reached);
  5. the embedded stand-in (sklearn digits for MNIST, synthetic shapes for CIFAR-10), flagged with
     `is_fallback=True` and a `run.notice(...)` so the report says so. `fallback=False` raises instead.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from tamrin.errors import SplitNotFound, UserError

from .dataset import ArrayDataset
from .embedded import embedded_digits, synthetic_images
from .idx import MNIST_FILES, load_mnist_dir
from .paths import cache_dir, display_path, shared_data_dir

__all__ = ["load_mnist", "load_cifar10"]

_SPLITS = ("train", "test")


def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise UserError(f"unknown split {split!r}; choose 'train' or 'test'")


def _notice(run, message: str) -> None:
    if run is not None:
        run.notice(message)
    else:
        warnings.warn(message, stacklevel=3)


# --- MNIST ------------------------------------------------------------------------------------------
def _mnist_candidates(root: Path) -> list[Path]:
    """Folders under `root` where MNIST IDX files commonly sit (ours, torchvision's, plain)."""
    return [root, root / "mnist", root / "MNIST" / "raw", root / "MNIST"]


def _mnist_from(root: Path, split: str) -> ArrayDataset | None:
    for folder in _mnist_candidates(root):
        if folder.is_dir():
            ds = load_mnist_dir(folder, split)
            if ds is not None:
                return ds
    return None


def _record(run, split: str, ds: ArrayDataset) -> ArrayDataset:
    """Name the data a run read (the report's title page lists it)."""
    if run is not None and hasattr(run, "record_source"):
        run.record_source(f"{split}: {ds.source}")
    return ds


def load_mnist(data_dir: str | Path = "", split: str = "train", run=None, fallback: bool = True) -> ArrayDataset:
    """MNIST `split` as 28x28x1 uint8 images and int64 labels; see the module docstring for the lookup order."""
    return _record(run, split, _load_mnist(data_dir, split, run, fallback))


def _load_mnist(data_dir, split, run, fallback) -> ArrayDataset:
    _check_split(split)
    if data_dir:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise UserError(f"data directory {root} does not exist")
        ds = _mnist_from(root, split)
        if ds is None:
            names = " and ".join(n + "[.gz]" for n in MNIST_FILES[split])
            raise UserError(f"no MNIST {split} IDX files ({names}) in {root} or its mnist/ sub-folder")
        return ds
    shared = shared_data_dir()
    if shared is not None and (ds := _mnist_from(shared, split)) is not None:
        return ds
    cached = cache_dir() / "mnist"
    if (ds := _mnist_from(cached, split)) is not None:
        return ds
    from .download import download_mnist  # imported late: keeps the offline path free of urllib set-up

    reason = download_mnist(cached, split)
    if reason is None and (ds := _mnist_from(cached, split)) is not None:
        return ds
    if not fallback:
        raise UserError(f"MNIST {split} not found (shared data, {cached}) and not downloadable ({reason}); pass --data-dir")
    ds = embedded_digits(split)
    ds.is_fallback = True
    ds.source += " (fallback)"
    _notice(run, f"MNIST not found and not downloadable ({reason}): using the embedded scikit-learn digits "
                 f"({len(ds)} {split} images, 8x8 upsampled to 28x28) instead; accuracies are not comparable to MNIST.")
    return ds


# --- CIFAR-10 ---------------------------------------------------------------------------------------
def _cifar_from(root: Path, split: str) -> tuple[ArrayDataset | None, bool]:
    """(CIFAR-10 `split` from under `root` or None, whether any CIFAR-10 data was found there at all)."""
    from .cifar import load_cifar_archive, load_cifar_batches, load_cifar_folder_archive
    from .folder import load_image_folder

    found = False
    for cand in (root, root / "cifar10", root / "cifar-10", root / "CIFAR10"):
        if not cand.is_dir():
            continue
        for batches in (cand / "cifar-10-batches-py", cand):
            if (batches / "data_batch_1").is_file() or (batches / "test_batch").is_file():
                found = True
                if (ds := load_cifar_batches(batches, split)) is not None:
                    return ds, True
        if (archive := cand / "cifar-10-python.tar.gz").is_file():
            found = True
            if (ds := load_cifar_archive(archive, split)) is not None:
                return ds, True
        if (cand / "train").is_dir() or (cand / "test").is_dir():
            found = True
            if (cand / split).is_dir():
                ds = load_image_folder(cand, split, size=(32, 32), mode="RGB")
                ds.source = f"CIFAR-10 image folder {display_path(cand / split)}"
                return ds, True
        for archive in sorted(cand.glob("cifar10*.tar.gz")) + sorted(cand.glob("cifar10*.tgz")):
            ds, usable = load_cifar_folder_archive(archive, split)
            found = found or usable
            if ds is not None:
                return ds, True
    return None, found


def load_cifar10(data_dir: str | Path = "", split: str = "train", run=None, fallback: bool = True) -> ArrayDataset:
    """CIFAR-10 `split` as 32x32x3 uint8 images; lookup order in the module docstring.

    The shared copy has only the train split: asking for "test" where only train exists anywhere is a
    UserError (hold out validation from train instead), never a silent synthetic test set.
    Files skipped while decoding a JPEG tree are reported with run.notice(...) when a run is given.
    """
    ds = _record(run, split, _load_cifar10(data_dir, split, run, fallback))
    if ds.skipped and run is not None:
        run.notice(f"{len(ds.skipped)} CIFAR-10 file(s) skipped (corrupt or not an image): "
                   + "; ".join(ds.skipped[:5]) + (" ..." if len(ds.skipped) > 5 else ""))
    return ds


def _load_cifar10(data_dir, split, run, fallback) -> ArrayDataset:
    _check_split(split)
    if data_dir:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise UserError(f"data directory {root} does not exist")
        ds, found = _cifar_from(root, split)
        if ds is None:
            what = f"CIFAR-10 has no {split} split" if found else "no CIFAR-10 data"
            raise SplitNotFound(f"{what} in {root} (expected cifar-10-batches-py/, cifar-10-python.tar.gz "
                            f"or {split}/<class>/<image> folders)")
        return ds
    found_where = []
    shared = shared_data_dir()
    if shared is not None:
        ds, found = _cifar_from(shared, split)
        if ds is not None:
            return ds
        if found:
            found_where.append(str(shared))
    cached = cache_dir() / "cifar10"
    ds, found = _cifar_from(cached, split)
    if ds is not None:
        return ds
    if found:
        found_where.append(str(cached))
    from .download import download_cifar10

    reason = download_cifar10(cached)
    if reason is None and (ds := _cifar_from(cached, split)[0]) is not None:
        return ds
    if found_where:
        raise SplitNotFound(f"CIFAR-10 {split} split not present (found other splits in {', '.join(found_where)}) "
                        f"and not downloadable ({reason}); hold out validation from the train split instead")
    if not fallback:
        raise SplitNotFound(f"CIFAR-10 not found (shared data, {cached}) and not downloadable ({reason}); pass --data-dir")
    n, seed = (10000, 0) if split == "train" else (2000, 1)
    ds = synthetic_images(n=n, size=32, num_classes=10, channels=3, seed=seed)
    ds.is_fallback = True
    ds.source += " (fallback for CIFAR-10)"
    _notice(run, f"CIFAR-10 not found and not downloadable ({reason}): using {n} synthetic 32x32 RGB "
                 f"shape/grating images ({split}) instead; accuracies are not comparable to CIFAR-10.")
    return ds
