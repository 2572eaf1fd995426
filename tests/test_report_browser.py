"""The HTML report opened in a real browser (headless Chromium) with a screenshot under the test's tmp dir.

Chromium is Debian's `chromium` package. When it is missing the test installs it only if
TAMRIN_INSTALL_CHROMIUM=1 (CI sets it); otherwise it is skipped with the reason printed (pytest -ra).
"""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_report_render import build_run

pytestmark = pytest.mark.browser

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _find() -> str | None:
    exe = shutil.which("chromium")
    return exe or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _chromium() -> str:
    exe = _find()
    if exe:
        return exe
    if os.environ.get("TAMRIN_INSTALL_CHROMIUM") != "1":
        pytest.skip("chromium is not installed; set TAMRIN_INSTALL_CHROMIUM=1 to let this test run `apt-get install -y chromium`")
    if not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def install():
        return subprocess.run(["apt-get", "install", "-y", "chromium"], env=env, capture_output=True, text=True, timeout=900)

    r = install()
    if r.returncode != 0:  # a fresh image often has no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
        r = install()
    exe = _find()
    if r.returncode != 0 or not exe:
        pytest.skip(f"could not install chromium (apt-get exit {r.returncode}): {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    return exe


def test_html_report_renders_in_headless_chromium(tmp_path):
    exe = _chromium()
    run_dir = tmp_path / "run"
    build_run(run_dir, n_rows=10)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,1600",
           (run_dir / "report.html").resolve().as_uri()]
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(profile), XDG_CACHE_HOME=str(profile))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert shot.exists(), f"no screenshot (exit {r.returncode}): {r.stderr[-2000:]}"
    print(f"screenshot: {shot}")
    with Image.open(shot) as im:
        assert im.size == (1200, 1600)
        a = np.asarray(im.convert("RGB")).astype(int)
    assert a.std() > 10, "blank page"
    # the header's blue rule (#2b6cb0) proves our page was laid out, not a browser error page
    blue = (abs(a[..., 0] - 43) < 20) & (abs(a[..., 1] - 108) < 20) & (abs(a[..., 2] - 176) < 20)
    assert blue.sum() > 500
    # text rendered: many dark pixels in the upper part (title, contents)
    assert (a[:800].sum(axis=2) < 200).sum() > 2000
