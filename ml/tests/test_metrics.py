import numpy as np
import pytest

from ml.core import metrics


def test_confusion_and_prf_match_hand_computed_values():
    labels = ["a", "b", "c"]
    y_true = ["a", "a", "a", "b", "b", "c", "c", "c"]
    y_pred = ["a", "a", "b", "b", "uncertain", "c", "a", "no_skin"]
    rep = metrics.summarize(y_true, y_pred, labels)
    cm = rep["confusion_matrix"]["matrix"]
    assert rep["confusion_matrix"]["columns"] == ["a", "b", "c", "uncertain", "no_skin"]
    assert cm == [[2, 1, 0, 0, 0], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1]]
    # a: P 2/3 R 2/3 ; b: P 1/2 R 1/2 ; c: P 1/1 R 1/3
    pc = rep["per_class"]
    assert pc["a"]["precision"] == pytest.approx(2 / 3) and pc["a"]["recall"] == pytest.approx(2 / 3)
    assert pc["b"]["precision"] == pytest.approx(0.5) and pc["b"]["recall"] == pytest.approx(0.5)
    assert pc["c"]["precision"] == pytest.approx(1.0) and pc["c"]["recall"] == pytest.approx(1 / 3)
    assert pc["c"]["f1"] == pytest.approx(0.5)
    assert rep["accuracy"] == pytest.approx(4 / 8)  # abstentions count as misses
    assert rep["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.5) / 3)
    assert rep["abstained"] == {"uncertain": 1, "no_skin": 1}


def test_ece_hand_computed():
    # two bins used: conf 0.9 (2 items, 1 correct) and 0.6 (2 items, 2 correct)
    conf = [0.9, 0.9, 0.6, 0.6]
    correct = [1, 0, 1, 1]
    expected = 0.5 * abs(0.9 - 0.5) + 0.5 * abs(0.6 - 1.0)
    assert metrics.ece(conf, correct) == pytest.approx(expected)
    assert metrics.ece([1.0, 1.0], [1, 1]) == pytest.approx(0.0)
    assert metrics.ece([], []) == 0.0


def test_summarize_with_confidences_reports_ece():
    rep = metrics.summarize(
        ["a", "b"], ["a", "uncertain"], ["a", "b"], confidences=np.array([0.8, 0.4]), argmax_pred=["a", "a"]
    )
    assert rep["ece"] == pytest.approx(0.5 * 0.2 + 0.5 * 0.4)
    assert rep["accuracy_argmax"] == 0.5
