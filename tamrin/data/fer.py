"""Facial-expression image folders: find `root/{train,validation[,test]}/<class>/*`.

`face_folder(data_dir)` returns the folder that holds the splits:
- an explicit `data_dir` (the course's AffectNet subset, the full FER2013 as folders, or any other
  image-folder data set) must contain train/ and validation/; nothing else is assumed;
- otherwise the shared FER2013 subset (`../shared/data/fer2013/fer2013-subset.tar.gz`) is unpacked
  once, with the data layer's safe extraction, into the cache (`cache_dir()/fer2013-subset/`).
"""
from __future__ import annotations

from pathlib import Path

from tamrin.errors import UserError

from .archive import safe_extract
from .paths import cache_dir, shared_data_dir

__all__ = ["face_folder", "FER_ARCHIVE"]

FER_ARCHIVE = "fer2013/fer2013-subset.tar.gz"
REQUIRED = ("train", "validation")


def _has_splits(root: Path) -> bool:
    return all((root / s).is_dir() for s in REQUIRED)


def _find_root(base: Path) -> Path | None:
    """`base` itself or a single nested folder (archives often wrap everything in one directory)."""
    for cand in [base, *sorted(p for p in base.iterdir() if p.is_dir())] if base.is_dir() else []:
        if _has_splits(cand):
            return cand
    return None


def face_folder(data_dir: str | Path = "") -> Path:
    """The folder with train/ and validation/ (and optionally test/) class folders; see the module docstring."""
    if data_dir:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise UserError(f"data directory {root} does not exist")
        found = _find_root(root)
        if found is None and (root / FER_ARCHIVE).is_file():  # --data-dir pointing at a copy of the shared folder
            return _unpacked(root / FER_ARCHIVE)
        if found is None:
            have = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "nothing"
            raise UserError(f"{root} needs train/ and validation/ class folders (found: {have})")
        return found
    target = cache_dir() / "fer2013-subset"
    if target.is_dir() and (found := _find_root(target)) is not None:
        return found
    shared = shared_data_dir()
    archive = shared / FER_ARCHIVE if shared is not None else None
    if archive is None or not archive.is_file():
        raise UserError(f"no FER2013 subset ({FER_ARCHIVE} under the shared data folder) and no data_dir given; "
                        f"pass --set data_dir=FOLDER with train/ and validation/ class folders")
    return _unpacked(archive)


def _unpacked(archive: Path) -> Path:
    """The split folder inside the archive, unpacked once (safely) into cache_dir()/fer2013-subset."""
    target = cache_dir() / "fer2013-subset"
    if target.is_dir() and (found := _find_root(target)) is not None:
        return found
    if target.exists():  # a folder without the splits: an older or foreign layout; do not touch it
        raise UserError(f"{target} exists but has no train/ and validation/ folders; remove it to unpack again")
    safe_extract(archive, target)
    found = _find_root(target)
    if found is None:
        raise UserError(f"{archive} did not unpack to train/ and validation/ class folders")
    return found
