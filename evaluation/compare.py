"""`marsad compare`: may a retrained model replace the current one?

Both reports must come from the same evaluation data. The decision rests on a *paired*
bootstrap: articles are resampled once and both models are scored on each resample, so the
interval is that of the difference itself. A guarded metric whose difference interval lies
wholly below zero is worse beyond noise, and the candidate is refused (exit 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from evaluation.evaluate import HEADLINE, Scored, headline, subset
from marsad.api import ArticleResult

GUARDED = HEADLINE
RESAMPLES = 1000
SEED = 20261123


class CompareError(ValueError):
    """The two reports cannot be compared (different data, missing files)."""


@dataclass
class Row:
    metric: str
    current: float
    candidate: float
    low: float
    high: float

    @property
    def delta(self) -> float:
        return self.candidate - self.current

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "within noise"


def load_report(directory: Path) -> tuple[dict, Scored]:
    metrics_path, predictions_path = directory / "metrics.json", directory / "predictions.jsonl"
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise CompareError(f"{path} not found: is {directory} a `marsad evaluate` report?")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in predictions_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [
        {"id": r["id"], "topics": r["gold_topics"], "stances": [{"actor": a, "stance": s} for a, s in r["gold_stances"].items()]}
        for r in rows
    ]
    results = [ArticleResult.model_validate(r["result"]) for r in rows]
    topic_ids = [t.label for t in results[0].topics] if results else []
    thresholds = np.array([metrics["topics"]["thresholds"][t] for t in topic_ids])
    calibration = metrics["calibration"]
    scored = Scored(records, results, topic_ids, thresholds,
                    calibration["topics"]["temperature"], calibration["stance"]["temperature"])
    return metrics, scored


def compare_reports(candidate_dir: Path, current_dir: Path, resamples: int = RESAMPLES) -> list[Row]:
    candidate_metrics, candidate = load_report(candidate_dir)
    current_metrics, current = load_report(current_dir)
    same_data = candidate_metrics["provenance"]["data"]["fingerprint"] == current_metrics["provenance"]["data"]["fingerprint"]
    if not same_data or [r["id"] for r in candidate.records] != [r["id"] for r in current.records]:
        raise CompareError("the reports were made on different evaluation data; evaluate both models on the same files")
    rng = np.random.default_rng(SEED)
    n = len(candidate.records)
    deltas: dict[str, list[float]] = {m: [] for m in GUARDED}
    for _ in tqdm(range(resamples), desc="paired bootstrap", leave=False):
        indices = rng.integers(0, n, n).tolist()
        ours, theirs = headline(subset(candidate, indices)), headline(subset(current, indices))
        for metric in GUARDED:
            deltas[metric].append(ours[metric] - theirs[metric])
    ours, theirs = headline(candidate), headline(current)
    return [
        Row(m, theirs[m], ours[m], float(np.percentile(deltas[m], 2.5)), float(np.percentile(deltas[m], 97.5)))
        for m in GUARDED
    ]


def render_table(rows: list[Row], candidate: str, current: str) -> str:
    lines = [
        f"| metric | current ({current}) | candidate ({candidate}) | delta | 95% CI of delta | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.metric} | {row.current:.3f} | {row.candidate:.3f} | {row.delta:+.3f} | "
            f"[{row.low:+.3f}, {row.high:+.3f}] | {row.verdict} |"
        )
    return "\n".join(lines)


def decision(rows: list[Row]) -> tuple[bool, str]:
    worse = [r.metric for r in rows if r.verdict == "worse"]
    if worse:
        return False, f"REFUSE: worse beyond bootstrap noise on {', '.join(worse)}"
    better = [r.metric for r in rows if r.verdict == "better"]
    gains = f"; better on {', '.join(better)}" if better else "; no metric is better beyond noise either"
    return True, f"ACCEPT: no guarded metric is worse beyond bootstrap noise{gains}"
