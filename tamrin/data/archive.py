"""Safe archive extraction: a downloaded or shared tar may not write outside its target folder.

`tarfile.extractall` on an untrusted archive can overwrite any file the user can write (absolute
names, `../` components, or a symlink/hardlink pointing outside followed by a file written through
it). We check every member ourselves, with an error naming the offending entry, and additionally use
Python's own "data" filter where it exists. Extraction goes to a temporary sibling folder that is
renamed into place at the end, so an interrupted extraction is never mistaken for a complete one.
"""
from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from tamrin.errors import UserError

__all__ = ["safe_extract", "check_members"]


def _inside(base: str, path: str) -> bool:
    base, path = os.path.normpath(base), os.path.normpath(path)
    return path == base or path.startswith(base + os.sep)


def check_members(tar: tarfile.TarFile, archive_name: str = "archive") -> list[tarfile.TarInfo]:
    """All members, after refusing any that could escape the extraction folder (UserError)."""
    root = os.path.normpath("/__target__")  # a virtual target: only the relative layout matters
    members = tar.getmembers()
    for m in members:
        name = m.name
        pure = PurePosixPath(name)
        if name.startswith(("/", "\\")) or pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
            raise UserError(f"{archive_name}: refusing absolute path {name!r}")
        if ".." in pure.parts or ".." in Path(name).parts:
            raise UserError(f"{archive_name}: refusing path with '..' {name!r}")
        dest = os.path.join(root, name)
        if not _inside(root, dest):
            raise UserError(f"{archive_name}: refusing path outside the target {name!r}")
        if m.issym():
            if os.path.isabs(m.linkname):
                raise UserError(f"{archive_name}: refusing symlink {name!r} to absolute path {m.linkname!r}")
            if not _inside(root, os.path.join(os.path.dirname(dest), m.linkname)):
                raise UserError(f"{archive_name}: refusing symlink {name!r} -> {m.linkname!r} that escapes the target")
        elif m.islnk():  # hardlink names are relative to the archive root
            if os.path.isabs(m.linkname) or not _inside(root, os.path.join(root, m.linkname)):
                raise UserError(f"{archive_name}: refusing hardlink {name!r} -> {m.linkname!r} that escapes the target")
        elif not (m.isfile() or m.isdir()):
            raise UserError(f"{archive_name}: refusing special file {name!r} (device, fifo...)")
    return members


def safe_extract(archive: str | Path, target: str | Path) -> Path:
    """Extract the tar (optionally gzip/bz2/xz) `archive` into `target`, refusing unsafe members.

    `target` must not exist yet; it appears complete or not at all.
    """
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = check_members(tar, archive.name)
            tmp.mkdir()
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: defence in depth
                tar.extractall(tmp, members=members, filter="data")
            else:  # pragma: no cover - older Pythons
                tar.extractall(tmp, members=members)
    except (tarfile.TarError, EOFError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        first = str(e).splitlines()[0].rstrip(":") if str(e) else ""  # one line: tarfile's errors can span several
        raise UserError(f"{archive}: cannot extract ({type(e).__name__}: {first})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.replace(tmp, target)
    return target
