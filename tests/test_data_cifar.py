"""CIFAR-10: python pickles (folder and tar.gz), image-folder trees, lookup, fallback, real shared data."""
import os
import pickle
import tarfile
import time

import numpy as np
import pytest

from tamrin.data import load_cifar10, shared_data_dir
from tamrin.data.cifar import CIFAR10_CLASSES, read_batch
from tamrin.errors import UserError


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TAMRIN_OFFLINE", "1")
    return tmp_path


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"x", b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"f"] * n}


def _write_batches(folder, n=4):
    folder.mkdir(parents=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        batches[name] = _batch(n, i)
        (folder / name).write_bytes(pickle.dumps(batches[name], protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in CIFAR10_CLASSES]}))
    return batches


def test_python_batches_layout(isolated):
    batches = _write_batches(isolated / "d" / "cifar-10-batches-py")
    tr = load_cifar10(isolated / "d", "train")
    te = load_cifar10(isolated / "d", "test")
    assert tr.images.shape == (20, 32, 32, 3) and te.images.shape == (4, 32, 32, 3)
    assert tr.classes == CIFAR10_CLASSES
    b = batches["data_batch_1"]
    # rows are channel-planar: R plane (1024 values), then G, then B, each row-major 32x32
    assert tr.images[0, 0, 0].tolist() == [b[b"data"][0, 0], b[b"data"][0, 1024], b[b"data"][0, 2048]]
    assert tr.images[0, 1, 2, 1] == b[b"data"][0, 1024 + 32 + 2]
    assert tr.labels[:4].tolist() == b[b"labels"]
    assert te.labels.tolist() == batches["test_batch"][b"labels"]


def test_official_tar_gz_read_without_extraction(isolated):
    batches = _write_batches(isolated / "src" / "cifar-10-batches-py")
    (isolated / "d").mkdir()
    with tarfile.open(isolated / "d" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(isolated / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    te = load_cifar10(isolated / "d", "test")
    assert te.images.shape == (4, 32, 32, 3) and "archive" in te.source
    assert te.labels.tolist() == batches["test_batch"][b"labels"]


def test_malicious_pickle_is_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(UserError, match="not a readable CIFAR batch"):
        read_batch(pickle.dumps({b"data": Evil()}), "evil_batch")
    with pytest.raises(UserError, match="expected uint8 data"):
        read_batch(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}), "bad_shape")


def _jpeg_tree_tar(root, path, broken=False, empty_class=False):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("bird", "airplane"):
        d = root / "cifar10" / "train" / cls
        d.mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / f"{i:04d}.jpg", quality=95)
    if broken:
        (root / "cifar10" / "train" / "bird" / "9999.jpg").write_bytes(b"\xff\xd8 truncated")
    if empty_class:
        (root / "cifar10" / "train" / "cat").mkdir()
    with tarfile.open(path, "w:gz") as tar:
        tar.add(root / "cifar10", arcname="cifar10")


def test_jpeg_folder_tar_in_shared_dir(isolated, monkeypatch):
    shared = isolated / "shared"
    (shared / "cifar10").mkdir(parents=True)
    _jpeg_tree_tar(isolated / "src", shared / "cifar10" / "cifar10-train.tar.gz", broken=True)
    monkeypatch.setenv("TAMRIN_SHARED", str(shared))
    class Run:
        notices = []

        def notice(self, m):
            self.notices.append(m)

    run = Run()
    with pytest.warns(UserWarning, match="skipped"):
        ds = load_cifar10(run=run)
    assert len(run.notices) == 1 and "bird/9999.jpg" in run.notices[0]  # skipped files reach the report
    assert ds.images.shape == (6, 32, 32, 3) and ds.classes == ["airplane", "bird"] and not ds.is_fallback
    assert len(ds.skipped) == 1 and "bird/9999.jpg" in ds.skipped[0]
    # same pixels as decoding the unpacked files with the folder loader
    from tamrin.data import load_image_folder

    with pytest.warns(UserWarning):
        direct = load_image_folder(isolated / "src" / "cifar10", "train", size=(32, 32), mode="RGB", cache=False)
    np.testing.assert_array_equal(ds.images, direct.images)
    assert len(list((isolated / "cache" / "folders").glob("tar-*.npy"))) == 1  # decoded arrays cached
    with pytest.warns(UserWarning):
        again = load_cifar10()
    np.testing.assert_array_equal(ds.images, again.images)
    # only train exists: asking for test is an error, not a silent synthetic test set
    with pytest.raises(UserError, match="test split not present"):
        load_cifar10(split="test")


def test_tar_with_empty_class_folder_is_an_error(isolated):
    (isolated / "d").mkdir()
    _jpeg_tree_tar(isolated / "src", isolated / "d" / "cifar10-train.tar.gz", empty_class=True)
    with pytest.raises(UserError, match="train/cat .* contains no images"):
        load_cifar10(isolated / "d")


def test_explicit_folder_tree_and_errors(isolated):
    _jpeg_tree_tar(isolated / "src", isolated / "unused.tar.gz")
    ds = load_cifar10(isolated / "src")  # src/cifar10/train/<class>
    assert len(ds) == 6
    with pytest.raises(UserError, match="has no test split"):
        load_cifar10(isolated / "src", "test")
    (isolated / "empty").mkdir()
    with pytest.raises(UserError, match="no CIFAR-10 data"):
        load_cifar10(isolated / "empty")


def test_synthetic_fallback_with_notice(isolated):
    class Run:
        notices = []

        def notice(self, m):
            self.notices.append(m)

    run = Run()
    ds = load_cifar10(split="test", run=run)
    assert ds.is_fallback and ds.images.shape[1:] == (32, 32, 3) and len(ds.classes) == 10
    assert "synthetic" in run.notices[0]
    with pytest.raises(UserError, match="not found"):
        load_cifar10(fallback=False)


_SHARED = shared_data_dir()


@pytest.mark.skipif(_SHARED is None or not (_SHARED / "cifar10" / "cifar10-train.tar.gz").is_file(),
                    reason="../shared/data/cifar10/cifar10-train.tar.gz not present")
def test_real_shared_cifar10_and_fast_second_load(tmp_path_factory, monkeypatch):
    """All 50,000 real JPEGs; the first load unpacks and decodes them, the second must take < 2 s."""
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path_factory.mktemp("cifar-cache")))
    first = load_cifar10()
    assert first.images.shape == (50000, 32, 32, 3) and not first.is_fallback
    assert first.classes == CIFAR10_CLASSES
    assert np.bincount(first.labels).tolist() == [5000] * 10
    assert first.skipped == []
    walls, cpus = [], []
    for _ in range(2):
        t, c = time.perf_counter(), time.process_time()
        second = load_cifar10()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    print(f"cached loads of 50,000 CIFAR-10 images: wall {', '.join(f'{s:.2f} s' for s in walls)}; "
          f"CPU {', '.join(f'{s:.2f} s' for s in cpus)}")
    # The machine running the suite is shared (load averages of 10 on 2 cores were seen), so wall time
    # measures the neighbours as much as us; the CPU time this process spends is what our code costs.
    # benchmarks/data_load.py records the wall time on its own (about 0.1 s when the machine is calm).
    assert min(cpus) < 2.0
    assert np.array_equal(first.images, second.images) and np.array_equal(first.labels, second.labels)
