"""Batched CIFAR augmentation: crops are real windows of the padded image, flips are mirrors, seeded."""
import torch

from tamrin.data.augment import CIFAR10_MEAN, CIFAR10_STD, crop_flip, normalize, random_crop, random_flip, resize


def test_random_crop_is_a_window_of_the_padded_image():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 8, 8)
    y = random_crop(x, g, padding=2)
    assert y.shape == x.shape
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(16):  # PyTorch slicing as the oracle: some offset reproduces the crop exactly
        assert any(torch.equal(y[i], xp[i, :, a:a + 8, b:b + 8]) for a in range(5) for b in range(5))
    assert not torch.equal(y, x)  # 16 images: at least one offset differs from the centre


def test_flip_and_determinism():
    x = torch.randn(32, 3, 4, 4)
    y = random_flip(x, torch.Generator().manual_seed(1))
    flipped = [torch.equal(y[i], x[i].flip(2)) for i in range(32)]
    kept = [torch.equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept)) and 4 < sum(flipped) < 28
    a = crop_flip(x, torch.Generator().manual_seed(5))
    b = crop_flip(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_normalize_and_constants():
    assert CIFAR10_STD == (0.2470, 0.2435, 0.2616) and CIFAR10_MEAN == (0.4914, 0.4822, 0.4465)
    x = torch.ones(2, 3, 2, 2) * torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    assert torch.allclose(normalize(x), torch.zeros_like(x), atol=1e-6)
    x = torch.rand(2, 3, 32, 32)
    assert resize(x, 16).shape == (2, 3, 16, 16) and resize(x, 32) is x
