"""The multi-task network: one encoder pass per chunk feeds a topic head and a stance head.

* Topics: two views added together, one logit per topic (multi-label, sigmoid): an MLP on the
  article vector, the mean of its token states over all chunks (e5 is trained for mean
  pooling), and a label-wise attention that lets each topic pick out its own decisive words.
* Stance: target-dependent and shared by all actors. Each mention *unit* is described by its
  mention tokens, its sentence and the article vector; an attention over an actor's units
  weighs them, and the weighted sum gives favor/against/neutral logits. The attention weights
  rank the sentences offered as evidence. Nothing in the head depends on the actor's identity,
  so an actor added at request time gets a stance the same way.

The encoder can be split (:meth:`MarsadNet.encode_bottom` / :meth:`encode_top`) so training
runs frozen lower layers once per chunk and caches their output; inference uses
:meth:`encode` (all layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from marsad.features import Batch
from marsad.schema import STANCE_IDS


MAX_PASS_ROWS = 8
MAX_PADDING = 0.25


def consecutive_groups(order: Sequence[int], fits: Callable[[list[int], int], bool]) -> list[list[int]]:
    """Split ``order`` into consecutive groups: an item joins the current group when
    ``fits(group, item)``, else it starts the next one."""
    groups: list[list[int]] = []
    for item in order:
        if groups and fits(groups[-1], item):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def length_groups(lengths: Sequence[int], max_rows: int = MAX_PASS_ROWS, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Rows grouped into encoder passes: similar lengths together, at most ``max_rows`` per pass,
    and a new pass whenever padding would exceed ``max_padding`` of the real tokens. An article
    just over one window ends in a short chunk; padding it to 512 would double the work."""

    def fits(group: list[int], row: int) -> bool:
        width = lengths[row]  # ascending, so the newest row is the widest
        real = sum(lengths[r] for r in group) + width
        return len(group) < max_rows and width * (len(group) + 1) <= real * (1 + max_padding)

    return consecutive_groups(sorted(range(len(lengths)), key=lambda i: (lengths[i], i)), fits)


@dataclass
class NetOutput:
    topic_logits: torch.Tensor  # [A, T]
    stance_logits: torch.Tensor  # [G, 3]
    unit_weights: torch.Tensor  # [U] attention of each unit within its (article, actor) group


def _group_softmax(scores: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Softmax of ``scores`` ([N] or [N, K]) within each group of rows (``groups``: [N])."""
    shape = (n_groups, *scores.shape[1:])
    index = groups.view(-1, *([1] * (scores.dim() - 1))).expand_as(scores)
    maxima = torch.full(shape, float("-inf"), dtype=scores.dtype).scatter_reduce(
        0, index, scores, reduce="amax", include_self=True
    )
    exp = torch.exp(scores - maxima[groups])
    totals = torch.zeros(shape, dtype=scores.dtype).index_add(0, groups, exp)
    return exp / totals[groups]


class MarsadNet(nn.Module):
    def __init__(self, encoder: nn.Module, n_topics: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.topic_head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, n_topics)
        )
        self.topic_dropout = nn.Dropout(dropout)
        self.topic_query = nn.Linear(hidden, n_topics, bias=False)
        self.topic_value = nn.Linear(hidden, n_topics)
        self.unit_projection = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Dropout(dropout))
        self.unit_score = nn.Linear(hidden, 1)
        self.stance_output = nn.Linear(hidden, len(STANCE_IDS))

    # -- encoder -------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self._layers())

    def _layers(self) -> nn.ModuleList:
        try:
            return self.encoder.encoder.layer
        except AttributeError:
            raise TypeError(
                f"{type(self.encoder).__name__} is not BERT-like (no encoder.layer): "
                "set trainable_layers to all layers to train it without splitting"
            ) from None

    def _run_layers(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int, end: int) -> torch.Tensor:
        mask = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in self._layers()[start:end]:
            hidden = layer(hidden, attention_mask=mask)
            if isinstance(hidden, tuple):
                hidden = hidden[0]
        return hidden

    def encode_bottom(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_layers: int) -> torch.Tensor:
        """Embeddings plus the first ``n_layers`` layers."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        return self._run_layers(hidden, attention_mask, 0, n_layers)

    def encode_top(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start_layer: int) -> torch.Tensor:
        """Layers from ``start_layer`` to the last, on the output of :meth:`encode_bottom`."""
        return self._run_layers(hidden, attention_mask, start_layer, self.n_layers)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def encode_in_groups(
        self,
        step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        inputs: torch.Tensor,
        attention_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Run ``step`` (an encoder pass) over rows of ``inputs`` in :func:`length_groups`,
        each cut to its own width, and reassemble the padded ``[rows, length, hidden]`` states."""
        lengths = attention_mask.sum(dim=1).tolist()
        states = torch.zeros((*attention_mask.shape, self.encoder.config.hidden_size))
        for rows in length_groups(lengths):
            index = torch.tensor(rows)
            width = max(lengths[r] for r in rows)
            states[index, :width] = step(inputs[index, :width], attention_mask[index, :width])
        return states

    # -- heads ---------------------------------------------------------------------------
    def heads(self, states: torch.Tensor, batch: Batch) -> NetOutput:
        flat = states.reshape(-1, states.shape[-1])
        article = torch.sparse.mm(batch.article_pool, flat)
        topic_logits = self.topic_head(article) + self._topic_attention(flat, batch)
        if batch.n_groups == 0:
            empty = flat.new_zeros((0, len(STANCE_IDS)))
            return NetOutput(topic_logits, empty, flat.new_zeros((0,)))
        mention = torch.sparse.mm(batch.mention_pool, flat)
        sentence = torch.sparse.mm(batch.sentence_pool, flat)
        context = article[batch.group_article[batch.unit_group]]
        units = self.unit_projection(torch.cat([mention, sentence, context], dim=-1))
        weights = _group_softmax(self.unit_score(units).squeeze(-1), batch.unit_group, batch.n_groups)
        pooled = torch.zeros((batch.n_groups, units.shape[-1]), dtype=units.dtype).index_add(
            0, batch.unit_group, weights.unsqueeze(-1) * units
        )
        return NetOutput(topic_logits, self.stance_output(pooled), weights)

    def _topic_attention(self, flat: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Label-wise attention: each topic weighs the article's tokens on its own and sums
        their per-topic evidence, so a few decisive words are not averaged away. The logit is
        Σ_i w_it · v_it, computed without materialising a [tokens, topics, hidden] tensor."""
        index = batch.article_pool.indices()
        articles, tokens = index[0], flat[index[1]]
        weights = _group_softmax(self.topic_query(tokens), articles, batch.article_pool.shape[0])
        evidence = self.topic_value(self.topic_dropout(tokens))
        return torch.zeros((batch.article_pool.shape[0], evidence.shape[1]), dtype=flat.dtype).index_add(
            0, articles, weights * evidence
        )

    def forward(self, batch: Batch) -> NetOutput:
        return self.heads(self.encode(batch.input_ids, batch.attention_mask), batch)
