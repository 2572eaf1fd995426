"""The bad-input checklist of issue #10: each situation a user can meet, and what tamrin does about it.

README.md's "What happens when..." table states the same outcomes; keep the two in step.
"""
from __future__ import annotations

import errno
import http.server
import io
import os
import struct
import tarfile
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from tamrin.data import load_image_folder
from tamrin.data.archive import safe_extract
from tamrin.errors import UserError
from tamrin.runs import Run
from tamrin.train import TrainConfig, fit, load_checkpoint, load_model_state


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))


def _png(path: Path, array: np.ndarray, mode: str | None = None, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, **save)
    return path


def _good(root: Path, split="train", classes=("a", "b"), n=2) -> None:
    rng = np.random.default_rng(0)
    for c in classes:
        for i in range(n):
            _png(root / split / c / f"{i}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))


def _load(root, split="train", **kw):
    with pytest.warns(UserWarning):  # skipped files are always announced
        return load_image_folder(root, split, **kw)


def _one_line(e) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# --- images ---------------------------------------------------------------------------------------
def test_corrupt_truncated_and_zero_byte_images_are_skipped_and_listed(tmp_path):
    _good(tmp_path)
    jpg = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(jpg, "JPEG")
    png = (tmp_path / "train/a/0.png").read_bytes()
    bad = {"corrupt.png": png[:20] + bytes(b ^ 0xFF for b in png[20:60]) + png[60:],
           "truncated.jpg": jpg.getvalue()[: len(jpg.getvalue()) // 2], "truncated.png": png[:-30],
           "empty.png": b"", "random.jpg": os.urandom(200)}
    for name, data in bad.items():
        (tmp_path / "train/b" / name).write_bytes(data)
    ds = _load(tmp_path, size=8, mode="RGB")
    assert len(ds) == 4
    listed = " ".join(ds.skipped)
    for name in bad:
        assert f"b/{name} (" in listed  # each with its reason in brackets
    assert len(ds.skipped) == len(bad)


def test_wrong_extensions_content_decides_and_non_images_are_listed(tmp_path):
    _good(tmp_path)
    _png(tmp_path / "train/a/really_png.jpg", np.zeros((8, 8, 3), np.uint8), format="PNG")
    _png(tmp_path / "train/a/really_jpeg.png", np.zeros((8, 8, 3), np.uint8), format="JPEG")
    (tmp_path / "train/a/notes.txt").write_text("not an image")
    _png(tmp_path / "train/a/image.txt", np.zeros((8, 8, 3), np.uint8), format="PNG")  # only image extensions are read
    ds = _load(tmp_path, size=8)
    assert len(ds) == 6
    assert sorted(ds.skipped) == ["a/image.txt (not an image file)", "a/notes.txt (not an image file)"]


def _huge_png_header(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR declaring width x height, then an IDAT of nothing: tiny on disk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_huge_images_and_decompression_bombs_are_refused_before_decoding(tmp_path, monkeypatch):
    _good(tmp_path)
    (tmp_path / "train/a/bomb.png").write_bytes(_huge_png_header(50_000, 50_000))  # 2.5 G pixels in 60 bytes
    (tmp_path / "train/a/big.png").write_bytes(_huge_png_header(10_000, 10_000))  # 100 M: between 1x and 2x the limit
    ds = _load(tmp_path, size=8, mode="RGB")
    assert len(ds) == 4 and len(ds.skipped) == 2
    assert any("bomb.png" in s and "DecompressionBomb" in s for s in ds.skipped)
    assert any("big.png" in s and "over the 89,478,485-pixel limit" in s for s in ds.skipped)
    # the limit is Pillow's own setting: a lab with huge scans can raise it
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60)
    _png(tmp_path / "train/b/ten_by_ten.png", np.zeros((10, 10, 3), np.uint8))  # 100 > 60 pixels
    ds = _load(tmp_path, size=8, mode="RGB")
    assert any("ten_by_ten.png" in s and "limit" in s for s in ds.skipped)


def test_big_jpeg_loads_through_draft_when_a_small_size_is_asked(tmp_path, monkeypatch):
    _good(tmp_path)
    _png(tmp_path / "train/a/photo.jpg", np.full((400, 400, 3), 200, np.uint8), format="JPEG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 400 x 400 = 160,000 is over, 50 x 50 after draft is not
    ds = load_image_folder(tmp_path, "train", size=8, mode="RGB")
    assert len(ds) == 5 and not ds.skipped


def test_16_bit_and_palette_pngs_decode_to_the_right_8_bit_values(tmp_path):
    root = tmp_path
    sixteen = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1024 + 257).astype(np.uint16)
    _png(root / "train/grey/deep.png", sixteen)
    assert Image.open(root / "train/grey/deep.png").mode in ("I;16", "I")
    pal = Image.new("P", (8, 8))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 1)
    (root / "train/colour").mkdir(parents=True)
    pal.save(root / "train/colour/palette.png")
    pal.save(root / "train/colour/palette_transparent.png", transparency=0)
    ds = load_image_folder(root, "train", mode=None)
    assert not ds.skipped and ds.images.shape == (3, 8, 8, 3)
    red, blue = [255, 0, 0], [0, 0, 255]
    for i in (0, 1):  # colour/ comes first: palette.png, palette_transparent.png
        assert ds.images[i, 0, 0].tolist() == blue and ds.images[i, 1, 1].tolist() == red
    grey = ds.images[2, :, :, 0].astype(int)
    np.testing.assert_array_equal(grey, np.round(sixteen / 257).astype(int))  # scaled 0..65535 -> 0..255, not clipped


def test_empty_class_folder_is_one_clear_error(tmp_path):
    _good(tmp_path)
    (tmp_path / "train/c_empty").mkdir()
    with pytest.raises(UserError) as e:
        load_image_folder(tmp_path, "train")
    assert "c_empty contains no images" in _one_line(e)


def test_a_class_missing_from_validation_keeps_the_label_numbers(tmp_path):
    _good(tmp_path, "train", ("ant", "bee", "cat"))
    _good(tmp_path, "validation", ("ant", "cat"))
    train = load_image_folder(tmp_path, "train")
    plain = load_image_folder(tmp_path, "validation")
    assert plain.classes == ["ant", "cat"]  # alone, a split only knows its own folders: label 1 would be "cat"
    with pytest.warns(UserWarning, match="no images of class.*bee"):
        val = load_image_folder(tmp_path, "validation", classes=train.classes)
    assert val.classes == ["ant", "bee", "cat"] and sorted(set(val.labels.tolist())) == [0, 2]
    _good(tmp_path, "test", ("ant", "dog"))
    with pytest.raises(UserError) as e:
        load_image_folder(tmp_path, "test", classes=train.classes)
    assert "dog" in _one_line(e)


def test_unreadable_files_and_folders(tmp_path, monkeypatch):
    """chmod 000. Tests here often run as root, who reads anything: then the denial is simulated."""
    _good(tmp_path)
    locked = tmp_path / "train/a/locked.png"
    _png(locked, np.zeros((8, 8, 3), np.uint8))
    locked.chmod(0)
    if os.access(locked, os.R_OK):  # root: make Pillow's open fail the way it would for a normal user
        real_open = Image.open

        def denied(fp, *a, **kw):
            if str(fp) == str(locked):
                raise PermissionError(errno.EACCES, "Permission denied", str(fp))
            return real_open(fp, *a, **kw)

        monkeypatch.setattr(Image, "open", denied)
    ds = _load(tmp_path, size=8)
    assert len(ds) == 4 and any("locked.png" in s and "Permission denied" in s for s in ds.skipped)
    locked.chmod(0o644)

    folder = tmp_path / "train/b"
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK):
            real_scandir = os.scandir
            monkeypatch.setattr(os, "scandir", lambda p=".": (_ for _ in ()).throw(PermissionError(errno.EACCES, "Permission denied", str(p)))
                                if Path(p) == folder else real_scandir(p))
        with pytest.raises(UserError) as e:
            load_image_folder(tmp_path, "train", cache=False)
        assert "cannot read folder" in _one_line(e) and "Permission denied" in str(e.value)
    finally:
        folder.chmod(0o755)


