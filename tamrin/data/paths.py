"""Where data lives: the shared read-only data folder and the per-user download/decode cache."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir", "cache_dir", "repo_root", "display_path"]


def repo_root() -> Path:
    """The checkout this package was imported from (tamrin/data/paths.py -> two levels up)."""
    return Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path | None:
    """The shared data folder, or None when there is none.

    Looked up in this order: `$TAMRIN_SHARED` (an explicit override, also used by tests to hide the
    real data), `../shared/data` relative to the current directory, then relative to the repo root
    (so that running from a sub-folder, or from an installed checkout, still finds it).
    """
    env = os.environ.get("TAMRIN_SHARED")
    if env is not None:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    for base in (Path.cwd(), repo_root()):
        p = base.parent / "shared" / "data"
        if p.is_dir():
            return p.resolve()
    return None


def cache_dir() -> Path:
    """The download and decode cache: `$TAMRIN_DATA`, else `~/.cache/tamrin` (created on demand)."""
    env = os.environ.get("TAMRIN_DATA")
    p = Path(env).expanduser() if env else Path.home() / ".cache" / "tamrin"
    p.mkdir(parents=True, exist_ok=True)
    return p


def display_path(p: str | Path) -> str:
    """A data path as a report shows it: under the shared data folder as `../shared/data/...`, under the
    cache as `$TAMRIN_DATA/...`, under the home folder as `~/...`; never the machine's absolute location."""
    p = Path(p).expanduser()
    try:
        p = p.resolve()
    except OSError:
        return str(p)
    roots = []
    shared = shared_data_dir()
    if shared is not None:
        roots.append((shared.resolve(), "../shared/data"))
    env = os.environ.get("TAMRIN_DATA")
    roots.append(((Path(env).expanduser() if env else Path.home() / ".cache" / "tamrin").resolve(), "$TAMRIN_DATA"))
    roots.append((Path.home().resolve(), "~"))
    for root, name in roots:
        try:
            rel = p.relative_to(root)
        except ValueError:
            continue
        return name if str(rel) == "." else f"{name}/{rel.as_posix()}"
    return p.as_posix()
