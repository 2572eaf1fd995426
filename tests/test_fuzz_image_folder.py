"""Fuzz the image-folder loader: whatever a folder holds, `load_image_folder` returns a data set (bad
files listed in ds.skipped) or raises one one-line UserError; never another exception.

Generated folders mix real PNG/JPEG/BMP/GIF/WebP/TIFF bytes of random sizes and modes (1, L, LA, P,
RGB, RGBA, I;16, CMYK), the same bytes truncated or with corrupted bytes, random bytes, zero-byte
files, wrong extensions, odd file and class names (spaces, unicode, newlines, leading dashes, very
long names), empty class folders and sub-folders. 1,500 folder cases + 2,500 single-file decodes here
(with tests/test_fuzz_config.py's 10,000 that is 14,000); TAMRIN_FUZZ_SCALE=10 runs ten times as many.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tamrin.data import load_image_folder
from tamrin.data.dataset import ArrayDataset
from tamrin.data.folder import IMAGE_EXTENSIONS, decode_to_dataset
from tamrin.errors import UserError

SCALE = float(os.environ.get("TAMRIN_FUZZ_SCALE", "1"))
# thousands of tiny trees: in memory when possible (mkdir/rmdir on a busy disk cost ~10 ms each)
TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
FORMATS = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"), "JPEG": ("L", "RGB", "CMYK"), "BMP": ("1", "L", "P", "RGB"),
           "GIF": ("L", "P"), "WEBP": ("RGB", "RGBA"), "TIFF": ("L", "RGB", "I;16")}
EXTS = sorted(IMAGE_EXTENSIONS) + [".PNG", ".Jpg", ".txt", ".tif", "", ".png.bak", ".jpeg "]


@pytest.fixture(autouse=True)
def _cache(monkeypatch):
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        monkeypatch.setenv("TAMRIN_DATA", d)
        yield


@st.composite
def real_image(draw) -> bytes:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if mode == "I;16":
        img = Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    else:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB").convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):  # this Pillow cannot write that mode in that format
        img.convert("RGB").save(buf, "PNG")
    return buf.getvalue()


@st.composite
def damaged(draw) -> bytes:
    data = bytearray(draw(real_image()))
    how = draw(st.sampled_from(["truncate", "flip", "zero-tail", "keep"]))
    if how == "truncate":
        return bytes(data[:draw(st.integers(0, len(data) - 1))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    if how == "zero-tail":
        cut = draw(st.integers(0, len(data) - 1))
        data[cut:] = bytes(len(data) - cut)
    return bytes(data)


CONTENT = st.one_of(real_image(), damaged(), st.binary(max_size=300), st.just(b""),
                    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBP"]))
NAME_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0")
NAME = st.one_of(st.text(NAME_CHARS, min_size=1, max_size=12), st.sampled_from(["-rf", " a b ", "ü❤️", "x\ny", "%s{}", "a" * 200]))


@st.composite
def tree(draw):
    """{class name: [(file name, bytes) or (dir name, None)]}; names unique, no '.', '..' or hidden names."""
    classes = draw(st.lists(NAME, min_size=1, max_size=3, unique_by=lambda s: s.encode("utf-8", "surrogatepass")))
    out = {}
    for c in classes:
        files = []
        for i in range(draw(st.integers(0, 4))):
            if draw(st.integers(0, 9)) == 0:
                files.append((f"sub{i}", None))  # a folder where an image was expected
                continue
            stem = draw(NAME)
            files.append((f"{i}{stem}{draw(st.sampled_from(EXTS))}", draw(CONTENT)))
        out[c] = files
    return out


def _write(root: Path, spec) -> int:
    """Write the tree; returns how many image-named files it holds (the rest is skipped or ignored)."""
    n = 0
    for c, files in spec.items():
        if c in (".", "..") or c.startswith("."):
            continue
        d = root / "train" / c
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError:  # a name the file system refuses (too long): not the loader's business
            continue
        for name, data in files:
            try:
                if data is None:
                    (d / name).mkdir(exist_ok=True)
                else:
                    (d / name).write_bytes(data)
                    n += 1
            except OSError:
                continue
    return n


def _check_dataset(ds):
    assert isinstance(ds, ArrayDataset)
    assert ds.images.dtype == np.uint8 and ds.images.ndim == 4 and ds.images.shape[3] in (1, 3)
    assert ds.labels.dtype == np.int64 and len(ds.labels) == len(ds.images)
    assert all(0 <= int(i) < len(ds.classes) for i in ds.labels)
    assert all(isinstance(s, str) for s in ds.skipped)


def _one_line(e: UserError):
    msg = str(e)
    assert msg and "\n" not in msg and "\r" not in msg, f"not one line: {msg!r}"


@settings(max_examples=int(1500 * SCALE), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(spec=tree(), size=st.sampled_from([None, 8, (5, 7), (1, 1)]), mode=st.sampled_from([None, "L", "RGB"]),
       cache=st.booleans())
def test_folder_loader_never_crashes(spec, size, mode, cache):
    with tempfile.TemporaryDirectory(dir=TMP) as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n file(s) skipped", "different sizes": warnings are fine
        root = Path(d)
        n_files = _write(root, spec)
        try:
            ds = load_image_folder(root, "train", size=size, mode=mode, cache=cache)
        except UserError as e:
            _one_line(e)
            return
        _check_dataset(ds)
        if size is not None and len(ds):
            assert ds.images.shape[1:3] == ((size, size) if isinstance(size, int) else size)
        assert len(ds) + len(ds.skipped) == n_files  # every file is either loaded or listed as skipped
        if cache:  # the second load (from the cache) gives the same data set
            again = load_image_folder(root, "train", size=size, mode=mode, cache=cache)
            np.testing.assert_array_equal(again.images, ds.images)
            assert again.skipped == ds.skipped


@settings(max_examples=int(2500 * SCALE), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=CONTENT, size=st.sampled_from([None, 4, (3, 9)]), mode=st.sampled_from([None, "L", "RGB"]))
def test_decoder_on_bytes_skips_or_decodes(data, size, mode):
    """The decode path on raw bytes (as used for images inside tar archives): one image in, or skipped."""
    size = (size, size) if isinstance(size, int) else size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = decode_to_dataset([data], ["x.png"], [0], ["c"], size, mode)
    _check_dataset(ds)
    assert len(ds) + len(ds.skipped) == 1
    if len(ds) and mode is not None:
        assert ds.images.shape[3] == (1 if mode == "L" else 3)