# --- checkpoints ----------------------------------------------------------------------------------
def _xy(n=128):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long()


def _net(width=16):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, width), nn.ReLU(), nn.Linear(width, 2))


def test_disk_full_while_writing_a_checkpoint_keeps_the_old_one(tmp_path, monkeypatch):
    x, y = _xy()
    cfg = TrainConfig(epochs=3, batch_size=32, progress=False)

    def killed_after_epoch_1(rec):
        if rec["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(_net(), (x, y), None, cfg, Run(tmp_path, quiet=True), tag="m", callbacks=[killed_after_epoch_1])
    ck = tmp_path / "checkpoints" / "m.pt"
    before = ck.read_bytes()
    real_fsync = os.fsync

    def full_disk(fd):  # only the checkpoint's temporary file hits the full disk
        if ".m.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(UserError) as e:
        fit(_net(), (x, y), None, cfg, Run(tmp_path, quiet=True), tag="m")  # resumes, then epoch 2's write fails
    msg = _one_line(e)
    assert "No space left on device" in msg and "m.pt" in msg and "unchanged" in msg
    assert ck.read_bytes() == before  # the epoch-1 checkpoint survived, byte for byte
    assert [p.name for p in ck.parent.iterdir()] == ["m.pt"]  # no temporary file left behind
    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed: the run resumes from epoch 1
    res = fit(_net(), (x, y), None, cfg, Run(tmp_path, quiet=True), tag="m")
    assert res.resumed_from == 1 and len(res.history) == 3


def test_checkpoint_from_another_model_is_one_clear_line(tmp_path):
    x, y = _xy()
    fit(_net(16), (x, y), None, TrainConfig(epochs=1, progress=False), Run(tmp_path, quiet=True), tag="m")
    with pytest.raises(UserError) as e:  # resuming a run folder with a different architecture
        fit(_net(32), (x, y), None, TrainConfig(epochs=2, progress=False), Run(tmp_path, quiet=True), tag="m")
    msg = _one_line(e)
    assert "does not match this model" in msg and "shape mismatch" in msg and "size mismatch" not in msg
    with pytest.raises(UserError) as e:
        load_model_state(nn.Linear(6, 2), load_checkpoint(tmp_path / "checkpoints" / "m.pt")["model"])
    assert "missing keys" in _one_line(e)
    (tmp_path / "half.pt").write_bytes((tmp_path / "checkpoints" / "m.pt").read_bytes()[:100])
    with pytest.raises(UserError) as e:
        load_checkpoint(tmp_path / "half.pt")
    assert "cannot read checkpoint" in _one_line(e)


# --- downloads and archives ------------------------------------------------------------------------
def test_tampered_download_is_deleted_with_a_clear_error(tmp_path):
    download = pytest.importorskip("tamrin.data.download")
    if not hasattr(download, "download"):
        pytest.skip("tamrin.data.download.download is not on this branch yet")
    payload = b"these are not the bytes you are looking for"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
        url = f"http://127.0.0.1:{server.server_address[1]}/train-images-idx3-ubyte.gz"
        with pytest.raises(UserError) as e:
            download.download(url, dest, download.MNIST_MD5["train-images-idx3-ubyte.gz"])
    finally:
        server.shutdown()
    msg = _one_line(e)
    assert "checksum mismatch" in msg and "deleted" in msg
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_tar_with_dotdot_members_is_refused(tmp_path):
    png = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png, "PNG")
    archive = _tar(tmp_path / "evil.tar.gz", {"train/a/0.png": png.getvalue(), "../../escaped.png": png.getvalue()})
    with pytest.raises(UserError) as e:
        safe_extract(archive, tmp_path / "out" / "data")
    assert "'..'" in _one_line(e) and "escaped.png" in str(e.value)
    assert not (tmp_path / "out" / "data").exists() and not list(tmp_path.rglob("escaped.png"))
    with pytest.raises(UserError) as e:  # read in place (no extraction) is refused just the same
        load_image_folder(archive, "train")
    assert "refusing member" in _one_line(e)
    absolute = _tar(tmp_path / "abs.tar.gz", {"/tmp/evil.png": png.getvalue()})
    with pytest.raises(UserError) as e:
        safe_extract(absolute, tmp_path / "out2")
    assert "absolute" in _one_line(e)
