"""Metrics through Hugging Face `evaluate`, with the metric modules shipped in this package.

``evaluate.load("f1")`` needs the hub, which is unreachable; the modules under
``metric_modules/`` are loaded by local path instead. Training (model selection, dev
metrics) and the evaluation reports both use these functions, so a number means the same
thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import evaluate
import numpy as np

MODULES = Path(__file__).resolve().parent / "metric_modules"


@cache
def load_metric(name: str, config_name: str | None = None) -> evaluate.EvaluationModule:
    return evaluate.load(str(MODULES / name), config_name)


def topic_scores(predicted: np.ndarray, gold: np.ndarray, labels: Sequence[str]) -> dict:
    """Multi-label P/R/F1 of 0/1 decisions ``[N, T]`` against gold ``[N, T]``."""
    return load_metric("precision_recall_f1", "multilabel").compute(
        predictions=predicted.astype(int).tolist(), references=gold.astype(int).tolist(), labels=list(labels)
    )


def stance_scores(predicted: Sequence[int], gold: Sequence[int], labels: Sequence[str]) -> dict:
    """Multi-class P/R/F1 (``micro_f1`` is accuracy) over class indices."""
    if not len(gold):
        return {"per_label": {}, "micro_f1": 0.0, "macro_f1": 0.0}
    return load_metric("precision_recall_f1", "multiclass").compute(
        predictions=list(map(int, predicted)), references=list(map(int, gold)), labels=list(labels)
    )


def calibration_error(probabilities: Sequence[float], outcomes: Sequence[int], n_bins: int = 10) -> dict:
    if not len(outcomes):
        return {"ece": None, "bins": []}
    return load_metric("calibration_error").compute(
        predictions=list(map(float, probabilities)), references=list(map(int, outcomes)), n_bins=n_bins
    )


def average_precision(scores: Sequence[float], outcomes: Sequence[int]) -> float | None:
    return load_metric("average_precision").compute(
        predictions=list(map(float, scores)), references=list(map(int, outcomes))
    )["average_precision"]
