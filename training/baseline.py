"""Training the TF-IDF + logistic regression baseline (see :mod:`marsad.baseline`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, make_pipeline

from marsad.article import Article
from marsad.baseline import EPSILON, MODEL_FILE, actor_context, group_mentions, logit
from marsad.data import stance_dict
from marsad.schema import STANCE_IDS, LabelSchema
from marsad.text.mentions import MentionFinder
from marsad.text.normalize import normalize_for_model
from marsad.text.sentences import split_sentences
from training.calibration import DevOutputs
from training.config import TrainConfig


@dataclass
class FittedBaseline:
    topic_model: object
    stance_model: object
    context_window: int
    dev: DevOutputs

    def write(self, directory: Path) -> None:
        joblib.dump(
            {"topic_model": self.topic_model, "stance_model": self.stance_model, "context_window": self.context_window},
            directory / MODEL_FILE,
        )


def _features(config: TrainConfig) -> FeatureUnion:
    settings = config.tfidf
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=settings.word_ngrams, min_df=settings.min_df,
                                      max_features=settings.max_features, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=settings.char_ngrams, min_df=settings.min_df,
                                      max_features=settings.max_features, sublinear_tf=True)),
        ]
    )


def _stance_rows(rows: Sequence[dict], finder: MentionFinder, window: int) -> tuple[list[str], list[int]]:
    """One (context, gold stance) pair per gold-labelled actor that the finder locates."""
    contexts, labels = [], []
    for row in rows:
        article = Article(row["id"], row["text"], row["title"])
        full_text = article.full_text
        sentences = split_sentences(full_text)
        gold = stance_dict(row)
        for actor, mentions in group_mentions(finder.find(full_text)).items():
            if actor in gold:
                contexts.append(actor_context(full_text, sentences, mentions, window))
                labels.append(STANCE_IDS.index(gold[actor]))
    return contexts, labels


def fit_baseline(config: TrainConfig, schema: LabelSchema, train: Sequence[dict], dev: Sequence[dict]) -> FittedBaseline:
    settings = config.tfidf
    balanced = "balanced" if config.class_weights else None
    finder = MentionFinder(schema.actors)

    def topic_matrix(rows: Sequence[dict]) -> np.ndarray:
        return np.array([[t in r["topics"] for t in schema.topic_ids] for r in rows], dtype=int)

    def texts(rows: Sequence[dict]) -> list[str]:
        return [normalize_for_model(Article(r["id"], r["text"], r["title"]).full_text) for r in rows]

    topic_model = make_pipeline(
        _features(config),
        OneVsRestClassifier(LogisticRegression(C=settings.C, class_weight=balanced, max_iter=2000, random_state=config.seed)),
    )
    topic_model.fit(texts(train), topic_matrix(train))

    stance_model = make_pipeline(
        _features(config),
        LogisticRegression(C=settings.C, class_weight=balanced, max_iter=2000, random_state=config.seed),
    )
    contexts, labels = _stance_rows(train, finder, settings.context_window)
    missing = sorted(set(STANCE_IDS) - {STANCE_IDS[label] for label in labels})
    if missing:
        raise ValueError(f"the training data has no example of stance {missing}: the baseline needs all three")
    stance_model.fit(contexts, labels)

    dev_contexts, dev_labels = _stance_rows(dev, finder, settings.context_window)
    stance_logits = (
        np.log(np.clip(stance_model.predict_proba(dev_contexts), EPSILON, 1.0)) if dev_contexts else np.zeros((0, 3))
    )
    dev_outputs = DevOutputs(
        topic_logits=logit(topic_model.predict_proba(texts(dev))),
        topic_gold=topic_matrix(dev),
        stance_logits=stance_logits,
        stance_gold=np.array(dev_labels, dtype=int),
    )
    return FittedBaseline(topic_model, stance_model, settings.context_window, dev_outputs)
