"""The torch-side lab helpers: LR range test and divergence detection, batch-norm probes, inits."""
import numpy as np
import torch
import torch.nn as nn

from tamrin.labs import batchnorm_probe as bp
from tamrin.labs import lr_range
from tamrin.labs.nets import MLP, DeepCNN, init_weights, layer_grad_norms


def _blobs(n=256, d=10, seed=0, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.randn(3, d, generator=g) * spread
    return centres[y] + torch.randn(n, d, generator=g), y


def test_range_test_recommends_a_rate_that_trains_and_flags_divergence():
    x, y = _blobs()

    def mlp():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))

    rt = lr_range.range_test(mlp(), x, y, 1e-4, 100.0, steps=150, batch=32)
    assert rt["recommended"] == rt["lr_at_min"] / 10 and rt["blew_up_at"] is not None
    assert rt["blew_up_at"] > rt["lr_at_min"] and rt["smooth"].min() < 0.5 * rt["smooth"][0]
    good = lr_range.train_curve(mlp(), x, y, rt["recommended"], 100, 32)
    bad = lr_range.train_curve(mlp(), x, y, 1e4, 100, 32)
    assert good["diverged_at"] is None and good["losses"][-1] < 0.5 * good["losses"][0]
    assert bad["diverged_at"] is not None and bad["diverged_at"] <= 100


def test_bn_probes_bias_noise_and_scale_invariance():
    r = bp.bias_before_bn()
    assert r["max_output_change"] < 1e-5 and r["bias_grad_norm"] < 1e-4 < r["weight_grad_norm"]
    x, y = _blobs(d=16, spread=3.0)
    x = x.view(-1, 1, 4, 4)
    torch.manual_seed(0)
    net = MLP(16, (8,), bn=True, classes=3)
    noise = bp.batch_noise(net, x, batches=6, batch=16)
    assert noise["train_rel_std"] > 0.01 and noise["eval_rel_std"] < 1e-6
    ref = bp.recompute_bn_stats(bp.scale_weights(net, 1.0), x)
    scaled = bp.recompute_bn_stats(bp.scale_weights(net, 1.0), 7.0 * x)
    assert bp.compare_predictions(ref, x, scaled, 7.0 * x)["changed"] == 0.0
    # without BN (and with biases) scaling the input does change some logits' ratios
    plain = MLP(16, (8,), bn=False, classes=3)
    assert abs(bp.compare_predictions(plain, x, bp.scale_weights(plain, 1.0), 3 * x)["logit_ratio"] - 1) > 0.05


def test_single_class_batches_are_single_class_and_cover_everything():
    y = torch.tensor([0, 1, 2] * 20)
    batches = bp.single_class_batches(y, 8, 0)
    assert all(len(torch.unique(y[b])) == 1 for b in batches)
    assert sorted(torch.cat(batches).tolist()) == list(range(60))


def test_he_keeps_relu_activation_scale_and_zero_init_is_dead():
    x = torch.randn(64, 1, 14, 14)
    stds = {}
    for scheme in ("xavier", "he"):
        m = init_weights(DeepCNN(8, 16), scheme, 0)
        h = torch.relu(m.stem(x))
        first = float(h.detach().std())
        h = m.blocks(h)
        stds[scheme] = float(h.detach().std()) / first
    assert stds["he"] > 5 * stds["xavier"]
    z = init_weights(DeepCNN(3, 4), "zero")
    grads = layer_grad_norms(z, z.convs(), x[:8], torch.arange(8) % 10)
    assert all(g == 0 for g in grads)
    # positive init saturates a sigmoid MLP and its first layer's gradient is far below Xavier's
    xs, ys = torch.randn(64, 1, 8, 8), torch.arange(64) % 10
    pos = init_weights(MLP(64, (64,) * 5, act="sigmoid"), "positive", scale=0.5)
    xav = init_weights(MLP(64, (64,) * 5, act="sigmoid"), "xavier")
    assert layer_grad_norms(pos, pos.linears(), xs, ys)[0] < 1e-3 * layer_grad_norms(xav, xav.linears(), xs, ys)[0]
    assert np.isfinite(layer_grad_norms(xav, xav.linears(), xs, ys)).all()
