"""Image folders: classes from folder names, mode/size conversion, bad files skipped, caching."""
import os

import numpy as np
import pytest
from PIL import Image

from tamrin.data import load_image_folder
from tamrin.data import folder as folder_mod
from tamrin.errors import UserError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))


def _save(path, array, mode=None, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, fmt)


def _make_tree(root):
    """train/{cat,dog}: 3 good RGB JPEG/PNGs each at 10x12 plus assorted bad and odd files."""
    rng = np.random.default_rng(0)
    for cls in ("dog", "cat"):
        for i in range(3):
            _save(root / "train" / cls / f"{i}.png", rng.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    (root / "train" / "cat" / "broken.jpg").write_bytes(b"this is not a jpeg at all")
    good = root / "train" / "dog" / "0.png"
    jpg = root / "train" / "dog" / "big.jpg"
    _save(jpg, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), fmt="JPEG")
    (root / "train" / "dog" / "truncated.jpg").write_bytes(jpg.read_bytes()[:300])
    (root / "train" / "dog" / "notes.txt").write_text("not an image")
    (root / "train" / "dog" / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored silently
    return good


def test_classes_sorted_and_bad_files_skipped(tmp_path):
    _make_tree(tmp_path)
    with pytest.warns(UserWarning, match="skipped"):
        ds = load_image_folder(tmp_path, "train", size=(10, 12), mode="RGB")
    assert ds.classes == ["cat", "dog"]
    assert ds.images.shape == (7, 10, 12, 3) and ds.images.dtype == np.uint8
    assert np.bincount(ds.labels).tolist() == [3, 4]
    skipped = " ".join(ds.skipped)
    assert len(ds.skipped) == 3
    for name in ("cat/broken.jpg", "dog/truncated.jpg", "dog/notes.txt"):
        assert name in skipped
    # the good PNG comes back pixel for pixel (sorted order: cat/0,1,2 then dog/0 ...)
    np.testing.assert_array_equal(ds.images[3], np.asarray(Image.open(tmp_path / "train/dog/0.png")))


def test_skipped_files_reach_the_run_notice(tmp_path):
    _make_tree(tmp_path)

    class Run:
        notices = []

        def notice(self, m):
            self.notices.append(m)

    run = Run()
    with pytest.warns(UserWarning):
        load_image_folder(tmp_path, "train", size=8, mode="L", run=run)
    assert len(run.notices) == 1 and "3 file(s)" in run.notices[0]


def test_mode_and_size_conversion(tmp_path):
    _save(tmp_path / "s/a/grey.png", np.full((20, 30), 200, np.uint8), "L")
    _save(tmp_path / "s/a/rgb.png", np.tile(np.array([255, 0, 0], np.uint8), (20, 30, 1)))
    _save(tmp_path / "s/b/small.png", np.full((10, 15, 3), 50, np.uint8))
    grey = load_image_folder(tmp_path, "s", size=(8, 6), mode="L")
    assert grey.images.shape == (3, 8, 6, 1)
    assert grey.images[0].min() == 200 and abs(int(grey.images[1, 0, 0, 0]) - 76) <= 1  # ITU-R 601 luma of red
    rgb = load_image_folder(tmp_path, "s", size=(8, 6), mode="RGB")
    assert rgb.images.shape == (3, 8, 6, 3)
    assert rgb.images[0, 0, 0].tolist() == [200, 200, 200] and rgb.images[1, 0, 0].tolist() == [255, 0, 0]
    # mode None with grey and colour mixed -> RGB; size None with mixed sizes -> the most common size
    with pytest.warns(UserWarning, match="different sizes"):
        auto = load_image_folder(tmp_path, "s")
    assert auto.images.shape == (3, 20, 30, 3)
    assert auto.images[2].min() == 50 and auto.images[2].max() == 50


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 100], [65535, 257 * 3]], np.uint16)
    path = tmp_path / "t/x/deep.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")  # really a 16-bit PNG
    ds = load_image_folder(tmp_path, "t", mode="L")
    assert ds.images[0, :, :, 0].tolist() == [[0, 100], [255, 3]]


