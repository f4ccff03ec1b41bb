"""The model artifact contract, on the tiny model: train → save → load → predict, and the
predictions keep every promise of the API whatever the (tiny, untrained) model believes."""

from pathlib import Path

import bentoml
import numpy as np
import pytest
import torch

from conftest import REPO
from marsad.api import MAX_ARTICLE_CHARS, ActorIn, ArticleIn
from marsad.article import Article
from marsad.artifact import ArtifactInfo, save_to_directory
from marsad.data import load_annotated
from marsad.inference import RequestError, load_classifier
from marsad.schema import STANCE_IDS
from marsad.text.normalize import MODEL_PIPELINE_VERSION
from marsad.transformer import TransformerPredictor, load_weights, save_transformer
from training.config import load_config
from training.transformer import TransformerTrainer


def articles_from(seeds):
    return [ArticleIn(id=s["id"], title=s["title"], text=s["text"]) for s in seeds]


def test_the_stored_artifact_is_self_contained(tiny_model):
    stored = bentoml.models.get(tiny_model)
    directory = Path(stored.path)
    for name in ("marsad.json", "model.safetensors", "encoder/config.json", "tokenizer/tokenizer.json"):
        assert (directory / name).is_file(), name
    info = ArtifactInfo.model_validate_json((directory / "marsad.json").read_text())
    assert info.kind == "transformer" and info.normalization == MODEL_PIPELINE_VERSION
    assert set(info.topic_thresholds) == set(info.labels.topic_ids)
    assert info.topic_temperature > 0 and info.stance_temperature > 0
    assert info.config["name"] == "tiny" and info.chunking["max_length"] == 128
    assert len(info.data["fingerprint"]) == 64 and info.data["train_files"]
    assert info.code_version != "" and "topic_macro_f1" in info.dev_metrics
    assert stored.info.metadata["kind"] == "transformer"


def test_reloading_gives_identical_outputs(tmp_path, schema, seeds):
    config = load_config(REPO / "configs" / "tiny.yaml", {"epochs": 1})
    trainer = TransformerTrainer(config, schema)
    rows = list(load_annotated(config.train_files, schema).dataset)
    result = trainer.fit(rows, rows[:8])
    info = ArtifactInfo(kind="transformer", labels=schema, normalization=MODEL_PIPELINE_VERSION,
                        match_normalization="match-v1", topic_thresholds={t: 0.5 for t in schema.topic_ids},
                        chunking={"max_length": 128, "stride": 16, "text_prefix": "passage: "})
    save_to_directory(tmp_path / "model", info, lambda d: save_transformer(d, result.net, result.tokenizer))
    reloaded = TransformerPredictor(tmp_path / "model", info)
    articles = [Article(s["id"], s["text"], s["title"]) for s in seeds]
    features = [trainer.featurizer(a) for a in articles]
    from marsad.features import collate

    batch = collate(features, result.tokenizer.pad_token_id)
    with torch.inference_mode():
        before = result.net.eval()(batch)
        after = reloaded.net(batch)
    assert torch.equal(before.topic_logits, after.topic_logits)
    assert torch.equal(before.stance_logits, after.stance_logits)


