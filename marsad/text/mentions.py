"""Finding actor mentions in Arabic text.

Aliases are literal text (never regex). They are matched on strictly normalised text
(:data:`~marsad.text.normalize.MATCH_PIPELINE`) and reported as spans of the original text.

Arabic attaches clitics to the word, so a bare substring search is both too loose (قطر in
قطرات) and too strict (للكويت, بالإيرانية). Each alias is matched as a whole word, allowing:

* the proclitics و/ف, then ب/ل/ك, then the article ال, in that order; ل + ال is written لل;
* for demonyms (nisba stems such as إيراني) the inflections ة ين ون ان تين تان ات.

Phrases listed under an actor's ``exclude`` (``روسيا اليوم``, ``تركي الفيصل``) and datelines
(the place line that opens a wire story, ``بغداد - ...``) never count as mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from marsad.schema import Actor
from marsad.text.normalize import MATCH_PIPELINE, normalize_aligned, normalize_for_matching

_CONJUNCTION = "[وف]?"
_PREPOSITION = "[بلك]?"
_DEMONYM_SUFFIX = "(?:ه|ين|ون|ان|تين|تان|ات)?"
_ARTICLE = "ال"

_DATELINE = re.compile(
    r"""
    (?:^|(?<=\n))[^\S\n]*              # at the start of a line
    (?P<place>[^\n.!?؟:«"\-–—()]{2,60}?) # a short place name (possibly "city، country")
    [^\S\n]*(?:\([^()\n]{1,30}\))?     # optional agency: (رويترز), (CNN), (أ ف ب)
    [^\S\n]*(?:--?|–|—)[^\S\n]         # then a dash and a space
    """,
    re.VERBOSE,
)
_MAX_DATELINE_WORDS = 5


@dataclass(frozen=True)
class Mention:
    """One occurrence of an actor: ``text[start:end]`` of the original text."""

    actor: str
    start: int
    end: int
    text: str


def _alternation(forms: Iterable[str]) -> str:
    """Literal forms as a regex alternation, longest first so the longest alias wins."""
    unique = sorted(set(forms), key=lambda f: (-len(f), f))
    return "|".join(re.escape(form).replace(r"\ ", r"\s*") for form in unique)


def _word_pattern(names: Sequence[str], demonyms: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for an actor: every alias with its clitics, bounded as a whole word."""
    with_article = [n for n in names if n.startswith(_ARTICLE)]
    bare = [n for n in names if not n.startswith(_ARTICLE)]
    branches: list[str] = []
    if bare:
        branches.append(f"{_PREPOSITION}(?:{_alternation(bare)})")
    if with_article:
        branches.append(f"[بك]?(?:{_alternation(with_article)})")
        branches.append(f"ل(?:{_alternation(n[1:] for n in with_article)})")
    if demonyms:
        stems = _alternation(demonyms)
        branches.append(f"{_PREPOSITION}(?:{stems}){_DEMONYM_SUFFIX}")
        branches.append(f"[بك]?{_ARTICLE}(?:{stems}){_DEMONYM_SUFFIX}")
        branches.append(f"لل(?:{stems}){_DEMONYM_SUFFIX}")
    if not branches:
        return None
    return re.compile(rf"(?<!\w){_CONJUNCTION}(?:{'|'.join(branches)})(?!\w)")


def _matchable(forms: Iterable[str]) -> list[str]:
    return [f for f in (normalize_for_matching(form).strip() for form in forms) if f]


@dataclass(frozen=True)
class _CompiledActor:
    id: str
    pattern: re.Pattern[str] | None
    exclude: re.Pattern[str] | None

    @classmethod
    def build(cls, actor: Actor) -> _CompiledActor:
        names = _matchable(actor.aliases)
        demonyms = _matchable(actor.demonyms)
        exclude = _matchable(actor.exclude)
        return cls(
            actor.id,
            _word_pattern(names, demonyms),
            _word_pattern(exclude, []) if exclude else None,
        )

    def spans(self, matchable: str) -> list[tuple[int, int]]:
        if self.pattern is None:
            return []
        excluded = (
            [m.span() for m in self.exclude.finditer(matchable)] if self.exclude else []
        )
        return [
            match.span()
            for match in self.pattern.finditer(matchable)
            if not any(s <= match.start() and match.end() <= e for s, e in excluded)
        ]


def dateline_spans(text: str) -> list[tuple[int, int]]:
    """Spans of wire-story datelines (``بغداد - ``, ``دبي، الإمارات (CNN) --``) in ``text``."""
    spans = []
    for match in _DATELINE.finditer(text):
        if len(match.group("place").split()) <= _MAX_DATELINE_WORDS:
            spans.append(match.span())
    return spans


class MentionFinder:
    """Finds mentions of a fixed set of actors; more can be added per call.

    Compiling the patterns is the costly part, so build one finder per schema and reuse it.
    """

    def __init__(self, actors: Sequence[Actor]):
        self._actors = [_CompiledActor.build(actor) for actor in actors]

    @cached_property
    def actor_ids(self) -> list[str]:
        return [actor.id for actor in self._actors]

    def find(self, text: str, extra_actors: Sequence[Actor] = ()) -> list[Mention]:
        """All mentions in ``text``, ordered by position, with spans into ``text``."""
        aligned = normalize_aligned(text, MATCH_PIPELINE)
        datelines = dateline_spans(text)
        actors = self._actors + [_CompiledActor.build(actor) for actor in extra_actors]
        mentions = []
        for actor in actors:
            for start, end in actor.spans(aligned.text):
                original_start, original_end = aligned.original_span(start, end)
                if any(s <= original_start < e for s, e in datelines):
                    continue
                mentions.append(
                    Mention(actor.id, original_start, original_end, text[original_start:original_end])
                )
        mentions.sort(key=lambda m: (m.start, m.end, m.actor))
        return mentions

    def mentioned_actors(self, text: str, extra_actors: Sequence[Actor] = ()) -> set[str]:
        """Ids of the actors mentioned at least once in ``text``."""
        return {mention.actor for mention in self.find(text, extra_actors)}
