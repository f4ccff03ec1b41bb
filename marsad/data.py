"""The data layer: annotated articles from JSONL, CSV or Parquet into a validated `datasets.Dataset`.

Every record is checked against the label schema and the mention finder. Problems are never
dropped silently: each one names the file, the line (or row) and what to fix. By default a
single problem fails the load (training must not learn from broken labels); ``lenient=True``
skips bad records and counts them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from marsad.article import Article
from marsad.rows import read_rows, row_format
from marsad.schema import LabelSchema
from marsad.text.mentions import MentionFinder

OPTIONAL_TEXT_FIELDS = ("source", "date", "url")

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "text": datasets.Value("string"),
        "topics": datasets.List(datasets.Value("string")),
        "stances": datasets.List(
            {"actor": datasets.Value("string"), "stance": datasets.Value("string")}
        ),
        **{name: datasets.Value("string") for name in OPTIONAL_TEXT_FIELDS},
    }
)


class DataError(ValueError):
    """The data failed validation; ``problems`` lists every bad record."""

    def __init__(self, problems: Sequence[DataProblem]):
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(
            f"{len(self.problems)} invalid record(s); fix them or pass --lenient to skip them:\n"
            f"{shown}{more}"
        )


@dataclass(frozen=True)
class DataProblem:
    """One reason a record was rejected (or, for warnings, looks suspicious)."""

    path: str
    line: int
    kind: str
    message: str
    record_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        who = f" [{self.record_id}]" if self.record_id else ""
        return f"{where}{who} {self.kind}: {self.message}"


@dataclass
class LoadedData:
    dataset: datasets.Dataset
    problems: list[DataProblem] = field(default_factory=list)
    warnings: list[DataProblem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """Each input file and the SHA-256 of its bytes (for provenance)."""

    @property
    def problem_counts(self) -> Counter[str]:
        return Counter(p.kind for p in self.problems)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(files: dict[str, str]) -> str:
    """One hash for a set of input files (order-independent, content-based)."""
    digest = hashlib.sha256()
    for sha in sorted(files.values()):
        digest.update(sha.encode())
    return digest.hexdigest()


def iter_raw_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of an annotated file (see :func:`marsad.rows.read_rows`), with the ``topics`` and
    ``stances`` columns of CSV and Parquet decoded from JSON."""
    if row_format(path) == "jsonl":
        yield from read_rows(path)
        return
    for number, row in read_rows(path):
        yield number, _decode_json_columns(row)


def _decode_json_columns(row: dict[str, Any]) -> dict[str, Any] | ValueError:
    """CSV and Parquet carry ``topics``/``stances`` as JSON strings (or native lists/maps)."""
    decoded = dict(row)
    for key in ("topics", "stances"):
        value = decoded.get(key)
        if isinstance(value, str):
            try:
                decoded[key] = json.loads(value) if value.strip() else ([] if key == "topics" else {})
            except json.JSONDecodeError as error:
                return ValueError(f"column {key!r} is not valid JSON: {error.msg}")
        elif key == "stances" and isinstance(value, list):  # a Parquet map arrives as pairs
            decoded[key] = dict(value)
    return decoded


