"""From an article to model inputs: chunks of token ids plus where each mention and sentence is.

This is the one place that decides what the encoder sees, shared by training, evaluation,
the service and batch scoring:

* the text is the title and body joined (:class:`~marsad.article.Article`), normalised with
  the versioned model pipeline, and tokenised with offsets mapped back to the original;
* long articles become overlapping windows ("chunks") of at most ``max_length`` tokens, each
  ``[CLS] prefix window [SEP]``; every token keeps the original character span it came from;
* each mention found by the mention finder becomes a *unit*: the chunk where it has the most
  context on both sides, the token positions of the mention, and those of its sentence.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from marsad.article import Article
from marsad.schema import Actor
from marsad.text.mentions import Mention, MentionFinder
from marsad.text.normalize import MODEL_PIPELINE, normalize_aligned
from marsad.text.sentences import Sentence, split_sentences


@dataclass(frozen=True)
class ChunkingSettings:
    """How text becomes encoder input; stored in every artifact so serving does the same."""

    max_length: int = 512
    stride: int = 64
    """Tokens shared by consecutive chunks, so a mention near a boundary keeps context."""
    text_prefix: str = "passage: "
    """e5 models were trained with this prefix on documents."""


@dataclass(frozen=True)
class Chunk:
    input_ids: list[int]
    first_token: int
    """Index (in the article's content tokens) of the chunk's first content token."""
    content_offset: int
    """Position inside ``input_ids`` of the first content token (after CLS and prefix)."""
    size: int
    """Number of content tokens in the chunk."""


@dataclass(frozen=True)
class MentionUnit:
    """One mention as the stance head sees it."""

    actor: str
    mention: int
    """Index into :attr:`ArticleFeatures.mentions`."""
    sentence: int
    """Index into :attr:`ArticleFeatures.sentences` (the sentence holding the mention)."""
    chunk: int
    mention_positions: list[int]
    sentence_positions: list[int]


@dataclass
class ArticleFeatures:
    article: Article
    chunks: list[Chunk]
    token_spans: list[tuple[int, int]]
    """Original character span (in ``article.full_text``) of each content token."""
    mentions: list[Mention]
    sentences: list[Sentence]
    units: list[MentionUnit]
    actors: list[str] = field(default_factory=list)
    """Actors with at least one unit, in first-mention order."""

    @property
    def token_count(self) -> int:
        return len(self.token_spans)


def _windows(n_tokens: int, window: int, stride: int) -> list[tuple[int, int]]:
    if n_tokens <= window:
        return [(0, n_tokens)]
    step = max(window - stride, 1)
    spans, start = [], 0
    while True:
        end = min(start + window, n_tokens)
        spans.append((start, end))
        if end == n_tokens:
            return spans
        start += step


class _SpanIndex:
    """Finds which of a sorted list of character spans overlap a query span (by bisection)."""

    def __init__(self, spans: Sequence[tuple[int, int]]):
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def overlapping(self, start: int, end: int) -> list[int]:
        first = bisect.bisect_right(self.ends, start)
        last = bisect.bisect_left(self.starts, end)
        return list(range(first, last))

    def containing(self, position: int) -> int:
        """Index of the last span starting at or before ``position`` (0 if none)."""
        return max(bisect.bisect_right(self.starts, position) - 1, 0)


class Featurizer:
    """Turns articles into :class:`ArticleFeatures` for one tokenizer and one actor schema."""

    def __init__(self, tokenizer, finder: MentionFinder, settings: ChunkingSettings):
        self.tokenizer = tokenizer
        self.finder = finder
        self.settings = settings
        self.prefix_ids: list[int] = (
            tokenizer(settings.text_prefix.strip(), add_special_tokens=False)["input_ids"]
            if settings.text_prefix.strip()
            else []
        )
        self.window = settings.max_length - 2 - len(self.prefix_ids)
        if self.window < 16:
            raise ValueError(f"max_length {settings.max_length} leaves no room for text")
        if not 0 <= settings.stride < self.window // 2:
            raise ValueError(f"stride must be in [0, {self.window // 2}), got {settings.stride}")

    def __call__(self, article: Article, extra_actors: Sequence[Actor] = ()) -> ArticleFeatures:
        full_text = article.full_text
        aligned = normalize_aligned(full_text, MODEL_PIPELINE)
        encoded = self.tokenizer(aligned.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        token_ids: list[int] = []
        token_spans: list[tuple[int, int]] = []
        for token_id, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"]):
            while start < end and aligned.text[start].isspace():
                start += 1  # Metaspace tokens may claim the preceding space
            if end <= start:
                continue  # a bare "▁" token: it carries no text of its own
            token_ids.append(token_id)
            token_spans.append(aligned.original_span(start, end))

        chunks = []
        for first, last in _windows(len(token_ids), self.window, self.settings.stride):
            ids = [self.tokenizer.cls_token_id, *self.prefix_ids, *token_ids[first:last], self.tokenizer.sep_token_id]
            chunks.append(Chunk(ids, first, 1 + len(self.prefix_ids), last - first))
        if not chunks:  # no tokens at all: still one (empty) chunk so every head has input
            chunks.append(Chunk([self.tokenizer.cls_token_id, *self.prefix_ids, self.tokenizer.sep_token_id], 0, 1 + len(self.prefix_ids), 0))

        mentions = self.finder.find(full_text, extra_actors)
        sentences = split_sentences(full_text)
        tokens_index = _SpanIndex(token_spans)
        sentence_index_of = _SpanIndex([(s.start, s.end) for s in sentences])
        units = []
        for index, mention in enumerate(mentions):
            tokens = tokens_index.overlapping(mention.start, mention.end)
            if not tokens or not sentences:
                continue
            sentence_index = sentence_index_of.containing(mention.start)
            sentence = sentences[sentence_index]
            chunk_index = self._best_chunk(chunks, tokens[0], tokens[-1])
            chunk = chunks[chunk_index]
            sentence_tokens = [
                t for t in tokens_index.overlapping(sentence.start, sentence.end)
                if chunk.first_token <= t < chunk.first_token + chunk.size
            ]
            to_position = chunk.content_offset - chunk.first_token
            units.append(
                MentionUnit(
                    actor=mention.actor,
                    mention=index,
                    sentence=sentence_index,
                    chunk=chunk_index,
                    mention_positions=[t + to_position for t in tokens],
                    sentence_positions=[t + to_position for t in sentence_tokens],
                )
            )
        actors = list(dict.fromkeys(unit.actor for unit in units))
        return ArticleFeatures(article, chunks, token_spans, mentions, sentences, units, actors)

    @staticmethod
    def _best_chunk(chunks: Sequence[Chunk], first: int, last: int) -> int:
        """The chunk holding tokens ``first..last`` with the most context on its tighter side."""
        best, best_margin = 0, -1
        for index, chunk in enumerate(chunks):
            end = chunk.first_token + chunk.size
            if chunk.first_token <= first and last < end:
                margin = min(first - chunk.first_token, end - 1 - last)
                if margin > best_margin:
                    best, best_margin = index, margin
        if best_margin < 0:  # a mention longer than the stride straddles chunks: take its start
            best = next(i for i, c in enumerate(chunks) if c.first_token <= first < c.first_token + c.size)
        return best


@dataclass
class Batch:
    """Padded tensors for a group of articles, plus the (sparse) pooling matrices the heads use.

    Pooling is a sparse matrix product over the flattened token states ``[C*L, H]``, so one
    long article with hundreds of mentions costs memory in proportion to its mentions, not to
    mentions × tokens.
    """

    input_ids: torch.Tensor  # [C, L]
    attention_mask: torch.Tensor  # [C, L]
    article_pool: torch.Tensor  # sparse [A, C*L]: mean over each article's tokens (all chunks)
    mention_pool: torch.Tensor  # sparse [U, C*L]: mean over each unit's mention tokens
    sentence_pool: torch.Tensor  # sparse [U, C*L]: mean over each unit's sentence tokens
    unit_group: torch.Tensor  # [U] the (article, actor) group of each unit
    group_article: torch.Tensor  # [G]
    groups: list[tuple[int, str]]  # [G] (article index, actor id)
    chunk_rows: list[list[int]]  # per article: its rows in input_ids

    @property
    def n_groups(self) -> int:
        return len(self.groups)


class _SparseRows:
    """Builds a sparse matrix whose rows average given columns."""

    def __init__(self, width: int):
        self.width = width
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.values: list[float] = []
        self.n_rows = 0

    def add_mean(self, columns: Sequence[int]) -> None:
        for column in columns:
            self.rows.append(self.n_rows)
            self.cols.append(column)
            self.values.append(1.0 / len(columns))
        self.n_rows += 1

    def tensor(self) -> torch.Tensor:
        indices = torch.tensor([self.rows, self.cols], dtype=torch.long).reshape(2, -1)
        return torch.sparse_coo_tensor(
            indices, torch.tensor(self.values, dtype=torch.float32), (self.n_rows, self.width), check_invariants=False
        ).coalesce()


def collate(features: Sequence[ArticleFeatures], pad_id: int) -> Batch:
    """Stack the chunks of several articles into one padded batch."""
    chunk_rows: list[list[int]] = []
    all_chunks: list[Chunk] = []
    for feature in features:
        chunk_rows.append(list(range(len(all_chunks), len(all_chunks) + len(feature.chunks))))
        all_chunks.extend(feature.chunks)
    length = max(len(c.input_ids) for c in all_chunks)
    input_ids = torch.full((len(all_chunks), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(all_chunks), length), dtype=torch.long)
    for row, chunk in enumerate(all_chunks):
        input_ids[row, : len(chunk.input_ids)] = torch.tensor(chunk.input_ids)
        attention_mask[row, : len(chunk.input_ids)] = 1
    width = len(all_chunks) * length

    article_pool = _SparseRows(width)
    for rows in chunk_rows:
        article_pool.add_mean([row * length + p for row in rows for p in range(len(all_chunks[row].input_ids))])

    mention_pool, sentence_pool = _SparseRows(width), _SparseRows(width)
    unit_group: list[int] = []
    groups: list[tuple[int, str]] = []
    group_index: dict[tuple[int, str], int] = {}
    for article_index, feature in enumerate(features):
        for unit in feature.units:
            base = chunk_rows[article_index][unit.chunk] * length
            mention_pool.add_mean([base + p for p in unit.mention_positions])
            sentence_pool.add_mean([base + p for p in unit.sentence_positions or unit.mention_positions])
            key = (article_index, unit.actor)
            if key not in group_index:
                group_index[key] = len(groups)
                groups.append(key)
            unit_group.append(group_index[key])

    return Batch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        article_pool=article_pool.tensor(),
        mention_pool=mention_pool.tensor(),
        sentence_pool=sentence_pool.tensor(),
        unit_group=torch.tensor(unit_group, dtype=torch.long),
        group_article=torch.tensor([a for a, _ in groups], dtype=torch.long),
        groups=groups,
        chunk_rows=chunk_rows,
    )
