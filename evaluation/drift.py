"""`marsad drift`: has the news changed enough since the reference to warrant retraining?

Both inputs are outputs of `marsad score` (JSONL or Parquet). No labels are needed: the model's
own outputs and the texts' lengths are compared feature by feature with the population
stability index, PSI = Σ (cur − ref) · ln(cur / ref) over bins. The usual reading: below 0.1
stable, 0.1–0.25 a moderate shift worth watching, above 0.25 a major shift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODERATE, MAJOR = 0.1, 0.25
EPSILON = 1e-4
PROBABILITY_BINS = np.linspace(0.0, 1.0, 11)


@dataclass
class Feature:
    name: str
    psi: float
    reference: str
    current: str

    @property
    def level(self) -> str:
        return "major" if self.psi > MAJOR else "moderate" if self.psi > MODERATE else "stable"


def read_scored(path: Path) -> list[dict]:
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path, columns=["result", "text_chars"])
        return [{**json.loads(r), "text_chars": int(n)} for r, n in zip(frame["result"], frame["text_chars"])]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two histograms (counts); empty bins are smoothed with a small epsilon."""
    ref = reference / max(reference.sum(), 1) + EPSILON
    cur = current / max(current.sum(), 1) + EPSILON
    ref, cur = ref / ref.sum(), cur / cur.sum()
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _binary(name: str, ref: np.ndarray, cur: np.ndarray) -> Feature:
    counts = lambda x: np.array([np.sum(~x), np.sum(x)], dtype=float)  # noqa: E731
    return Feature(name, psi(counts(ref), counts(cur)), f"{ref.mean():.1%}", f"{cur.mean():.1%}")


def _histogram(name: str, ref: np.ndarray, cur: np.ndarray, edges: np.ndarray) -> Feature:
    return Feature(
        name,
        psi(np.histogram(ref, edges)[0].astype(float), np.histogram(cur, edges)[0].astype(float)),
        f"median {np.median(ref):.2f}" if len(ref) else "–",
        f"median {np.median(cur):.2f}" if len(cur) else "–",
    )


def drift_features(reference: list[dict], current: list[dict]) -> list[Feature]:
    if not reference or not current:
        raise ValueError("both files need at least one scored article")
    topics = [t["label"] for t in reference[0]["topics"]]
    actors = sorted({s["actor"] for row in reference + current for s in row["stances"]})
    features = []
    for index, topic in enumerate(topics):
        ref = np.array([r["topics"][index]["probability"] for r in reference])
        cur = np.array([r["topics"][index]["probability"] for r in current])
        features.append(_binary(f"topic rate: {topic}", np.array([r["topics"][index]["predicted"] for r in reference]),
                                np.array([r["topics"][index]["predicted"] for r in current])))
        features.append(_histogram(f"topic probability: {topic}", ref, cur, PROBABILITY_BINS))

    def confidence(rows: list[dict]) -> np.ndarray:
        return np.array([max(s["probabilities"].values()) for r in rows for s in r["stances"] if s["mentioned"]])

    features.append(_histogram("stance confidence", confidence(reference), confidence(current), PROBABILITY_BINS))
    def mentioned(rows: list[dict], actor: str) -> np.ndarray:
        return np.array([any(s["actor"] == actor and s["mentioned"] for s in r["stances"]) for r in rows])

    for actor in actors:
        features.append(_binary(f"mention rate: {actor}", mentioned(reference, actor), mentioned(current, actor)))
    ref_length = np.array([r.get("text_chars", 0) for r in reference], dtype=float)
    cur_length = np.array([r.get("text_chars", 0) for r in current], dtype=float)
    edges = np.unique(np.quantile(ref_length, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    features.append(_histogram("text length (characters)", ref_length, cur_length, edges))
    return features


def verdict(features: list[Feature]) -> tuple[str, bool]:
    """A plain-language reading, and whether retraining is recommended."""
    major = [f.name for f in features if f.level == "major"]
    moderate = [f.name for f in features if f.level == "moderate"]
    if major:
        return (f"Major drift in {', '.join(major)}. The articles no longer look like the reference: check a "
                "sample by hand, annotate recent articles and retrain (then `marsad compare` the result)."), True
    if moderate:
        return (f"Moderate drift in {', '.join(moderate)}. Keep the current model but watch these features; "
                "annotate a sample of recent articles if the shift persists."), False
    return "No meaningful drift: the current articles look like the reference.", False


def render(features: list[Feature]) -> str:
    lines = ["| feature | reference | current | PSI | level |", "|---|---|---|---|---|"]
    for feature in sorted(features, key=lambda f: -f.psi):
        lines.append(f"| {feature.name} | {feature.reference} | {feature.current} | {feature.psi:.3f} | {feature.level} |")
    return "\n".join(lines)
