from pathlib import Path

import pytest
import yaml

from marsad.schema import STANCE_IDS, SchemaError, default_labels_path, load_label_schema


def test_default_schema_has_the_guideline_labels(schema):
    assert schema.topic_ids == ["economy", "security", "iran_influence", "gulf_rapprochement"]
    assert schema.stance_ids == list(STANCE_IDS) == ["favor", "against", "neutral"]
    assert set(schema.actor_ids) == {
        "iraqi_government", "iran", "united_states", "saudi_arabia", "kuwait", "qatar",
        "uae", "turkey", "armed_factions", "isis", "israel", "russia",
    }
    iran = schema.actor("iran")
    assert "طهران" in iran.aliases and "إيراني" in iran.demonyms
    assert {"أمريكا", "أميركا"} <= set(schema.actor("united_states").aliases)


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def raw_schema():
    return yaml.safe_load(default_labels_path().read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "key", "problem"),
    [
        (lambda d: d.pop("topics"), "topics", "Field required"),
        (lambda d: d["actors"].append(dict(d["actors"][0])), "<root>", "duplicate id 'iraqi_government'"),
        (lambda d: d["actors"][2].update(id="United States"), "actors.2.id", "pattern"),
        (lambda d: d["actors"][1].update(aliases=[]), "actors.1.aliases", "at least 1 item"),
        (lambda d: d["actors"][1]["aliases"].append("x"), "actors.1.aliases", "at least 2 characters"),
        (lambda d: d["actors"][1]["aliases"].append("--"), "actors.1.aliases", "no letters"),
        (lambda d: d["stances"].reverse(), "stances", "exactly ['favor', 'against', 'neutral']"),
        (lambda d: d["topics"][0].update(colour="red"), "topics.0.colour", "Extra inputs"),
    ],
)
def test_bad_schema_names_the_key_and_the_problem(tmp_path, raw_schema, mutate, key, problem):
    mutate(raw_schema)
    with pytest.raises(SchemaError) as error:
        load_label_schema(_write(tmp_path, raw_schema))
    message = str(error.value)
    assert key in message and problem in message


def test_unreadable_files_are_reported_clearly(tmp_path):
    with pytest.raises(SchemaError, match="not found"):
        load_label_schema(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [unclosed", encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid YAML"):
        load_label_schema(bad)
