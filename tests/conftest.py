"""Shared fixtures. The real annotated articles in ../shared are read when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import marsad  # noqa: F401  (offline environment first)
from marsad.schema import LabelSchema, default_labels_path, load_label_schema
from marsad.text.mentions import MentionFinder

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "data" / "seeds.jsonl"
REAL_DEV = SHARED / "data" / "real" / "dev.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def schema() -> LabelSchema:
    return load_label_schema(default_labels_path())


@pytest.fixture(scope="session")
def finder(schema: LabelSchema) -> MentionFinder:
    return MentionFinder(schema.actors)


@pytest.fixture(scope="session")
def seeds() -> list[dict]:
    if not SEEDS.is_file():
        pytest.skip(f"seed articles not available at {SEEDS}")
    return read_jsonl(SEEDS)
