"""The inference core: articles in, :class:`~marsad.api.ArticleResult` out.

Serving, batch scoring and evaluation all call :class:`Classifier`; it never imports
training code. A *predictor* (the fine-tuned transformer here, the TF-IDF baseline in
:mod:`marsad.baseline`) turns articles into calibrated probabilities, mentions and evidence;
the classifier applies the stored thresholds, lists every actor (absent ones too) and adds
warnings about the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from marsad.api import (
    MAX_ARTICLE_CHARS,
    ActorIn,
    ArticleIn,
    ArticleResult,
    Evidence,
    ModelInfo,
    Span,
    StanceResult,
    TopicResult,
    has_arabic,
)
from marsad.article import Article
from marsad.artifact import DEFAULT_MODEL, ArtifactError, ArtifactInfo, read_info, resolve_artifact
from marsad.schema import STANCE_IDS, Actor
from marsad.text.mentions import Mention
from marsad.text.normalize import MATCH_PIPELINE_VERSION, MODEL_PIPELINE_VERSION
from marsad.text.sentences import Sentence

EVIDENCE_SENTENCES = 3


class RequestError(ValueError):
    """The request cannot be served as sent (e.g. a custom actor reuses a default id)."""


@dataclass
class ActorPrediction:
    probabilities: np.ndarray  # [3] calibrated, in STANCE_IDS order
    mentions: list[Mention]
    evidence: list[tuple[Sentence, float]] = field(default_factory=list)


@dataclass
class Prediction:
    topic_probabilities: np.ndarray  # [T] calibrated
    actors: dict[str, ActorPrediction]


class Predictor(Protocol):
    info: ArtifactInfo

    def predict(self, articles: Sequence[Article], extra_actors: Sequence[Actor] = ()) -> list[Prediction]: ...


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits / temperature))


def _span(article: Article, start: int, end: int, text: str) -> dict:
    located = article.field_span(start, end)
    return {"start": located.start, "end": located.end, "text": text, "field": located.field}


class Classifier:
    """Loads a model artifact once and classifies articles with it."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.info = predictor.info
        self.schema = predictor.info.labels
        self.thresholds = np.array([predictor.info.topic_thresholds[t] for t in self.schema.topic_ids])

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(tag=self.info.tag, kind=self.info.kind, normalization=self.info.normalization, created=self.info.created)

    def classify(
        self,
        articles: Sequence[ArticleIn],
        extra_actors: Sequence[ActorIn] = (),
        evidence: bool = True,
    ) -> list[ArticleResult]:
        clashes = sorted({a.id for a in extra_actors} & set(self.schema.actor_ids))
        if clashes:
            raise RequestError(
                f"custom actor id(s) {clashes} are default actors, which are always reported; "
                "use a different id or leave them out"
            )
        prepared: list[Article] = []
        warnings: list[list[str]] = []
        for article in articles:
            notes = []
            text = article.text
            if len(text) > MAX_ARTICLE_CHARS:
                notes.append(
                    f"truncated: the text has {len(text)} characters; only the first "
                    f"{MAX_ARTICLE_CHARS} were read"
                )
                text = text[:MAX_ARTICLE_CHARS]
            if not has_arabic(article.title + text):
                notes.append("no Arabic letters: marsad reads Arabic news, so these results are not meaningful")
            prepared.append(Article(article.id, text, article.title))
            warnings.append(notes)
        actors = [a.to_actor() for a in extra_actors]
        predictions = self.predictor.predict(prepared, actors)
        actor_ids = self.schema.actor_ids + [a.id for a in actors]
        return [
            self._result(article, prediction, actor_ids, evidence, notes)
            for article, prediction, notes in zip(prepared, predictions, warnings)
        ]

    def _result(
        self, article: Article, prediction: Prediction, actor_ids: list[str], evidence: bool, warnings: list[str]
    ) -> ArticleResult:
        topics = [
            TopicResult(label=label, probability=round(float(p), 4), predicted=bool(p >= t), threshold=float(t))
            for label, p, t in zip(self.schema.topic_ids, prediction.topic_probabilities, self.thresholds)
        ]
        stances = []
        for actor_id in actor_ids:
            found = prediction.actors.get(actor_id)
            if found is None:
                stances.append(StanceResult(actor=actor_id, mentioned=False))
                continue
            probabilities = {s: round(float(p), 4) for s, p in zip(STANCE_IDS, found.probabilities)}
            stances.append(
                StanceResult(
                    actor=actor_id,
                    mentioned=True,
                    stance=STANCE_IDS[int(np.argmax(found.probabilities))],
                    probabilities=probabilities,
                    mentions=[Span(**_span(article, m.start, m.end, m.text)) for m in found.mentions],
                    evidence=[
                        Evidence(**_span(article, s.start, s.end, s.text), weight=round(float(w), 4))
                        for s, w in found.evidence
                    ]
                    if evidence
                    else [],
                )
            )
        return ArticleResult(id=article.id, topics=topics, stances=stances, warnings=warnings)


def compatible_artifact(model: str) -> tuple[Path, ArtifactInfo]:
    """Resolve a model and check it was made for this code's normalisers (cheap: no weights)."""
    directory, tag = resolve_artifact(model)
    info = read_info(directory, tag)
    if info.normalization != MODEL_PIPELINE_VERSION or info.match_normalization != MATCH_PIPELINE_VERSION:
        raise ArtifactError(
            f"{tag} was trained with normalisation {info.normalization}/{info.match_normalization}, "
            f"this code has {MODEL_PIPELINE_VERSION}/{MATCH_PIPELINE_VERSION}: retrain it"
        )
    return directory, info


def load_classifier(model: str = DEFAULT_MODEL) -> Classifier:
    """Load a model by tag or directory, checking it was made for this normaliser."""
    directory, info = compatible_artifact(model)
    if info.kind == "transformer":
        from marsad.transformer import TransformerPredictor

        return Classifier(TransformerPredictor(directory, info))
    from marsad.baseline import TfidfPredictor

    return Classifier(TfidfPredictor(directory, info))


def evidence_from_units(sentences: Sequence[Sentence], unit_sentences: Sequence[int], weights: Sequence[float],
                        limit: int = EVIDENCE_SENTENCES) -> list[tuple[Sentence, float]]:
    """Sentences ranked by the total weight of the mentions they hold (ties: earlier first)."""
    totals: dict[int, float] = {}
    for sentence, weight in zip(unit_sentences, weights):
        totals[sentence] = totals.get(sentence, 0.0) + float(weight)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(sentences[index], weight) for index, weight in ranked]

