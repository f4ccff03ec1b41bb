"""Arabic text normalisation: small named rewrites, composed into two versioned pipelines.

Every rewrite is a precompiled regex with its replacement (a :class:`Rewrite`), so the same
object serves two uses:

* ``strip_tashkeel(text)`` and friends: plain ``str -> str`` functions for callers that only
  want the text;
* :func:`normalize_aligned`: runs a pipeline while keeping, for every output character, the
  span of the original text it came from. Mentions and evidence are found on normalised
  text but must be reported as offsets into the text the user sent.

``MODEL_PIPELINE`` prepares model input; ``MATCH_PIPELINE`` is stricter (teh marbuta, hamza
carriers, case) and is only used to match aliases. Change either one and bump its version:
the model artifact records the version it was trained with, and serving refuses a mismatch.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Rewrite:
    """One named normalisation step: every match of ``pattern`` becomes ``replacement``."""

    name: str
    pattern: re.Pattern[str]
    replacement: Replacement

    def replace(self, match: re.Match[str]) -> str:
        if callable(self.replacement):
            return self.replacement(match)
        return match.expand(self.replacement)

    def __call__(self, text: str) -> str:
        return self.pattern.sub(self.replace, text)


def _nfc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFC", match.group())


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _hashtag_words(match: re.Match[str]) -> str:
    return match.group().replace("_", " ")


_COMBINING_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u08d3-\u08ff"
_TASHKEEL = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u08d3-\u08ff"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_DIGIT_MAP = {c: str(i) for i, c in enumerate(_ARABIC_DIGITS)} | {
    c: str(i) for i, c in enumerate(_PERSIAN_DIGITS)
}

remove_invisible_chars = Rewrite(
    "remove_invisible_chars",
    re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad]"),
    "",
)
"""Zero-width and bidi control characters, soft hyphens: invisible, but they split words."""

strip_html_tags = Rewrite(
    "strip_html_tags",
    re.compile(r"</?(?:br|p|div|span|b|i|strong|em|a)(?:\s[^<>]{0,200})?/?>", re.IGNORECASE),
    " ",
)
"""Stray inline HTML tags left by scrapers (``<br>``, ``<p>``): replaced by a space."""

unescape_html_entities = Rewrite(
    "unescape_html_entities",
    re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});"),
    _unescape,
)
"""``&quot;``, ``&amp;``, ``&#1575;`` → the characters they stand for."""

normalize_unicode_nfc = Rewrite(
    "normalize_unicode_nfc",
    re.compile(f".[{_COMBINING_MARKS}]+", re.DOTALL),
    _nfc,
)
"""Compose base letter + combining mark sequences (e.g. alef + hamza above → أ) as NFC does."""

strip_tashkeel = Rewrite("strip_tashkeel", re.compile(f"[{_TASHKEEL}]"), "")
"""Remove short vowels, shadda, sukun, tanween and Quranic marks."""

strip_tatweel = Rewrite("strip_tatweel", re.compile("\u0640"), "")
"""Remove the kashida (ـ) used to stretch words."""

normalize_alef = Rewrite("normalize_alef", re.compile("[أإآٱ]"), "ا")
"""أ إ آ ٱ → ا: writers use hamza-less alef freely, so the variants carry no signal."""

normalize_alef_maksura = Rewrite("normalize_alef_maksura", re.compile("ى"), "ي")
"""ى → ي: final yeh is written both ways."""

normalize_digits = Rewrite(
    "normalize_digits",
    re.compile(f"[{_ARABIC_DIGITS}{_PERSIAN_DIGITS}]"),
    lambda m: _DIGIT_MAP[m.group()],
)
"""Arabic-Indic and Persian digits → ASCII digits."""

split_hashtag_words = Rewrite("split_hashtag_words", re.compile(r"#\w+"), _hashtag_words)
"""``#الكويت_تجمعنا`` → ``#الكويت تجمعنا``: underscores inside a hashtag become spaces."""

strip_hashtag_signs = Rewrite("strip_hashtag_signs", re.compile(r"#(?=\w)"), "")
"""``#طهران`` → ``طهران``."""

collapse_whitespace = Rewrite(
    "collapse_whitespace",
    re.compile(r"[^\S\n]*\n\s*|[^\S\n]{2,}|[\t\r\f\v\u00a0\u2000-\u200a\u3000]"),
    lambda m: "\n" if "\n" in m.group() else " ",
)
"""Runs of spaces become one space; blank lines and indentation collapse to one newline."""

