"""Model artifacts: self-contained directories in the BentoML model store.

An artifact holds everything needed to predict, and nothing from training code: the weights,
the tokenizer, the label schema, thresholds and temperatures, the normalisation version,
plus the provenance (config, data hash, code version, dev metrics). ``marsad.json`` is its
manifest; the rest depends on ``kind`` (``transformer`` or ``tfidf``).

Models live in the BentoML store under a name (``marsad``, ``marsad-baseline``) so that
``marsad:latest`` is the newest; a plain directory with a ``marsad.json`` also loads.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from marsad.paths import SOURCE_ROOT
from marsad.schema import LabelSchema

MANIFEST = "marsad.json"
FORMAT_VERSION = 1
DEFAULT_MODEL = "marsad:latest"


class ArtifactError(RuntimeError):
    """A model tag or path that cannot be loaded; the message says what to do."""


class ArtifactInfo(BaseModel):
    format_version: int = FORMAT_VERSION
    kind: Literal["transformer", "tfidf"]
    labels: LabelSchema
    normalization: str
    match_normalization: str
    topic_thresholds: dict[str, float]
    topic_temperature: float = 1.0
    stance_temperature: float = 1.0
    chunking: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    code_version: str = "unknown"
    dev_metrics: dict[str, Any] = Field(default_factory=dict)
    created: str = Field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    tag: str = ""
    """Filled in when loaded from the store (``name:version``) or with the directory path."""


def code_version() -> str:
    """The git commit of the source tree, with ``-dirty`` when it has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=SOURCE_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=SOURCE_ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def save_to_store(name: str, info: ArtifactInfo, write_files: Callable[[Path], None]) -> str:
    """Create a model ``name`` in the BentoML store; ``write_files`` fills its directory."""
    import bentoml

    with bentoml.models.create(
        name,
        labels={"kind": info.kind, "normalization": info.normalization},
        metadata={
            "kind": info.kind,
            "code_version": info.code_version,
            "data_fingerprint": str(info.data.get("fingerprint", "")),
            "dev_metrics": {k: v for k, v in info.dev_metrics.items() if isinstance(v, int | float)},
        },
    ) as model:
        directory = Path(model.path)
        write_files(directory)
        info = info.model_copy(update={"tag": str(model.tag)})
        (directory / MANIFEST).write_text(info.model_dump_json(indent=2), encoding="utf-8")
    return str(model.tag)


def save_to_directory(directory: Path, info: ArtifactInfo, write_files: Callable[[Path], None]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    write_files(directory)
    info = info.model_copy(update={"tag": str(directory)})
    (directory / MANIFEST).write_text(info.model_dump_json(indent=2), encoding="utf-8")
    return str(directory)


def resolve_artifact(model: str) -> tuple[Path, str]:
    """A tag (``marsad:latest``, ``marsad:abc123``) or a directory → (directory, tag)."""
    candidate = Path(model)
    if (candidate / MANIFEST).is_file():
        return candidate, str(candidate)
    if candidate.exists():
        raise ArtifactError(f"{candidate} is not a marsad model directory (no {MANIFEST})")
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        stored = bentoml.models.get(model)
    except NotFound:
        raise ArtifactError(
            f"model {model!r} is not in the BentoML store at {bentoml_home()}; "
            "train one with `make model` (or `marsad train --config configs/default.yaml`)"
        ) from None
    except ValueError as error:
        raise ArtifactError(f"{model!r} is neither a model tag nor a model directory: {error}") from None
    return Path(stored.path), str(stored.tag)


def bentoml_home() -> str:
    import os

    return os.environ.get("BENTOML_HOME", "~/bentoml")


def read_info(directory: Path, tag: str) -> ArtifactInfo:
    info = ArtifactInfo.model_validate_json((directory / MANIFEST).read_text(encoding="utf-8"))
    if info.format_version != FORMAT_VERSION:
        raise ArtifactError(f"{tag}: artifact format {info.format_version}, this marsad reads {FORMAT_VERSION}")
    return info.model_copy(update={"tag": tag})
