"""The data layer: every kind of bad record is reported with file and line, never dropped."""

import json

import pandas as pd
import pytest

from marsad.data import DataError, load_annotated, stance_dict

GOOD = {
    "id": "a1",
    "title": "الكويت تستضيف مؤتمر إعادة إعمار العراق",
    "text": "أعلنت الكويت أنها ستستضيف مؤتمراً دولياً لدعم العراق بمشاركة الحكومة العراقية.",
    "topics": ["economy", "gulf_rapprochement"],
    "stances": {"kuwait": "favor", "iraqi_government": "neutral"},
    "source": "test",
}


OTHER = {**GOOD, "id": "b1"}


def write_jsonl(path, rows):
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_file_loads_into_a_dataset(tmp_path, schema):
    loaded = load_annotated([write_jsonl(tmp_path / "good.jsonl", [GOOD])], schema)
    row = loaded.dataset[0]
    assert row["id"] == "a1" and row["topics"] == ["economy", "gulf_rapprochement"]
    assert stance_dict(row) == {"kuwait": "favor", "iraqi_government": "neutral"}
    assert row["source"] == "test" and row["date"] == ""
    assert set(loaded.files) == {str(tmp_path / "good.jsonl")} and loaded.problems == []


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ('{"id": "b", "text": "نص" ', "bad_json"),
        ("[1, 2]", "wrong_type"),
        ({**OTHER, "id": ""}, "missing_id"),
        ({**OTHER, "text": "   "}, "empty_text"),
        ({**OTHER, "text": 42}, "wrong_type"),
        ({**OTHER, "topics": "economy"}, "wrong_type"),
        ({**OTHER, "topics": ["economy", "sports"]}, "unknown_topic"),
        ({**OTHER, "topics": ["economy", "economy"]}, "duplicate_topic"),
        ({**OTHER, "stances": {"oman": "favor", "kuwait": "favor", "iraqi_government": "neutral"}}, "unknown_actor"),
        ({**OTHER, "stances": {"kuwait": "positive", "iraqi_government": "neutral"}}, "unknown_stance"),
        ({**OTHER, "stances": {**GOOD["stances"], "russia": "neutral"}}, "stance_without_mention"),
        ({**GOOD}, "duplicate_id"),
    ],
)
def test_each_problem_is_reported_with_file_and_line(tmp_path, schema, bad, kind):
    path = write_jsonl(tmp_path / "data.jsonl", [GOOD, bad])
    with pytest.raises(DataError) as error:
        load_annotated([path], schema)
    problems = error.value.problems
    assert [p.kind for p in problems] == [kind]
    assert problems[0].path == str(path) and problems[0].line == 2
    assert f"{path}:2" in str(error.value) and "--lenient" in str(error.value)


def test_lenient_mode_skips_and_counts(tmp_path, schema):
    path = write_jsonl(tmp_path / "data.jsonl", [GOOD, "{oops", {**GOOD, "id": "a2", "topics": ["x"]}, {**GOOD, "id": "a3"}])
    loaded = load_annotated([path], schema, lenient=True)
    assert [r["id"] for r in loaded.dataset] == ["a1", "a3"]
    assert loaded.problem_counts == {"bad_json": 1, "unknown_topic": 1}


def test_duplicate_ids_are_caught_across_files(tmp_path, schema):
    first = write_jsonl(tmp_path / "one.jsonl", [GOOD])
    second = write_jsonl(tmp_path / "two.jsonl", [GOOD])
    with pytest.raises(DataError, match="already used at .*one.jsonl:1"):
        load_annotated([first, second], schema)


def test_unlabelled_mentions_are_warnings_not_errors(tmp_path, schema):
    row = {**GOOD, "text": GOOD["text"] + " وحضر ممثل عن تركيا."}
    loaded = load_annotated([write_jsonl(tmp_path / "d.jsonl", [row])], schema)
    assert [(w.kind, w.line) for w in loaded.warnings] == [("unlabeled_mention", 1)]
    assert "'turkey'" in loaded.warnings[0].message


def test_csv_and_parquet_carry_the_same_records(tmp_path, schema):
    frame = pd.DataFrame(
        [{**GOOD, "topics": json.dumps(GOOD["topics"]), "stances": json.dumps(GOOD["stances"], ensure_ascii=False)},
         {**GOOD, "id": "a2", "topics": "[]", "stances": "{not json"}]
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    for name in ("d.csv", "d.parquet"):
        loaded = load_annotated([tmp_path / name], schema, lenient=True)
        assert [r["id"] for r in loaded.dataset] == ["a1"]
        assert loaded.problems[0].kind == "bad_json"
        assert loaded.problems[0].line == (3 if name.endswith(".csv") else 2)


def test_missing_file_and_unknown_format_are_clear(tmp_path, schema):
    with pytest.raises(FileNotFoundError, match="data file not found"):
        load_annotated([tmp_path / "nope.jsonl"], schema)
    (tmp_path / "d.xml").write_text("<a/>")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_annotated([tmp_path / "d.xml"], schema)


def test_the_corpus_is_valid(schema):
    from conftest import REPO

    loaded = load_annotated([REPO / "data" / "train.jsonl", REPO / "data" / "dev.jsonl"], schema)
    assert len(loaded.dataset) >= 600


def test_real_articles_load_through_the_same_code(schema):
    from conftest import REAL_DEV

    if not REAL_DEV.is_file():
        pytest.skip("real articles not available")
    loaded = load_annotated([REAL_DEV], schema, lenient=True)
    assert len(loaded.dataset) + len({p.line for p in loaded.problems}) == 330
    assert set(loaded.problem_counts) == {"stance_without_mention"}
