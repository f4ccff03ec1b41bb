"""The TF-IDF + logistic regression baseline, as a predictor (the number every model must beat).

* Topics: word 1–2-grams and character 2–5-grams of the normalised article, one logistic
  regression per topic.
* Stance: for each actor the mention finder locates, the sentences holding its mentions
  (plus ``context_window`` sentences on each side), with the mention itself replaced by a
  placeholder so that what is learnt is how an actor is talked about, not which actor it is;
  one multinomial logistic regression shared by all actors (custom ones included).
* Evidence: the mention sentences ranked by the stance model's confidence in the predicted
  class when it reads each sentence alone.

Artifact: ``tfidf.joblib`` beside ``marsad.json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np

from marsad.article import Article
from marsad.artifact import ArtifactInfo
from marsad.inference import ActorPrediction, Prediction, sigmoid, softmax
from marsad.schema import Actor
from marsad.text.mentions import Mention, MentionFinder
from marsad.text.normalize import normalize_for_model
from marsad.text.sentences import Sentence, split_sentences

MODEL_FILE = "tfidf.joblib"
TARGET = " TARGETACTOR "
EPSILON = 1e-6


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def mention_sentences(sentences: Sequence[Sentence], mentions: Sequence[Mention]) -> list[int]:
    """Indices of the sentences holding the mentions, in text order, without repeats."""
    indices = []
    for mention in mentions:
        index = next((i for i, s in enumerate(sentences) if s.start <= mention.start < s.end), None)
        if index is not None and index not in indices:
            indices.append(index)
    return indices


def sentence_with_target(full_text: str, sentence: Sentence, mentions: Sequence[Mention]) -> str:
    """The sentence's text with each of the actor's mentions replaced by the placeholder."""
    pieces, cursor = [], sentence.start
    for mention in sorted(mentions, key=lambda m: m.start):
        if sentence.start <= mention.start and mention.end <= sentence.end and mention.start >= cursor:
            pieces.append(full_text[cursor : mention.start])
            pieces.append(TARGET)
            cursor = mention.end
    pieces.append(full_text[cursor : sentence.end])
    return normalize_for_model("".join(pieces))


def actor_context(full_text: str, sentences: Sequence[Sentence], mentions: Sequence[Mention], window: int) -> str:
    """What the stance model reads for one actor: its mention sentences and their neighbours."""
    chosen: set[int] = set()
    for index in mention_sentences(sentences, mentions):
        chosen.update(range(max(0, index - window), min(len(sentences), index + window + 1)))
    return " \n ".join(sentence_with_target(full_text, sentences[i], mentions) for i in sorted(chosen))


def group_mentions(mentions: Sequence[Mention]) -> dict[str, list[Mention]]:
    grouped: dict[str, list[Mention]] = defaultdict(list)
    for mention in mentions:
        grouped[mention.actor].append(mention)
    return dict(grouped)


class TfidfPredictor:
    def __init__(self, directory: Path, info: ArtifactInfo):
        self.info = info
        bundle = joblib.load(directory / MODEL_FILE)
        self.topic_model = bundle["topic_model"]
        self.stance_model = bundle["stance_model"]
        self.window = int(bundle["context_window"])
        self.finder = MentionFinder(info.labels.actors)

    def predict(self, articles: Sequence[Article], extra_actors: Sequence[Actor] = ()) -> list[Prediction]:
        if not articles:
            return []
        texts = [normalize_for_model(a.full_text) for a in articles]
        topics = sigmoid(logit(self.topic_model.predict_proba(texts)), self.info.topic_temperature)
        predictions = []
        for article, topic_probabilities in zip(articles, topics):
            full_text = article.full_text
            sentences = split_sentences(full_text)
            grouped = group_mentions(self.finder.find(full_text, extra_actors))
            actors: dict[str, ActorPrediction] = {}
            if grouped:
                contexts = [actor_context(full_text, sentences, m, self.window) for m in grouped.values()]
                stance_logits = np.log(np.clip(self.stance_model.predict_proba(contexts), EPSILON, 1.0))
                for (actor, mentions), row in zip(grouped.items(), softmax(stance_logits, self.info.stance_temperature)):
                    actors[actor] = ActorPrediction(row, mentions, self._evidence(full_text, sentences, mentions, int(row.argmax())))
            predictions.append(Prediction(topic_probabilities, actors))
        return predictions

    def _evidence(self, full_text: str, sentences: Sequence[Sentence], mentions: Sequence[Mention], stance: int):
        indices = mention_sentences(sentences, mentions)
        if not indices:
            return []
        texts = [sentence_with_target(full_text, sentences[i], mentions) for i in indices]
        confidence = self.stance_model.predict_proba(texts)[:, stance]
        weights = confidence / confidence.sum()
        ranked = sorted(zip(indices, weights), key=lambda item: (-item[1], item[0]))[:3]
        return [(sentences[i], float(w)) for i, w in ranked]
