"""Image-folder data sets shipped as one tar(.gz): `[<top>/]<split>/<class>/<image>` inside the archive.

Our shared CIFAR-10 and FER2013 copies come this way. The images are decoded straight out of the
archive -- unpacking 50,000 small files to disk and listing them again took minutes on a busy shared
disk -- with the folder loader's decoder pool, and the uint8 arrays are cached under the archive's
identity (path, size, modification time) plus split, size and mode: the second load is one np.load.
Nothing is written from the archive to disk, so no member name can escape anywhere; links and special
files are simply "not an image".
"""
from __future__ import annotations

import hashlib
import tarfile
import warnings
import zlib
from pathlib import Path, PurePosixPath

from tamrin.errors import UserError

from .dataset import ArrayDataset
from .paths import display_path
from .folder import _CACHE_VERSION, IMAGE_EXTENSIONS, decode_to_dataset, read_cache, shown, write_cache

__all__ = ["is_tar", "load_image_tar", "read_image_tar"]

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def is_tar(path: str | Path) -> bool:
    return Path(path).is_file() and str(path).lower().endswith(_TAR_SUFFIXES)


def archive_tag(archive: Path) -> str:
    """Identity of an archive file: it changes when the archive is replaced or modified."""
    st = archive.stat()
    return hashlib.sha256(f"{archive.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def read_image_tar(archive: Path, split: str):
    """One pass over the archive: (classes, names, labels, blobs, non-image names, splits seen)."""
    by_class: dict[str, list[tuple[str, bytes]]] = {}
    other, splits = [], set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                parts = PurePosixPath(m.name).parts
                # nothing is extracted here, but an archive with such names is not to be trusted
                if m.name.startswith(("/", "\\")) or ".." in parts:
                    raise UserError(f"{archive}: refusing member {m.name!r} (absolute or '..' path)")
                if m.isdir():  # [<top>/]<split>/<class>/: an empty class folder must be noticed
                    if len(parts) in (2, 3) and parts[-2] == split and not parts[-1].startswith("."):
                        by_class.setdefault(parts[-1], [])
                    continue
                if len(parts) not in (3, 4) or parts[-1].startswith("."):
                    continue
                splits.add(parts[-3])
                if parts[-3] != split:
                    continue
                cls, name = parts[-2], f"{parts[-2]}/{parts[-1]}"
                by_class.setdefault(cls, [])
                if m.isfile() and PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS:
                    by_class[cls].append((name, tar.extractfile(m).read()))
                else:
                    other.append(name)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        first = str(e).splitlines()[0].rstrip(":") if str(e) else ""  # tarfile lists every method it tried
        raise UserError(f"{archive}: corrupt or truncated archive ({type(e).__name__}: {first})") from None
    classes = sorted(by_class)
    names, labels, blobs = [], [], []
    for ci, cls in enumerate(classes):
        if not by_class[cls]:
            raise UserError(f"class folder {shown(f'{split}/{cls}')} in {archive} contains no images")
        for name, blob in sorted(by_class[cls]):
            names.append(name)
            labels.append(ci)
            blobs.append(blob)
    return classes, names, labels, blobs, sorted(other), splits


def load_image_tar(archive: str | Path, split: str, size: tuple[int, int] | None = None, mode: str | None = None,
                   cache: bool = True, missing_ok: bool = False) -> ArrayDataset | None:
    """The `split` of an image-folder archive as an ArrayDataset (skipped files warned about).

    A split that is not in the archive is a UserError naming the splits that are, or None with
    `missing_ok` (used by the CIFAR-10 lookup, which then tries elsewhere).
    """
    archive = Path(archive)
    key_src = f"{_CACHE_VERSION}|{archive_tag(archive)}|{split}|{size}|{mode}"
    key = "tar-" + hashlib.sha256(key_src.encode()).hexdigest()[:32]
    ds = read_cache(key) if cache else None
    if ds is None:
        classes, names, labels, blobs, other, splits = read_image_tar(archive, split)
        if not names:
            if missing_ok:
                return None
            found = ", ".join(sorted(splits)) or "none"
            raise UserError(f"split {split!r} not found in {archive} (splits found: {found})")
        ds = decode_to_dataset(blobs, names, labels, classes, size, mode, other, f"decoding {archive.name}")
        if cache:
            write_cache(key, ds)
    ds.source = f"image archive {display_path(archive)} ({split})"
    if ds.skipped:
        warnings.warn(f"{len(ds.skipped)} file(s) of {archive.name} skipped (corrupt, truncated or not an image): "
                      + "; ".join(ds.skipped[:5]) + (" ..." if len(ds.skipped) > 5 else ""), stacklevel=3)
    return ds
