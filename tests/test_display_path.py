"""Reports never show the machine's absolute data locations (issue #16): shared data as ../shared/data/...,
the cache as $TAMRIN_DATA/..., the home folder as ~/..."""
from pathlib import Path

from tamrin.data.paths import display_path


def test_display_path(tmp_path, monkeypatch):
    shared, cache = tmp_path / "shared" / "data", tmp_path / "cache"
    shared.mkdir(parents=True), cache.mkdir()
    monkeypatch.setenv("TAMRIN_SHARED", str(shared))
    monkeypatch.setenv("TAMRIN_DATA", str(cache))
    assert display_path(shared / "mnist") == "../shared/data/mnist"
    assert display_path(cache / "folders" / "x") == "$TAMRIN_DATA/folders/x"
    assert display_path(Path.home() / "datasets" / "faces") == "~/datasets/faces"
    assert display_path("/opt/data/faces") == "/opt/data/faces"
