"""Fine-tuning the multi-task transformer.

Speed on a 2-core CPU is the constraint that shapes this loop. Only the top
``trainable_layers`` encoder layers are trained; the frozen lower layers (and embeddings) run
once per chunk before the first epoch and their output is cached in float16, so every epoch
costs only the top layers forward and backward. (Frozen layers see no dropout, which is what
freezing means anyway.) Model selection keeps the epoch with the best dev score, the mean of
topic macro-F1 and stance macro-F1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import BertConfig

from evaluation.metrics import stance_scores, topic_scores
from marsad.article import Article
from marsad.data import stance_dict
from marsad.encoder import load_tokenizer, resolve_encoder
from marsad.features import ArticleFeatures, Batch, ChunkingSettings, Featurizer, collate
from marsad.model import MarsadNet
from marsad.schema import STANCE_IDS, LabelSchema
from marsad.text.mentions import MentionFinder
from marsad.transformer import encoder_from_config, encoder_from_pretrained
from training.calibration import DevOutputs
from training.config import TrainConfig

IGNORE = -100


@dataclass
class Example:
    features: ArticleFeatures
    topics: np.ndarray  # [T] 0/1
    stances: dict[str, int]  # gold stance index per mentioned actor


@dataclass
class FitResult:
    net: MarsadNet
    tokenizer: object
    settings: ChunkingSettings
    dev: DevOutputs
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def build_net(config: TrainConfig, schema: LabelSchema):
    """The network and tokenizer a config asks for (pretrained encoder or tiny random one).

    Attention dropout is switched off: with it, PyTorch's CPU attention falls back from the
    fused kernel to one that materialises every attention matrix, which made training steps
    three times slower. Dropout on hidden states (``dropout``) still regularises.
    """
    dropouts = {"hidden_dropout_prob": config.dropout, "attention_probs_dropout_prob": 0.0}
    if config.tiny_encoder is not None:
        tiny = config.tiny_encoder
        tokenizer = load_tokenizer(tiny.tokenizer)
        encoder_config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=tiny.hidden_size,
            num_hidden_layers=tiny.num_hidden_layers,
            num_attention_heads=tiny.num_attention_heads,
            intermediate_size=tiny.intermediate_size,
            max_position_embeddings=config.max_length,
            pad_token_id=tokenizer.pad_token_id,
            **dropouts,
        )
        encoder = encoder_from_config(encoder_config)
    else:
        source = resolve_encoder(config.encoder)
        tokenizer = load_tokenizer(config.encoder)
        encoder = encoder_from_pretrained(source, **dropouts)
    return MarsadNet(encoder, n_topics=len(schema.topics), dropout=config.dropout), tokenizer


def make_examples(rows: Sequence[dict], featurizer: Featurizer, schema: LabelSchema) -> list[Example]:
    examples = []
    stance_index = {s: i for i, s in enumerate(STANCE_IDS)}
    for row in tqdm(rows, desc="tokenising", unit="article", leave=False):
        features = featurizer(Article(row["id"], row["text"], row["title"]))
        topics = np.array([t in row["topics"] for t in schema.topic_ids], dtype=np.float32)
        stances = {actor: stance_index[s] for actor, s in stance_dict(row).items()}
        examples.append(Example(features, topics, stances))
    return examples


class BottomCache:
    """Output of the frozen lower layers for every chunk, computed once (float16)."""

    def __init__(self, net: MarsadNet, examples: Sequence[Example], n_layers: int, batch_size: int = 16):
        self.states: list[list[torch.Tensor]] = [[None] * len(e.features.chunks) for e in examples]  # type: ignore[list-item]
        chunks = [(i, j, c) for i, e in enumerate(examples) for j, c in enumerate(e.features.chunks)]
        chunks.sort(key=lambda item: len(item[2].input_ids))
        net.eval()
        with torch.inference_mode():
            for start in tqdm(range(0, len(chunks), batch_size), desc=f"frozen layers 0-{n_layers - 1}", leave=False):
                part = chunks[start : start + batch_size]
                width = max(len(c.input_ids) for _, _, c in part)
                ids = torch.full((len(part), width), 0, dtype=torch.long)
                mask = torch.zeros((len(part), width), dtype=torch.long)
                for row, (_, _, chunk) in enumerate(part):
                    ids[row, : len(chunk.input_ids)] = torch.tensor(chunk.input_ids)
                    mask[row, : len(chunk.input_ids)] = 1
                hidden = net.encode_bottom(ids, mask, n_layers)
                for row, (i, j, chunk) in enumerate(part):
                    self.states[i][j] = hidden[row, : len(chunk.input_ids)].to(torch.float16).clone()

    def assemble(self, indices: Sequence[int], batch: Batch) -> torch.Tensor:
        hidden = torch.zeros((*batch.input_ids.shape, self.states[indices[0]][0].shape[-1]))
        for position, index in enumerate(indices):
            for row, state in zip(batch.chunk_rows[position], self.states[index]):
                hidden[row, : state.shape[0]] = state.float()
        return hidden


class TransformerTrainer:
    def __init__(self, config: TrainConfig, schema: LabelSchema):
        self.config = config
        self.schema = schema
        seed_everything(config.seed)
        self.net, self.tokenizer = build_net(config, schema)
        self.settings = ChunkingSettings(config.max_length, config.stride, config.text_prefix)
        self.featurizer = Featurizer(self.tokenizer, MentionFinder(schema.actors), self.settings)
        total = self.net.n_layers
        trainable = total if config.trainable_layers in (-1,) else min(config.trainable_layers, total)
        self.split = total - trainable  # layers below this index are frozen and cached
        self._freeze()

    def _freeze(self) -> None:
        encoder = self.net.encoder
        encoder.embeddings.requires_grad_(self.split == 0)
        encoder.embeddings.word_embeddings.requires_grad_(False)  # 96M rows of vocabulary: too costly
        for index, layer in enumerate(self.net._layers()):
            layer.requires_grad_(index >= self.split)

    def _optimizer(self, steps: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        encoder_params = [p for p in self.net.encoder.parameters() if p.requires_grad]
        head_params = [p for n, p in self.net.named_parameters() if not n.startswith("encoder.")]
        optimizer = torch.optim.AdamW(
            [{"params": encoder_params, "lr": self.config.encoder_lr}, {"params": head_params, "lr": self.config.head_lr}],
            weight_decay=self.config.weight_decay,
        )
        warmup = max(1, int(steps * self.config.warmup_ratio))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (steps - step) / max(1, steps - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _loss_weights(self, examples: Sequence[Example]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if not self.config.class_weights:
            return None, None
        topics = np.stack([e.topics for e in examples])
        positives = topics.sum(axis=0).clip(min=1)
        pos_weight = np.sqrt((len(examples) - positives).clip(min=1) / positives)
        counts = np.bincount([s for e in examples for s in e.stances.values()], minlength=len(STANCE_IDS)).clip(min=1)
        stance_weight = np.sqrt(counts.sum() / (len(STANCE_IDS) * counts))
        return torch.tensor(pos_weight, dtype=torch.float32), torch.tensor(stance_weight, dtype=torch.float32)

    def _batches(self, n: int, epoch: int) -> list[list[int]]:
        """Deterministic bucketed shuffle: similar lengths share a batch, batch order is random."""
        rng = np.random.default_rng(self.config.seed + epoch)
        order = rng.permutation(n).tolist()
        size = self.config.batch_size
        batches = []
        for start in range(0, n, size * 8):
            bucket = sorted(order[start : start + size * 8], key=lambda i: self._lengths[i])
            batches.extend(bucket[i : i + size] for i in range(0, len(bucket), size))
        return [batches[i] for i in rng.permutation(len(batches))]

    def _forward(self, examples: Sequence[Example], indices: Sequence[int], cache: BottomCache | None):
        batch = collate([examples[i].features for i in indices], self.tokenizer.pad_token_id)
        if cache is not None:
            states = self.net.encode_in_groups(
                lambda hidden, mask: self.net.encode_top(hidden, mask, self.split),
                cache.assemble(indices, batch), batch.attention_mask,
            )
        else:
            states = self.net.encode_in_groups(self.net.encode, batch.input_ids, batch.attention_mask)
        output = self.net.heads(states, batch)
        gold = torch.tensor(
            [examples[indices[a]].stances.get(actor, IGNORE) for a, actor in batch.groups], dtype=torch.long
        )
        return output, gold

    def _evaluate(self, examples: Sequence[Example], cache: BottomCache | None) -> DevOutputs:
        self.net.eval()
        topic_logits, stance_logits, stance_gold = [], [], []
        with torch.inference_mode():
            for start in range(0, len(examples), self.config.batch_size):
                indices = list(range(start, min(start + self.config.batch_size, len(examples))))
                output, gold = self._forward(examples, indices, cache)
                topic_logits.append(output.topic_logits.numpy())
                keep = gold != IGNORE
                stance_logits.append(output.stance_logits[keep].numpy())
                stance_gold.append(gold[keep].numpy())
        return DevOutputs(
            np.concatenate(topic_logits),
            np.stack([e.topics for e in examples]),
            np.concatenate(stance_logits) if stance_logits else np.zeros((0, 3)),
            np.concatenate(stance_gold) if stance_gold else np.zeros((0,), dtype=int),
        )

    def _score(self, dev: DevOutputs) -> dict[str, float]:
        topics = topic_scores(dev.topic_logits > 0, dev.topic_gold.astype(bool), self.schema.topic_ids)
        stances = stance_scores(dev.stance_logits.argmax(axis=1), dev.stance_gold, STANCE_IDS)
        return {
            "topic_macro_f1": topics["macro_f1"],
            "topic_micro_f1": topics["micro_f1"],
            "stance_macro_f1": stances["macro_f1"],
            "selection_score": (topics["macro_f1"] + stances["macro_f1"]) / 2,
        }

    def fit(self, train_rows: Sequence[dict], dev_rows: Sequence[dict]) -> FitResult:
        started = time.monotonic()
        train = make_examples(train_rows, self.featurizer, self.schema)
        dev = make_examples(dev_rows, self.featurizer, self.schema)
        self._lengths = [e.features.token_count for e in train]
        train_cache = dev_cache = None
        if self.split > 0:
            train_cache = BottomCache(self.net, train, self.split)
            dev_cache = BottomCache(self.net, dev, self.split)
        topic_weight, stance_weight = self._loss_weights(train)
        topic_loss = nn.BCEWithLogitsLoss(pos_weight=topic_weight)
        stance_loss = nn.CrossEntropyLoss(weight=stance_weight, ignore_index=IGNORE)
        steps_per_epoch = math.ceil(len(train) / self.config.batch_size)
        optimizer, scheduler = self._optimizer(steps_per_epoch * self.config.epochs)

        best_score, best_state, history, stopped = -1.0, None, [], False
        for epoch in range(self.config.epochs):
            if self.config.max_minutes and (time.monotonic() - started) / 60 > self.config.max_minutes:
                stopped = True
                break
            self.net.train()
            self.net.encoder.embeddings.eval()  # frozen: no dropout
            for index, layer in enumerate(self.net._layers()):
                layer.train(index >= self.split)
            progress = tqdm(self._batches(len(train), epoch), desc=f"epoch {epoch + 1}/{self.config.epochs}", unit="batch")
            running = 0.0
            for step, indices in enumerate(progress, start=1):
                output, gold = self._forward(train, indices, train_cache)
                targets = torch.tensor(np.stack([train[i].topics for i in indices]))
                loss = topic_loss(output.topic_logits, targets)
                if (gold != IGNORE).any():
                    loss = loss + stance_loss(output.stance_logits, gold)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_([p for p in self.net.parameters() if p.requires_grad], 1.0)
                optimizer.step()
                scheduler.step()
                running += loss.item()
                progress.set_postfix(loss=f"{running / step:.3f}")
            scores = self._score(self._evaluate(dev, dev_cache))
            scores.update(epoch=epoch + 1, train_loss=running / max(1, steps_per_epoch),
                          minutes=round((time.monotonic() - started) / 60, 2))
            history.append(scores)
            tqdm.write(
                f"epoch {epoch + 1}: dev topic macro-F1 {scores['topic_macro_f1']:.3f}, "
                f"stance macro-F1 {scores['stance_macro_f1']:.3f}"
            )
            if scores["selection_score"] > best_score:
                best_score = scores["selection_score"]
                best_state = {n: p.detach().clone() for n, p in self.net.named_parameters() if p.requires_grad}
        if best_state is not None:
            self.net.load_state_dict(best_state, strict=False)
        final_dev = self._evaluate(dev, dev_cache)
        self.net.eval()
        return FitResult(self.net, self.tokenizer, self.settings, final_dev, history, stopped)