def test_palette_png_with_and_without_transparency(tmp_path):
    idx = np.array([[0, 1], [1, 2]], np.uint8)
    palette = [0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 9)
    for name, extra in (("plain.png", {}), ("transp.png", {"transparency": 0})):
        im = Image.fromarray(idx, "P")
        im.putpalette(palette)
        path = tmp_path / "p/c" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, **extra)
    ds = load_image_folder(tmp_path, "p", mode="RGB")
    assert ds.skipped == []
    for i in range(2):
        assert ds.images[i, 0, 1].tolist() == [255, 0, 0] and ds.images[i, 1, 1].tolist() == [0, 0, 255]


def test_empty_class_and_missing_split_are_clear_errors(tmp_path):
    _save(tmp_path / "train/a/1.png", np.zeros((4, 4), np.uint8), "L")
    (tmp_path / "train/empty").mkdir()
    with pytest.raises(UserError, match=r"class folder .*empty contains no images"):
        load_image_folder(tmp_path, "train")
    with pytest.raises(UserError, match=r"split folder .*validation does not exist \(found: train\)"):
        load_image_folder(tmp_path, "validation")
    (tmp_path / "nocls").mkdir()
    with pytest.raises(UserError, match="no class sub-folders"):
        load_image_folder(tmp_path, "nocls")
    with pytest.raises(UserError, match="unknown image mode"):
        load_image_folder(tmp_path, "train", mode="CMYK")


def test_cache_reused_and_invalidated(tmp_path, monkeypatch):
    good = _make_tree(tmp_path)
    with pytest.warns(UserWarning):
        first = load_image_folder(tmp_path, "train", size=8, mode="RGB")

    def no_decoding(*a, **k):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(folder_mod, "_decode_all", no_decoding)
    with pytest.warns(UserWarning):
        second = load_image_folder(tmp_path, "train", size=8, mode="RGB")
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert second.skipped == first.skipped and second.classes == first.classes
    # a modified file, or another size, must decode again
    os.utime(good, ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        load_image_folder(tmp_path, "train", size=8, mode="RGB")
    monkeypatch.undo()
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))
    with pytest.warns(UserWarning):
        third = load_image_folder(tmp_path, "train", size=8, mode="RGB")
    np.testing.assert_array_equal(first.images, third.images)


def test_process_pool_gives_the_same_result(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    for i in range(40):
        _save(tmp_path / f"d/c{i % 3}/{i}.png", rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    serial = load_image_folder(tmp_path, "d", cache=False)
    monkeypatch.setattr(folder_mod, "_POOL_MIN_FILES", 10)
    pooled = load_image_folder(tmp_path, "d", cache=False)
    np.testing.assert_array_equal(serial.images, pooled.images)
    np.testing.assert_array_equal(serial.labels, pooled.labels)


def test_folder_packed_as_tar(tmp_path):
    """The same tree as a .tar.gz decodes to the same arrays, without unpacking; bad split named clearly."""
    import tarfile

    _make_tree(tmp_path / "tree")
    with tarfile.open(tmp_path / "set.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "tree", arcname="myset")
    with pytest.warns(UserWarning):
        from_dir = load_image_folder(tmp_path / "tree", "train", size=(9, 9), mode="L", cache=False)
    with pytest.warns(UserWarning, match="skipped"):
        from_tar = load_image_folder(tmp_path / "set.tar.gz", "train", size=(9, 9), mode="L")
    np.testing.assert_array_equal(from_dir.images, from_tar.images)
    np.testing.assert_array_equal(from_dir.labels, from_tar.labels)
    assert sorted(s.split(" (")[0] for s in from_tar.skipped) == sorted(s.split(" (")[0] for s in from_dir.skipped)
    with pytest.raises(UserError, match=r"split 'test' not found .*splits found: train"):
        load_image_folder(tmp_path / "set.tar.gz", "test")


_SHARED = __import__("tamrin.data", fromlist=["shared_data_dir"]).shared_data_dir()
_FER = _SHARED / "fer2013" / "fer2013-subset.tar.gz" if _SHARED else None


@pytest.mark.skipif(_FER is None or not _FER.is_file(), reason="../shared/data/fer2013 not present")
def test_real_fer2013_validation_from_shared_tar():
    ds = load_image_folder(_FER, "validation", size=(48, 48), mode="L")
    assert ds.images.shape == (3589, 48, 48, 1)
    assert ds.classes == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert ds.skipped == [] and np.bincount(ds.labels).min() > 0
