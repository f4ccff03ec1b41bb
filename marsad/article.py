"""An article as the model reads it: title and body joined, with offsets back to each field.

Users send ``title`` and ``text`` separately and expect offsets into the field they sent.
The model and the mention finder read one string, :attr:`Article.full_text`; this module is
the one place that knows how the two are joined and how to map a span back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Field = Literal["title", "text"]
TITLE_SEPARATOR = "\n"


@dataclass(frozen=True)
class FieldSpan:
    field: Field
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    title: str = ""

    @property
    def body_offset(self) -> int:
        """Where ``text`` starts inside :attr:`full_text`."""
        return len(self.title) + len(TITLE_SEPARATOR) if self.title else 0

    @property
    def full_text(self) -> str:
        return f"{self.title}{TITLE_SEPARATOR}{self.text}" if self.title else self.text

    def field_span(self, start: int, end: int) -> FieldSpan:
        """Map a span of :attr:`full_text` to the field it lies in, with that field's offsets."""
        offset = self.body_offset
        if self.title and start < len(self.title):
            return FieldSpan("title", start, min(end, len(self.title)))
        return FieldSpan("text", max(start - offset, 0), end - offset)
