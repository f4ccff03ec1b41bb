"""`marsad evaluate`: one model, one or more annotated files, one report directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluation.evaluate import evaluate_scored, load_evaluation_records, provenance, score
from evaluation.report import write_report
from marsad.inference import load_classifier

DEFAULT_RESAMPLES = 1000


def run_evaluation(model: str, data: Sequence[Path], out: Path, n_resamples: int = DEFAULT_RESAMPLES) -> dict:
    classifier = load_classifier(model)
    records, skipped, files = load_evaluation_records(data, classifier)
    if not records:
        raise ValueError(f"no valid annotated records in {', '.join(map(str, data))}")
    scored = score(classifier, records)
    metrics = evaluate_scored(scored, n_resamples)
    metrics["provenance"] = provenance(classifier, files, skipped, n_resamples)
    write_report(metrics, scored, out)
    return metrics