def test_seed_predictions_keep_the_api_promises(tiny_classifier, seeds, schema):
    results = tiny_classifier.classify(articles_from(seeds))
    assert [r.id for r in results] == [s["id"] for s in seeds]
    for seed, result in zip(seeds, results):
        assert [t.label for t in result.topics] == schema.topic_ids
        assert all(0.0 <= t.probability <= 1.0 and t.predicted == (t.probability >= t.threshold) for t in result.topics)
        assert [s.actor for s in result.stances] == schema.actor_ids
        mentioned = {s.actor for s in result.stances if s.mentioned}
        assert set(seed["stances"]) <= mentioned
        for stance in result.stances:
            if not stance.mentioned:
                assert stance.stance is None and stance.probabilities is None and not stance.mentions
                continue
            assert stance.stance in STANCE_IDS
            assert sum(stance.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
            assert stance.stance == max(stance.probabilities, key=stance.probabilities.get)
            assert 1 <= len(stance.evidence) <= 3
            assert sum(e.weight for e in stance.evidence) <= 1.0 + 1e-3
            for span in [*stance.mentions, *stance.evidence]:
                source = seed["title"] if span.field == "title" else seed["text"]
                assert source[span.start : span.end] == span.text
        assert result.warnings == []


def test_custom_actors_get_a_stance_and_absent_ones_are_listed(tiny_classifier):
    text = "رحبت سلطنة عمان بالاتفاق، وقال وزير خارجية مسقط إن بلاده تدعم الحوار مع إيران."
    result = tiny_classifier.classify(
        [ArticleIn(id="x", text=text)],
        [ActorIn(id="oman", aliases=["سلطنة عمان", "مسقط"]), ActorIn(id="jordan", aliases=["الأردن"])],
    )[0]
    by_actor = {s.actor: s for s in result.stances}
    assert by_actor["oman"].mentioned and by_actor["oman"].stance in STANCE_IDS
    assert [m.text for m in by_actor["oman"].mentions] == ["سلطنة عمان", "مسقط"]
    assert not by_actor["jordan"].mentioned and by_actor["iran"].mentioned
    with pytest.raises(RequestError, match="default actors"):
        tiny_classifier.classify([ArticleIn(id="x", text=text)], [ActorIn(id="iran", aliases=["فارس"])])


def test_input_problems_become_warnings(tiny_classifier):
    english = ArticleIn(id="en", text="The minister visited Baghdad on Monday.")
    huge = ArticleIn(id="big", text="أعلنت الكويت دعمها للعراق. " * (MAX_ARTICLE_CHARS // 20))
    results = tiny_classifier.classify([english, huge], evidence=False)
    assert any("no Arabic letters" in w for w in results[0].warnings)
    assert any("truncated" in w for w in results[1].warnings)
    assert all(not s.evidence for r in results for s in r.stances)


def test_long_articles_aggregate_across_chunks(tiny_classifier):
    paragraph = "وقال مسؤول عراقي إن الحكومة العراقية تتابع ملف الكهرباء مع الجانب الإيراني. "
    text = paragraph * 5 + "\n" + "وتحدث التقرير عن الطقس والزراعة في الجنوب. " * 150 + "\nوأكدت الكويت دعمها للمشروع."
    features = tiny_classifier.predictor.featurizer(Article("long", text))
    assert features.token_count > 1500 and len(features.chunks) > 10
    result = tiny_classifier.classify([ArticleIn(id="long", text=text)])[0]
    kuwait = next(s for s in result.stances if s.actor == "kuwait")
    assert kuwait.mentioned and kuwait.evidence[0].text == "وأكدت الكويت دعمها للمشروع."
    # the same article, scored alone or beside short ones, gets the same numbers
    alone = result.topics
    mixed = tiny_classifier.classify([ArticleIn(id="s", text=paragraph), ArticleIn(id="long", text=text)])[1].topics
    assert [t.probability for t in alone] == pytest.approx([t.probability for t in mixed], abs=1e-4)


def test_unknown_model_tags_fail_clearly():
    from marsad.artifact import ArtifactError

    with pytest.raises(ArtifactError, match="not in the BentoML store"):
        load_classifier("marsad-nope:latest")
    with pytest.raises(ArtifactError, match="not a marsad model directory"):
        load_classifier(str(REPO))


def test_baseline_has_the_same_interface(tiny_baseline, seeds, schema):
    classifier = load_classifier(tiny_baseline)
    assert classifier.info.kind == "tfidf"
    results = classifier.classify(articles_from(seeds))
    for seed, result in zip(seeds, results):
        assert [s.actor for s in result.stances] == schema.actor_ids
        assert set(seed["stances"]) <= {s.actor for s in result.stances if s.mentioned}
        probabilities = np.array([t.probability for t in result.topics])
        assert ((0 <= probabilities) & (probabilities <= 1)).all()
        for stance in result.stances:
            if stance.mentioned:
                assert sum(stance.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
                assert stance.evidence and all(seed["text"][e.start:e.end] == e.text for e in stance.evidence if e.field == "text")


def test_weights_load_into_the_model_exactly_and_strictly(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    saved = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 3))
    save_file({k: v.contiguous() for k, v in saved.state_dict().items()}, str(tmp_path / "w.safetensors"))
    loaded = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 3))
    load_weights(loaded, tmp_path / "w.safetensors")
    for name, tensor in saved.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name

    with pytest.raises(ValueError, match="expects"):
        load_weights(torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 4)), tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="missing"):
        load_weights(torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 3), torch.nn.Linear(3, 1)),
                     tmp_path / "w.safetensors")
