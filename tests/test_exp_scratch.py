"""The worked examples: numbers checked against values computed independently (scipy / torch)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import correlate2d

from tamrin.runs import Run

torch.set_num_threads(1)

X5 = np.array([[100, 150, 200, 50, 30], [80, 120, 180, 255, 90], [40, 70, 110, 230, 200],
               [30, 60, 100, 150, 120], [20, 50, 80, 100, 90]], dtype=np.float64)
K3 = np.array([[0.1, -0.2, 0.1], [-0.1, 0.4, 0.1], [0.2, -0.1, 0.1]])


def _independent(x, k):
    """The walkthrough recomputed with scipy (cross-correlation, zero fill) and torch pooling."""
    conv = correlate2d(x, k, mode="same", boundary="fill", fillvalue=0)
    out = np.maximum(np.maximum(conv, 0) + x, 0)
    t = torch.from_numpy(out)[None, None]
    floor = F.max_pool2d(t, 2, 2, ceil_mode=False)[0, 0].numpy()
    ceil = F.max_pool2d(t, 2, 2, ceil_mode=True)[0, 0].numpy()
    return conv, out, floor, ceil


def test_walkthrough_numbers_match_scipy_and_torch():
    from tamrin.experiments.residual_walkthrough import walkthrough

    r = walkthrough(X5, K3)
    conv, out, floor, ceil = _independent(X5, K3)
    np.testing.assert_allclose(r["conv"], conv, atol=1e-10)
    np.testing.assert_allclose(r["relu2"], out, atol=1e-10)
    assert r["pool_floor"].shape == (2, 2) and r["pool_ceil"].shape == (3, 3)
    np.testing.assert_allclose(r["pool_floor"], floor, atol=1e-10)
    np.testing.assert_allclose(r["pool_ceil"], ceil, atol=1e-10)
    assert r["gap_floor"] == pytest.approx(floor.mean())
    assert r["gap_ceil"] == pytest.approx(ceil.mean())


def test_walkthrough_with_replaced_input_and_filter(tmp_path):
    """Config overrides (as from --set) flow through; a negative input exercises the second ReLU."""
    from tamrin.config import apply_overrides
    from tamrin.experiments import residual_walkthrough as rw

    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 50, (6, 7)))
    k = np.round(rng.normal(0, 0.3, (3, 3)), 2)
    cfg = apply_overrides(rw.Config(), [f"input={x.tolist()}", f"filter={k.tolist()}"])
    r = rw.walkthrough(np.array(cfg.input), np.array(cfg.filter))
    conv, out, floor, ceil = _independent(x, k)
    np.testing.assert_allclose(r["relu2"], out, atol=1e-9)
    np.testing.assert_allclose(r["pool_ceil"], ceil, atol=1e-9)
    sections = rw.run(cfg, Run(tmp_path, "residual-walkthrough", quiet=True))
    assert (tmp_path / "figures" / "residual_block.png").exists()
    assert any(s.title.startswith("Max pooling") for s in sections)


def test_walkthrough_rejects_bad_filter():
    from tamrin.config import apply_overrides
    from tamrin.errors import UserError
    from tamrin.experiments import residual_walkthrough as rw

    with pytest.raises(UserError):
        apply_overrides(rw.Config(), ["filter=[[1,2],[3,4]]"])
    with pytest.raises(UserError):
        apply_overrides(rw.Config(), ["input=[[1,2,3],[4,5]]"])


# --- conv-gradients -----------------------------------------------------------------------------------
def test_conv_gradients_match_torch_and_finite_differences():
    from tamrin.experiments import conv_gradients as cg

    cfg = cg.Config()
    x, w, dy = (np.array(v) for v in (cfg.x, cfg.w, cfg.dy))
    f, errs = cg.check_all(x, w, dy)
    assert errs["PyTorch autograd"] < 1e-12 and errs["finite differences"] < 1e-7
    # independent: torch directly on the task's numbers
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    F.conv2d(xt[None, None], wt[None, None]).backward(torch.tensor(dy)[None, None])
    np.testing.assert_allclose(f["dW"], wt.grad.numpy())
    np.testing.assert_allclose(f["dX"], xt.grad.numpy())
    # the formulas as scipy states them: dW = valid xcorr(X, dY), dX = full conv(dY, W)
    from scipy.signal import convolve2d
    np.testing.assert_allclose(f["dX"], convolve2d(dy, w, mode="full"))
    np.testing.assert_allclose(f["dW"], correlate2d(x, dy, mode="valid"))


def test_conv_gradients_gap_case_and_1d():
    from tamrin.experiments import conv_gradients as cg

    rng = np.random.default_rng(0)
    x2, w2 = rng.standard_normal((3, 3)), rng.standard_normal((2, 2))
    g, t = cg.gap_case(x2, w2), cg.gap_case_torch(x2, w2)
    np.testing.assert_allclose(g["dW"], t["dW"], atol=1e-12)
    np.testing.assert_allclose(g["dX"], t["dX"], atol=1e-12)
    x1, w1, d1 = rng.standard_normal(7), rng.standard_normal(3), rng.standard_normal(5)
    c, ct = cg.case_1d(x1, w1, d1), cg.case_1d_torch(x1, w1, d1)
    np.testing.assert_allclose(c["dw"], ct["dw"], atol=1e-12)
    np.testing.assert_allclose(c["dx"], ct["dx"], atol=1e-12)
    assert cg.chain_two_layers(1)["err"] < 1e-12


@pytest.mark.parametrize("dy,dx", [(2, 3), (-1, 2), (3, -2)])
def test_translation_equivariance(dy, dx):
    """conv(shift(x)) == shift(conv(x)) for content away from the border; checked with torch's conv2d too."""
    from tamrin.experiments import conv_gradients as cg

    img = cg.pattern_image()
    k = np.random.default_rng(abs(dy * 7 + dx)).standard_normal((3, 3))
    lhs = cg.feature_map(cg.shift(img, dy, dx), k)
    rhs = cg.shift(cg.feature_map(img, k), dy, dx)
    np.testing.assert_allclose(lhs, rhs, atol=1e-12)
    ref = F.conv2d(torch.from_numpy(cg.shift(img, dy, dx))[None, None], torch.from_numpy(k)[None, None], padding=1)
    np.testing.assert_allclose(lhs, ref[0, 0].numpy(), atol=1e-12)


