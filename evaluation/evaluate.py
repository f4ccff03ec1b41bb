"""`marsad evaluate`: score annotated articles with a model and measure everything that matters.

Stance is measured over the actors the gold labels say are mentioned. When the mention finder
misses one, the model's answer for it is "absent", which counts as wrong: an analyst never
sees a stance for it. Topic decisions are measured at the stored (tuned) thresholds and at 0.5.
Headline numbers get 95% bootstrap intervals (articles resampled with a fixed seed).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from evaluation.metrics import average_precision, calibration_error, stance_scores, topic_scores
from marsad.api import ArticleIn, ArticleResult
from marsad.artifact import code_version
from marsad.data import RecordValidator, data_fingerprint, file_sha256, iter_raw_rows, stance_dict
from marsad.inference import Classifier, sigmoid, softmax
from marsad.schema import STANCE_IDS

ABSENT = "absent"
STANCE_WITH_ABSENT = [*STANCE_IDS, ABSENT]
HEADLINE = ("topic_micro_f1", "topic_macro_f1", "stance_macro_f1", "stance_f_avg")
"""The numbers a retrained model is judged on (the compare gate guards these)."""
SCORE_BATCH = 16


@dataclass
class Scored:
    """Gold labels and the model's results for one evaluation set, aligned by article."""

    records: list[dict]
    results: list[ArticleResult]
    topic_ids: list[str]
    thresholds: np.ndarray
    topic_temperature: float
    stance_temperature: float

    @property
    def topic_probabilities(self) -> np.ndarray:
        return np.array([[t.probability for t in r.topics] for r in self.results])

    @property
    def topic_gold(self) -> np.ndarray:
        return np.array([[t in rec["topics"] for t in self.topic_ids] for rec in self.records], dtype=bool)

    def stance_pairs(self) -> list[dict[str, Any]]:
        """One row per gold (article, actor): gold stance, prediction (or absent), probabilities."""
        pairs = []
        for index, (record, result) in enumerate(zip(self.records, self.results)):
            predicted = {s.actor: s for s in result.stances if s.mentioned}
            for actor, gold in stance_dict(record).items():
                found = predicted.get(actor)
                pairs.append(
                    {
                        "article": index,
                        "actor": actor,
                        "gold": gold,
                        "predicted": found.stance if found else ABSENT,
                        "probabilities": found.probabilities if found else None,
                    }
                )
        return pairs


def load_evaluation_records(paths: Sequence[Path], classifier: Classifier) -> tuple[list[dict], list[str], dict[str, str]]:
    """Annotated records for evaluation. Unlike training, a gold actor the finder cannot see
    is kept (it is what mention recall measures); malformed records are skipped and listed."""
    validator = RecordValidator(classifier.schema, check_mentions=False)
    records, skipped, files = [], [], {}
    for path in paths:
        files[str(path)] = file_sha256(path)
        for line, raw in iter_raw_rows(Path(path)):
            record, problems, _ = validator.check(str(path), line, raw)
            if record is None:
                skipped.extend(str(p) for p in problems)
            else:
                records.append(record)
    return records, skipped, files


def score(classifier: Classifier, records: Sequence[dict]) -> Scored:
    results: list[ArticleResult] = []
    articles = [ArticleIn(id=r["id"], title=r.get("title") or "", text=r["text"]) for r in records]
    for start in tqdm(range(0, len(articles), SCORE_BATCH), desc="scoring", unit="batch", leave=False):
        results.extend(classifier.classify(articles[start : start + SCORE_BATCH]))
    return Scored(
        list(records), results, classifier.schema.topic_ids, classifier.thresholds,
        classifier.info.topic_temperature, classifier.info.stance_temperature,
    )


# -- metric groups ---------------------------------------------------------------------------

