"""Every registered model: built by name, forward + backward on a small batch, the uniform interface."""
import pytest
import torch

from tamrin.errors import UserError
from tamrin.models import count_params, create, list_models

torch.set_num_threads(1)


def test_registry_lists_all_models():
    assert {"mobilenet_v1", "mobilenet_v2", "conv_mobilenet", "cnn_baseline", "inception"} <= set(list_models())
    with pytest.raises(UserError, match="mobilenet_v1"):
        create("mobilenet_v3")
    with pytest.raises(UserError):
        create("mobilenet_v1", width_mult=0)


@pytest.mark.parametrize("name", list_models())
def test_uniform_interface(name):
    torch.manual_seed(0)
    model = create(name, num_classes=7, width_mult=0.25, input_size=32)
    assert (model.num_classes, model.width_mult, model.input_size, model.default_input_size) == (7, 0.25, 32, 32)
    x = torch.randn(3, 3, 32, 32)
    model.train()
    feats = model.forward_features(x)
    assert feats.ndim == 4 and feats.shape[:2] == (3, model.num_features)
    assert model.forward_head(feats, pre_logits=True).shape == (3, model.num_features)
    out = model(x)
    assert out.shape == (3, 7)
    out.logsumexp(1).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]  # frozen by design (fast_cnn's BN scales): none
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0
    model.eval()
    with torch.no_grad():
        ref = model(x)
        torch.testing.assert_close(ref, model.forward_head(model.forward_features(x)))
        # works at another resolution (resolution multiplier) and in channels_last memory format
        assert model(torch.randn(2, 3, 16, 16)).shape == (2, 7)
        model.to(memory_format=torch.channels_last)
        torch.testing.assert_close(model(x.contiguous(memory_format=torch.channels_last)), ref, rtol=1e-4, atol=1e-4)
    # width multiplier thins the network
    assert count_params(create(name, num_classes=7, width_mult=0.5)) > count_params(model)
