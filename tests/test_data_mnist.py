"""MNIST IDX reader, lookup order, fallback, stratified split and tensor conversion."""
import gzip

import numpy as np
import pytest

from tamrin.data import (ArrayDataset, embedded_digits, load_mnist, shared_data_dir, stratified_split,
                         to_tensor)
from tamrin.data.idx import read_idx, write_idx
from tamrin.errors import UserError


def _write_mnist(folder, n=20, split="train", gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    prefix = "train" if split == "train" else "t10k"
    ext = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No shared data, an empty cache, no downloads: only what the test writes exists."""
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMRIN_OFFLINE", "1")
    return tmp_path


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_gzip_and_raw(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz)
    ds = load_mnist(tmp_path, "train")
    assert ds.images.shape == (20, 28, 28, 1) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.images[..., 0], images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert not ds.is_fallback and ds.classes == [str(d) for d in range(10)]


def test_idx_other_dtypes_roundtrip(tmp_path):
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a.idx", a)), a)
    f = np.linspace(-1, 1, 6).astype(np.float32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f.idx.gz", f)), f)


def test_idx_bad_files_give_clear_errors(tmp_path):
    _write_mnist(tmp_path, gz=False)
    img = tmp_path / "train-images-idx3-ubyte"
    raw = img.read_bytes()
    img.write_bytes(raw[:-10])  # truncated payload
    with pytest.raises(UserError, match="truncated or wrong file"):
        read_idx(img)
    img.write_bytes(b"\x12\x34" + raw[2:])  # bad magic
    with pytest.raises(UserError, match="bad magic"):
        read_idx(img)
    gz = tmp_path / "x.gz"
    gz.write_bytes(gzip.compress(raw)[:100])  # truncated gzip stream
    with pytest.raises(UserError, match="corrupt or truncated gzip"):
        read_idx(gz)


def test_label_count_mismatch(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(UserError, match="7 labels for 20 images"):
        load_mnist(tmp_path)


def test_explicit_dir_without_data_is_an_error_not_a_fallback(isolated):
    (isolated / "empty").mkdir()
    with pytest.raises(UserError, match="no MNIST train IDX files"):
        load_mnist(isolated / "empty")
    with pytest.raises(UserError, match="does not exist"):
        load_mnist(isolated / "missing")
    with pytest.raises(UserError, match="unknown split"):
        load_mnist(split="validation")


def test_lookup_prefers_shared_then_cache(isolated, monkeypatch):
    shared = isolated / "shared"
    _write_mnist(shared / "mnist", n=30)
    _write_mnist(isolated / "cache" / "mnist", n=40)
    monkeypatch.setenv("TAMRIN_SHARED", str(shared))
    assert len(load_mnist()) == 30
    monkeypatch.setenv("TAMRIN_SHARED", str(isolated / "no-shared"))
    ds = load_mnist()
    assert len(ds) == 40 and ds.source == "MNIST IDX from $TAMRIN_DATA/mnist"  # the cache, shown without its absolute location


class _FakeRun:
    def __init__(self):
        self.notices = []

    def notice(self, msg):
        self.notices.append(msg)


def test_fallback_to_embedded_digits_with_notice(isolated):
    run = _FakeRun()
    tr = load_mnist(split="train", run=run)
    te = load_mnist(split="test", run=run)
    assert tr.is_fallback and te.is_fallback
    assert tr.images.shape[1:] == (28, 28, 1) and tr.images.dtype == np.uint8
    assert len(tr) + len(te) == 1797
    assert len(run.notices) >= 1 and "embedded" in run.notices[0]
    with pytest.raises(UserError, match="not found"):
        load_mnist(fallback=False)


def test_fallback_without_offline_flag_is_fast(tmp_path, monkeypatch):
    """No TAMRIN_OFFLINE: the download attempt must give up within 3 s when there is no network."""
    import time

    from tamrin.data.download import download_mnist

    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "none"))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("TAMRIN_OFFLINE", raising=False)
    monkeypatch.setenv("TAMRIN_MNIST_URL", "http://127.0.0.1:9/")  # discard port: connection refused
    t = time.perf_counter()
    reason = download_mnist(tmp_path / "cache" / "mnist", "train")
    assert time.perf_counter() - t < 3.0 and "unreachable" in reason
    with pytest.warns(UserWarning, match="embedded"):
        ds = load_mnist()
    assert ds.is_fallback


def test_embedded_digits_layout():
    ds = embedded_digits()
    assert ds.images.shape == (1797, 28, 28, 1)
    # MNIST layout: a 4-pixel black frame around a 20x20 digit
    assert ds.images[:, :4].max() == 0 and ds.images[:, :, -4:].max() == 0
    assert ds.images.max() == 255
    tr, te = embedded_digits("train"), embedded_digits("test")
    assert len(tr) + len(te) == 1797 and abs(len(te) / 1797 - 0.25) < 0.01


def test_stratified_split_properties():
    labels = np.repeat(np.arange(5), [100, 50, 20, 3, 2])
    tr, va = stratified_split(labels, 0.2, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(labels)
    for c, n in enumerate([100, 50, 20]):
        assert (labels[va] == c).sum() == round(n * 0.2)
    # rare classes keep at least one example on each side
    assert (labels[va] == 4).sum() == 1 and (labels[tr] == 4).sum() == 1
    tr2, va2 = stratified_split(labels, 0.2, seed=3)
    np.testing.assert_array_equal(va, va2)
    _, va3 = stratified_split(labels, 0.2, seed=4)
    assert not np.array_equal(va, va3)
    with pytest.raises(UserError):
        stratified_split(labels, 1.5)


def test_to_tensor_matches_manual_conversion():
    import torch

    rng = np.random.default_rng(0)
    ds = ArrayDataset(rng.integers(0, 256, (6, 5, 4, 3), dtype=np.uint8), np.arange(6) % 2, ["a", "b"])
    x, y = to_tensor(ds)
    assert x.dtype == torch.float32 and x.shape == (6, 3, 5, 4) and y.dtype == torch.int64
    expected = torch.from_numpy(ds.images).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(x, expected)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    xs, ys = to_tensor(ds, idx=[4, 1])
    torch.testing.assert_close(xs, expected[[4, 1]])
    assert ys.tolist() == [0, 1]


def test_array_dataset_validates():
    with pytest.raises(ValueError):
        ArrayDataset(np.zeros((2, 3, 3, 1), np.float32), np.zeros(2), ["a"])
    with pytest.raises(ValueError):
        ArrayDataset(np.zeros((2, 3, 3, 1), np.uint8), np.array([0, 5]), ["a", "b"])


@pytest.mark.skipif(shared_data_dir() is None or not (shared_data_dir() / "mnist").is_dir(),
                    reason="../shared/data/mnist not present")
def test_real_shared_mnist():
    tr, te = load_mnist(split="train"), load_mnist(split="test")
    assert tr.images.shape == (3009, 28, 28, 1) and te.images.shape == (10000, 28, 28, 1)
    assert not tr.is_fallback and "shared" in tr.source
    assert tr.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first MNIST labels
    assert np.bincount(te.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
