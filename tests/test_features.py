"""From articles to chunks and mention units: long articles, offsets, and mention placement."""

import pytest

from marsad.article import Article
from marsad.encoder import load_tokenizer
from marsad.features import ChunkingSettings, Featurizer, collate

PARAGRAPH = (
    "وقال مسؤول عراقي إن الحكومة العراقية تتابع ملف الكهرباء مع الجانب الإيراني، "
    "فيما أكدت الكويت دعمها لمشاريع إعادة الإعمار في المحافظات المحررة. "
)


@pytest.fixture(scope="module")
def featurizer(finder):
    return Featurizer(load_tokenizer("embedded:multilingual-e5-small"), finder, ChunkingSettings(max_length=128, stride=16))


def test_short_article_is_one_chunk_with_prefix_and_specials(featurizer):
    features = featurizer(Article("a", PARAGRAPH, "عنوان الخبر"))
    assert len(features.chunks) == 1
    chunk = features.chunks[0]
    tokenizer = featurizer.tokenizer
    assert chunk.input_ids[0] == tokenizer.cls_token_id and chunk.input_ids[-1] == tokenizer.sep_token_id
    assert chunk.input_ids[1 : chunk.content_offset] == featurizer.prefix_ids
    assert chunk.size == features.token_count == len(chunk.input_ids) - chunk.content_offset - 1


def test_token_spans_point_into_the_original_text(featurizer):
    text = "أعلنت الحكومةُ العراقيّة &quot;خطتها&quot; في #بغداد"
    features = featurizer(Article("a", text))
    covered = "".join(text[s:e] for s, e in features.token_spans)
    assert "الحكومةُ" in covered or "الحكومة" in covered
    for start, end in features.token_spans:
        assert 0 <= start < end <= len(text)


def test_long_article_over_1500_tokens_is_chunked_with_overlap(featurizer):
    text = "\n".join([PARAGRAPH] * 60)
    features = featurizer(Article("long", text))
    assert features.token_count > 1500
    window = featurizer.window
    assert len(features.chunks) == -(-(features.token_count - 16) // (window - 16))
    for previous, current in zip(features.chunks, features.chunks[1:]):
        assert current.first_token == previous.first_token + window - 16  # 16 tokens of overlap
    assert features.chunks[-1].first_token + features.chunks[-1].size == features.token_count
    # every mention gets a unit in a chunk that holds all of its tokens
    assert len(features.units) == len(features.mentions) == 60 * 4
    for unit in features.units:
        chunk = features.chunks[unit.chunk]
        assert all(chunk.content_offset <= p < chunk.content_offset + chunk.size for p in unit.mention_positions)
        assert set(unit.mention_positions) <= set(unit.sentence_positions)
    assert features.actors == ["iraqi_government", "iran", "kuwait"]


def test_units_prefer_the_chunk_with_more_context(featurizer):
    text = "\n".join([PARAGRAPH] * 12)
    features = featurizer(Article("x", text))
    assert len(features.chunks) >= 2
    for unit in features.units:
        chunk = features.chunks[unit.chunk]
        first = unit.mention_positions[0] - chunk.content_offset
        last = unit.mention_positions[-1] - chunk.content_offset
        margin = min(first, chunk.size - 1 - last)
        for other in features.chunks:
            start = other.first_token
            token_first = chunk.first_token + first
            token_last = chunk.first_token + last
            if start <= token_first and token_last < start + other.size:
                assert margin >= min(token_first - start, start + other.size - 1 - token_last)


def test_collate_pools_average_the_right_tokens(featurizer):
    import torch

    first = featurizer(Article("a", PARAGRAPH))
    second = featurizer(Article("b", "\n".join([PARAGRAPH] * 8)))
    batch = collate([first, second], featurizer.tokenizer.pad_token_id)
    rows, length = batch.input_ids.shape
    assert rows == len(first.chunks) + len(second.chunks)
    states = torch.arange(rows * length, dtype=torch.float32).reshape(rows, length, 1)
    flat = states.reshape(-1, 1)
    article_means = torch.sparse.mm(batch.article_pool, flat).squeeze(1)
    expected = states[0, : len(first.chunks[0].input_ids)].mean()
    assert article_means[0] == pytest.approx(float(expected))
    unit = first.units[0]
    mention_mean = torch.sparse.mm(batch.mention_pool, flat)[0, 0]
    assert mention_mean == pytest.approx(float(states[0, unit.mention_positions].mean()))
    assert batch.groups[: len(first.actors)] == [(0, a) for a in first.actors]
