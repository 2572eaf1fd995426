"""The maths behind the labs, checked against closed forms, Monte Carlo and torch."""
import numpy as np
import pytest
import torch

from tamrin.labs import adam_bias, centre, dropout_theory, pedcc, quadratic, saddles, softmax_logistic, width_norm
from tamrin.labs import minibatch, stats


def test_dropout_identity_holds_to_monte_carlo_tolerance():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(12, 4)), rng.normal(size=4)
    y = x @ rng.normal(size=4) + 0.1 * rng.normal(size=12)
    for p in (0.3, 0.8):
        mc, se = dropout_theory.dropout_monte_carlo(x, y, w, p, samples=20000)
        closed = dropout_theory.dropout_closed_form(x, y, w, p)
        assert abs(mc - closed) < 4 * se, (p, mc, closed, se)
    # the identity is not trivially true: with a *drop* mask (keep prob 1 − p) it fails
    mc, se = dropout_theory.dropout_monte_carlo(x, y, w, 0.3, samples=20000)
    assert abs(mc - dropout_theory.dropout_closed_form(x, y, w, 0.7)) > 10 * se


def test_dropout_minimiser_is_rescaled_ridge():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5)) * np.array([1, 2, 3, 0.5, 1])
    y = rng.normal(size=30)
    for p in (0.5, 0.9):
        np.testing.assert_allclose(dropout_theory.ridge_equivalent(x, y, p), dropout_theory.minimise_closed_form(x, y, p), rtol=1e-10)
    # and it really minimises the closed form: the gradient there is zero
    w = dropout_theory.minimise_closed_form(x, y, 0.7)
    eps = 1e-6
    g = [(dropout_theory.dropout_closed_form(x, y, w + eps * e, 0.7) - dropout_theory.dropout_closed_form(x, y, w - eps * e, 0.7)) / (2 * eps)
         for e in np.eye(5)]
    np.testing.assert_allclose(g, 0, atol=1e-5)


def test_gaussian_dropout_gradients_match_both_closed_forms():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=3), rng.normal(size=3)
    r = dropout_theory.gaussian_dropout_grads(x, 0.7, w, alpha=0.5, samples=200000)
    assert np.all(np.abs(r["mc_fixed"] - r["closed_fixed"]) < 5 * r["se_fixed"])
    assert np.all(np.abs(r["mc_reparam"] - r["closed_reparam"]) < 5 * r["se_reparam"])
    # torch autograd through the reparameterised noise gives the same mean
    eps = torch.from_numpy(np.random.default_rng(3).normal(size=(200000, 3)))
    wt = torch.tensor(w, requires_grad=True)
    j = 0.5 * (0.7 - ((wt + wt * 0.5 ** 0.5 * eps) * torch.from_numpy(x)).sum(1)) ** 2
    j.mean().backward()
    assert np.all(np.abs(wt.grad.numpy() - r["closed_reparam"]) < 5 * r["se_reparam"] + 1e-3)


def test_gd_threshold_on_quadratic_measured_vs_predicted():
    h, _ = quadratic.make_hessian([0.5, 2.0, 4.0])
    w0 = np.array([1.0, -1.0, 0.5])
    for half in (False, True):
        pred = quadratic.predicted_threshold(h, half)
        assert pred == pytest.approx((2.0 if half else 1.0) / 4.0)
        assert quadratic.converges(w0, h, 0.95 * pred, 2000, half)
        assert not quadratic.converges(w0, h, 1.05 * pred, 2000, half)
        assert quadratic.measured_threshold(w0, h, half) == pytest.approx(pred, rel=0.02)


def test_gd_in_eigenbasis_is_decoupled():
    h, q = quadratic.make_hessian([1.0, 3.0])
    ws = quadratic.gd(np.array([0.3, 0.7]), h, lr=0.1, steps=5)
    v = ws @ q
    for i, lam in enumerate([1.0, 3.0]):
        np.testing.assert_allclose(v[1:, i], v[:-1, i] * (1 - 2 * 0.1 * lam), rtol=1e-12)


def test_newton_converges_in_one_step():
    h, _ = quadratic.make_hessian([0.01, 1.0, 100.0], seed=3)
    for half in (False, True):
        w1 = quadratic.newton_step(np.array([5.0, -3.0, 2.0]), h, half)
        np.testing.assert_allclose(w1, 0, atol=1e-10)
    c = quadratic.hessian_cost(1000)
    assert c["hessian_bytes"] == 4_000_000


def test_softmax_two_class_is_logistic():
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(50, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    r = softmax_logistic.equivalence(x, w, b)
    assert r["max_diff_logistic"] < 1e-12 and r["max_diff_shifted"] < 1e-12 and r["same_decisions"]
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    t = softmax_logistic.train_both(x, y, lr=0.5, steps=100)
    assert t["max_prob_diff"] < 1e-10 and t["max_param_diff"] < 1e-10 and t["acc_softmax"] > 0.9


def test_adam_bias_correction():
    m, mhat = adam_bias.moments(np.full(20, 2.0), beta1=0.9)
    np.testing.assert_allclose(mhat, 2.0)  # constant gradient: m̂ exact from step 1
    assert m[0] == pytest.approx(0.2) and m[-1] == pytest.approx(2.0 * (1 - 0.9 ** 20))
    g = adam_bias.noisy_gradients(1.0, 0.5, 10, 20000)
    ms = np.array([adam_bias.moments(r)[0] for r in g[:2000]])
    em, _ = adam_bias.expected_moments(1.0, 10)
    np.testing.assert_allclose(ms.mean(0), em, atol=0.02)
    # against torch.optim.Adam's internal state
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.999))
    for gv in [1.0, 2.0, 3.0]:
        p.grad = torch.tensor([gv])
        opt.step()
    assert float(opt.state[p]["exp_avg"]) == pytest.approx(adam_bias.moments([1.0, 2.0, 3.0])[0][-1], rel=1e-6)


