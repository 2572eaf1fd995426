"""ONNX export and CPU latency measurement (PyTorch vs ONNX Runtime).

`export_onnx` uses the classic TorchScript-based exporter (dynamo=False): it is deterministic, needs no
extra packages, and handles every model here; the batch axis is exported as dynamic so one file serves
batch 1 and batch 64 latency runs.
"""
from __future__ import annotations

import io
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["export_onnx", "onnx_session", "torch_latency_ms", "onnx_latency_ms", "max_abs_diff"]


def export_onnx(model: nn.Module, path: str | Path | None, input_size: int, in_chans: int = 3) -> bytes:
    """Export `model` (in eval mode) to ONNX; writes `path` when given and returns the bytes."""
    model = model.eval()
    dummy = torch.zeros(1, in_chans, input_size, input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation chatter is not the user's concern
        torch.onnx.export(model, (dummy,), buf, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    data = buf.getvalue()
    if path is not None:
        from tamrin.runs import atomic_write_bytes

        atomic_write_bytes(path, data)
    return data


def onnx_session(onnx_bytes: bytes, threads: int = 1):
    """An ONNX Runtime CPU inference session with a fixed thread count (fair against torch threads)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])


def _median_ms(fn, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def torch_latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time (ms) of one eval-mode forward pass on the CPU."""
    model = model.eval()

    def fn():
        with torch.inference_mode():
            model(x)

    return _median_ms(fn, repeats, warmup)


def onnx_latency_ms(session, x: np.ndarray, repeats: int = 10, warmup: int = 2) -> float:
    name = session.get_inputs()[0].name
    return _median_ms(lambda: session.run(None, {name: x}), repeats, warmup)


def max_abs_diff(model: nn.Module, session, x: torch.Tensor) -> float:
    """Largest |PyTorch - ONNX Runtime| over the logits of batch x."""
    with torch.inference_mode():
        ref = model.eval()(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    return float(np.abs(ref - got).max())