class RecordValidator:
    """Checks records against the schema and the mention finder; remembers ids seen."""

    def __init__(self, schema: LabelSchema, finder: MentionFinder | None = None, check_mentions: bool = True):
        self.schema = schema
        self.finder = (finder or MentionFinder(schema.actors)) if check_mentions else None
        self._topics = set(schema.topic_ids)
        self._actors = set(schema.actor_ids)
        self._stances = set(schema.stance_ids)
        self._seen_ids: dict[str, str] = {}

    def check(self, path: str, line: int, raw: Any) -> tuple[dict[str, Any] | None, list[DataProblem], list[DataProblem]]:
        """Return ``(clean_record_or_None, problems, warnings)`` for one raw row."""

        def problem(kind: str, message: str, record_id: str | None = None) -> DataProblem:
            return DataProblem(path, line, kind, message, record_id)

        if isinstance(raw, json.JSONDecodeError):
            return None, [problem("bad_json", f"not valid JSON ({raw.msg} at column {raw.colno})")], []
        if isinstance(raw, ValueError):
            return None, [problem("bad_json", str(raw))], []
        if not isinstance(raw, dict):
            return None, [problem("wrong_type", f"a record must be a JSON object, got {type(raw).__name__}")], []

        problems: list[DataProblem] = []
        record_id = raw.get("id")
        if not isinstance(record_id, str) or not record_id.strip():
            problems.append(problem("missing_id", "'id' must be a non-empty string"))
            record_id = None
        elif record_id in self._seen_ids:
            problems.append(
                problem("duplicate_id", f"id already used at {self._seen_ids[record_id]}", record_id)
            )
        else:
            self._seen_ids[record_id] = f"{path}:{line}"

        text, title = raw.get("text"), raw.get("title", "")
        if title is None:
            title = ""
        if not isinstance(text, str):
            problems.append(problem("wrong_type", f"'text' must be a string, got {type(text).__name__}", record_id))
        elif not text.strip():
            problems.append(problem("empty_text", "'text' is empty: give the article body", record_id))
        if not isinstance(title, str):
            problems.append(problem("wrong_type", f"'title' must be a string, got {type(title).__name__}", record_id))

        topics = raw.get("topics")
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            problems.append(problem("wrong_type", "'topics' must be a list of topic ids", record_id))
            topics = []
        for topic in topics:
            if topic not in self._topics:
                problems.append(
                    problem("unknown_topic", f"{topic!r} is not a topic; use one of {sorted(self._topics)}", record_id)
                )
        if len(set(topics)) != len(topics):
            problems.append(problem("duplicate_topic", f"topics repeat: {topics}", record_id))

        stances = raw.get("stances")
        if not isinstance(stances, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in stances.items()
        ):
            problems.append(problem("wrong_type", "'stances' must map actor ids to stance ids", record_id))
            stances = {}
        for actor, stance in stances.items():
            if actor not in self._actors:
                problems.append(
                    problem("unknown_actor", f"{actor!r} is not an actor; use one of {sorted(self._actors)}", record_id)
                )
            if stance not in self._stances:
                problems.append(
                    problem("unknown_stance", f"{actor}: {stance!r} is not one of {sorted(self._stances)}", record_id)
                )

        warnings: list[DataProblem] = []
        if self.finder is not None and isinstance(text, str) and isinstance(title, str) and text.strip():
            found = self.finder.mentioned_actors(Article(record_id or "", text, title).full_text)
            for actor in sorted(set(stances) & self._actors - found):
                problems.append(
                    problem(
                        "stance_without_mention",
                        f"stance given for {actor!r} but the text never mentions it "
                        "(add the alias to configs/labels.yaml or drop the stance)",
                        record_id,
                    )
                )
            for actor in sorted(found - set(stances)):
                warnings.append(
                    problem("unlabeled_mention", f"{actor!r} is mentioned but has no stance", record_id)
                )

        if problems:
            return None, problems, warnings
        record = {
            "id": record_id,
            "title": title,
            "text": text,
            "topics": list(topics),
            "stances": [{"actor": a, "stance": s} for a, s in stances.items()],
            **{name: str(raw.get(name) or "") for name in OPTIONAL_TEXT_FIELDS},
        }
        return record, [], warnings


def load_annotated(
    paths: Sequence[str | Path],
    schema: LabelSchema,
    *,
    lenient: bool = False,
    finder: MentionFinder | None = None,
) -> LoadedData:
    """Load and validate annotated articles from one or more files.

    Raises :class:`DataError` listing every problem unless ``lenient``; with ``lenient`` the
    bad records are skipped and returned in ``problems``.
    """
    validator = RecordValidator(schema, finder)
    records: list[dict[str, Any]] = []
    problems: list[DataProblem] = []
    warnings: list[DataProblem] = []
    files: dict[str, str] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"data file not found: {path}")
        files[str(path)] = file_sha256(path)
        for line, raw in iter_raw_rows(path):
            record, record_problems, record_warnings = validator.check(str(path), line, raw)
            problems.extend(record_problems)
            warnings.extend(record_warnings)
            if record is not None:
                records.append(record)
    if problems and not lenient:
        raise DataError(problems)
    dataset = datasets.Dataset.from_list(records, features=FEATURES)
    return LoadedData(dataset, problems, warnings, files)


def stance_dict(row: dict[str, Any]) -> dict[str, str]:
    """The ``stances`` column of a dataset row back as ``{actor: stance}``."""
    return {item["actor"]: item["stance"] for item in row["stances"]}
