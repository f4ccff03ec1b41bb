"""Input rows for batch scoring become :class:`~marsad.api.ArticleIn` or a :class:`Rejection`
saying why not. Rows stream from :func:`marsad.rows.read_rows`, so memory stays flat whatever
the file size, and keep their numbers so a rejected row can be found again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from marsad.api import ArticleIn
from marsad.rows import read_rows

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
    for index, (number, raw) in enumerate(read_rows(path)):
        if index < skip:
            continue
        yield number, to_article(number, raw, columns)
