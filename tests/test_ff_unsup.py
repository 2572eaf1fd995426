"""Unsupervised FF: masks are binary and coherent, hybrids mix different digits, labels never reach the net."""
import tempfile

import torch

from tamrin.ff.net import FFNet
from tamrin.ff.probe import error_rate, select_softmax
from tamrin.ff.supervised import FFTrain
from tamrin.ff.unsup_train import make_hybrids, train_unsupervised
from tamrin.ff.unsupervised import (blur, class_sorted_index, different_digit_partners, different_image_partners, hybrids,
                                    mean_run_length, random_masks)
from tamrin.runs import Run

torch.set_num_threads(1)


def test_masks_are_binary_with_large_coherent_regions():
    g = torch.Generator().manual_seed(0)
    masks = random_masks(100, (28, 28), 8, g)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert 0.35 < masks.mean().item() < 0.65  # threshold 0.5 of a symmetric blur: about half ones
    bits = torch.randint(0, 2, (100, 28, 28), generator=g).float()
    random_len = mean_run_length(bits)
    assert abs(random_len - 2.0) < 0.15  # a random bit row changes value every other pixel on average
    assert mean_run_length(masks) > 3 * random_len
    # more passes, larger regions
    assert mean_run_length(random_masks(100, (28, 28), 2, g)) < mean_run_length(random_masks(100, (28, 28), 16, g))


def test_blur_is_the_separable_quarter_half_quarter_filter():
    img = torch.zeros(1, 5, 5)
    img[0, 2, 2] = 1.0
    out = blur(img, 1)
    k = torch.tensor([0.25, 0.5, 0.25])
    assert torch.allclose(out[0, 1:4, 1:4], torch.outer(k, k))
    assert out.sum().item() == 1.0  # mass preserved away from the border
    const = torch.full((1, 6, 6), 0.7)
    assert torch.allclose(blur(const, 3), const)  # replicate padding: no darkening at the border


def test_mean_run_length_by_hand():
    m = torch.tensor([[0, 0, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]]).float()
    assert mean_run_length(m) == 12 / 4  # runs: 3, 2, 1 and 6


def test_hybrids_pair_different_digits_and_mix_pixels():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(10).repeat(30)
    index = class_sorted_index(y)
    partner = different_digit_partners(y, index, g)
    assert not (y[partner] == y).any()
    assert len(set(y[partner].tolist())) == 10
    idx = torch.arange(300)
    assert not (different_image_partners(idx, 300, g) == idx).any()
    x1, x2 = torch.rand(4, 28, 28), torch.rand(4, 28, 28)
    m = random_masks(4, (28, 28), 8, g)
    h = hybrids(x1, x2, m)
    assert torch.equal(h[m == 1], x1[m == 1]) and torch.equal(h[m == 0], x2[m == 0])


def blobs(n, seed):
    """Toy 'digits' on 8x8: each class a blob in a different position."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = torch.zeros(n, 8, 8)
    for c, (r, col) in enumerate([(1, 1), (1, 5), (5, 1), (5, 5)]):
        x[y == c, r - 1 : r + 2, col - 1 : col + 2] = 1.0
    x = (x + 0.1 * torch.rand(n, 8, 8, generator=g)).clamp(0, 1)
    return x.view(n, 64), y


def test_unsupervised_training_separates_real_from_hybrid_and_never_feeds_labels(tmp_path, monkeypatch):
    x, y = blobs(400, 0)
    torch.manual_seed(0)
    net = FFNet(64, [32, 32, 32])
    seen = []
    orig = net.local_losses
    monkeypatch.setattr(net, "local_losses", lambda xp, xn, a=None: (seen.append((xp, xn)), orig(xp, xn, a))[1])
    hist = train_unsupervised(net, x, y, (8, 8), 2, FFTrain(epochs=5, batch_size=50, lr=0.01), Run(tmp_path, quiet=True),
                              "u", torch.Generator().manual_seed(0), pair="digit")
    # the network only ever receives images (64 pixel columns, values in [0, 1]), no label pixels or columns
    assert all(xp.shape[1] == 64 and xn.shape[1] == 64 for xp, xn in seen)
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert hist[-1]["gpos_l0"] > hist[-1]["gneg_l0"]
    # label-free pairing works without any labels
    train_unsupervised(FFNet(64, [16]), x, None, (8, 8), 2, FFTrain(epochs=1, batch_size=50), Run(tmp_path / "b", quiet=True),
                       "u", torch.Generator().manual_seed(0), pair="image")
    # the frozen features feed a linear read-out
    net.eval()
    f = net.features(x, [1, 2])
    xt, yt = blobs(200, 1)
    lin, wd, scores = select_softmax(f, y, net.features(xt, [1, 2]), yt, [1e-3, 1e-2])
    assert error_rate(lin, net.features(xt, [1, 2]), yt) < 0.1


def test_fresh_hybrids_every_batch():
    x, y = blobs(50, 0)
    g = torch.Generator().manual_seed(0)
    idx = torch.arange(10)
    index = class_sorted_index(y)
    a = make_hybrids(x, idx, (8, 8), 2, g, "digit", (index, y[idx]))
    b = make_hybrids(x, idx, (8, 8), 2, g, "digit", (index, y[idx]))
    assert not torch.equal(a, b)
