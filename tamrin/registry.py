"""Experiment registry. Each module in `tamrin.experiments` defines `EXPERIMENT = Experiment(...)`;
they are discovered automatically, so adding an exercise never means editing a central list.

The contract of an experiment module:
- `Config`: a dataclass with defaults for the full recipe, fields `seed: int` and `data_dir: str`
  (empty = the default lookup: ../shared/data, $TAMRIN_DATA cache, download, embedded fallback),
  and a classmethod `quick()` returning the fast preset used by `--quick`.
- `run(cfg, run: tamrin.runs.Run) -> list[tamrin.report.Section]`: does the work, logs metrics and
  saves figures through `run`, returns the report's sections. Must be resumable: training goes
  through `tamrin.train` which checkpoints and resumes by itself.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from tamrin.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str  # one line
    exercise: str  # the course exercise it implements
    config: type
    run: Callable
    order: int = 100  # position in `tamrin list` and `run all`
    trains: bool = True  # trains a model (used by the generic resume test)

    def default_config(self, quick: bool = False, preset: str | None = None):
        if preset:
            if preset not in self.presets():
                raise UserError(f"{self.name} has no preset {preset!r}; its presets: {', '.join(self.presets()) or 'none'}")
            return getattr(self.config, preset)()
        if quick and hasattr(self.config, "quick"):
            return self.config.quick()
        return self.config()

    def presets(self) -> tuple[str, ...]:
        """Named presets: classmethods listed in the config's PRESETS (default: quick and smoke where defined)."""
        names = getattr(self.config, "PRESETS", ("quick", "smoke"))
        return tuple(n for n in names if callable(getattr(self.config, n, None)))


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False


def register(exp: Experiment) -> Experiment:
    if exp.name in _REGISTRY and _REGISTRY[exp.name] is not exp:
        raise ValueError(f"experiment {exp.name!r} registered twice")
    _REGISTRY[exp.name] = exp
    return exp


def discover() -> dict[str, Experiment]:
    global _DISCOVERED
    if not _DISCOVERED:
        import tamrin.experiments as pkg

        for mod in pkgutil.iter_modules(pkg.__path__):
            if mod.name.startswith("_"):
                continue
            m = importlib.import_module(f"tamrin.experiments.{mod.name}")
            exp = getattr(m, "EXPERIMENT", None)
            if isinstance(exp, Experiment):
                register(exp)
        _DISCOVERED = True
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get(name: str) -> Experiment:
    exps = discover()
    if name not in exps:
        from tamrin.course import ASSIGNMENTS

        raise UserError(f"unknown experiment {name!r}{did_you_mean(name, list(exps) + list(ASSIGNMENTS))}; choose one of: "
                        f"{', '.join(exps)}; or an assignment: {', '.join(ASSIGNMENTS)}, or 'all'")
    return exps[name]
