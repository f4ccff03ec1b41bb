"""`marsad score`: score an archive, honestly and restartably.

Rows stream in windows; each window is scored (length-sorted inside the inference core),
its results appended to the output and its rejected rows to the errors file, and only then
is the checkpoint (``<output>.progress.json``) replaced atomically. A kill at any moment
leaves the output at most one window ahead of the checkpoint; ``--resume`` cuts it back to
the checkpoint and carries on, so no row is lost or written twice.

Output JSONL: one line per scored row — the service's result shape plus ``row`` and
``text_chars``. Output Parquet: the same as columns (``result`` holds the result as JSON),
written as part files beside the output and joined into it at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from marsad.api import MAX_ARTICLES_PER_REQUEST, ArticleIn, ArticleResult
from marsad.rows import count_rows
from scoring.sources import Columns, Rejection, read_articles

DEFAULT_WINDOW = 256
Scorer = Callable[[Sequence[ArticleIn]], list[ArticleResult]]


class ScoringError(RuntimeError):
    """The job cannot start or continue as asked (the message says what to do)."""


@dataclass
class Summary:
    read: int = 0
    scored: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in self.reasons.most_common()) or "none"
        return (f"read {self.read} = scored {self.scored} + rejected {self.rejected} "
                f"(reasons: {reasons}) in {self.seconds:.1f}s")


@dataclass
class Checkpoint:
    """What has been committed. Offsets are byte sizes of the files at the last commit."""

    input: str
    rows_done: int = 0
    output_bytes: int = 0
    errors_bytes: int = 0
    parts: int = 0
    scored: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    complete: bool = False

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        staging = path.with_name(path.name + ".tmp")
        staging.write_text(json.dumps(self.__dict__, indent=1), encoding="utf-8")
        os.replace(staging, path)


def _fsync_append(path: Path, lines: Iterable[str]) -> int:
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path.stat().st_size


def _truncate(path: Path, size: int) -> None:
    if not path.exists():
        path.touch()
    with open(path, "r+b") as handle:
        handle.truncate(size)


def result_row(row: int, article: ArticleIn, result: ArticleResult) -> dict[str, Any]:
    return {"row": row, "text_chars": len(article.text), **result.model_dump()}


class ParquetSink:
    """Part files ``<output>.parts/part-00001.parquet``, joined into ``<output>`` at the end."""

    def __init__(self, output: Path):
        self.output = output
        self.parts_dir = output.with_name(output.name + ".parts")

    def reset(self, keep_parts: int) -> None:
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        for part in self.parts_dir.glob("part-*.parquet"):
            if int(part.stem.split("-")[1]) > keep_parts:
                part.unlink()

    def write(self, index: int, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([self._flatten(r) for r in rows], schema=self.schema(rows))
        staging = self.parts_dir / f"part-{index:05d}.parquet.tmp"
        pq.write_table(table, staging)
        os.replace(staging, self.parts_dir / f"part-{index:05d}.parquet")

    @staticmethod
    def _flatten(row: dict[str, Any]) -> dict[str, Any]:
        flat = {"id": row["id"], "row": row["row"], "text_chars": row["text_chars"], "warnings": row["warnings"],
                "predicted_topics": [t["label"] for t in row["topics"] if t["predicted"]],
                "result": json.dumps({k: row[k] for k in ("id", "topics", "stances", "warnings")}, ensure_ascii=False)}
        for topic in row["topics"]:
            flat[f"topic_{topic['label']}"] = topic["probability"]
        return flat

    @staticmethod
    def schema(rows: list[dict[str, Any]]):
        import pyarrow as pa

        fields = [("id", pa.string()), ("row", pa.int64()), ("text_chars", pa.int64()),
                  ("warnings", pa.list_(pa.string())), ("predicted_topics", pa.list_(pa.string())),
                  ("result", pa.string())]
        fields += [(f"topic_{t['label']}", pa.float64()) for t in rows[0]["topics"]] if rows else []
        return pa.schema(fields)

    def finish(self) -> None:
        import pyarrow.parquet as pq

        parts = sorted(self.parts_dir.glob("part-*.parquet"))
        staging = self.output.with_name(self.output.name + ".tmp")
        writer = None
        for part in parts:
            table = pq.read_table(part)
            if writer is None:
                writer = pq.ParquetWriter(staging, table.schema)
            writer.write_table(table)
        if writer is None:  # nothing scored: an empty file with no rows
            import pyarrow as pa

            pq.write_table(pa.table({"id": pa.array([], pa.string())}), staging)
        else:
            writer.close()
        os.replace(staging, self.output)

    def cleanup(self) -> None:
        """Remove the part files; only after the checkpoint records the job as complete."""
        shutil.rmtree(self.parts_dir, ignore_errors=True)


def local_scorer(model: str) -> Scorer:
    from marsad.inference import load_classifier

    classifier = load_classifier(model)
    return lambda articles: classifier.classify(articles)


def http_scorer(url: str, timeout: float = 600.0) -> Scorer:
    """Send windows to a running marsad service (``POST {url}/classify``), 64 articles a call."""
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def score(articles: Sequence[ArticleIn]) -> list[ArticleResult]:
        results: list[ArticleResult] = []
        for start in range(0, len(articles), MAX_ARTICLES_PER_REQUEST):
            chunk = articles[start : start + MAX_ARTICLES_PER_REQUEST]
            response = client.post("/classify", json={"articles": [a.model_dump() for a in chunk]})
            if response.status_code != 200:
                raise ScoringError(f"{url} answered {response.status_code}: {response.text[:500]}")
            results.extend(ArticleResult.model_validate(r) for r in response.json()["results"])
        return results

    return score


def score_file(
    source: Path,
    output: Path,
    scorer: Scorer,
    *,
    errors: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    columns: Columns = Columns(),
    window: int = DEFAULT_WINDOW,
    progress: bool = True,
) -> Summary:
    """Score every row of ``source`` into ``output``; rejected rows go to ``errors``."""
    started = time.monotonic()
    errors = errors or output.with_name(output.name + ".errors.jsonl")
    checkpoint_path = output.with_name(output.name + ".progress.json")
    parquet = output.suffix.lower() == ".parquet"
    if not parquet and output.suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        raise ScoringError(f"{output}: write .jsonl or .parquet")
    sink = ParquetSink(output) if parquet else None

    if resume and checkpoint_path.exists():
        checkpoint = Checkpoint.load(checkpoint_path)
        if checkpoint.input != str(source.resolve()):
            raise ScoringError(f"{checkpoint_path} belongs to {checkpoint.input}, not {source}")
        if checkpoint.complete:
            return Summary(checkpoint.rows_done, checkpoint.scored, checkpoint.rejected, Counter(checkpoint.reasons), 0.0)
    else:
        if (output.exists() or checkpoint_path.exists()) and not overwrite:
            raise ScoringError(
                f"{output} already exists: pass --resume to continue an interrupted job or --overwrite to start again"
            )
        for stale in (output, errors, checkpoint_path):
            stale.unlink(missing_ok=True)
        if sink:
            shutil.rmtree(sink.parts_dir, ignore_errors=True)
        checkpoint = Checkpoint(str(source.resolve()))
    if sink:
        sink.reset(checkpoint.parts)
    else:
        _truncate(output, checkpoint.output_bytes)
    _truncate(errors, checkpoint.errors_bytes)

    total = count_rows(source)
    bar = tqdm(total=total, initial=checkpoint.rows_done, unit="row", desc="scoring", disable=not progress, smoothing=0.05)
    rows = read_articles(source, columns, skip=checkpoint.rows_done)
    while True:
        batch = [item for _, item in zip(range(window), rows)]
        if not batch:
            break
        articles = [(n, item) for n, item in batch if isinstance(item, ArticleIn)]
        rejected = [item for _, item in batch if isinstance(item, Rejection)]
        results = scorer([a for _, a in articles]) if articles else []
        scored_rows = [result_row(n, a, r) for (n, a), r in zip(articles, results)]
        if sink and scored_rows:
            checkpoint.parts += 1
            sink.write(checkpoint.parts, scored_rows)
        elif not sink:
            checkpoint.output_bytes = _fsync_append(output, (json.dumps(r, ensure_ascii=False) for r in scored_rows))
        checkpoint.errors_bytes = _fsync_append(errors, (json.dumps(r.to_json(), ensure_ascii=False) for r in rejected))
        checkpoint.rows_done += len(batch)
        checkpoint.scored += len(scored_rows)
        checkpoint.rejected += len(rejected)
        for rejection in rejected:
            checkpoint.reasons[rejection.reason] = checkpoint.reasons.get(rejection.reason, 0) + 1
        checkpoint.save(checkpoint_path)
        bar.update(len(batch))
        bar.set_postfix(rejected=checkpoint.rejected)
    bar.close()
    if sink:
        sink.finish()
    checkpoint.complete = True
    checkpoint.save(checkpoint_path)
    if sink:
        sink.cleanup()
    return Summary(checkpoint.rows_done, checkpoint.scored, checkpoint.rejected, Counter(checkpoint.reasons),
                   time.monotonic() - started)
