"""Shared fixtures. The real annotated articles in ../shared are read when present."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

# Tests get their own model store and caches, set before marsad (and bentoml) are imported.
_SCRATCH = Path(tempfile.mkdtemp(prefix="marsad-tests-"))
os.environ["BENTOML_HOME"] = str(_SCRATCH / "bentoml")
os.environ["HF_HOME"] = str(_SCRATCH / "hf")

import marsad  # noqa: E402, F401  (offline environment first)
from marsad.schema import LabelSchema, default_labels_path, load_label_schema  # noqa: E402
from marsad.text.mentions import MentionFinder  # noqa: E402

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


@pytest.fixture(scope="session")
def tiny_model() -> str:
    """The tiny transformer of configs/tiny.yaml, trained once and saved to the test store."""
    from training.config import load_config
    from training.run import train

    return train(load_config(REPO / "configs" / "tiny.yaml"))


@pytest.fixture(scope="session")
def tiny_baseline() -> str:
    """The TF-IDF baseline trained on the tiny corpus, saved to the test store."""
    from training.config import load_config
    from training.run import train

    config = load_config(REPO / "configs" / "baseline.yaml", {
        "train_files": [str(REPO / "tests/resources/tiny-train.jsonl")],
        "dev_files": [str(REPO / "tests/resources/tiny-dev.jsonl")],
        "model_name": "marsad-baseline-tiny",
        "tfidf": {"min_df": 1},
    })
    return train(config)


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model):
    from marsad.inference import load_classifier

    return load_classifier(tiny_model)