def test_pooling_adds_partial_invariance():
    from tamrin.experiments import conv_gradients as cg

    inv = cg.invariance_table(cg.pattern_image(), max_shift=2)
    assert inv[1]["pool_same"] > inv[1]["feature_same"]  # pooling keeps more of the map under a 1-px shift
    assert inv[2]["pool_shifted"]  # a shift by the stride shifts the pooled map by one cell


def test_conv_gradients_report(tmp_path):
    from tamrin.experiments import conv_gradients as cg

    sections = cg.run(cg.Config(), Run(tmp_path, "conv-gradients", quiet=True))
    assert len(sections) == 4 and (tmp_path / "figures" / "equivariance.png").exists()


# --- fc-from-scratch and autodiff-graph (tiny configurations) -------------------------------------------
def test_fc_from_scratch_tiny_run(tmp_path):
    from tamrin.experiments import fc_from_scratch as fc

    cfg = fc.Config(embedded=True, max_train=300, study_epochs=1, dropout_epochs=1, overfit_epochs=30,
                    headline=fc.Headline(hidden_dims=[32], epochs=1))
    run = Run(tmp_path, "fc-from-scratch", quiet=True)
    sections = fc.run(cfg, run)
    titles = [s.title for s in sections]
    assert any(t.startswith("(a)") for t in titles) and any(t.startswith("(e)") for t in titles)
    overfit = [r for r in run.metrics if r.get("tag") == "a_overfit"]
    assert max(r["train_acc"] for r in overfit) == 1.0  # 50 examples memorised
    zero = [r for r in run.metrics if r.get("tag") == "e_zero"]
    assert zero and zero[-1]["loss"] == pytest.approx(np.log(10), abs=0.05)  # symmetry: stuck at chance


def test_shift_augment_moves_content():
    from tamrin.experiments.fc_from_scratch import shift_augment

    img = np.zeros((1, 28, 28), np.float32)
    img[0, 10, 12] = 1.0
    out = shift_augment(2, 28, 0.0, 1.0)(img.reshape(1, -1), np.random.default_rng(0)).reshape(28, 28)
    assert out.sum() == 1.0 and abs(np.argwhere(out)[0] - [10, 12]).max() <= 2


def test_autodiff_graph_matches_torch(tmp_path):
    from tamrin.experiments import autodiff_graph as ag

    for cfg in (ag.Config(), ag.Config(seed=3, lam=0.5), ag.Config(w=1.5, x=-2.0, b=0.3, t=1.0)):
        v = ag.initial_values(cfg)
        g = ag.build_graph(v, cfg.lam)
        g["Lreg"].backward()
        th = ag.torch_check(v, cfg.lam, cfg.lr)
        for k in "wxbt":
            assert g[k].grad == pytest.approx(th["grads"][k], rel=1e-12, abs=1e-15)
        formulas = {name: val for name, _, val in ag.formulas(v, cfg.lam)}
        assert formulas["∂L_reg/∂w"] == pytest.approx(th["grads"]["w"], rel=1e-12)
        assert v["w"] - cfg.lr * g["w"].grad == pytest.approx(th["w_new"], rel=1e-12)
    sections = ag.run(ag.Config(), Run(tmp_path, "autodiff-graph", quiet=True))
    assert (tmp_path / "figures" / "graph.png").exists() and len(sections) == 3


def test_fc_from_scratch_resume_skips_finished_models(tmp_path):
    """A second run in the same folder loads each model's checkpoint instead of retraining it."""
    from tamrin.experiments import fc_from_scratch as fc

    d = fc.load_data(fc.Config(embedded=True))
    data = d.solver_data(200)
    run = Run(tmp_path, "fc-from-scratch", quiet=True)
    m1, s1 = fc.train(data, run, "t", [16], "adam", 1e-3, epochs=2, batch_size=50)
    assert (run.checkpoints_dir / "t.npz").exists() and len(run.metrics) == 2
    # "interrupted" run asked for 3 epochs: resumes at epoch 2 and adds exactly one
    m2, s2 = fc.train(data, Run(tmp_path, "fc-from-scratch", quiet=True), "t", [16], "adam", 1e-3, epochs=3,
                      batch_size=50)
    assert s2.epoch == 3 and s2.loss_history[: len(s1.loss_history)] == s1.loss_history
    assert [r["epoch"] for r in Run(tmp_path, quiet=True).metrics] == [1, 2, 3]


def test_fc_quick_preset_uses_mnist_and_the_heading_names_the_data(tmp_path):
    """issue #16: the quick run used the 8x8 embedded digits under a heading that said MNIST."""
    from tamrin.experiments import fc_from_scratch as fc

    assert fc.Config.quick().embedded is False
    cfg = fc.Config(embedded=True, max_train=300, study_epochs=1, dropout_epochs=1, overfit_epochs=3,
                    headline=fc.Headline(hidden_dims=[32], epochs=1))
    titles = [s.title for s in fc.run(cfg, Run(tmp_path, "fc-from-scratch", quiet=True))]
    head = next(t for t in titles if t.startswith("Headline"))
    assert "embedded scikit-learn digits" in head and "MNIST" not in head

