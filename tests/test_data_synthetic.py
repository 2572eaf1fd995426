"""The procedural image set: deterministic, balanced, well-formed, and not solvable by a linear model."""
import numpy as np
import pytest

from tamrin.data import synthetic_images
from tamrin.data.embedded import SYNTHETIC_CLASSES
from tamrin.errors import UserError


def test_shapes_balance_and_determinism():
    a = synthetic_images(n=200, size=24, num_classes=8, channels=3, seed=5)
    assert a.images.shape == (200, 24, 24, 3) and a.images.dtype == np.uint8
    assert a.classes == SYNTHETIC_CLASSES[:8]
    assert np.bincount(a.labels).tolist() == [25] * 8
    b = synthetic_images(n=200, size=24, num_classes=8, channels=3, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    c = synthetic_images(n=200, size=24, num_classes=8, channels=3, seed=6)
    assert not np.array_equal(a.images, c.images)
    grey = synthetic_images(n=20, size=16, num_classes=2, channels=1)
    assert grey.images.shape == (20, 16, 16, 1)
    # images use the whole intensity range, not a washed-out band
    assert a.images.min() < 20 and a.images.max() > 235


def test_bad_arguments():
    for kwargs in ({"num_classes": 11}, {"num_classes": 1}, {"channels": 2}, {"n": 0}, {"size": 4}):
        with pytest.raises(UserError):
            synthetic_images(**kwargs)


def test_not_trivially_separable():
    """A linear classifier on raw pixels (nearest class mean) stays near chance, far below what a small
    CNN reaches (see benchmarks/data.md): the class is in shape and orientation, not colour or position."""
    tr = synthetic_images(n=1500, size=32, seed=0)
    te = synthetic_images(n=500, size=32, seed=1)
    x_tr = tr.images.reshape(len(tr), -1).astype(np.float32) / 255
    x_te = te.images.reshape(len(te), -1).astype(np.float32) / 255
    means = np.stack([x_tr[tr.labels == c].mean(0) for c in range(10)])
    pred = ((x_te[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    acc = (pred == te.labels).mean()
    assert acc < 0.4
    # but the classes do differ: each class's mean image is distinct from the others'
    means = means.reshape(10, 32, 32, 3) * 255
    dists = np.abs(means[:, None] - means[None]).mean(axis=(2, 3, 4))
    assert dists[~np.eye(10, dtype=bool)].min() > 0.5
