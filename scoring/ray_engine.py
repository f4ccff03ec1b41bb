"""`marsad score --engine ray`: the same scoring, spread over a Ray cluster with Ray Data.

How the work is partitioned:

1. The driver streams the input once through the same reader as the local engine
   (:mod:`marsad.rows`, so row numbers are identical) and writes it as
   numbered input shards of ``shard_rows`` rows (Parquet, under ``<output>.ray/input/``).
2. Ray Data reads the pending shards (``read_parquet``) and ``map_batches`` them through a
   pool of stateful actors, each of which loads the model once, validates its rows as the
   local engine does (:func:`scoring.sources.to_article`) and scores them with the shared
   inference core.
3. The driver consumes the results in input order and writes one result shard per input shard
   (``<output>.ray/results/``), atomically. ``--resume`` skips every input shard whose result
   shard exists.
4. When all shards are done, the result shards are joined into the output and the errors
   file, in input order: the same files the local engine writes.

A worker that dies mid-batch is restarted by Ray and its task retried (``max_restarts`` and
``max_task_retries`` below, bounded); rows are written by the driver only once per shard, so nothing is
lost or written twice.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from marsad.rows import read_rows
from scoring.batch import ScoringError, Summary, result_row
from scoring.sources import Columns, Rejection, to_article

SHARD_ROWS = 1_000
ACTOR_RETRIES = {"max_restarts": 3, "max_task_retries": 3}
"""A dead worker is restarted and its batch retried, a few times: enough for a lost machine,
not forever for a bug that kills every worker."""
FORWARDED_ENV = ("BENTOML_HOME", "HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE",
                 "MARSAD_HOME", "BENTOML_DO_NOT_TRACK", "TOKENIZERS_PARALLELISM")


class _ScoringActor:
    """One per Ray worker: loads the classifier once, then scores batches of raw rows."""

    def __init__(self, model_dir: str, columns: tuple[str, str, str]):
        from marsad.inference import load_classifier

        self.classifier = load_classifier(model_dir)
        self.columns = Columns(*columns)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = [int(r) for r in batch["row"]]
        parsed = [_decode(raw) for raw in batch["raw"]]
        items = [to_article(row, raw, self.columns) for row, raw in zip(rows, parsed)]
        articles = [(i, item) for i, item in enumerate(items) if not isinstance(item, Rejection)]
        results = self.classifier.classify([a for _, a in articles]) if articles else []
        out: list[str] = [""] * len(items)
        kinds: list[str] = [""] * len(items)
        for (index, article), result in zip(articles, results):
            out[index] = json.dumps(result_row(rows[index], article, result), ensure_ascii=False)
            kinds[index] = "result"
        for index, item in enumerate(items):
            if isinstance(item, Rejection):
                out[index] = json.dumps(item.to_json(), ensure_ascii=False)
                kinds[index] = f"rejected:{item.reason}"
        return {"shard": [int(s) for s in batch["shard"]], "row": rows, "kind": kinds, "payload": out}


def _decode(raw: str) -> Any:
    """Shards store each row as JSON; a row the reader could not parse is stored as an error."""
    value = json.loads(raw)
    if isinstance(value, dict) and "__parse_error__" in value:
        return json.JSONDecodeError(value["__parse_error__"], "", value.get("colno", 1) - 1)
    return value


def _encode(raw: Any) -> str:
    if isinstance(raw, json.JSONDecodeError):
        return json.dumps({"__parse_error__": raw.msg, "colno": raw.colno})
    return json.dumps(raw, ensure_ascii=False, default=str)


def write_input_shards(source: Path, directory: Path, shard_rows: int) -> int:
    """Split the input into Parquet shards of (shard, row, raw JSON); returns the shard count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    count, buffer = 0, []

    def flush() -> None:
        nonlocal count, buffer
        count += 1
        table = pa.table({"shard": [count] * len(buffer), "row": [r for r, _ in buffer], "raw": [x for _, x in buffer]})
        staging = directory / f"shard-{count:06d}.parquet.tmp"
        pq.write_table(table, staging)
        os.replace(staging, directory / f"shard-{count:06d}.parquet")
        buffer = []

    for row, raw in read_rows(source):
        buffer.append((row, _encode(raw)))
        if len(buffer) == shard_rows:
            flush()
    if buffer:
        flush()
    (directory / "COMPLETE").write_text(str(count))
    return count


