"""The shared report parts: classification sections, architecture and training set-up tables."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from tamrin.report import Figure, Table, Text
from tamrin.report.standard import (architecture_section, classification_sections, describe_model,
                                    describe_training, evaluate_classification, split_table, training_section)
from tamrin.runs import Run


def _model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def test_describe_model_counts_and_shapes():
    m = _model()
    m[0].weight.requires_grad_(False)  # a frozen layer must show up as non-trainable
    cols, rows = describe_model(m, torch.zeros(2, 1, 6, 6))
    assert cols == ["layer", "type", "output shape", "parameters", "trainable"]
    by = {r[0]: r for r in rows}
    assert by["0"][3] == 4 * 9 + 4 and by["0"][4] == 4  # conv: weight frozen, bias trainable
    assert by["0"][2] == "4×6×6" and by["2"][2] == "144" and by["3"][2] == "3"
    assert by["3"][3] == 144 * 3 + 3
    assert rows[-1][0] == "total"
    assert rows[-1][3] == sum(p.numel() for p in m.parameters())
    assert rows[-1][4] == sum(p.numel() for p in m.parameters() if p.requires_grad)
    assert m.training  # the forward pass for shapes must not leave the model in eval mode
    s = architecture_section(m, torch.zeros(1, 1, 6, 6))
    assert f"{rows[-1][3]:,}" in s.blocks[0].text and isinstance(s.blocks[1], Table)


def test_describe_model_without_input_and_bare_module():
    cols, rows = describe_model(nn.Linear(3, 2))
    assert rows[-1][3] == 8 and cols[2] == "output"


def test_describe_training_reads_the_real_optimizer():
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    cols, rows = describe_training(nn.CrossEntropyLoss(label_smoothing=0.1), opt, scheduler=sched, epochs=5, batch_size=32,
                                   splits={"train": np.zeros(90), "validation": 10}, preprocessing="scaled to [0, 1]")
    d = dict(rows)
    assert d["loss function"].startswith("CrossEntropyLoss") and "label_smoothing=0.1" in d["loss function"]
    assert d["optimizer"].startswith("AdamW") and "lr=0.0003" in d["optimizer"] and "weight_decay=0.01" in d["optimizer"]
    assert "StepLR" in d["learning-rate schedule"] and "step_size=7" in d["learning-rate schedule"]
    assert d["epochs"] == 5 and d["batch size"] == 32
    assert d["train samples"] == 90 and d["validation samples"] == 10
    assert d["augmentation"] == "none"  # stated, never silently omitted
    # a name and parameters work too (when the trainer builds the optimizer itself)
    d = dict(describe_training("cross-entropy", "SGD", {"lr": 0.1, "momentum": 0.9})[1])
    assert d["optimizer"] == "SGD (lr=0.1, momentum=0.9)" and d["batch size"] == "not stated"


def test_split_table_and_training_section():
    y_tr, y_va = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 2])
    cols, rows = split_table({"train": y_tr, "validation": y_va}, ["a", "b", "c"])
    assert cols == ["class", "train", "validation"]
    assert rows == [["a", 2, 1], ["b", 1, 1], ["c", 3, 1], ["total", 6, 3]]
    secs = training_section(classes=["a", "b", "c"], loss_fn=nn.CrossEntropyLoss(), optimizer="SGD", epochs=1, batch_size=4,
                            splits={"train": y_tr, "validation": y_va}, model=_model())
    assert [s.title for s in secs] == ["Training set-up", "Architecture"]
    assert sum(isinstance(b, Table) for b in secs[0].blocks) == 2


def test_classification_sections_save_figures_and_metrics(tmp_path):
    run = Run(tmp_path / "run", "std", quiet=True)
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 10)
    probs = rng.dirichlet([1, 1, 1], 30)
    probs[np.arange(30), y] += 0.6
    hist = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.1, "val_acc": 0.4},
            {"epoch": 2, "train_loss": 0.7, "train_acc": 0.7, "val_loss": 0.9, "val_acc": 0.6}]
    m, secs = evaluate_classification(run, "val set", y, probs, ["r", "g", "b"], history=hist)
    titles = [s.title for s in secs]
    assert titles == ["Results: val set", "Training and validation curves", "Confusion matrix (val set)",
                      "ROC curves (val set)", "Per-class metrics (val set)"]
    assert [s.level for s in secs] == [1, 2, 2, 2, 2]
    figs = [b for s in secs for b in s.blocks if isinstance(b, Figure)]
    assert len(figs) == 3 and all((run.path / f.path).exists() for f in figs)
    assert all(not f.path.startswith("/") for f in figs)  # relative to the run folder
    saved = json.loads((run.path / "metrics_val_set.json").read_text())
    assert saved["accuracy"] == pytest.approx(m["accuracy"])
    head = secs[0].blocks[0]
    assert isinstance(head, Text) and f"{m['accuracy']:.4f}" in head.text and f"{m['kappa']:.4f}" in head.text
    assert len(classification_sections(run, "test", y, probs, ["r", "g", "b"], roc_curve=False)) == 3


def test_describe_model_lstm_and_tuple_input():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.lstm = nn.LSTM(4, 5, batch_first=True)
            self.head = nn.Linear(5, 2)

        def forward(self, tokens, scale):
            out, _ = self.lstm(self.emb(tokens))
            return self.head(out[:, -1]) * scale

    net = Net()
    cols, rows = describe_model(net, (torch.zeros(2, 7, dtype=torch.long), 1.0))
    by = {r[0]: r for r in rows}
    assert by["lstm"][2] == "7×5" and by["emb"][2] == "7×4" and by["head"][2] == "2"
    assert by["lstm"][3] == sum(p.numel() for p in net.lstm.parameters())
