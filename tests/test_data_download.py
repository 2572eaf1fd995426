"""Downloads against a local HTTP server (checksums, resume with Range, offline), and safe extraction."""
import hashlib
import http.server
import io
import tarfile
import threading
import time

import numpy as np
import pytest

from tamrin.data import download as dl
from tamrin.data import load_cifar10, load_mnist
from tamrin.data.archive import safe_extract
from tamrin.data.idx import write_idx
from tamrin.errors import UserError


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `files` (name -> bytes) with HTTP Range support and records every request's headers."""

    files: dict = {}
    requests: list = []
    honour_range = True

    def do_GET(self):
        name = self.path.lstrip("/")
        self.requests.append((name, dict(self.headers)))
        if name not in self.files:
            self.send_error(404)
            return
        body = self.files[name]
        rng = self.headers.get("Range")
        if rng and self.honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    handler = type("H", (_Handler,), {"files": {}, "requests": [], "honour_range": True})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.delenv("TAMRIN_OFFLINE", raising=False)
    monkeypatch.setenv("TAMRIN_SHARED", str(tmp_path / "no-shared"))
    monkeypatch.setenv("TAMRIN_DATA", str(tmp_path / "cache"))


def _md5(b):
    return hashlib.md5(b).hexdigest()


def test_good_file_accepted(server, tmp_path):
    handler, base = server
    payload = bytes(range(256)) * 1000
    handler.files["f.bin"] = payload
    out = dl.download(base + "f.bin", tmp_path / "f.bin", _md5(payload))
    assert out.read_bytes() == payload and not (tmp_path / "f.bin.part").exists()
    n = len(handler.requests)
    dl.download(base + "f.bin", tmp_path / "f.bin", _md5(payload))  # complete and verified: no new request
    assert len(handler.requests) == n


def test_corrupted_file_refused_and_deleted(server, tmp_path):
    handler, base = server
    handler.files["f.bin"] = b"tampered bytes"
    with pytest.raises(UserError, match="checksum mismatch.*deleted"):
        dl.download(base + "f.bin", tmp_path / "f.bin", _md5(b"the real bytes"))
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_truncated_part_is_resumed_with_range(server, tmp_path):
    handler, base = server
    payload = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    handler.files["f.bin"] = payload
    (tmp_path / "f.bin.part").write_bytes(payload[:123_456])  # an interrupted earlier attempt
    dl.download(base + "f.bin", tmp_path / "f.bin", _md5(payload))
    assert (tmp_path / "f.bin").read_bytes() == payload
    assert handler.requests[-1][1].get("Range") == "bytes=123456-"


def test_server_without_range_support_restarts(server, tmp_path):
    handler, base = server
    handler.honour_range = False
    payload = b"abcdefghij" * 1000
    handler.files["f.bin"] = payload
    (tmp_path / "f.bin.part").write_bytes(b"XXXX")  # wrong partial bytes must not survive a 200 answer
    dl.download(base + "f.bin", tmp_path / "f.bin", _md5(payload))
    assert (tmp_path / "f.bin").read_bytes() == payload


def test_complete_part_gets_416_and_is_verified(server, tmp_path):
    handler, base = server
    handler.files["f.bin"] = payload = b"0123456789"
    (tmp_path / "f.bin.part").write_bytes(payload)
    dl.download(base + "f.bin", tmp_path / "f.bin", _md5(payload))
    assert (tmp_path / "f.bin").read_bytes() == payload


def test_http_error_is_a_user_error(server, tmp_path):
    _, base = server
    with pytest.raises(UserError, match="HTTP 404"):
        dl.download(base + "missing.bin", tmp_path / "m.bin", None)


def _idx_gz_bytes(tmp_path, array, name):
    return write_idx(tmp_path / name, array).read_bytes()