def topic_metrics(scored: Scored) -> dict[str, Any]:
    probabilities, gold = scored.topic_probabilities, scored.topic_gold
    at_tuned = topic_scores(probabilities >= scored.thresholds, gold, scored.topic_ids)
    at_half = topic_scores(probabilities >= 0.5, gold, scored.topic_ids)
    pr_auc = {t: average_precision(probabilities[:, k], gold[:, k]) for k, t in enumerate(scored.topic_ids)}
    known = [v for v in pr_auc.values() if v is not None]
    decided = probabilities >= scored.thresholds
    return {
        "at_stored_thresholds": at_tuned,
        "at_0.5": at_half,
        "thresholds": dict(zip(scored.topic_ids, map(float, scored.thresholds))),
        "pr_auc": pr_auc,
        "macro_pr_auc": float(np.mean(known)) if known else None,
        "exact_match": float(np.mean((decided == gold).all(axis=1))) if len(gold) else 0.0,
    }


def _stance_overall(pairs: Sequence[dict]) -> tuple[list[int], list[int], dict[str, dict], float, float]:
    """Indices, per-class scores, macro-F1 and F_avg over the three real classes (absent = wrong)."""
    gold = [STANCE_IDS.index(p["gold"]) for p in pairs]
    predicted = [STANCE_WITH_ABSENT.index(p["predicted"]) for p in pairs]
    overall = stance_scores(predicted, gold, STANCE_WITH_ABSENT)
    per_class = {s: overall["per_label"][s] for s in STANCE_IDS} if pairs else {
        s: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for s in STANCE_IDS}
    macro = float(np.mean([v["f1"] for v in per_class.values()]))
    f_avg = (per_class["favor"]["f1"] + per_class["against"]["f1"]) / 2
    return gold, predicted, per_class, macro, f_avg


def stance_metrics(scored: Scored) -> dict[str, Any]:
    pairs = scored.stance_pairs()
    gold, predicted, per_class, macro, f_avg = _stance_overall(pairs)
    per_actor = {}
    for actor in sorted({p["actor"] for p in pairs}):
        rows = [i for i, p in enumerate(pairs) if p["actor"] == actor]
        actor_scores = stance_scores([predicted[i] for i in rows], [gold[i] for i in rows], STANCE_WITH_ABSENT)
        present = [s for s in STANCE_IDS if actor_scores["per_label"][s]["support"] > 0]
        per_actor[actor] = {
            "macro_f1": float(np.mean([actor_scores["per_label"][s]["f1"] for s in present])) if present else 0.0,
            "accuracy": float(np.mean([predicted[i] == gold[i] for i in rows])),
            "support": len(rows),
        }
    confusion = np.zeros((len(STANCE_IDS), len(STANCE_WITH_ABSENT)), dtype=int)
    for g, p in zip(gold, predicted):
        confusion[g, p] += 1
    found = [i for i, p in enumerate(pairs) if p["predicted"] != ABSENT]
    conditional = stance_scores([predicted[i] for i in found], [gold[i] for i in found], STANCE_IDS)
    return {
        "macro_f1": macro,
        "f_avg": f_avg,
        "accuracy": float(np.mean([p == g for p, g in zip(predicted, gold)])) if gold else 0.0,
        "per_class": per_class,
        "per_actor": per_actor,
        "confusion": {"rows_gold": list(STANCE_IDS), "columns_predicted": STANCE_WITH_ABSENT, "matrix": confusion.tolist()},
        "support": len(pairs),
        "macro_f1_when_found": conditional["macro_f1"],
    }


def mention_metrics(scored: Scored) -> dict[str, Any]:
    counts: dict[str, Counter] = {}
    for record, result in zip(scored.records, scored.results):
        gold = set(stance_dict(record))
        found = {s.actor for s in result.stances if s.mentioned}
        for actor in gold | found:
            tally = counts.setdefault(actor, Counter())
            tally["tp"] += actor in gold and actor in found
            tally["fp"] += actor in found and actor not in gold
            tally["fn"] += actor in gold and actor not in found

    def prf(c: Counter) -> dict[str, float]:
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": c["tp"] + c["fn"]}

    total = sum(counts.values(), Counter())
    return {"overall": prf(total), "per_actor": {a: prf(c) for a, c in sorted(counts.items())}}


