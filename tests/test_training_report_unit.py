"""tamrin.report.training_report and the figure fixes of issue #16, without training anything real:
tags, required settings, small multiples, the kept epoch named once for text and figure, one-point curves,
text sizes at the printed width, and FF's per-epoch monitors leaving the training untouched."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from fpdf import FPDF
from matplotlib.text import Text as MplText
from torch import nn

from tamrin.report import figures
from tamrin.report import training_report as TR
from tamrin.runs import Run

PAGE_IN = FPDF(format="A4").epw / 25.4  # the PDF's text width (the renderer's default margins), inches
CLASSES = ["a", "b", "c"]
SETTINGS = {"loss function": "cross-entropy", "optimizer": "sgd (lr=0.1)", "epochs": 3, "optimizer steps": 30,
            "batch size": 8, "preprocessing": "none", "augmentation": "none"}


def _hist(val_accs):
    return [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_acc": 0.4 + 0.1 * i, "val_loss": 1.2 / (i + 1), "val_acc": v}
            for i, v in enumerate(val_accs)]


def _splits(rng, test=True, val_name="validation"):
    def one(n):
        y = rng.integers(0, 3, n)
        return y, rng.dirichlet(np.ones(3), n)
    out = {"train": one(40), val_name: one(20)}
    if test:
        out["test"] = one(20)
    return out


def _tags(sections):
    return [getattr(b, "tag", "") for s in sections for b in s.blocks if getattr(b, "tag", "")]


def test_tags_per_split_and_the_architecture(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    secs = TR.training_report(Run(tmp_path, quiet=True), "m", history=_hist([0.5, 0.6, 0.7]), splits=_splits(rng),
                              classes=CLASSES, settings=SETTINGS, model=model, example_input=torch.zeros(2, 4))
    assert sorted(_tags(secs)) == sorted(["curves", "metrics", "confusion:train", "confusion:validation", "confusion:test",
                                          "settings", "split-sizes", "architecture"])
    arch = [b for s in secs for b in s.blocks if getattr(b, "tag", "") == "architecture"][0]
    assert arch.rows[-1][3] == sum(p.numel() for p in model.parameters())
    # no test split: no test matrix; "dev" is the validation split
    secs = TR.training_report(Run(tmp_path / "b", quiet=True), "m", history=_hist([0.5]), classes=CLASSES, settings=SETTINGS,
                              splits=_splits(rng, test=False, val_name="dev"))
    tags = _tags(secs)
    assert "confusion:validation" in tags and "confusion:test" not in tags
    metrics = [b for s in secs for b in s.blocks if getattr(b, "tag", "") == "metrics"][0]
    assert [r[0] for r in metrics.rows] == ["train", "dev"]  # shown under the experiment's own name


def test_settings_must_state_what_the_course_asks_for(tmp_path):
    rng = np.random.default_rng(1)
    for missing in ("optimizer steps", "loss function", "batch size"):
        bad = {k: v for k, v in SETTINGS.items() if k != missing}
        with pytest.raises(ValueError, match=missing):
            TR.training_report(Run(tmp_path, quiet=True), "m", history=_hist([0.5]), splits=_splits(rng), classes=CLASSES,
                               settings=bad)
    with pytest.raises(ValueError, match="train and validation"):
        TR.training_report(Run(tmp_path, quiet=True), "m", history=_hist([0.5]), splits={"train": _splits(rng)["train"]},
                           classes=CLASSES, settings=SETTINGS)


def test_train_config_settings_names_every_parameter_and_the_steps():
    from tamrin.train import TrainConfig

    tc = TrainConfig(epochs=4, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
                     warmup_epochs=1, label_smoothing=0.1, grad_clip=2.0, max_steps_per_epoch=3)
    steps = TR.fit_steps(1000, tc, 4)
    assert steps == 12  # capped at 3 per epoch, not ceil(1000 / 32) = 32
    d = TR.train_config_settings(tc, loss="cross-entropy", steps=steps, preprocessing="p", augmentation="a")
    assert d["optimizer"] == "sgd (lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0005)"
    assert "label smoothing 0.1" in d["loss function"] and "1 warm-up" in d["learning-rate schedule"]
    assert d["optimizer steps"] == 12 and d["gradient clipping (max norm)"] == "2"
    assert TR.train_config_settings(tc, loss="l", steps=1, epochs=2, preprocessing="p", augmentation="a")["epochs"] \
        == "2 of 4 planned (stopped early)"


def test_many_models_are_small_multiples_not_dropped(tmp_path):
    rng = np.random.default_rng(2)
    members = {f"member {i}": {"history": _hist([0.5, 0.6]), "splits": _splits(rng)} for i in range(5)}
    secs = TR.training_report(Run(tmp_path, quiet=True), "c", members=members, classes=CLASSES, settings=SETTINGS)
    tags = _tags(secs)
    assert tags.count("curves") == 1 and all(tags.count(f"confusion:{s}") == 1 for s in ("train", "validation", "test"))
    metrics = [b for s in secs for b in s.blocks if getattr(b, "tag", "") == "metrics"][0]
    assert {r[0] for r in metrics.rows} == set(members) and len(metrics.rows) == 15


def test_text_and_figure_name_the_same_kept_epoch(tmp_path, monkeypatch):
    """A tie (0.7 at epochs 2 and 3): fit keeps the first, so both the sentence and the marker say epoch 2."""
    assert figures.best_epoch(_hist([0.5, 0.7, 0.7])) == 2
    marked = []
    real = figures.curves
    monkeypatch.setattr(TR.figures, "curves", lambda h, **kw: marked.append(kw["best"]) or real(h, **kw))
    secs = TR.training_report(Run(tmp_path, quiet=True), "m", history=_hist([0.5, 0.7, 0.7]), classes=CLASSES,
                              settings=SETTINGS, splits=_splits(np.random.default_rng(3)))
    assert marked == [2]
    assert "epoch 2 of 3" in secs[0].blocks[0].text
    fig = real(_hist([0.5, 0.7, 0.7]))
    assert any("kept: epoch 2" in t.get_text() for t in fig.axes[1].texts)
    # FF keeps the last epoch (no selection): the sentence says so and the marker sits on it
    marked.clear()
    secs = TR.training_report(Run(tmp_path / "b", quiet=True), "m", history=_hist([0.5, 0.7, 0.6]), classes=CLASSES,
                              settings=SETTINGS, splits=_splits(np.random.default_rng(3)), keep="last")
    assert marked == [3] and "last epoch" in secs[0].blocks[0].text


def test_one_epoch_is_drawn_with_markers_and_integer_ticks():
    fig = figures.curves(_hist([0.6]))
    for ax in fig.axes:
        assert ax.get_xlim() == (0.5, 1.5)
        assert all(line.get_marker() == "o" for line in ax.lines if len(line.get_xdata()) == 1)
        ticks = [t for t in ax.get_xticks() if 0.5 <= t <= 1.5]
        assert ticks == [1.0]


def _min_printed_pt(fig, shown_width: float) -> float:
    """Smallest visible text size in points once the saved figure is scaled to `shown_width` of the page."""
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())  # save_figure crops to this box
    scale = min(1.0, shown_width * PAGE_IN / bbox.width)
    sizes = [t.get_fontsize() for t in fig.findobj(MplText) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * scale


@pytest.mark.parametrize("k", [3, 7, 10])
def test_confusion_numbers_print_at_7pt(k):
    cm = np.arange(k * k).reshape(k, k) * 37
    fig = figures.confusion(cm, [f"class{i}" for i in range(k)])
    assert _min_printed_pt(fig, figures.confusion_width(k)) >= 7.0


def test_computational_graph_prints_at_7pt():
    from tamrin.experiments.autodiff_graph import Config, build_graph, initial_values
    from tamrin.scratch.autodiff_graph import draw_graph

    g = build_graph(initial_values(Config()), Config().lam)
    g["Lreg"].backward()
    assert _min_printed_pt(draw_graph(g["Lreg"], title="L_reg"), 1.0) >= 7.0


def _ff_data(n=60):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_ff_monitors_do_not_change_the_training(tmp_path):
    """The per-epoch curves are measured on fixed subsets with their own generators: weights and losses are
    bit-identical with and without them, and unsupervised FF still gets y=None."""
    from tamrin.ff.epoch_eval import supervised_eval, unsupervised_eval
    from tamrin.ff.net import FFNet
    from tamrin.ff.supervised import FFTrain, train_supervised
    from tamrin.ff.unsup_train import make_hybrids, train_unsupervised

    x, y = _ff_data()
    cfg = FFTrain(epochs=2, batch_size=20, lr=0.01)

    def sup(monitor, where):
        torch.manual_seed(0)
        net = FFNet(784, [16, 16])
        ev = supervised_eval(net, x, y, x[:20], y[:20], None, 0, k=30) if monitor else None
        h = train_supervised(net, x, y, cfg, Run(tmp_path / where, quiet=True), "ff", torch.Generator().manual_seed(0), ev)
        return net, h

    def unsup(monitor, where):
        torch.manual_seed(0)
        net = FFNet(784, [16, 16])
        hyb = lambda xx, gg: make_hybrids(xx, torch.arange(len(xx)), (28, 28), 2, gg, "image")  # noqa: E731
        ev = unsupervised_eval(net, x, y, x[:20], y[:20], [1], hyb, 0, k=30, iters=5) if monitor else None
        h = train_unsupervised(net, x, None, (28, 28), 2, cfg, Run(tmp_path / where, quiet=True), "u",
                               torch.Generator().manual_seed(0), "image", eval_fn=ev)
        return net, h

    for train in (sup, unsup):
        (a, ha), (b, hb) = train(False, f"{train.__name__}0"), train(True, f"{train.__name__}1")
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), k
        assert [r["loss"] for r in ha] == [r["loss"] for r in hb]
        assert all({"train_acc", "val_acc", "val_loss"} <= set(r) for r in hb)
        assert all(0.0 <= r["val_acc"] <= 1.0 for r in hb)


def test_the_kept_epoch_sentence_has_a_branch_per_case():
    h = _hist([0.5, 0.7, 0.6])
    assert TR._epochs_sentence("T", h, 2, False) == \
        "T: 3 epochs; the weights kept are those of epoch 2 of 3 (validation accuracy 0.7000), the highest validation accuracy."
    assert "those of the last epoch (validation accuracy 0.6000)" in TR._epochs_sentence("T", h, 3, False)
    assert TR._epochs_sentence("T", h[:1], 1, False) == "T: one epoch; its weights (validation accuracy 0.5000) are used."
    no_val = [{"epoch": 1, "train_loss": 1.0}]
    assert "no validation accuracy was recorded" in TR._epochs_sentence("T", no_val, None, False)
    assert "after the last epoch are used (no selection" in TR._epochs_sentence("T", h, 3, True)


def test_fit_steps_prefers_the_count_fit_logged():
    from tamrin.train import TrainConfig

    tc = TrainConfig(epochs=3, batch_size=10)
    assert TR.fit_steps(95, tc, 3) == 30
    assert TR.fit_steps(95, tc, 3, history=[{"epoch": 3, "steps": 27}]) == 27  # e.g. a budgeted run cut short