def _write_result_shard(directory: Path, shard: int, rows: list[dict]) -> None:
    staging = directory / f"shard-{shard:06d}.jsonl.tmp"
    with open(staging, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(staging, directory / f"shard-{shard:06d}.jsonl")


def score_with_ray(
    source: Path,
    output: Path,
    model: str,
    *,
    errors: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    columns: Columns = Columns(),
    num_workers: int = 2,
    address: str | None = None,
    batch_size: int = 32,
    shard_rows: int = SHARD_ROWS,
) -> Summary:
    import ray

    from marsad.inference import compatible_artifact

    started = time.monotonic()
    errors = errors or output.with_name(output.name + ".errors.jsonl")
    work = output.with_name(output.name + ".ray")
    inputs, results = work / "input", work / "results"
    if output.suffix.lower() not in (".jsonl", ".parquet"):
        raise ScoringError(f"{output}: write .jsonl or .parquet")
    model_dir, _ = compatible_artifact(model)  # fail here: before touching files, and in no worker
    if not resume:
        if (output.exists() or work.exists()) and not overwrite:
            raise ScoringError(f"{output} already exists: pass --resume to continue or --overwrite to start again")
        shutil.rmtree(work, ignore_errors=True)
        for stale in (output, errors):
            stale.unlink(missing_ok=True)
    if not (inputs / "COMPLETE").exists():
        shutil.rmtree(inputs, ignore_errors=True)
        write_input_shards(source, inputs, shard_rows)
    total = int((inputs / "COMPLETE").read_text())
    results.mkdir(parents=True, exist_ok=True)
    pending = [
        inputs / f"shard-{i:06d}.parquet" for i in range(1, total + 1)
        if not (results / f"shard-{i:06d}.jsonl").exists()
    ]

    if pending:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry from an offline machine
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        if not ray.is_initialized():
            # Locally: one CPU per scoring actor plus one for Ray Data's read tasks, which
            # otherwise wait forever for a CPU the actors hold.
            ray.init(address=address, num_cpus=None if address else num_workers + 1, include_dashboard=False,
                     runtime_env={"env_vars": env}, log_to_driver=False, configure_logging=False)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = ray.data.read_parquet([str(p) for p in pending]).map_batches(
            _ScoringActor,
            fn_constructor_args=(str(model_dir), (columns.id, columns.text, columns.title)),
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=num_workers),
            num_cpus=1,
            batch_format="numpy",
            **ACTOR_RETRIES,
        )
        current, buffer = None, []
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for shard, row, kind, payload in zip(batch["shard"], batch["row"], batch["kind"], batch["payload"]):
                shard = int(shard)
                if shard != current:
                    if current is not None:
                        _write_result_shard(results, current, buffer)
                    current, buffer = shard, []
                buffer.append({"row": int(row), "kind": str(kind), "payload": str(payload)})
        if current is not None:
            _write_result_shard(results, current, buffer)
    return _join(results, total, output, errors, started)


def _join(results: Path, total: int, output: Path, errors: Path, started: float) -> Summary:
    """Result shards → the local engine's output and errors files (rows in input order)."""
    summary = Summary()
    sink = None
    if output.suffix.lower() == ".parquet":
        from scoring.batch import ParquetSink

        sink = ParquetSink(output)
        sink.reset(0)
    staging_output = output.with_name(output.name + ".tmp")
    staging_errors = errors.with_name(errors.name + ".tmp")
    reasons: Counter = Counter()
    with open(staging_errors, "w", encoding="utf-8") as error_file, \
            open(staging_output if sink is None else os.devnull, "w", encoding="utf-8") as out_file:
        for shard in range(1, total + 1):
            part_rows = []
            for line in (results / f"shard-{shard:06d}.jsonl").read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                summary.read += 1
                if record["kind"] == "result":
                    summary.scored += 1
                    if sink is None:
                        out_file.write(record["payload"] + "\n")
                    else:
                        part_rows.append(json.loads(record["payload"]))
                else:
                    summary.rejected += 1
                    reasons[record["kind"].split(":", 1)[1]] += 1
                    error_file.write(record["payload"] + "\n")
            if sink is not None and part_rows:
                sink.write(shard, part_rows)
    os.replace(staging_errors, errors)
    if sink is None:
        os.replace(staging_output, output)
    else:
        sink.finish()
        sink.cleanup()
    summary.reasons = reasons
    summary.seconds = time.monotonic() - started
    return summary
