"""The API contract: what a client sends and what marsad returns, as pydantic models.

The HTTP service, the batch scorer and the evaluation all speak these types, so an article
scored over HTTP and one scored from a Parquet file give the same JSON.
Validation messages say what was wrong and how to fix it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marsad.schema import LABEL_ID_PATTERN, MAX_ALIAS_CHARS, Actor

MAX_ARTICLE_CHARS = 200_000
"""Longer texts are scored on their first MAX_ARTICLE_CHARS characters, with a warning."""
MAX_ARTICLES_PER_REQUEST = 64
MAX_REQUEST_CHARS = 2_000_000
MAX_EXTRA_ACTORS = 20
MAX_ALIASES_PER_ACTOR = 50
MAX_TITLE_CHARS = 2_000

_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")

EXAMPLE_ARTICLE = {
    "id": "example-1",
    "title": "الكاظمي يزور الكويت لبحث الاستثمارات وملف الطاقة",
    "text": (
        "بغداد - بدأ رئيس الوزراء العراقي مصطفى الكاظمي زيارة رسمية إلى الكويت، "
        "بحث خلالها مع أمير الكويت تعزيز الاستثمارات الكويتية في العراق وربط الشبكة الكهربائية. "
        "وقال مسؤول عراقي إن بغداد تريد علاقات متوازنة مع جيرانها بعيداً عن التدخلات الإيرانية."
    ),
}


def has_arabic(text: str) -> bool:
    return bool(_ARABIC_LETTER.search(text))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ArticleIn(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=256, description="Your id; echoed in the result.")]
    title: Annotated[str, Field(max_length=MAX_TITLE_CHARS)] = ""
    text: str

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is empty: send the article body (at least one Arabic word)")
        return text


class ActorIn(_Strict):
    """An extra actor for one request: found by its aliases, given a stance like the defaults."""

    id: Annotated[str, Field(pattern=LABEL_ID_PATTERN, description="snake_case, e.g. 'oman'")]
    aliases: Annotated[
        list[Annotated[str, Field(min_length=2, max_length=MAX_ALIAS_CHARS)]],
        Field(min_length=1, max_length=MAX_ALIASES_PER_ACTOR),
    ]

    @field_validator("aliases")
    @classmethod
    def _aliases_have_letters(cls, aliases: list[str]) -> list[str]:
        for alias in aliases:
            if not any(ch.isalpha() for ch in alias):
                raise ValueError(f"alias {alias!r} has no letters; aliases are literal words, not patterns")
        return aliases

    def to_actor(self) -> Actor:
        return Actor(id=self.id, name=self.id, aliases=self.aliases)


class ClassifyRequest(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"articles": [EXAMPLE_ARTICLE]}})

    articles: Annotated[list[ArticleIn], Field(min_length=1, max_length=MAX_ARTICLES_PER_REQUEST)]
    actors: Annotated[list[ActorIn], Field(max_length=MAX_EXTRA_ACTORS)] = []
    evidence: bool = True
    strict: bool = Field(
        default=False,
        description="Reject articles with no Arabic letters instead of scoring them with a warning.",
    )

    @model_validator(mode="after")
    def _check_limits(self) -> ClassifyRequest:
        ids = [actor.id for actor in self.actors]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"actor ids must be unique in a request; repeated: {duplicates}")
        total = sum(len(a.text) + len(a.title) for a in self.articles)
        if total > MAX_REQUEST_CHARS:
            raise ValueError(
                f"request holds {total} characters of text, over the limit of {MAX_REQUEST_CHARS}: "
                "split it into several requests"
            )
        if self.strict:
            for index, article in enumerate(self.articles):
                if not has_arabic(article.title + article.text):
                    raise ValueError(
                        f"articles[{index}] ({article.id!r}) has no Arabic letters; marsad reads "
                        "Arabic news (send strict=false to score it anyway, with a warning)"
                    )
        return self


class Span(BaseModel):
    start: int
    end: int
    text: str
    field: Literal["title", "text"] = "text"
    """Which field of the article the offsets index (``text`` unless the span is in the title)."""


class Evidence(Span):
    weight: float
    """Share of the stance head's attention on this sentence (sums to 1 over all sentences)."""


class TopicResult(BaseModel):
    label: str
    probability: float
    predicted: bool
    threshold: float


class StanceResult(BaseModel):
    actor: str
    mentioned: bool
    stance: Literal["favor", "against", "neutral"] | None = None
    probabilities: dict[str, float] | None = None
    mentions: list[Span] = []
    evidence: list[Evidence] = []


class ArticleResult(BaseModel):
    id: str
    topics: list[TopicResult]
    stances: list[StanceResult]
    warnings: list[str] = []


class ModelInfo(BaseModel):
    tag: str
    kind: str
    normalization: str
    created: str


class ClassifyResponse(BaseModel):
    model: ModelInfo
    results: list[ArticleResult]
