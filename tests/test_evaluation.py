"""Evaluation reports, the retraining gate and drift, on the tiny models."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, SEEDS
from evaluation.compare import Row, compare_reports, decision
from evaluation.drift import drift_features, psi, verdict
from evaluation.evaluate import ABSENT, Scored, stance_metrics
from evaluation.run import run_evaluation
from marsad.api import ArticleResult, StanceResult, TopicResult

DEV = REPO / "tests" / "resources" / "tiny-dev.jsonl"


@pytest.fixture(scope="module")
def reports(tmp_path_factory, tiny_model, tiny_baseline):
    root = tmp_path_factory.mktemp("reports")
    for name, model in (("tiny", tiny_model), ("baseline", tiny_baseline)):
        run_evaluation(model, [DEV, SEEDS], root / name, n_resamples=30)
    return root


def test_a_report_has_every_section_and_file(reports):
    directory = reports / "tiny"
    for name in ("metrics.json", "predictions.jsonl", "report.md", "report.html", "stance_confusion.png",
                 "reliability.png", "threshold_f1.png", "actors.png"):
        assert (directory / name).is_file(), name
    metrics = json.loads((directory / "metrics.json").read_text())
    assert set(metrics["headline"]) == {"topic_micro_f1", "topic_macro_f1", "stance_macro_f1", "stance_f_avg"}
    for value in metrics["headline"].values():
        assert value["low"] <= value["value"] <= value["high"]
    assert {"at_stored_thresholds", "at_0.5", "pr_auc", "exact_match"} <= set(metrics["topics"])
    assert {"per_class", "per_actor", "confusion", "f_avg"} <= set(metrics["stance"])
    assert {"before", "after"} <= set(metrics["calibration"]["topics"])
    assert metrics["provenance"]["model"]["kind"] == "transformer" and len(metrics["provenance"]["data"]["files"]) == 2
    html = (directory / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Most confident mistakes" in html
    assert "<script" not in html and "src='http" not in html and "<link" not in html  # opens offline


def _result(topics, stances):
    return ArticleResult(
        id="x",
        topics=[TopicResult(label=t, probability=p, predicted=p >= 0.5, threshold=0.5) for t, p in topics.items()],
        stances=[StanceResult(actor=a, mentioned=True, stance=s, probabilities={k: float(k == s) for k in ("favor", "against", "neutral")})
                 for a, s in stances.items()],
    )


def test_stance_metrics_count_missed_mentions_as_wrong():
    records = [
        {"id": "1", "topics": [], "stances": [{"actor": "iran", "stance": "against"}, {"actor": "kuwait", "stance": "favor"}]},
        {"id": "2", "topics": [], "stances": [{"actor": "iran", "stance": "against"}, {"actor": "turkey", "stance": "neutral"}]},
    ]
    results = [_result({"economy": 0.1}, {"iran": "against", "kuwait": "favor"}), _result({"economy": 0.1}, {"iran": "neutral"})]
    scored = Scored(records, results, ["economy"], np.array([0.5]), 1.0, 1.0)
    metrics = stance_metrics(scored)
    # favor: 1/1 ; against: tp 1, fn 1 -> F1 2/3 ; neutral: fp 1 (iran), fn 1 (turkey absent) -> 0
    assert metrics["per_class"]["favor"]["f1"] == pytest.approx(1.0)
    assert metrics["per_class"]["against"]["f1"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["neutral"]["f1"] == pytest.approx(0.0)
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3) / 3)
    assert metrics["f_avg"] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics["confusion"]["matrix"][2][3] == 1 and ABSENT in metrics["confusion"]["columns_predicted"]


def test_the_gate_decides_on_intervals_of_the_difference():
    worse = Row("stance_macro_f1", 0.6, 0.5, -0.15, -0.02)
    noisy = Row("topic_macro_f1", 0.6, 0.58, -0.05, 0.01)
    better = Row("topic_micro_f1", 0.5, 0.6, 0.03, 0.15)
    assert (worse.verdict, noisy.verdict, better.verdict) == ("worse", "within noise", "better")
    assert decision([noisy, better])[0] is True
    accepted, reason = decision([noisy, worse, better])
    assert accepted is False and "stance_macro_f1" in reason


def test_compare_cli_exit_codes_are_symmetric_for_a_clear_difference(reports):
    rows = compare_reports(reports / "tiny", reports / "tiny", resamples=20)
    assert all(r.delta == 0 and r.verdict == "within noise" for r in rows)
    cli = [sys.executable, "-m", "marsad.cli", "compare", "--resamples", "50"]
    first = subprocess.run([*cli, str(reports / "tiny"), str(reports / "baseline")], cwd=REPO, capture_output=True, text=True)
    second = subprocess.run([*cli, str(reports / "baseline"), str(reports / "tiny")], cwd=REPO, capture_output=True, text=True)
    assert "| metric | current" in first.stdout and first.returncode in (0, 1)
    verdicts = {r.metric: r.verdict for r in compare_reports(reports / "tiny", reports / "baseline", resamples=50)}
    if "worse" in verdicts.values():
        assert first.returncode == 1
    if "better" in verdicts.values():
        assert second.returncode == 1  # the reverse comparison sees the same gap as worse


def test_compare_refuses_reports_on_different_data(reports, tmp_path, tiny_model):
    other = tmp_path / "seeds-only"
    run_evaluation(tiny_model, [SEEDS], other, n_resamples=5)
    result = subprocess.run([sys.executable, "-m", "marsad.cli", "compare", str(other), str(reports / "tiny")],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "different evaluation data" in result.stderr


def test_psi_is_zero_for_identical_and_large_for_shifted_distributions():
    assert psi(np.array([10.0, 20, 30]), np.array([1.0, 2, 3])) == pytest.approx(0.0, abs=1e-9)
    assert psi(np.array([90.0, 10]), np.array([10.0, 90])) > 1.0


def test_drift_flags_a_shifted_batch(tiny_classifier, seeds):
    from marsad.api import ArticleIn

    economic = [ArticleIn(id=f"e{i}", text=s["text"]) for i, s in enumerate(seeds * 4)]
    sport = [ArticleIn(id=f"s{i}", text=f"فاز المنتخب في مباراة كرة القدم رقم {i} وسط حضور جماهيري كبير.") for i in range(20)]
    rows = lambda articles: [{**r.model_dump(), "text_chars": len(a.text)} for a, r in zip(articles, tiny_classifier.classify(articles))]  # noqa: E731
    reference = rows(economic)
    same = drift_features(reference, rows(economic))
    assert all(f.level == "stable" for f in same)
    shifted = drift_features(reference, rows(sport))
    reading, retrain = verdict(shifted)
    assert retrain and "Major drift" in reading
    assert {f.name for f in shifted if f.level == "major"} >= {"text length (characters)", "mention rate: iraqi_government"}
