"""Inversion tools: feature extraction stops at the layer and leaves no hook, decoder shapes for every
kind of layer, MSE/PSNR, total variation, optimisation-based inversion, and the saliency measures
(class specificity, deletion). Fast: tiny untrained networks only."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.errors import UserError
from tamrin.explain import hooks_left
from tamrin.explain.faithfulness import curve_area, deletion_curve, map_correlation, other_class, remove_top
from tamrin.explain.inversion import (LOGITS, OptimConfig, UpConvDecoder, feature_fn, invert_by_optimisation, layer_features,
                                      mse_per_image, psnr, total_variation)
from tamrin.models import create

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def vgg():
    torch.manual_seed(0)
    return create("hg_vgg_gap", num_classes=10, width_mult=0.25, input_size=32).eval()


def test_layer_features_match_the_truncated_network_and_stop_early(vgg):
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    vgg.train()
    f = layer_features(vgg, "features.6", x, batch_size=2)
    assert vgg.training and hooks_left(vgg) == 0  # mode restored, hook removed
    with torch.no_grad():
        ref = vgg.eval().features[:7](x)
    torch.testing.assert_close(f, ref)
    torch.testing.assert_close(layer_features(vgg, LOGITS, x), vgg(x).detach())
    calls = []
    h = vgg.classifier.register_forward_hook(lambda *a: calls.append(1))
    layer_features(vgg, "features.2", x)
    h.remove()
    assert calls == []  # the classifier never ran for an early layer
    with pytest.raises(UserError, match="unknown layer"):
        layer_features(vgg, "features.99", x)


def test_feature_fn_is_differentiable(vgg):
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    f = feature_fn(vgg, "features.10")
    f(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and hooks_left(vgg) == 0


@pytest.mark.parametrize("in_shape,upconvs", [((4, 16, 16), 1), ((8, 8, 8), 2), ((16, 4, 4), 3), ((32, 2, 2), 4),
                                              ((10,), 3), ((5, 3, 3), 4)])
def test_decoder_shapes(in_shape, upconvs):
    dec = UpConvDecoder(in_shape, (3, 32, 32), width=0.5, convs=2)
    out = dec(torch.randn(2, *in_shape))
    assert out.shape == (2, 3, 32, 32)
    assert dec.upconvs == upconvs  # each transposed conv doubles the side: 2 -> 4 -> 8 -> 16 -> 32
    out.sum().backward()
    assert all(p.grad is not None for p in dec.parameters())
    with pytest.raises(UserError, match="built for features"):
        dec(torch.randn(2, 7))


def test_decoder_rejects_bad_shapes():
    with pytest.raises(UserError):
        UpConvDecoder((3, 4), (3, 32, 32))
    with pytest.raises(UserError):
        UpConvDecoder((3, 4, 4), (3, 32, 32), width=0)


def test_decoder_learns_to_invert_an_invertible_feature():
    """Features = a 2x average-pooled image: a few Adam steps cut the reconstruction error clearly."""
    torch.manual_seed(0)
    img = torch.rand(64, 3, 16, 16)
    feats = F.avg_pool2d(img, 2)
    dec = UpConvDecoder(feats.shape[1:], (3, 16, 16), width=0.5)
    opt = torch.optim.Adam(dec.parameters(), 1e-2)
    with torch.no_grad():
        first = float(F.mse_loss(dec(feats), img))
    for _ in range(150):
        loss = F.mse_loss(dec(feats), img)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_mse_and_psnr():
    a, b = torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    b[0] += 0.1
    b[1, 0, 0, 0] = 1.0
    torch.testing.assert_close(mse_per_image(a, b), torch.tensor([0.01, 1 / 48]))
    assert math.isclose(float(psnr(0.01)), 20.0, rel_tol=1e-9)
    assert math.isclose(float(psnr(0.01 * 255 ** 2, peak=255)), 20.0, rel_tol=1e-9)


def test_total_variation_by_hand():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 1] = 1.0  # one bright pixel in the top row
    # forward differences on the 2x2 anchor grid: at (0,0) dx = 1, dy = 0; at (0,1) dx = dy = -1; others 0
    assert float(total_variation(x, 2.0)) == pytest.approx((1 + 2) / 4)
    assert float(total_variation(x, 1.0)) == pytest.approx((1 + math.sqrt(2)) / 4, abs=1e-4)
    assert float(total_variation(torch.ones(2, 3, 5, 5))[1]) == 0


def test_optimisation_inversion_matches_features_and_leaves_model_alone(vgg):
    x0 = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    before = {k: v.clone() for k, v in vgg.state_dict().items()}
    vgg.zero_grad(set_to_none=True)
    pix, hist = invert_by_optimisation(vgg, "features.6", x0, OptimConfig(steps=40, lr=0.05, tv_weight=0.01))
    assert pix.shape == x0.shape and 0 <= float(pix.min()) and float(pix.max()) <= 1
    assert hist["feature_loss"][-1] < 0.5 * hist["feature_loss"][0]
    assert len(hist["final_feature_error"]) == 2 and len(hist["loss"]) == 40
    assert all(torch.equal(v, before[k]) for k, v in vgg.state_dict().items())
    assert all(p.grad is None for p in vgg.parameters()) and hooks_left(vgg) == 0
    again, _ = invert_by_optimisation(vgg, "features.6", x0, OptimConfig(steps=40, lr=0.05, tv_weight=0.01))
    torch.testing.assert_close(pix, again, rtol=0, atol=0)  # seeded: reproducible
    with pytest.raises(UserError):
        OptimConfig(steps=0).validate()


# ---- saliency measures ------------------------------------------------------------------------
def test_map_correlation_and_other_class():
    a = torch.arange(8.0).view(2, 2, 2)
    np.testing.assert_allclose(map_correlation(a, 2 * a + 1), [1.0, 1.0])
    np.testing.assert_allclose(map_correlation(a, -a), [-1.0, -1.0])
    assert np.isnan(map_correlation(torch.ones(1, 2, 2), a[:1])[0])
    t = torch.tensor([0, 3, 9, 9, 5] * 20)
    o = other_class(t, 10, seed=1)
    assert (o != t).all() and o.min() >= 0 and o.max() <= 9 and len(set(o.tolist())) > 5
    with pytest.raises(UserError):
        other_class(t, 1)


def test_remove_top_and_deletion_curve():
    x = torch.ones(1, 2, 2, 2)
    maps = torch.tensor([[[0.1, 0.9], [0.5, 0.2]]])
    out = remove_top(x, maps, 0.5, fill=-1.0)  # the two highest: (0,1) and (1,0)
    assert out[0, :, 0, 1].tolist() == [-1, -1] and out[0, :, 1, 0].tolist() == [-1, -1]
    assert out[0, :, 0, 0].tolist() == [1, 1] and out[0, :, 1, 1].tolist() == [1, 1] and x.min() == 1
    torch.testing.assert_close(remove_top(x, maps, 0.0), x)
    big = torch.ones(1, 1, 4, 4)
    m4 = torch.zeros(1, 4, 4)
    m4[0, 2:, :2] = 1.0  # the bottom-left 2x2 square is the most salient
    out = remove_top(big, m4, 0.25, fill=0.0, patch=2)  # 1 of 4 squares
    assert out[0, 0, 2:, :2].eq(0).all() and out.sum() == 12
    with pytest.raises(UserError, match="divide"):
        remove_top(big, m4, 0.25, patch=3)

    class Bright(nn.Module):  # class 1 when the mean of the image is above 0.5, else class 0
        def forward(self, z):
            m = z.mean((1, 2, 3))
            return torch.stack([0.5 - m, m - 0.5], 1)

    xs = torch.ones(4, 1, 2, 2)
    acc = deletion_curve(Bright(), xs, torch.ones(4, dtype=torch.long), maps.expand(4, 2, 2), [0, 0.25, 0.5, 0.75])
    assert acc == [1.0, 1.0, 0.0, 0.0]  # mean 1, 0.75, 0.5 (not > 0.5), 0.25
    assert curve_area([0, 0.5, 1], [1, 0.5, 0]) == pytest.approx(0.5)
    with pytest.raises(UserError):
        remove_top(x, maps, 1.5)
