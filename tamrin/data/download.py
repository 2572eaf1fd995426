"""Downloads of MNIST and CIFAR-10 into the cache, verified, resumable, and quick to give up offline.

* Checksums: every file has its published MD5; a mismatch deletes the file and raises a UserError
  (a corrupted or tampered download must never be used, and must not block the next attempt).
* Resume: bytes arrive in `<name>.part`; a later attempt asks for the rest with an HTTP Range
  request. A server that ignores Range answers 200 with the whole file, and we start over.
* Offline: `TAMRIN_OFFLINE=1` skips downloads entirely. Otherwise a probe (DNS + TCP connect, in a
  thread with a 2 s deadline, because DNS lookups ignore socket timeouts) decides quickly whether
  the host is reachable, so a machine without internet falls back in about 2 s, not minutes.
* URLs can be redirected to a mirror (or a test server) with `TAMRIN_MNIST_URL` (a base URL) and
  `TAMRIN_CIFAR10_URL` (the archive URL).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from tamrin.errors import UserError

__all__ = ["download", "download_mnist", "download_cifar10", "md5sum", "offline", "MNIST_MD5",
           "MNIST_URL", "CIFAR10_URL", "CIFAR10_MD5"]

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {  # published with the data set (also listed by torchvision)
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"

PROBE_SECONDS = 2.0   # DNS + connect deadline for the reachability probe
READ_TIMEOUT = 30.0   # per-read socket timeout once connected
_CHUNK = 1 << 20


class DownloadUnavailable(Exception):
    """The host cannot be reached (offline, DNS failure, refused): the caller may fall back."""


def offline() -> bool:
    return os.environ.get("TAMRIN_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def md5sum(path: str | Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _probe(url: str, deadline: float = PROBE_SECONDS) -> None:
    """Raise DownloadUnavailable unless a TCP connection to the URL's host opens within `deadline` s."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    result: list = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=deadline).close()
            result.append(None)
        except OSError as e:
            result.append(e)

    t = threading.Thread(target=attempt, daemon=True)  # daemon: a hung DNS lookup cannot block exit
    t.start()
    t.join(deadline)
    if not result:
        raise DownloadUnavailable(f"{host}:{port} did not answer within {deadline:.0f} s")
    if result[0] is not None:
        raise DownloadUnavailable(f"cannot reach {host}:{port} ({result[0]})")


def download(url: str, dest: str | Path, md5: str | None, desc: str | None = None) -> Path:
    """Fetch `url` to `dest` (resuming `dest.part`), check its MD5, and return `dest`.

    Raises DownloadUnavailable when the host is unreachable and UserError on a checksum mismatch or
    an HTTP error. An already complete `dest` with the right checksum is returned untouched.
    """
    from tqdm import tqdm

    dest = Path(dest)
    if dest.is_file() and (md5 is None or md5sum(dest) == md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    _probe(url)
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "tamrin"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=READ_TIMEOUT)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # "range not satisfiable": the .part already holds the whole file
            response = None
        else:
            raise UserError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DownloadUnavailable(f"{url}: {getattr(e, 'reason', e)}") from None
    if response is not None:
        with response:
            resumed = response.status == 206
            if not resumed:
                have = 0  # the server sent the whole file: start the .part over
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            with open(part, "ab" if resumed else "wb") as f, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=desc or dest.name, disable=None) as bar:
                try:
                    while block := response.read(_CHUNK):
                        f.write(block)
                        bar.update(len(block))
                except (OSError, urllib.error.URLError) as e:
                    # keep the .part: the next attempt resumes from here
                    raise DownloadUnavailable(f"{url}: connection lost after {f.tell()} bytes ({e})") from None
    if md5 is not None:
        got = md5sum(part)
        if got != md5:
            part.unlink(missing_ok=True)
            raise UserError(f"checksum mismatch for {url}: expected md5 {md5}, got {got}; the file was deleted, try again")
    os.replace(part, dest)
    return dest


def _mnist_base() -> str:
    base = os.environ.get("TAMRIN_MNIST_URL") or MNIST_URL
    return base if base.endswith("/") else base + "/"


def download_mnist(folder: str | Path, split: str) -> str | None:
    """Download the two MNIST files of `split` into `folder`; None on success, else why not (offline...).

    Checksum mismatches are not "unavailable": they raise UserError.
    """
    if offline():
        return "TAMRIN_OFFLINE is set"
    from .idx import MNIST_FILES

    base = _mnist_base()
    try:
        for stem in MNIST_FILES[split]:
            name = stem + ".gz"
            download(base + name, Path(folder) / name, MNIST_MD5.get(name))
    except DownloadUnavailable as e:
        return f"offline or unreachable: {e}"
    return None


def download_cifar10(folder: str | Path) -> str | None:
    """Download the official CIFAR-10 python archive into `folder` and unpack its batches safely.

    None on success (folder/cifar-10-batches-py exists), else the reason it is unavailable.
    """
    if offline():
        return "TAMRIN_OFFLINE is set"
    from .archive import safe_extract

    folder = Path(folder)
    url = os.environ.get("TAMRIN_CIFAR10_URL") or CIFAR10_URL
    try:
        archive = download(url, folder / "cifar-10-python.tar.gz", CIFAR10_MD5)
    except DownloadUnavailable as e:
        return f"offline or unreachable: {e}"
    batches = folder / "cifar-10-batches-py"
    if not batches.is_dir():
        unpacked = safe_extract(archive, folder / f"unpacked-{int(time.time())}")
        inner = next(unpacked.rglob("data_batch_1"), None)
        if inner is None:
            shutil.rmtree(unpacked, ignore_errors=True)
            raise UserError(f"{archive}: no data_batch_1 inside; not the CIFAR-10 python archive")
        os.replace(inner.parent, batches)
        shutil.rmtree(unpacked, ignore_errors=True)
    return None