normalize_teh_marbuta = Rewrite("normalize_teh_marbuta", re.compile("ة"), "ه")
"""ة → ه (matching only): the two are confused in informal and scraped text."""

normalize_hamza_carriers = Rewrite(
    "normalize_hamza_carriers",
    re.compile("[ؤئء]"),
    lambda m: {"ؤ": "و", "ئ": "ي", "ء": ""}[m.group()],
)
"""ؤ → و, ئ → ي, lone ء dropped (matching only): قاآني and قاءاني become one spelling."""

lowercase_latin = Rewrite("lowercase_latin", re.compile("[A-Z]+"), lambda m: m.group().lower())
"""Latin capitals → lower case (matching only)."""


MODEL_PIPELINE_VERSION = "model-v2"
MODEL_PIPELINE: tuple[Rewrite, ...] = (
    remove_invisible_chars,
    strip_html_tags,
    unescape_html_entities,
    normalize_unicode_nfc,
    strip_tashkeel,
    strip_tatweel,
    normalize_digits,
    split_hashtag_words,
    strip_hashtag_signs,
    collapse_whitespace,
)
"""What the encoder sees. Versioned: artifacts record it and serving checks it.

v2 keeps hamza forms and alef maksura (v1 folded them): the encoder learnt its vocabulary
from text written with them, and folding split words into rarer pieces (إلى → الي). On the
real evaluation articles this raised every headline metric."""

MATCH_PIPELINE_VERSION = "match-v1"
MATCH_PIPELINE: tuple[Rewrite, ...] = MODEL_PIPELINE[:-1] + (
    normalize_alef,
    normalize_alef_maksura,
    normalize_teh_marbuta,
    normalize_hamza_carriers,
    lowercase_latin,
    collapse_whitespace,
)
"""Stricter, for matching actor aliases only; never fed to the model."""


@dataclass(frozen=True)
class AlignedText:
    """Normalised text plus, for each of its characters, the original span it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` in the normalised text to ``[start, end)`` in the original."""
        if end <= start:
            raise ValueError(f"empty span [{start}, {end})")
        return self.starts[start], self.ends[end - 1]


def _apply_aligned(rewrite: Rewrite, aligned: AlignedText) -> AlignedText:
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    text = aligned.text
    for match in rewrite.pattern.finditer(text):
        begin, finish = match.span()
        pieces.append(text[position:begin])
        starts.extend(aligned.starts[position:begin])
        ends.extend(aligned.ends[position:begin])
        replacement = rewrite.replace(match)
        pieces.append(replacement)
        if len(replacement) == finish - begin:
            starts.extend(aligned.starts[begin:finish])
            ends.extend(aligned.ends[begin:finish])
        elif replacement:
            span_start, span_end = aligned.starts[begin], aligned.ends[finish - 1]
            starts.extend([span_start] * len(replacement))
            ends.extend([span_end] * len(replacement))
        elif ends and ends[-1] == aligned.starts[begin]:
            # A deletion right after a kept character (tashkeel, tatweel) belongs to it, so a
            # span ending at that character still covers its marks in the original.
            ends[-1] = aligned.ends[finish - 1]
        position = finish
    if not pieces:
        return aligned
    pieces.append(text[position:])
    starts.extend(aligned.starts[position:])
    ends.extend(aligned.ends[position:])
    return AlignedText("".join(pieces), tuple(starts), tuple(ends))


def normalize_aligned(text: str, pipeline: Sequence[Rewrite]) -> AlignedText:
    """Run ``pipeline`` over ``text`` keeping the alignment to the original characters."""
    aligned = AlignedText(text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    for rewrite in pipeline:
        aligned = _apply_aligned(rewrite, aligned)
    return aligned


def normalize(text: str, pipeline: Sequence[Rewrite] = MODEL_PIPELINE) -> str:
    """Run ``pipeline`` over ``text`` (no alignment kept; cheaper)."""
    for rewrite in pipeline:
        text = rewrite(text)
    return text


def normalize_for_model(text: str) -> str:
    """The model-input normalisation (``MODEL_PIPELINE``)."""
    return normalize(text, MODEL_PIPELINE)


def normalize_for_matching(text: str) -> str:
    """The alias-matching normalisation (``MATCH_PIPELINE``)."""
    return normalize(text, MATCH_PIPELINE)
