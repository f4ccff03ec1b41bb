"""The label schema: topics, stance classes and actors, validated once.

`configs/labels.yaml` is the contract shared by data, model and API. It is loaded into one
:class:`LabelSchema` object; every model artifact embeds a copy (as JSON), so serving never
needs the YAML file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LABEL_ID_PATTERN = r"^[a-z][a-z0-9_]{1,47}$"
"""Ids of topics, stances and actors: snake_case ASCII, 2–48 characters."""

MAX_ALIAS_CHARS = 100
LabelId = Annotated[str, Field(pattern=LABEL_ID_PATTERN)]
Alias = Annotated[str, Field(min_length=2, max_length=MAX_ALIAS_CHARS)]

STANCE_IDS = ("favor", "against", "neutral")
"""The fixed order of the stance classes; model logits follow it."""


class SchemaError(ValueError):
    """A label schema file (or a request's actor list) is invalid; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(_Strict):
    id: LabelId
    name: str
    definition: str


class StanceClass(_Strict):
    id: LabelId
    definition: str


class Actor(_Strict):
    """An actor whose mentions are found by alias and whose portrayal gets a stance."""

    id: LabelId
    name: str = ""
    aliases: list[Alias] = Field(min_length=1)
    demonyms: list[Alias] = Field(default_factory=list)
    exclude: list[Alias] = Field(default_factory=list)

    @field_validator("aliases", "demonyms", "exclude")
    @classmethod
    def _no_blank_entries(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.search(r"\w", value):
                raise ValueError(f"entry {value!r} has no letters")
        return values


class LabelSchema(_Strict):
    guidelines_version: str
    topics: list[Topic] = Field(min_length=1)
    stances: list[StanceClass]
    actors: list[Actor] = Field(min_length=1)

    @field_validator("stances")
    @classmethod
    def _stances_are_the_fixed_three(cls, stances: list[StanceClass]) -> list[StanceClass]:
        ids = tuple(s.id for s in stances)
        if ids != STANCE_IDS:
            raise ValueError(f"must be exactly {list(STANCE_IDS)} in this order, got {list(ids)}")
        return stances

    @model_validator(mode="after")
    def _ids_are_unique(self) -> LabelSchema:
        for kind, items in (("topics", self.topics), ("actors", self.actors)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{kind}: duplicate id {item.id!r}")
                seen.add(item.id)
        return self

    @property
    def topic_ids(self) -> list[str]:
        return [t.id for t in self.topics]

    @property
    def actor_ids(self) -> list[str]:
        return [a.id for a in self.actors]

    @property
    def stance_ids(self) -> list[str]:
        return list(STANCE_IDS)

    def actor(self, actor_id: str) -> Actor:
        for actor in self.actors:
            if actor.id == actor_id:
                return actor
        raise KeyError(f"unknown actor {actor_id!r}; known: {', '.join(self.actor_ids)}")


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def parse_label_schema(data: object, source: str = "<label schema>") -> LabelSchema:
    """Validate already-parsed data; errors name the offending key (e.g. ``actors.3.aliases``)."""
    try:
        return LabelSchema.model_validate(data)
    except ValidationError as error:
        raise SchemaError(f"{source} is not a valid label schema:\n{_describe(error)}") from None


def load_label_schema(path: str | Path) -> LabelSchema:
    """Load and validate a label schema YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"label schema file not found: {path}") from None
    except yaml.YAMLError as error:
        raise SchemaError(f"{path} is not valid YAML: {error}") from None
    return parse_label_schema(data, str(path))


def default_labels_path() -> Path:
    """`configs/labels.yaml` of the source checkout (training and tests read it from there)."""
    return Path(__file__).resolve().parent.parent / "configs" / "labels.yaml"
