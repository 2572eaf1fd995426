"""The shared PyTorch training core: config, fit loop with checkpoints and resume, evaluation."""
from tamrin.train.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from tamrin.train.config import TrainConfig
from tamrin.train.fit import DivergedError, FitResult, evaluate, fit, predict, resolve_device

__all__ = ["TrainConfig", "fit", "evaluate", "predict", "FitResult", "DivergedError", "resolve_device",
           "save_checkpoint", "load_checkpoint", "load_model_state"]
