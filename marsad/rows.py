"""Streaming rows from JSONL, CSV or Parquet files: the one reader behind the data layer and
batch scoring.

Nothing is read whole: JSONL line by line, CSV and Parquet in chunks. Each row keeps its
number so a bad one can be found again: for JSONL and CSV the line in the file (CSV's header is
line 1), for Parquet the row counted from 1. A JSONL line that is not valid JSON is yielded as
its ``json.JSONDecodeError`` so the caller can report it instead of losing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK_ROWS = 2_000
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def row_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; use .jsonl, .csv or .parquet") from None


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """``(row number, parsed row or its parse error)``; blank JSONL lines are skipped."""
    kind = row_format(path)
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

        line = 1
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
            for row in chunk.to_dict(orient="records"):
                line += 1
                yield line, row
    else:
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def count_rows(path: Path) -> int | None:
    """Rows in the file if cheap to know (for a progress bar's ETA), else None."""
    kind = row_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if kind == "jsonl":
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    return None
