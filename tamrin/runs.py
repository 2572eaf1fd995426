"""Run folders: `runs/<YYYYmmdd-HHMMSS>-<experiment>/` with config, environment, metrics, checkpoints,
figures and reports. Every file is written atomically (temporary file in the same folder + fsync +
rename), so a run killed at any instant leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from tamrin.errors import UserError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "Run", "new_run_dir", "environment"]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` so that readers see the old file or the new one, never a mix.

    A failure (disk full, no permission, read-only file system) leaves the old file untouched, removes
    the temporary file and is raised as one UserError line naming the file and the reason.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files: reports must be readable like any other file
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError):
            raise UserError(_write_error(path, e)) from None
        raise
    return path


def _write_error(path: Path, e: OSError) -> str:
    import errno

    hint = {errno.ENOSPC: "the disk is full; free some space",
            errno.EDQUOT: "the disk quota is exhausted; free some space",
            errno.EACCES: "no permission to write there", errno.EPERM: "no permission to write there",
            errno.EROFS: "the file system is read-only"}.get(e.errno, "")
    what = e.strerror or type(e).__name__
    return (f"cannot write {path}: {what}" + (f" ({hint})" if hint else "")
            + "; the previous version of the file, if any, is unchanged")


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_jsonable, allow_nan=True) + "\n")


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except Exception:
        return None


# module -> distribution name; versions of modules not yet imported are read from the package metadata,
# because importing fpdf and onnxruntime only to print their versions cost ~2 s of every run's start-up
_VERSIONED = {"tamrin": "tamrin", "numpy": "numpy", "torch": "torch", "sklearn": "scikit-learn", "matplotlib": "matplotlib",
              "PIL": "pillow", "fpdf": "fpdf2", "jinja2": "jinja2", "yaml": "pyyaml", "onnxruntime": "onnxruntime"}


def _versions() -> dict:
    from importlib import metadata

    versions = {}
    for mod, dist in _VERSIONED.items():
        m = sys.modules.get(mod)
        v = getattr(m, "__version__", None) if m is not None else None
        if v is None:
            try:
                v = metadata.version(dist)
            except metadata.PackageNotFoundError:
                if mod != "tamrin":
                    continue
                import tamrin

                v = getattr(tamrin, "__version__", "?")
        versions[mod] = str(v)
    return versions


def environment(seed: int | None = None) -> dict:
    """What a reader needs to reproduce the numbers: versions, commit, seed, hardware, threads."""
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "seed": seed,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    env["versions"] = _versions()
    try:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.cuda.is_available()
        if env["cuda"]:
            env["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    return env


def new_run_dir(root: str | Path, experiment: str) -> Path:
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{experiment}"
    i = 1
    while path.exists():
        i += 1
        path = root / f"{stamp}-{experiment}-{i}"
    path.mkdir(parents=True)
    return path


class Run:
    """One experiment's folder. Experiments log metrics, save figures and checkpoints through it.

    `metrics.jsonl` holds one JSON record per line; it is rewritten atomically on every log call
    (runs log per epoch, so the file stays small) which also makes `truncate` on resume trivial.
    """

    def __init__(self, path: str | Path, experiment: str = "", quiet: bool = False):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.experiment = experiment
        self.quiet = quiet
        self.notices: list[str] = []
        self.data_sources: list[str] = []  # what data the run read (shown on the report's title page)
        self.rank = int(os.environ.get("RANK", "0"))
        self._records: list[dict] = self.read_metrics()

    # --- folders -------------------------------------------------------------------------
    @property
    def is_writer(self) -> bool:
        """Only rank 0 writes under torchrun."""
        return self.rank == 0

    @property
    def figures_dir(self) -> Path:
        d = self.path / "figures"
        d.mkdir(exist_ok=True)
        return d

    @property
    def checkpoints_dir(self) -> Path:
        d = self.path / "checkpoints"
        d.mkdir(exist_ok=True)
        return d

    # --- metrics -------------------------------------------------------------------------
    def read_metrics(self) -> list[dict]:
        p = self.path / "metrics.jsonl"
        if not p.exists():
            return []
        out = []
        for line in p.read_text().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    @property
    def metrics(self) -> list[dict]:
        return list(self._records)

    def log(self, record: dict | None = None, **fields) -> None:
        rec = dict(record or {}, **fields)
        self._records.append(json.loads(json.dumps(rec, default=_jsonable)))
        self._flush_metrics()

    def truncate_metrics(self, keep) -> None:
        """Keep only records for which keep(record) is true (used when resuming)."""
        self._records = [r for r in self._records if keep(r)]
        self._flush_metrics()

    def _flush_metrics(self) -> None:
        if not self.is_writer:
            return
        text = "".join(json.dumps(r, default=_jsonable) + "\n" for r in self._records)
        atomic_write_text(self.path / "metrics.jsonl", text)

    # --- files ---------------------------------------------------------------------------
    def save_figure(self, fig, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure as figures/<name>.png atomically and close it."""
        import io

        import matplotlib.pyplot as plt

        if not name.endswith(".png"):
            name += ".png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        path = self.figures_dir / name
        if self.is_writer:
            atomic_write_bytes(path, buf.getvalue())
        return path

    def write_json(self, name: str, obj) -> Path:
        p = self.path / name
        if self.is_writer:
            atomic_write_json(p, obj)
        return p

    def write_text(self, name: str, text: str) -> Path:
        p = self.path / name
        if self.is_writer:
            atomic_write_text(p, text)
        return p

    def notice(self, message: str) -> None:
        """A visible notice: printed now and listed at the top of the report (e.g. fallback data)."""
        if message not in self.notices:
            self.notices.append(message)
        if not self.quiet and self.is_writer:
            print(f"NOTICE: {message}", file=sys.stderr)

    def record_source(self, source: str) -> None:
        if source and source not in self.data_sources:
            self.data_sources.append(source)

    def info(self, message: str) -> None:
        if not self.quiet and self.is_writer:
            print(message, file=sys.stderr)


def iter_runs(root: str | Path) -> Iterable[Path]:
    root = Path(root)
    if root.is_dir():
        yield from sorted(p for p in root.iterdir() if (p / "config.yaml").exists())
