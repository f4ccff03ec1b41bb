"""Training configuration: one validated object per run, loaded from `configs/<name>.yaml`.

A config may name a base with ``extends: default.yaml`` (resolved beside it) and override
keys; lists are replaced, mappings merged. Relative data paths are resolved against the
repository root (the directory that holds ``configs/``), so ``../shared/...`` means the
shared folder beside the checkout whatever the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(ValueError):
    """A training config is invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TinyEncoder(_Strict):
    """A small randomly initialised BERT, for tests: trains in seconds, learns little."""

    hidden_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 64
    tokenizer: str = "embedded:multilingual-e5-small"


class TfidfSettings(_Strict):
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    max_features: int = 200_000
    min_df: int = 2
    C: float = 4.0
    context_window: int = 1
    """Sentences on each side of a mention that the stance classifier reads."""


class TrainConfig(_Strict):
    name: str
    kind: Literal["transformer", "tfidf"] = "transformer"
    model_name: str = Field("marsad", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    labels: Path = Path("configs/labels.yaml")
    train_files: list[Path] = Field(min_length=1)
    dev_files: list[Path] = Field(min_length=1)
    seed: int = 13
    lenient: bool = False
    """Skip (and count) invalid records instead of refusing the data. For data annotated
    outside marsad whose labels the mention finder cannot always confirm."""

    encoder: str = "embedded:multilingual-e5-small"
    tiny_encoder: TinyEncoder | None = None
    max_length: int = Field(512, ge=32, le=4096)
    stride: int = Field(64, ge=0)
    text_prefix: str = "passage: "
    trainable_layers: int = Field(4, ge=-1)
    """Top encoder layers to fine-tune (-1: all). Lower layers run once and are cached."""
    epochs: int = Field(4, ge=1)
    batch_size: int = Field(8, ge=1)
    encoder_lr: float = Field(5e-5, gt=0)
    head_lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    class_weights: bool = True
    max_minutes: float | None = Field(None, gt=0)
    """Stop starting new epochs after this long (the best epoch so far is kept)."""

    tfidf: TfidfSettings = TfidfSettings()

    @model_validator(mode="after")
    def _stride_fits(self) -> TrainConfig:
        if self.stride * 2 >= self.max_length - 16:
            raise ValueError(f"stride {self.stride} is too large for max_length {self.max_length}")
        return self


def repo_root_for(config_path: Path) -> Path:
    return config_path.resolve().parent.parent


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError(f"{path}: 'extends' loops back to itself")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values")
    _absolute_paths(data, repo_root_for(path))
    base = data.pop("extends", None)
    if base is None:
        return data
    return _merge(_read((path.parent / base).resolve(), (*seen, path)), data)


def _absolute_paths(data: dict[str, Any], root: Path) -> None:
    """Resolve a file's relative paths against the repository root of that file."""
    for key in ("train_files", "dev_files"):
        if isinstance(data.get(key), list):
            data[key] = [str((root / item).resolve()) for item in data[key]]
    if isinstance(data.get("labels"), str):
        data["labels"] = str((root / data["labels"]).resolve())


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read, merge (``extends``), override and validate a config; paths become absolute."""
    path = Path(path).resolve()
    data = _merge(_read(path), overrides or {})
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as error:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path} is not a valid training config:\n{problems}") from None
