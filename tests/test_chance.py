"""Chance detection (issue #19): a classifier not significantly above the majority-class rate gets a notice and its
numbers are not interpreted; the recall-change sentence's branches (issue #16: no '0.0 % -> 0.0 %' improvement)."""
import numpy as np

from tamrin.experiments._fer_eval import recall_change_text
from tamrin.report.metrics import chance_notice, chance_test, classification_metrics


def test_always_one_class_is_at_chance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 700)
    m = classification_metrics(y, np.zeros_like(y), classes=[str(i) for i in range(7)])
    assert m["chance"]["at_chance"] and "At chance level" in chance_notice(m, "validation")


def test_a_learning_classifier_is_not_at_chance():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 700)
    pred = np.where(rng.random(700) < 0.4, y, rng.integers(0, 7, 700))  # ~49 % on 7 balanced classes
    c = chance_test(y, pred)
    assert not c["at_chance"] and c["p_value"] < 1e-6 and chance_notice({"chance": c, "accuracy": 0.49}) == ""


def test_imbalanced_majority_rate_is_the_floor():
    y = np.array([0] * 90 + [1] * 10)
    c = chance_test(y, np.zeros(100, int))  # 90 % correct, but that is the majority rate
    assert c["majority_rate"] == 0.9 and c["at_chance"]


def test_recall_change_branches():
    cls = ["angry", "happy", "sad"]
    assert recall_change_text(np.zeros(3), np.zeros(3), cls) == "No class's recall goes up."
    assert "happy (10.0% -> 30.0%)" in recall_change_text(np.array([0.5, 0.1, 0.2]), np.array([0.4, 0.3, 0.2]), cls)
    tie = recall_change_text(np.array([0.1, 0.1, 0.5]), np.array([0.2, 0.2, 0.4]), cls)
    assert tie.startswith("The classes") and "angry" in tie and "happy" in tie


def test_class_balance_text_branches():
    from tamrin.experiments._fer_data import balance_text

    cls = ["a", "b", "c"]
    assert "balanced, so a plain" in balance_text(np.array([100, 100, 100]), cls, True)
    assert "dominate" not in balance_text(np.array([100, 100, 100]), cls, True)
    assert balance_text(np.array([120, 100, 100]), cls, True).count("Mildly imbalanced") == 1
    assert "Strongly imbalanced" in balance_text(np.array([1200, 436, 1200]), cls, False) and "not used" in balance_text(
        np.array([1200, 436, 1200]), cls, False)
