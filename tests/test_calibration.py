import numpy as np
import pytest

from training.calibration import fit_temperature, tune_thresholds


def test_temperature_recovers_how_overconfident_logits_are():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 1.5, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-true_logits))).astype(float)
    overconfident = true_logits * 3.0
    assert fit_temperature(overconfident, labels, multiclass=False) == pytest.approx(3.0, rel=0.15)
    assert fit_temperature(true_logits, labels, multiclass=False) == pytest.approx(1.0, rel=0.15)


def test_multiclass_temperature_and_the_empty_case():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1, (3000, 3))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=p) for p in probabilities])
    assert fit_temperature(logits * 0.5, labels, multiclass=True) == pytest.approx(0.5, rel=0.2)
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int), multiclass=True) == 1.0


def test_thresholds_follow_the_data_and_stay_in_bounds():
    rng = np.random.default_rng(3)
    gold = rng.random((400, 3)) < 0.3
    scores = np.where(gold, rng.uniform(0.45, 1.0, gold.shape), rng.uniform(0.0, 0.5, gold.shape))
    thresholds = tune_thresholds(scores, gold, ["a", "b", "c"])
    assert all(0.45 <= t <= 0.56 for t in thresholds.values()), thresholds  # the separating band, smoothed
    low = tune_thresholds(scores * 0.5, gold, ["a", "b", "c"])  # the band moves to 0.22–0.25
    assert all(0.35 <= t <= 0.4 for t in low.values()), low  # ...but no threshold goes below the bound
    assert tune_thresholds(scores, np.zeros_like(gold), ["a", "b", "c"]) == {"a": 0.5, "b": 0.5, "c": 0.5}
