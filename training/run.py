"""`marsad train`: config in, calibrated model artifact in the BentoML store out."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from marsad.artifact import ArtifactInfo, code_version, save_to_directory, save_to_store
from marsad.data import data_fingerprint, load_annotated
from marsad.schema import load_label_schema
from marsad.text.normalize import MATCH_PIPELINE_VERSION, MODEL_PIPELINE_VERSION
from training.calibration import calibrate
from training.config import TrainConfig, load_config


def _provenance(config: TrainConfig, train_files: dict[str, str], dev_files: dict[str, str]) -> dict[str, Any]:
    return {
        "train_files": train_files,
        "dev_files": dev_files,
        "fingerprint": data_fingerprint(train_files | dev_files),
    }


def train(config: TrainConfig, output: Path | None = None) -> str:
    """Train, calibrate on dev, save; returns the model tag (or the directory with ``output``)."""
    started = time.monotonic()
    schema = load_label_schema(config.labels)
    train_data = load_annotated(config.train_files, schema, lenient=config.lenient)
    dev_data = load_annotated(config.dev_files, schema, lenient=config.lenient)
    for name, loaded in (("train", train_data), ("dev", dev_data)):
        if loaded.problems:
            counts = ", ".join(f"{kind} {n}" for kind, n in loaded.problem_counts.most_common())
            print(f"lenient: skipped {len(loaded.problems)} invalid {name} record problem(s): {counts}")
    if config.kind == "transformer":
        from training.transformer import TransformerTrainer
        from marsad.transformer import save_transformer

        result = TransformerTrainer(config, schema).fit(list(train_data.dataset), list(dev_data.dataset))
        dev, history = result.dev, result.history

        def write(directory: Path) -> None:
            save_transformer(directory, result.net, result.tokenizer)

        chunking = dataclasses.asdict(result.settings)
    else:
        from training.baseline import fit_baseline

        baseline = fit_baseline(config, schema, list(train_data.dataset), list(dev_data.dataset))
        dev, history, chunking = baseline.dev, [], {}
        write = baseline.write
    calibration = calibrate(dev, schema.topic_ids)
    info = ArtifactInfo(
        kind=config.kind,
        labels=schema,
        normalization=MODEL_PIPELINE_VERSION,
        match_normalization=MATCH_PIPELINE_VERSION,
        topic_thresholds=calibration.topic_thresholds,
        topic_temperature=calibration.topic_temperature,
        stance_temperature=calibration.stance_temperature,
        chunking=chunking,
        config=config.model_dump(mode="json"),
        data=_provenance(config, train_data.files, dev_data.files),
        code_version=code_version(),
        dev_metrics=calibration.dev_metrics | {"history": history, "train_minutes": round((time.monotonic() - started) / 60, 2)},
    )
    if output is not None:
        return save_to_directory(output, info, write)
    return save_to_store(config.model_name, info, write)


def train_from_file(path: Path, output: Path | None = None) -> str:
    return train(load_config(path), output)
