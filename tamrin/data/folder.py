"""Image-folder data sets: `root/<split>/<class>/<image>` (e.g. CIFAR-10 JPEGs, FER2013, AffectNet).

Class names are the sub-folder names, sorted. Every image is converted to the caller's mode ("L" or
"RGB") and size; files that cannot be decoded are skipped and listed (`ds.skipped` plus a warning),
never a crash. Decoding 50,000 JPEGs takes a while, so the decoded uint8 arrays are cached under
`cache_dir()/folders/`, keyed by the folder, every file's name, size and modification time, and the
requested size and mode: any change to the files or the request decodes again.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections import Counter
import multiprocessing
from pathlib import Path

import numpy as np

from tamrin.errors import UserError

from .dataset import ArrayDataset
from .decode import decode_image
from .paths import cache_dir, display_path

__all__ = ["load_image_folder", "IMAGE_EXTENSIONS", "list_image_folder", "read_cache", "write_cache",
           "decode_to_dataset"]

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
_CACHE_VERSION = 1  # bump when the decoding changes, so old caches are not reused
_WORKERS = 2        # the course machines have 2 cores
_POOL_MIN_FILES = 2000  # below this, starting processes costs more than it saves


def shown(name) -> str:
    """A file or folder name for a one-line message: as is, or quoted with escapes if it holds newlines
    or other unprintable characters (a class folder named "a\nb" must not break the error in two)."""
    s = str(name)
    return s if s.isprintable() else repr(s)


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as e:  # e.g. a folder without read permission: one line, not a traceback
        raise UserError(f"cannot read folder {shown(folder)}: {e.strerror or e}") from None


def list_image_folder(root: str | Path, split: str):
    """(classes, [(relative path, class index, size, mtime_ns)], non-image files) of `root/split`.

    Raises UserError for a missing split, a split without class folders, or a class folder without images.
    """
    root = Path(root)
    split_dir = root / split if split else root
    if not split_dir.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise UserError(f"split folder {shown(split_dir)} does not exist" + (f" (found: {', '.join(map(shown, have))})" if have else ""))
    classes = [e.name for e in _scan(split_dir) if e.is_dir()]
    if not classes:
        raise UserError(f"{shown(split_dir)} has no class sub-folders (expected {shown(split_dir)}/<class>/<image>)")
    files, other = [], []
    for ci, name in enumerate(classes):
        n_before = len(files)
        for e in _scan(split_dir / name):
            if not e.is_file():
                continue
            rel = f"{name}/{e.name}"
            if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                st = e.stat()
                files.append((rel, ci, st.st_size, st.st_mtime_ns))
            else:
                other.append(rel)
        if len(files) == n_before:
            raise UserError(f"class folder {shown(split_dir / name)} contains no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return classes, files, other


def _cache_key(split_dir: Path, files, size, mode) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([_CACHE_VERSION, str(split_dir.resolve()), size, mode]).encode())
    for rel, ci, nbytes, mtime in files:
        h.update(f"{rel}\0{ci}\0{nbytes}\0{mtime}\n".encode())
    return h.hexdigest()[:32]


def _decode_job(args):
    src, size, mode = args  # src: a file path, or the file's bytes (images read out of an archive)
    try:
        return decode_image(io.BytesIO(src) if isinstance(src, bytes) else src, size, mode), None
    except Exception as e:  # any decoder failure means "skip this file", whatever Pillow raised
        return None, f"{type(e).__name__}: {e}".splitlines()[0][:200]


def _decode_all(sources, size, mode, desc: str):
    """Decode every source (a pool of 2 processes for big folders); returns [(array or None, error)]."""
    from tqdm import tqdm

    jobs = [(src, size, mode) for src in sources]
    bar = dict(total=len(jobs), desc=desc, unit="img", disable=None, mininterval=0.5)
    if len(jobs) < _POOL_MIN_FILES:
        return list(tqdm(map(_decode_job, jobs), **bar))
    # fork is fastest to start; the worker needs only Pillow and the job tuple
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with multiprocessing.get_context(method).Pool(_WORKERS) as pool:
        return list(tqdm(pool.imap(_decode_job, jobs, chunksize=256), **bar))


def decode_to_dataset(sources, names, labels, classes, size, mode, other=(), desc="decoding") -> ArrayDataset:
    """Decode `sources` (paths or bytes) named `names` with class indices `labels` into an ArrayDataset.

    Undecodable sources and the `other` (non-image) names end up in `skipped`, with the reason.
    """
    results = _decode_all(sources, size, mode, desc)
    files = list(zip(names, labels))
    images, kept = _stack(results, files, size)
    skipped = [f"{shown(name)} ({err})" for (arr, err), name in zip(results, names) if arr is None]
    skipped += [f"{shown(name)} (not an image file)" for name in other]
    return ArrayDataset(images, np.asarray([ci for _, ci in kept], np.int64), list(classes), skipped=skipped)


def _stack(results, files, size):
    """Stack decoded arrays; with no fixed size, images of another size are resized to the most common one."""
    from PIL import Image

    good = [(arr, f) for (arr, _), f in zip(results, files) if arr is not None]
    if not good:
        return np.zeros((0, *(size or (1, 1)), 1), np.uint8), []
    # mode None: grey and colour mixed -> everything becomes RGB (grey replicated), so no colour is lost
    channels = max(a.shape[2] for a, _ in good)
    shapes = Counter(a.shape[:2] for a, _ in good)
    h, w = shapes.most_common(1)[0][0]
    if len(shapes) > 1:
        warnings.warn(f"images have {len(shapes)} different sizes; resizing all to the most common, {h}x{w} "
                      f"(pass size=(H, W) to choose)", stacklevel=4)
    out = np.empty((len(good), h, w, channels), np.uint8)
    for i, (a, _) in enumerate(good):
        if a.shape[:2] != (h, w):
            img = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
            a = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR)).reshape(h, w, -1)
        out[i] = a if a.shape[2] == channels else np.repeat(a, channels, axis=2)
    return out, [f for _, f in good]


def align_classes(ds: ArrayDataset, classes: list[str], where: str, run=None) -> ArrayDataset:
    """Relabel `ds` to the class list `classes` (e.g. the training split's), so label i means the same
    class in every split even when a split lacks a class folder. A class `classes` does not know is a
    UserError; a class without images in this split is a warning (and a run notice)."""
    classes = list(classes)
    unknown = [c for c in ds.classes if c not in classes]
    if unknown:
        raise UserError(f"{where} has class folder(s) {', '.join(map(shown, unknown))} that the training classes "
                        f"({', '.join(map(shown, classes))}) do not have")
    if ds.classes == classes:
        return ds
    missing = [c for c in classes if c not in ds.classes]
    if missing:
        msg = f"{where} has no images of class(es) {', '.join(map(shown, missing))}; their scores there are undefined"
        warnings.warn(msg, stacklevel=3)
        if run is not None:
            run.notice(msg)
    mapping = np.asarray([classes.index(c) for c in ds.classes], np.int64)
    out = ArrayDataset(ds.images, mapping[ds.labels] if len(ds.labels) else ds.labels, classes, ds.source,
                       list(ds.skipped), ds.is_fallback)
    return out


def load_image_folder(root: str | Path, split: str = "train", size: tuple[int, int] | int | None = None,
                      mode: str | None = None, cache: bool = True, run=None,
                      classes: list[str] | None = None) -> ArrayDataset:
    """The images of `root/split/<class>/*` as an ArrayDataset (uint8 NHWC, int64 labels).

    root may also be a .tar(.gz) holding `[<top>/]<split>/<class>/*`, decoded without unpacking.

    size: (H, W) or an int for square, None = keep (mixed sizes -> the most common one).
    mode: "L" (1 channel), "RGB" (3 channels) or None = RGB if any image has colour, else L.
    cache: reuse / store the decoded arrays under cache_dir()/folders/.
    run: when given, skipped files are also reported with run.notice(...).
    classes: the class list to label with (pass the training split's `ds.classes` when loading
      validation/test), so that a split missing a class keeps the same label numbers; see align_classes.
    """
    if mode not in (None, "L", "RGB"):
        raise UserError(f"unknown image mode {mode!r}; choose 'L', 'RGB' or None")
    wanted = None if classes is None else [str(c) for c in classes]
    if isinstance(size, int):
        size = (size, size)
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise UserError(f"image size must be positive, got {size}")
    root = Path(root).expanduser()
    from .tarfolder import is_tar, load_image_tar  # late import: tarfolder builds on this module

    if is_tar(root):  # the same tree packed as one archive (like ../shared/data/fer2013/*.tar.gz)
        ds = load_image_tar(root, split, size, mode, cache)
        if ds.skipped and run is not None:
            run.notice(f"{len(ds.skipped)} file(s) in {display_path(root)} skipped: " + "; ".join(ds.skipped[:5]))
        if run is not None and hasattr(run, "record_source"):
            run.record_source(f"{split}: {ds.source}")
        return ds if wanted is None else align_classes(ds, wanted, f"{display_path(root)} ({split})", run)
    split_dir = root / split if split else root
    classes, files, other = list_image_folder(root, split)
    key = _cache_key(split_dir, files, size, mode)
    ds = read_cache(key) if cache else None
    if ds is None:
        ds = decode_to_dataset([str(split_dir / rel) for rel, *_ in files], [rel for rel, *_ in files],
                               [ci for _, ci, *_ in files], classes, size, mode, other, f"decoding {split_dir.name}")
        if cache:
            write_cache(key, ds)
    ds.source = f"image folder {display_path(split_dir)}"
    skipped = ds.skipped
    if skipped:
        msg = (f"{len(skipped)} file(s) in {display_path(split_dir)} skipped (corrupt, truncated or not an image): "
               + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
        warnings.warn(msg, stacklevel=2)
        if run is not None:
            run.notice(msg)
    if run is not None and hasattr(run, "record_source"):
        run.record_source(f"{split}: {ds.source}")
    return ds if wanted is None else align_classes(ds, wanted, shown(split_dir), run)


def _cache_paths(key: str) -> tuple[Path, Path]:
    folder = cache_dir() / "folders"
    return folder / f"{key}.npy", folder / f"{key}.json"


def read_cache(key: str) -> ArrayDataset | None:
    """The data set cached under `key`, or None. One np.load of the images: this is the < 2 s path."""
    npy, meta_path = _cache_paths(key)
    if not (npy.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        return ArrayDataset(np.load(npy), np.asarray(meta["labels"], np.int64), meta["classes"],
                            skipped=meta["skipped"])
    except (OSError, ValueError, KeyError) as e:  # a damaged cache is rebuilt, not fatal
        warnings.warn(f"ignoring unreadable cache {npy} ({e})", stacklevel=3)
        return None


def write_cache(key: str, ds: ArrayDataset) -> None:
    """Write the arrays to temporary names and rename, so a killed process never leaves half a cache."""
    npy, meta_path = _cache_paths(key)
    npy.parent.mkdir(parents=True, exist_ok=True)
    tmp = npy.with_name(f".{npy.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, ds.images)
    os.replace(tmp, npy)
    tmp_meta = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps({"labels": ds.labels.tolist(), "classes": ds.classes, "skipped": ds.skipped}))
    os.replace(tmp_meta, meta_path)  # the meta file is written last: its presence marks a complete cache
