"""Sentence splitting for Arabic news, with character offsets into the original text.

Evidence is reported as sentences of the text the user sent, so the splitter works on the
original text (never on a normalised copy) and returns spans, not just strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(
    r"""
    [.!?؟؛;]+                 # one or more terminators: . ! ? ؟ ؛ ;
    [\"'»”’)\]]*              # closing quotes or brackets stay with the sentence
    (?=\s|$)                  # only before whitespace: 49.5 and U.S. stay whole
    |\n                       # a line break always ends a sentence
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` at . ؟ ! ؛ (and ASCII ? ; !) and at line breaks.

    Each sentence is trimmed of surrounding whitespace and keeps its ``[start, end)`` offsets
    into ``text``; empty pieces are dropped.
    """
    sentences: list[Sentence] = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(text, position, match.end(), sentences)
        position = match.end()
    _append_trimmed(text, position, len(text), sentences)
    return sentences


def _append_trimmed(text: str, start: int, end: int, out: list[Sentence]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    begin = start + (len(piece) - len(piece.lstrip()))
    out.append(Sentence(begin, begin + len(stripped), stripped))
