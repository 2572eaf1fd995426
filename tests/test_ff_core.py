"""Forward-Forward core: the loss formula, no gradient across layers, negatives never the true label."""
import math

import pytest
import torch

from tamrin.ff.labels import embed_all_labels, embed_label, embed_neutral, hard_wrong_labels, random_wrong_labels
from tamrin.ff.layers import ff_loss, goodness, normalise
from tamrin.ff.net import FFNet
from tamrin.ff.supervised import supervised_negatives


def test_loss_equals_formula_on_hand_made_inputs():
    g_pos = torch.tensor([3.0, 0.5])
    g_neg = torch.tensor([1.0, 4.0])
    theta = 2.0
    args = [theta - 3.0, theta - 0.5, 1.0 - theta, 4.0 - theta]  # [θ - g_pos, g_neg - θ]
    expected = sum(math.log(1 + math.exp(a)) for a in args) / 4
    assert ff_loss(g_pos, g_neg, theta).item() == pytest.approx(expected, rel=1e-6)


def test_loss_is_stable_for_huge_goodness_and_decreases_in_the_right_direction():
    # softplus must not overflow where log(1 + exp(z)) would
    assert torch.isfinite(ff_loss(torch.tensor([0.0]), torch.tensor([1e4]), 1.0))
    base = ff_loss(torch.tensor([1.0]), torch.tensor([1.0]), 1.0)
    assert ff_loss(torch.tensor([5.0]), torch.tensor([1.0]), 1.0) < base  # higher positive goodness helps
    assert ff_loss(torch.tensor([1.0]), torch.tensor([0.0]), 1.0) < base  # lower negative goodness helps


def test_goodness_and_normalisation():
    h = torch.tensor([[1.0, 2.0, 2.0, 0.0]])
    assert goodness(h, "sum").item() == pytest.approx(9.0)
    assert goodness(h, "mean").item() == pytest.approx(2.25)
    x = torch.randn(5, 20) * 7
    assert torch.allclose(normalise(x, "rms").pow(2).mean(1), torch.ones(5), atol=1e-5)
    assert torch.allclose(normalise(x, "length").norm(dim=1), torch.ones(5), atol=1e-5)
    # both remove the length: a scaled input gives the same layer input
    assert torch.allclose(normalise(3 * x, "rms"), normalise(x, "rms"), atol=1e-5)


def test_no_gradient_reaches_an_earlier_layer_from_a_later_layers_loss():
    torch.manual_seed(0)
    net = FFNet(30, [16, 16, 16])
    xp, xn = torch.rand(8, 30), torch.rand(8, 30)
    losses, _, _ = net.local_losses(xp, xn)
    losses[2].backward()
    for i in (0, 1):
        assert all(p.grad is None for p in net.layers[i].parameters())
    assert net.layers[2].linear.weight.grad.abs().sum() > 0
    # the summed loss gives every layer exactly its own gradient
    net.zero_grad(set_to_none=True)
    losses, _, _ = net.local_losses(xp, xn)
    g_own = torch.autograd.grad(losses[1], net.layers[1].linear.weight, retain_graph=True)[0]
    sum(losses).backward()
    assert torch.allclose(net.layers[1].linear.weight.grad, g_own)


def test_label_embedding_layout():
    x = torch.rand(3, 784)
    y = torch.tensor([0, 7, 9])
    e = embed_label(x, y)
    assert torch.equal(e[:, 10:], x[:, 10:])
    assert torch.equal(e[:, :10], torch.nn.functional.one_hot(y, 10).float())
    assert torch.allclose(embed_neutral(x)[:, :10], torch.full((3, 10), 0.1))
    all_ = embed_all_labels(x)
    assert all_.shape == (30, 784)
    assert torch.equal(all_[1 * 10 + 4, :10].argmax(), torch.tensor(4))
    assert torch.equal(all_[1 * 10 + 4, 10:], x[1, 10:])


def test_random_negatives_never_carry_the_true_label_and_cover_all_wrong_ones():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(10).repeat(2000)
    wrong = random_wrong_labels(y, g)
    assert not (wrong == y).any()
    counts = torch.bincount((wrong - y) % 10, minlength=10)
    assert counts[0] == 0
    # the nine wrong offsets are equally likely (20000 draws: ~2222 each)
    assert counts[1:].min() > 2000 and counts[1:].max() < 2450


def test_hard_negatives_never_carry_the_true_label():
    scores = torch.tensor([[9.0, 1.0, 5.0], [0.0, 3.0, 2.0], [1.0, 1.0, 1.0]])
    y = torch.tensor([0, 1, 2])
    assert hard_wrong_labels(scores, y).tolist() == [2, 2, 0]  # the most plausible *wrong* label
    torch.manual_seed(0)
    net = FFNet(784, [32, 32])
    x, y = torch.rand(50, 784), torch.randint(0, 10, (50,))
    wrong = supervised_negatives(net, x, y, "hard", torch.Generator().manual_seed(0))
    assert not (wrong == y).any()
    scores = net.label_scores(x)
    scores[torch.arange(50), y] = float("-inf")
    assert torch.equal(wrong, scores.argmax(1))


def test_batched_label_scores_match_one_label_at_a_time():
    torch.manual_seed(0)
    net = FFNet(784, [20, 20, 20])
    x = torch.rand(7, 784)
    batched = net.label_scores(x, chunk=3)
    for c in range(10):
        g = net.goodness_per_layer(embed_label(x, torch.full((7,), c)))[:, 1:].sum(1)
        assert torch.allclose(batched[:, c], g, atol=1e-5)
