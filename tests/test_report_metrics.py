"""Metrics against hand-computed values and scikit-learn as the oracle."""
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score

from tamrin.errors import UserError
from tamrin.report.metrics import classification_metrics, metrics_table, roc_curves, summary_text

# 3 classes, 6 samples; confusion rows (true) [[1,1,0],[0,2,0],[1,0,1]]
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]


def test_hand_computed_values():
    m = classification_metrics(Y_TRUE, Y_PRED, classes=["a", "b", "c"])
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    pc = {c["class"]: c for c in m["per_class"]}
    assert pc["a"]["precision"] == pytest.approx(1 / 2) and pc["a"]["recall"] == pytest.approx(1 / 2)
    assert pc["b"]["precision"] == pytest.approx(2 / 3) and pc["b"]["recall"] == pytest.approx(1.0)
    assert pc["b"]["f1"] == pytest.approx(0.8)
    assert pc["c"]["precision"] == pytest.approx(1.0) and pc["c"]["f1"] == pytest.approx(2 / 3)
    assert [c["support"] for c in m["per_class"]] == [2, 2, 2]
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # kappa: observed 2/3, chance sum(row*col)/n^2 = (2*2 + 2*3 + 2*1)/36 = 1/3  ->  (2/3-1/3)/(1-1/3)
    assert m["kappa"] == pytest.approx(0.5)
    assert m["notes"] == []


def test_auc_hand_computed_binary():
    # positives scored 0.35 and 0.8, negatives 0.1 and 0.4: 3 of the 4 pairs ranked right -> AUC 0.75
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    probs = np.stack([1 - p1, p1], axis=1)
    m = classification_metrics([0, 0, 1, 1], None, probs, ["neg", "pos"])
    assert m["auc"]["pos"] == pytest.approx(0.75)
    assert m["auc"]["neg"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.75)  # argmax used when y_pred is None


def test_matches_sklearn_on_random_multiclass():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 300)
    logits = rng.normal(size=(300, 5))
    logits[np.arange(300), y] += 1.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    pred = probs.argmax(1)
    m = classification_metrics(y, pred, probs, list("vwxyz"))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y, pred))
    assert m["auc_macro"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr", average="macro"))
    onehot = np.eye(5)[y]
    assert m["auc_micro"] == pytest.approx(roc_auc_score(onehot, probs, average="micro"))
    for k, name in enumerate("vwxyz"):
        assert m["auc"][name] == pytest.approx(roc_auc_score(onehot[:, k], probs[:, k]))
    # the macro curve is the mean per-class TPR: its area is close to the mean of the AUCs
    r = roc_curves(y, probs)
    assert np.trapezoid(r["macro"]["tpr"], r["macro"]["fpr"]) == pytest.approx(m["auc_macro"], abs=0.01)


def test_absent_class_gives_nan_auc_and_a_note():
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 0, 1, 0, 1])
    probs = rng.dirichlet([1, 1, 1], size=6)
    m = classification_metrics(y, None, probs, ["cat", "dog", "bird"])
    assert math.isnan(m["auc"]["bird"])
    assert not math.isnan(m["auc"]["cat"])
    assert m["auc_macro"] == pytest.approx((m["auc"]["cat"] + m["auc"]["dog"]) / 2)
    assert any("bird" in n and "undefined" in n for n in m["notes"])
    assert any("absent" in n and "bird" in n for n in m["notes"])
    assert m["per_class"][2]["support"] == 0
    cols, rows = metrics_table(m)
    assert cols[-1] == "ROC AUC" and math.isnan(rows[2][-1])


def test_single_class_everywhere_does_not_crash():
    m = classification_metrics([1, 1, 1], [1, 1, 1], np.array([[0.2, 0.8]] * 3), ["a", "b"])
    assert m["accuracy"] == 1.0
    assert math.isnan(m["kappa"]) and math.isnan(m["auc_macro"])
    assert m["auc_micro"] == 1.0  # pooled (sample, class) decisions still have both outcomes
    assert any("kappa" in n for n in m["notes"])
    assert "kappa undefined" in summary_text(m) and "nan" not in summary_text(m)  # issue #16: no "nan" in reports


def test_metrics_table_rows_and_json_ready():
    import json

    m = classification_metrics(Y_TRUE, Y_PRED, classes=["a", "b", "c"])
    cols, rows = metrics_table(m)
    assert cols == ["class", "precision", "recall", "F1", "support"]
    assert [r[0] for r in rows] == ["a", "b", "c", "macro avg", "weighted avg"]
    assert rows[3][3] == pytest.approx(m["macro_f1"]) and rows[4][4] == 6
    json.dumps(m)  # plain Python values only
    assert "0.6667" in summary_text(m, "test") and "4 of 6" in summary_text(m)


@pytest.mark.parametrize("kw, msg", [
    (dict(y_true=[], y_pred=[]), "empty"),
    (dict(y_true=[0, 1], y_pred=[0]), "y_pred has 1"),
    (dict(y_true=[0, 3], y_pred=[0, 1], classes=["a", "b"]), "outside 0..1"),
    (dict(y_true=[0, 1], probs=np.ones((2, 3)), classes=["a", "b"]), "3 columns"),
    (dict(y_true=[0, 1]), "give y_pred or probs"),
])
def test_bad_input_is_a_user_error(kw, msg):
    with pytest.raises(UserError, match=msg):
        classification_metrics(**kw)


def test_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    m = classification_metrics(torch.tensor(Y_TRUE), torch.tensor(Y_PRED))
    assert m["classes"] == ["0", "1", "2"] and m["accuracy"] == pytest.approx(4 / 6)
