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
