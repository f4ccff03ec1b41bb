"""The shipped `evaluate` metric modules: hand-computed cases, and agreement with scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

from evaluation.metrics import average_precision, calibration_error, stance_scores, topic_scores


def test_multilabel_scores_by_hand():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], dtype=bool)
    predicted = np.array([[1, 1], [0, 1], [0, 0], [0, 0]], dtype=bool)
    scores = topic_scores(predicted, gold, ["a", "b"])
    # a: tp 1, fp 0, fn 1 -> P 1, R .5, F1 2/3 ; b: tp 1, fp 1, fn 1 -> P .5, R .5, F1 .5
    assert scores["per_label"]["a"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert scores["per_label"]["b"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    # micro: tp 2, fp 1, fn 2 -> P 2/3, R 1/2, F1 4/7
    assert scores["micro_f1"] == pytest.approx(4 / 7)


def test_multiclass_scores_by_hand():
    scores = stance_scores([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], ["favor", "against", "neutral"])
    assert scores["per_label"]["favor"]["f1"] == pytest.approx(0.5)
    assert scores["per_label"]["against"]["f1"] == pytest.approx(2 / 3)
    assert scores["per_label"]["neutral"]["f1"] == pytest.approx(2 / 3)
    assert scores["micro_f1"] == pytest.approx(0.6)  # accuracy


def test_agreement_with_scikit_learn():
    rng = np.random.default_rng(0)
    gold = rng.random((200, 4)) < 0.3
    predicted = rng.random((200, 4)) < 0.35
    ours = topic_scores(predicted, gold, list("abcd"))
    assert ours["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro", zero_division=0))
    assert ours["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro", zero_division=0))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, zero_division=0)
    for k, label in enumerate("abcd"):
        assert ours["per_label"][label] == pytest.approx({"precision": p[k], "recall": r[k], "f1": f[k], "support": s[k]})

    classes_gold, classes_pred = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    ours = stance_scores(classes_pred, classes_gold, ["x", "y", "z"])
    assert ours["macro_f1"] == pytest.approx(f1_score(classes_gold, classes_pred, average="macro"))

    scores = rng.random(150).round(2)  # ties on purpose
    outcomes = (rng.random(150) < 0.4).astype(int)
    assert average_precision(scores, outcomes) == pytest.approx(average_precision_score(outcomes, scores))
    assert average_precision(scores, np.zeros(150, dtype=int)) is None


def test_calibration_error_by_hand():
    # bin [0.2,0.3): p .25 twice, outcomes 0,1 -> |.25-.5| ; bin [0.9,1]: p .95, outcome 1 -> .05
    result = calibration_error([0.25, 0.25, 0.95], [0, 1, 1], n_bins=10)
    assert result["ece"] == pytest.approx((2 / 3) * 0.25 + (1 / 3) * 0.05)
    assert [b["count"] for b in result["bins"]] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 1]
    assert calibration_error([1.0, 0.0], [1, 0])["ece"] == pytest.approx(0.0)
