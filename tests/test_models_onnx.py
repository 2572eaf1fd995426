"""ONNX export of an untrained model: ONNX Runtime must reproduce PyTorch's logits to 1e-4."""
import torch

from tamrin.models import create
from tamrin.models.export import export_onnx, max_abs_diff, onnx_latency_ms, onnx_session


def test_onnx_export_matches_pytorch(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create("mobilenet_v2", num_classes=10, width_mult=0.5, input_size=32).eval()
    # Non-trivial BN statistics, so the test also covers BN folding / running stats in the export.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "m.onnx"
    data = export_onnx(model, path, 32)
    assert path.read_bytes() == data
    sess = onnx_session(data)
    x = torch.randn(5, 3, 32, 32)  # batch 5 != export batch 1: the dynamic batch axis works
    assert max_abs_diff(model, sess, x) < 1e-4
    assert onnx_latency_ms(sess, x.numpy(), repeats=2, warmup=1) > 0