def test_pedcc_centroids_evenly_distributed():
    for k, d in ((10, 16), (4, 3), (3, 2)):
        c = pedcc.centroids(k, d)
        assert c.shape == (k, d)
        np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1, atol=1e-12)
        dist = pedcc.pairwise_distances(c)
        np.testing.assert_allclose(dist, dist[0], rtol=1e-9)
        np.testing.assert_allclose(c @ c.T - np.eye(k), -(1 / (k - 1)) * (1 - np.eye(k)), atol=1e-9)
    c = pedcc.centroids(10, 2)  # polygon: equal neighbour distances
    nb = np.linalg.norm(c - np.roll(c, 1, 0), axis=1)
    np.testing.assert_allclose(nb, nb[0], rtol=1e-12)
    r = pedcc.centroids(12, 3)  # repulsion: unit, well separated
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1, atol=1e-9)
    assert pedcc.pairwise_distances(r).min() > 0.9


def test_centre_update_rule():
    c = torch.zeros(3, 2)
    f = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 0, 1])
    delta = centre.update_centres(c, f, y, alpha=0.5)
    np.testing.assert_allclose(delta.numpy(), [[-4 / 3, 0], [0, -1], [0, 0]], rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), [[2 / 3, 0], [0, 0.5], [0, 0]], rtol=1e-6)
    r = centre.class_distance_ratio(np.array([[0, 0], [0, 1.0], [10, 0], [10, 1]]), np.array([0, 0, 1, 1]))
    assert r["intra"] == pytest.approx(0.5) and r["inter"] == pytest.approx(10) and r["ratio"] == pytest.approx(0.05)


def test_width_normalisation_produces_target_width():
    rng = np.random.default_rng(5)
    img = np.zeros((28, 28), np.uint8)
    img[5:22, 9:17] = rng.integers(60, 255, (17, 8))
    for w in (10, 14, 20):
        out = width_norm.normalise_width(img, w)
        assert width_norm.box_width(out) == w
        box = width_norm.bounding_box(out)
        assert box[1] - box[0] == 17  # height kept
        assert abs((box[2] + box[3]) / 2 - 14) <= 1  # centred
    batch = width_norm.normalise_batch(np.stack([img, img])[..., None], 12)
    assert batch.shape == (2, 28, 28, 1) and width_norm.box_width(batch[1, ..., 0]) == 12
    assert np.array_equal(width_norm.normalise_width(np.zeros((28, 28), np.uint8), 10), np.zeros((28, 28)))


def test_saddle_escape_and_gradients():
    for fn, g in saddles.SURFACES.values():
        p = np.array([0.3, -0.2])
        num = [(fn(p + 1e-6 * e) - fn(p - 1e-6 * e)) / 2e-6 for e in np.eye(2)]
        np.testing.assert_allclose(g(p), num, rtol=1e-6)
    start = (1e-3, 1e-3)
    steps = {m: saddles.escape_step(saddles.trajectory(saddles.plain_saddle_grad, m, start, 0.05, 500)) for m in saddles.METHODS}
    assert all(s is not None for s in steps.values())
    assert steps["momentum"] < steps["GD"]  # momentum accelerates along the descending direction
    # exactly on the saddle GD never moves; noise kicks SGD off it
    assert saddles.escape_step(saddles.trajectory(saddles.plain_saddle_grad, "GD", (0, 0), 0.05, 300)) is None
    assert saddles.escape_step(saddles.trajectory(saddles.plain_saddle_grad, "SGD (noisy)", (0, 0), 0.05, 300, noise=0.1)) is not None


def test_minibatch_helpers():
    rng = np.random.default_rng(6)
    x = minibatch.with_bias(rng.normal(size=(200, 5)))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    w = rng.normal(size=(6, 3))
    loss, g = minibatch.loss_grad(w.copy(), x, y)
    wt = torch.tensor(w, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(torch.from_numpy(x) @ wt, torch.from_numpy(y))
    lt.backward()
    assert loss == pytest.approx(float(lt.detach()), rel=1e-9)
    np.testing.assert_allclose(g, wt.grad.numpy(), rtol=1e-8)
    full = minibatch.sgd_run(x, y, 3, 200, 0.5, 5)
    sgd = minibatch.sgd_run(x, y, 3, 1, 0.05, 1)
    assert minibatch.roughness(sgd["per_update"]) > minibatch.roughness(full["per_update"])
    s8 = minibatch.steps_to_target(x, y, 3, 8, 0.5, 0.6, 5000)
    s64 = minibatch.steps_to_target(x, y, 3, 64, 0.5, 0.6, 5000)
    assert s8 is not None and s64 is not None
    assert stats.loglog_slope([1, 2, 4], [8, 4, 2]) == pytest.approx(-1)
    c = stats.error_correlation([[1, 0, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]])
    assert c[0, 1] == pytest.approx(1) and c[0, 2] == pytest.approx(-1)
