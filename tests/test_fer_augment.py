"""Face augmentation: shapes/dtypes/range, determinism, no vertical flip, and what each part does."""
import pytest
import torch

from tamrin.errors import UserError
from tamrin.data.face_augment import FaceAugment, face_augment

torch.set_num_threads(1)


def top_bright(n=64, c=1, h=24, w=20):
    x = torch.zeros(n, c, h, w)
    x[:, :, : h // 2] = 1.0
    return x


@pytest.mark.parametrize("c, h, w", [(1, 48, 48), (3, 16, 16), (2, 20, 31)])
def test_shape_dtype_range(c, h, w):
    x = torch.rand(8, c, h, w)
    y = face_augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert not torch.equal(x, y)


def test_deterministic_with_generator():
    x = torch.rand(16, 1, 32, 32)
    a = face_augment(x, torch.Generator().manual_seed(3))
    b = face_augment(x, torch.Generator().manual_seed(3))
    c = face_augment(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_vertical_flip_top_stays_bright():
    # strongest allowed settings, many images: the top half must stay brighter than the bottom half
    cfg = FaceAugment(flip=1.0, rotate=15, shift=0.1, zoom=0.15, brightness=0.0, contrast=0.0)
    x = top_bright(256)
    y = cfg(x, torch.Generator().manual_seed(0))
    top, bottom = y[:, :, :6].mean(dim=(1, 2, 3)), y[:, :, -6:].mean(dim=(1, 2, 3))
    assert (top > 0.8).all() and (bottom < 0.2).all()


def test_horizontal_flip_only_is_exact_mirror():
    cfg = FaceAugment(flip=1.0, rotate=0, shift=0, zoom=0, brightness=0, contrast=0)
    x = torch.rand(4, 3, 10, 14)
    torch.testing.assert_close(cfg(x, torch.Generator().manual_seed(0)), x.flip(3), atol=1e-5, rtol=0)
    none = FaceAugment(flip=0.0, rotate=0, shift=0, zoom=0, brightness=0, contrast=0)
    torch.testing.assert_close(none(x, torch.Generator().manual_seed(0)), x, atol=1e-5, rtol=0)
    # flips happen at about the requested rate: a left-bright image becomes right-bright
    half = FaceAugment(flip=0.5, rotate=0, shift=0, zoom=0, brightness=0, contrast=0)
    left = torch.zeros(400, 1, 8, 8)
    left[..., :4] = 1
    flipped = (half(left, torch.Generator().manual_seed(1))[..., 4:].mean(dim=(1, 2, 3)) > 0.5).float().mean()
    assert 0.4 < float(flipped) < 0.6


def test_brightness_and_contrast_change_intensity_only():
    cfg = FaceAugment(flip=0, rotate=0, shift=0, zoom=0, brightness=0.2, contrast=0.0)
    x = torch.full((50, 1, 8, 8), 0.5)
    y = cfg(x, torch.Generator().manual_seed(0))
    per = y.mean(dim=(1, 2, 3))
    assert (y.std(dim=(1, 2, 3)) < 1e-6).all()  # a flat image stays flat
    assert float(per.min()) >= 0.3 - 1e-6 and float(per.max()) <= 0.7 + 1e-6 and float(per.std()) > 0.05


def test_validation():
    with pytest.raises(UserError):
        FaceAugment(rotate=90).validate()
    with pytest.raises(UserError):
        face_augment(torch.zeros(2, 8, 8), torch.Generator())


def test_random_erasing_one_rectangle_per_chosen_image_within_its_area():
    """Every erased image differs from its input in one axis-aligned rectangle of 2%..erase_area of the image, the
    share of erased images follows p, and with erase=0 the draws (and so the images) are exactly those of before."""
    from tamrin.data.face_augment import ERASE_MIN_AREA, random_erase

    n, h, w = 400, 24, 20
    x = torch.full((n, 1, h, w), -1.0)  # noise is in [0, 1]: every erased pixel differs from -1
    y = random_erase(x, torch.Generator().manual_seed(0), p=0.5, max_area=0.3)
    changed = y != x
    erased = changed.flatten(1).any(1)
    assert 0.4 < float(erased.float().mean()) < 0.6
    for i in torch.nonzero(erased).flatten().tolist():
        m = changed[i, 0]
        rows, cols = torch.nonzero(m.any(1)).flatten(), torch.nonzero(m.any(0)).flatten()
        bh, bw = int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
        assert int(m.sum()) == bh * bw  # one filled rectangle, nothing outside it
        assert ERASE_MIN_AREA * h * w / 2 <= bh * bw <= 0.3 * h * w * 1.3 + 2 * (h + w)  # rounding and clipping slack
    assert float(y[changed].min()) >= 0 and float(y[changed].max()) <= 1
    plain = FaceAugment()
    z = torch.rand(8, 1, 16, 16)
    assert torch.equal(face_augment(z, torch.Generator().manual_seed(1), plain),
                       face_augment(z, torch.Generator().manual_seed(1), FaceAugment(erase=0.0)))
    on = face_augment(z, torch.Generator().manual_seed(1), FaceAugment(erase=1.0))
    assert on.shape == z.shape and not torch.equal(on, face_augment(z, torch.Generator().manual_seed(1), plain))
    assert "random erasing with probability 1" in FaceAugment(erase=1.0).describe()
    assert "erasing" not in plain.describe()
    for bad in (FaceAugment(erase=1.5), FaceAugment(erase=0.5, erase_area=0.01)):
        with pytest.raises(UserError):
            bad.validate()