def calibration_metrics(scored: Scored) -> dict[str, Any]:
    """ECE before and after the stored temperatures (raw probabilities are recovered exactly:
    p = sigmoid(z / T) ⇒ sigmoid(z) = sigmoid(T · logit(p)))."""
    calibrated = np.clip(scored.topic_probabilities, 1e-6, 1 - 1e-6)
    raw = sigmoid(np.log(calibrated / (1 - calibrated)), 1.0 / scored.topic_temperature)
    gold = scored.topic_gold.astype(int)
    found = [p for p in scored.stance_pairs() if p["probabilities"]]
    stance_after = np.array([[p["probabilities"][s] for s in STANCE_IDS] for p in found]).reshape(-1, 3)
    stance_before = softmax(np.log(np.clip(stance_after, 1e-6, 1.0)), 1.0 / scored.stance_temperature) if found else stance_after
    correct = np.array([STANCE_IDS.index(p["gold"]) for p in found], dtype=int)

    def stance_ece(probabilities: np.ndarray) -> dict:
        return calibration_error(probabilities.max(axis=1), (probabilities.argmax(axis=1) == correct).astype(int)) \
            if len(correct) else {"ece": None, "bins": []}

    return {
        "topics": {
            "temperature": scored.topic_temperature,
            "before": calibration_error(raw.ravel(), gold.ravel()),
            "after": calibration_error(calibrated.ravel(), gold.ravel()),
        },
        "stance": {
            "temperature": scored.stance_temperature,
            "before": stance_ece(stance_before),
            "after": stance_ece(stance_after),
        },
    }


def headline(scored: Scored) -> dict[str, float]:
    topics = topic_scores(scored.topic_probabilities >= scored.thresholds, scored.topic_gold, scored.topic_ids)
    _, _, _, macro, f_avg = _stance_overall(scored.stance_pairs())
    return {
        "topic_micro_f1": topics["micro_f1"],
        "topic_macro_f1": topics["macro_f1"],
        "stance_macro_f1": macro,
        "stance_f_avg": f_avg,
    }


def subset(scored: Scored, indices: Sequence[int]) -> Scored:
    return Scored(
        [scored.records[i] for i in indices], [scored.results[i] for i in indices], scored.topic_ids,
        scored.thresholds, scored.topic_temperature, scored.stance_temperature,
    )


def bootstrap(scored: Scored, n_resamples: int, seed: int = 20261123) -> dict[str, dict[str, float]]:
    """95% percentile intervals of the headline metrics, resampling articles."""
    rng = np.random.default_rng(seed)
    n = len(scored.records)
    samples: dict[str, list[float]] = {name: [] for name in HEADLINE}
    for _ in tqdm(range(n_resamples), desc="bootstrap", leave=False):
        values = headline(subset(scored, rng.integers(0, n, n).tolist()))
        for name in HEADLINE:
            samples[name].append(values[name])
    return {
        name: {"low": float(np.percentile(v, 2.5)), "high": float(np.percentile(v, 97.5))}
        for name, v in samples.items()
    }


def evaluate_scored(scored: Scored, n_resamples: int) -> dict[str, Any]:
    point = headline(scored)
    intervals = bootstrap(scored, n_resamples)
    return {
        "headline": {name: {"value": point[name], **intervals[name]} for name in HEADLINE},
        "topics": topic_metrics(scored),
        "stance": stance_metrics(scored),
        "mentions": mention_metrics(scored),
        "calibration": calibration_metrics(scored),
        "articles": len(scored.records),
    }


def provenance(classifier: Classifier, files: dict[str, str], skipped: list[str], n_resamples: int) -> dict[str, Any]:
    info = classifier.info
    return {
        "model": {"tag": info.tag, "kind": info.kind, "created": info.created, "code_version": info.code_version,
                  "data_fingerprint": info.data.get("fingerprint"), "config": info.config},
        "data": {"files": files, "fingerprint": data_fingerprint(files), "skipped_records": skipped},
        "code_version": code_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bootstrap_resamples": n_resamples,
    }
