"""Every figure helper returns a Figure that saves to a real PNG, and tolerates partial input."""
import numpy as np
import pytest
from PIL import Image

from tamrin.errors import UserError
from tamrin.report import figures
from tamrin.runs import Run


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def run(tmp_path):
    return Run(tmp_path / "run", "figs", quiet=True)


def _png(path):
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        a = np.asarray(im.convert("L"))
    assert a.std() > 5, "figure is blank"
    return a.shape


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for ax in fig.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]


def test_curves_full_and_partial_history(run):
    hist = [{"epoch": e, "train_loss": 1 / e, "train_acc": 0.5 + e / 20, "val_loss": 1.1 / e, "val_acc": 0.45 + e / 20} for e in range(1, 6)]
    fig = figures.curves(hist)
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and len(acc_ax.lines) >= 2
    assert any("kept: epoch 5\nval 0.700" in t for t in _texts(fig))  # best val_acc 0.45 + 5/20 at epoch 5
    _png(run.save_figure(fig, "curves", dpi=50))
    # no validation keys and no epoch key: train curves only, epochs counted from 1
    fig = figures.curves([{"train_loss": 0.9}, {"train_loss": 0.5, "train_acc": 0.7}])
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    _png(run.save_figure(fig, "partial", dpi=50))
    _png(run.save_figure(figures.curves([]), "empty", dpi=50))


def test_confusion_counts_and_row_percentages(run):
    cm = np.array([[8, 2, 0], [1, 9, 0], [0, 5, 5]])
    fig = figures.confusion(cm, ["a", "b", "c"], "cm")
    texts = _texts(fig)
    assert "8\n80.0%" in texts and "5\n50.0%" in texts and "9\n90.0%" in texts
    assert "accuracy 0.7333" in fig.axes[0].get_title()
    _png(run.save_figure(fig, "cm", dpi=50))
    # ten classes: one label per cell, still a readable size
    cm10 = np.random.default_rng(0).integers(0, 50, (10, 10))
    fig = figures.confusion(cm10, [f"class {i}" for i in range(10)], "ten", normalize=None)
    assert sum(1 for t in fig.axes[0].texts) == 100
    h, w = _png(run.save_figure(fig, "cm10", dpi=60))
    assert w >= 400
    with pytest.raises(UserError):
        figures.confusion(cm, ["a", "b"])


def test_roc_legend_has_auc_and_averages(run):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    probs = rng.dirichlet([1, 1, 1], 60)
    probs[np.arange(60), y] += 1
    probs /= probs.sum(1, keepdims=True)
    fig = figures.roc(y, probs, ["x", "y", "z"])
    legend = _texts(fig)
    assert any(t.startswith("x (AUC ") for t in legend)
    assert any(t.startswith("micro-average (AUC") for t in legend) and any(t.startswith("macro-average (AUC") for t in legend)
    _png(run.save_figure(fig, "roc", dpi=50))
    # a class absent from y_true: no crash, marked in the legend
    fig = figures.roc(np.array([0, 1, 0, 1]), rng.dirichlet([1, 1, 1], 4), ["x", "y", "z"])
    assert any("z (AUC n/a" in t for t in _texts(fig))


@pytest.mark.parametrize("layout", ["uint8_nhwc", "float_nchw", "gray_nhw", "normalised_nchw"])
def test_image_grid_layouts(run, layout):
    rng = np.random.default_rng(0)
    if layout == "uint8_nhwc":
        imgs = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    elif layout == "float_nchw":
        imgs = rng.random((10, 1, 8, 8)).astype(np.float32)
    elif layout == "gray_nhw":
        imgs = rng.integers(0, 256, (10, 8, 8), dtype=np.uint8)
    else:
        imgs = rng.normal(size=(10, 3, 8, 8)).astype(np.float32)  # mean/std normalised
    fig = figures.image_grid(imgs, titles=[f"t{i}" for i in range(10)], ncols=4, title_colors=["red"] * 10)
    assert len(fig.axes) == 12  # 3 rows x 4 columns, the last two empty
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10 and shown[3].get_title() == "t3"
    data = shown[0].images[0].get_array()
    assert 0 <= float(np.min(data)) and float(np.max(data)) <= 1
    _png(run.save_figure(fig, f"grid_{layout}", dpi=50))


def test_image_grid_accepts_torch_and_rejects_bad_shape():
    torch = pytest.importorskip("torch")
    fig = figures.image_grid(torch.rand(3, 3, 6, 6))
    assert sum(1 for ax in fig.axes if ax.images) == 3
    with pytest.raises(UserError, match="shape"):
        figures.image_grid(np.zeros((2, 2)))


def test_bar_and_lines(run):
    fig = figures.bar(["sgd", "adam"], [0.91, 0.955], "accuracy by optimizer", "accuracy")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.91", "0.955"]
    _png(run.save_figure(fig, "bar", dpi=50))
    fig = figures.bar([f"a long label {i}" for i in range(12)], np.arange(12.0))  # horizontal automatically
    assert fig.axes[0].get_yticklabels()[0].get_text() == "a long label 0"
    fig = figures.lines(np.arange(10), {"sgd": np.linspace(2, 1, 10), "adam": np.linspace(2, 0.5, 10)}, "loss", "step", "loss", logy=True)
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_yscale() == "log"
    _png(run.save_figure(fig, "lines", dpi=50))
