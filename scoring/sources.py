"""Streaming input for batch scoring: rows of JSONL, CSV or Parquet, one at a time.

Nothing is read whole: JSONL line by line, CSV and Parquet in chunks, so memory stays flat
whatever the file size. Each row keeps its number (JSONL/CSV: the line in the file; Parquet:
the row, from 1) so a rejected row can be found again. Rows become :class:`~marsad.api.ArticleIn`
or a :class:`Rejection` saying why not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from marsad.api import ArticleIn

CSV_CHUNK_ROWS = 2_000
PARQUET_BATCH_ROWS = 2_000


@dataclass(frozen=True)
class Columns:
    id: str = "id"
    text: str = "text"
    title: str = "title"


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str
    message: str
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "id": self.id, "reason": self.reason, "message": self.message}


def input_format(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if suffix not in formats:
        raise ValueError(f"{path}: unsupported input type {suffix!r}; use .jsonl, .csv or .parquet")
    return formats[suffix]


def count_rows(path: Path) -> int | None:
    """Rows in the input if cheap to know (for the progress bar's ETA), else None."""
    kind = input_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if kind == "jsonl":
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    return None


def _raw_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """``(row number, parsed row or the parse error)``; blank JSONL lines are skipped."""
    kind = input_format(path)
    if kind == "jsonl":
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, error
    elif kind == "csv":
        import pandas as pd

        line = 1  # the header
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CSV_CHUNK_ROWS):
            for row in chunk.to_dict(orient="records"):
                line += 1
                yield line, row
    else:
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def to_article(number: int, raw: Any, columns: Columns) -> ArticleIn | Rejection:
    if isinstance(raw, json.JSONDecodeError):
        return Rejection(number, "bad_json", f"not valid JSON ({raw.msg} at column {raw.colno})")
    if not isinstance(raw, dict):
        return Rejection(number, "wrong_type", f"a row must be an object, got {type(raw).__name__}")
    article_id = raw.get(columns.id)
    if isinstance(article_id, int | float) and not isinstance(article_id, bool):
        article_id = str(int(article_id)) if float(article_id).is_integer() else str(article_id)
    if not isinstance(article_id, str) or not article_id.strip():
        return Rejection(number, "missing_id", f"column {columns.id!r} is missing or empty")
    text = raw.get(columns.text)
    if text is None:
        return Rejection(number, "missing_text", f"column {columns.text!r} is missing", article_id)
    if not isinstance(text, str):
        return Rejection(number, "wrong_type", f"column {columns.text!r} must be text, got {type(text).__name__}", article_id)
    title = raw.get(columns.title)
    if title is not None and not isinstance(title, str):
        return Rejection(number, "wrong_type", f"column {columns.title!r} must be text, got {type(title).__name__}", article_id)
    try:
        return ArticleIn(id=article_id, text=text, title=title or "")
    except ValidationError as error:
        first = error.errors()[0]
        reason = "empty_text" if "empty" in first["msg"] else "invalid"
        field = ".".join(map(str, first["loc"]))
        return Rejection(number, reason, f"{field}: {first['msg']}", article_id)


def read_articles(path: Path, columns: Columns, skip: int = 0) -> Iterator[tuple[int, ArticleIn | Rejection]]:
    """Articles (or rejections) in input order, after skipping the first ``skip`` rows."""
    for index, (number, raw) in enumerate(_raw_rows(path)):
        if index < skip:
            continue
        yield number, to_article(number, raw, columns)
