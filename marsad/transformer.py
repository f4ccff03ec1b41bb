"""The fine-tuned transformer as a predictor: artifact files, loading, batched prediction.

Artifact layout (beside ``marsad.json``)::

    encoder/config.json   the encoder architecture (weights are in model.safetensors)
    tokenizer/            the tokenizer, saved with save_pretrained
    model.safetensors     the whole MarsadNet state dict (encoder and heads)

Prediction batches *chunks*, not articles: articles are sorted by length and grouped under a
chunk budget, and the chunks of a group go through the encoder in passes of similar length
(:func:`marsad.model.length_groups`), so no chunk is padded far beyond its own length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from marsad.article import Article
from marsad.artifact import ArtifactInfo
from marsad.features import ArticleFeatures, ChunkingSettings, Featurizer, collate
from marsad.inference import ActorPrediction, Prediction, evidence_from_units, sigmoid, softmax
from marsad.model import MarsadNet, consecutive_groups
from marsad.schema import Actor
from marsad.text.mentions import MentionFinder

ENCODER_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"
WEIGHTS = "model.safetensors"
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
GROUP_CHUNKS = 16
"""Chunks per group of articles whose heads run together."""


def encoder_from_config(config) -> torch.nn.Module:
    """An encoder of the given architecture, without the unused pooler where it has one."""
    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(config)


def encoder_from_pretrained(source: str, **config_overrides) -> torch.nn.Module:
    try:
        return AutoModel.from_pretrained(source, add_pooling_layer=False, **config_overrides)
    except TypeError:
        return AutoModel.from_pretrained(source, **config_overrides)


def save_transformer(directory: Path, net: MarsadNet, tokenizer: PreTrainedTokenizerBase) -> None:
    net.encoder.config.save_pretrained(directory / ENCODER_DIR)
    tokenizer.save_pretrained(directory / TOKENIZER_DIR)
    state = {name: tensor.detach().contiguous() for name, tensor in net.state_dict().items()}
    save_file(state, str(directory / WEIGHTS))


def load_weights(net: torch.nn.Module, path: Path) -> None:
    """Read saved weights straight into a built net, as strictly as ``load_state_dict``.

    The safetensors file is read with plain ``readinto`` into each parameter's own memory:
    ``load_file`` (or ``safe_open``) maps the whole file and copies out of it, which holds a
    second copy of the model while loading, about 0.45 GB more peak memory in the service."""
    targets = net.state_dict()
    with open(path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_size))
        header.pop("__metadata__", None)
        if set(header) != set(targets):
            raise ValueError(
                f"{path}: weights do not fit this model: missing {sorted(set(targets) - set(header))}, "
                f"unexpected {sorted(set(header) - set(targets))}"
            )
        for name, entry in header.items():
            target = targets[name]
            if entry["dtype"] != SAFETENSORS_DTYPES.get(target.dtype) or entry["shape"] != list(target.shape):
                raise ValueError(f"{path}: {name} is {entry['dtype']}{entry['shape']}, "
                                 f"the model expects {target.dtype}{list(target.shape)}")
            start, end = entry["data_offsets"]
            handle.seek(8 + header_size + start)
            buffer = target.view(-1).view(torch.uint8).numpy()  # the parameter's own memory
            if handle.readinto(buffer) != end - start:
                raise ValueError(f"{path}: {name} is truncated")


def chunk_groups(features: Sequence[ArticleFeatures], max_chunks: int = GROUP_CHUNKS) -> list[list[int]]:
    """Article indices grouped so a group holds at most ``max_chunks`` chunks (a longer
    article is a group of its own); articles are taken shortest first, so similar lengths
    share padding."""

    def fits(group: list[int], index: int) -> bool:
        return sum(len(features[i].chunks) for i in group) + len(features[index].chunks) <= max_chunks

    return consecutive_groups(sorted(range(len(features)), key=lambda i: (features[i].token_count, i)), fits)


class TransformerPredictor:
    def __init__(self, directory: Path, info: ArtifactInfo):
        self.info = info
        self.tokenizer = AutoTokenizer.from_pretrained(directory / TOKENIZER_DIR)
        config = AutoConfig.from_pretrained(directory / ENCODER_DIR)
        self.net = MarsadNet(encoder_from_config(config), n_topics=len(info.labels.topics))
        load_weights(self.net, directory / WEIGHTS)
        self.net.eval()
        self.featurizer = Featurizer(self.tokenizer, MentionFinder(info.labels.actors), ChunkingSettings(**info.chunking))

    @torch.inference_mode()
    def predict(self, articles: Sequence[Article], extra_actors: Sequence[Actor] = ()) -> list[Prediction]:
        features = [self.featurizer(article, extra_actors) for article in articles]
        predictions: list[Prediction | None] = [None] * len(features)
        for group in chunk_groups(features):
            batch = collate([features[i] for i in group], self.tokenizer.pad_token_id)
            states = self.net.encode_in_groups(self.net.encode, batch.input_ids, batch.attention_mask)
            output = self.net.heads(states, batch)
            topics = sigmoid(output.topic_logits.numpy(), self.info.topic_temperature)
            stances = softmax(output.stance_logits.numpy(), self.info.stance_temperature)
            weights = output.unit_weights.numpy()
            for position, index in enumerate(group):
                predictions[index] = Prediction(topics[position], {})
            unit_cursor = 0
            for position, index in enumerate(group):
                feature = features[index]
                unit_weights = weights[unit_cursor : unit_cursor + len(feature.units)]
                unit_cursor += len(feature.units)
                for group_row, (article_position, actor) in enumerate(batch.groups):
                    if article_position != position:
                        continue
                    members = [k for k, unit in enumerate(feature.units) if unit.actor == actor]
                    predictions[index].actors[actor] = ActorPrediction(
                        probabilities=stances[group_row],
                        mentions=[m for m in feature.mentions if m.actor == actor],
                        evidence=evidence_from_units(
                            feature.sentences,
                            [feature.units[k].sentence for k in members],
                            [unit_weights[k] for k in members],
                        ),
                    )
        return predictions  # type: ignore[return-value]  (every index was filled above)

