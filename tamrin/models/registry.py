"""Model registry: build any network by name with the same four arguments.

    @register_model("mobilenet_v1")
    class MobileNetV1(ClassifierBase): ...

    model = create("mobilenet_v1", num_classes=10, width_mult=0.5, input_size=32)

Every registered constructor takes `num_classes`, `width_mult` and `input_size` (plus model-specific
keywords), so experiments, sweeps and the generic interface test never special-case a model.
"""
from __future__ import annotations

from typing import Callable

from tamrin.errors import UserError, did_you_mean

__all__ = ["register_model", "create", "list_models"]

_MODELS: dict[str, Callable] = {}


def register_model(name: str) -> Callable:
    """Class/function decorator that registers a model constructor under `name`."""

    def deco(ctor: Callable) -> Callable:
        if name in _MODELS and _MODELS[name] is not ctor:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = ctor
        return ctor

    return deco


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_MODELS)


def create(name: str, num_classes: int = 10, width_mult: float = 1.0, input_size: int = 32, **kw):
    """Build the model registered as `name`; raises UserError for an unknown name or bad multiplier."""
    if name not in _MODELS:
        raise UserError(f"unknown model {name!r}{did_you_mean(name, _MODELS)}; choose one of: {', '.join(list_models())}")
    if not width_mult > 0:
        raise UserError(f"width_mult must be > 0, got {width_mult}")
    if int(num_classes) < 1:
        raise UserError(f"num_classes must be >= 1, got {num_classes}")
    model = _MODELS[name](num_classes=num_classes, width_mult=width_mult, input_size=input_size, **kw)
    # Recorded in checkpoints by tamrin.train, so a saved model can be rebuilt with create(**spec).
    model.model_spec = {"name": name, "kwargs": dict(num_classes=num_classes, width_mult=width_mult, input_size=input_size, **kw)}
    return model