def test_load_mnist_downloads_from_mirror_into_cache(server, tmp_path, monkeypatch):
    handler, base = server
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = (np.arange(12) % 10).astype(np.uint8)
    src = tmp_path / "src"
    src.mkdir()
    md5 = {}
    for name, arr in (("train-images-idx3-ubyte.gz", images), ("train-labels-idx1-ubyte.gz", labels)):
        handler.files[name] = _idx_gz_bytes(src, arr, name)
        md5[name] = _md5(handler.files[name])
    monkeypatch.setattr(dl, "MNIST_MD5", md5)
    monkeypatch.setenv("TAMRIN_MNIST_URL", base)
    ds = load_mnist()
    assert not ds.is_fallback and ds.source.startswith("MNIST IDX from $TAMRIN_DATA")  # the download cache
    np.testing.assert_array_equal(ds.images[..., 0], images)
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    # a tampered mirror is an error, never a silent fallback
    (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    handler.files["train-images-idx3-ubyte.gz"] = b"\x1f\x8bgarbage"
    with pytest.raises(UserError, match="checksum mismatch"):
        load_mnist()


def test_load_cifar10_downloads_and_unpacks_official_layout(server, tmp_path, monkeypatch):
    import pickle

    handler, base = server
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            blob = pickle.dumps({b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"labels": [1, 2, 3]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    handler.files["cifar-10-python.tar.gz"] = buf.getvalue()
    monkeypatch.setattr(dl, "CIFAR10_MD5", _md5(buf.getvalue()))
    monkeypatch.setenv("TAMRIN_CIFAR10_URL", base + "cifar-10-python.tar.gz")
    ds = load_cifar10(split="test")
    assert ds.images.shape == (3, 32, 32, 3) and ds.labels.tolist() == [1, 2, 3] and not ds.is_fallback
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-batches-py" / "test_batch").is_file()


def test_unreachable_host_fails_fast(tmp_path):
    t = time.perf_counter()
    with pytest.raises(dl.DownloadUnavailable):
        dl.download("http://127.0.0.1:9/x.bin", tmp_path / "x.bin", None)  # port 9 (discard): refused
    assert time.perf_counter() - t < 3.0
    reason = dl.download_mnist(tmp_path, "train")  # the real S3 host: unreachable here, or really fetched
    assert reason is None or "unreachable" in reason


def test_offline_flag_makes_no_request(server, tmp_path, monkeypatch):
    handler, base = server
    monkeypatch.setenv("TAMRIN_OFFLINE", "1")
    monkeypatch.setenv("TAMRIN_MNIST_URL", base)
    assert "TAMRIN_OFFLINE" in dl.download_mnist(tmp_path, "train")
    assert handler.requests == []


# --- safe extraction ---------------------------------------------------------------------------------
def _tar(path, members):
    """members: (TarInfo kwargs, bytes or None)."""
    with tarfile.open(path, "w:gz") as tar:
        for kw, data in members:
            info = tarfile.TarInfo(kw.pop("name"))
            for k, v in kw.items():
                setattr(info, k, v)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def test_safe_extract_good_archive(tmp_path):
    arc = _tar(tmp_path / "ok.tar.gz", [({"name": "d/a.txt"}, b"hello"),
                                         ({"name": "d/link", "type": tarfile.SYMTYPE, "linkname": "a.txt"}, None)])
    out = safe_extract(arc, tmp_path / "out")
    assert (out / "d" / "a.txt").read_text() == "hello" and (out / "d" / "link").read_text() == "hello"


@pytest.mark.parametrize("members, message", [
    ([({"name": "/tmp/evil.txt"}, b"x")], "absolute path"),
    ([({"name": "../evil.txt"}, b"x")], r"'\.\.'"),
    ([({"name": "d/../../evil.txt"}, b"x")], r"'\.\.'"),
    ([({"name": "d/up", "type": tarfile.SYMTYPE, "linkname": "../../etc"}, None)], "symlink .* escapes"),
    ([({"name": "abs", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, None)], "symlink .* absolute"),
    ([({"name": "hard", "type": tarfile.LNKTYPE, "linkname": "../outside.txt"}, None)], "hardlink .* escapes"),
    ([({"name": "dev", "type": tarfile.CHRTYPE}, None)], "special file"),
])
def test_malicious_tar_refused(tmp_path, members, message):
    arc = _tar(tmp_path / "evil.tar.gz", [({"name": "fine.txt"}, b"ok")] + members)
    with pytest.raises(UserError, match=message):
        safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()
    assert not list(tmp_path.glob(".out*"))  # no half-extracted temporary folder left behind


def test_truncated_archive_is_a_user_error(tmp_path):
    arc = _tar(tmp_path / "ok.tar.gz", [({"name": f"f{i}"}, bytes(5000)) for i in range(5)])
    (tmp_path / "cut.tar.gz").write_bytes(arc.read_bytes()[:60])
    with pytest.raises(UserError, match="cannot extract"):
        safe_extract(tmp_path / "cut.tar.gz", tmp_path / "out")
