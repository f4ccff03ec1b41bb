"""The HTTP service, through a real `bentoml serve` on loopback with the tiny model."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import REPO
from marsad.api import MAX_ARTICLE_CHARS, MAX_ARTICLES_PER_REQUEST


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    port = free_port()
    env = {**os.environ, "MARSAD_MODEL": tiny_model}
    log = open(tmp_path_factory.mktemp("service") / "serve.log", "w+b")
    process = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", "serving.service:Marsad", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(log.read().decode(errors="replace")[-3000:])
        time.sleep(1)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        raise RuntimeError("service did not become ready in 180 s")
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    print(f"service log: {log.name}")


def classify(server, body):
    return server.post("/classify", json=body)


def test_a_seed_article_gets_the_documented_shape(server, seeds, schema, tiny_model):
    seed = seeds[0]
    response = classify(server, {"articles": [{"id": seed["id"], "title": seed["title"], "text": seed["text"]}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["tag"] == tiny_model and body["model"]["kind"] == "transformer"
    (result,) = body["results"]
    assert result["id"] == seed["id"] and result["warnings"] == []
    assert [t["label"] for t in result["topics"]] == schema.topic_ids
    assert set(result["topics"][0]) == {"label", "probability", "predicted", "threshold"}
    assert [s["actor"] for s in result["stances"]] == schema.actor_ids
    for stance in result["stances"]:
        assert set(stance) == {"actor", "mentioned", "stance", "probabilities", "mentions", "evidence"}
        if stance["actor"] in seed["stances"]:
            assert stance["mentioned"] and set(stance["probabilities"]) == {"favor", "against", "neutral"}
        for span in stance["mentions"] + stance["evidence"]:
            source = seed["title"] if span["field"] == "title" else seed["text"]
            assert source[span["start"] : span["end"]] == span["text"]
    qatar = next(s for s in result["stances"] if s["actor"] == "israel")
    assert qatar == {"actor": "israel", "mentioned": False, "stance": None, "probabilities": None,
                     "mentions": [], "evidence": []}


def test_a_batch_keeps_order_and_long_articles_take_their_own_lane(server, seeds):
    long_text = seeds[1]["text"] * 8
    articles = [{"id": f"a{i}", "text": s["text"]} for i, s in enumerate(seeds)]
    articles.insert(2, {"id": "long", "text": long_text})
    response = classify(server, {"articles": articles, "evidence": False})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [a["id"] for a in articles]
    assert all(s["evidence"] == [] for r in results for s in r["stances"])
    alone = classify(server, {"articles": [articles[0]], "evidence": False}).json()["results"][0]
    assert alone["topics"] == results[0]["topics"]


def test_concurrent_requests_are_all_answered_consistently(server, seeds):
    bodies = [{"articles": [{"id": f"c{i}", "text": seeds[i % len(seeds)]["text"]}]} for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda body: classify(server, body), bodies))
    assert [r.status_code for r in responses] == [200] * 16
    first = [r.json()["results"][0]["topics"] for r in responses[: len(seeds)]]
    again = [r.json()["results"][0]["topics"] for r in responses[len(seeds) : 2 * len(seeds)]]
    assert first == again


def test_custom_actors_per_request(server):
    body = {"articles": [{"id": "o", "text": "رحبت سلطنة عمان بالحوار الإيراني السعودي في مسقط."}],
            "actors": [{"id": "oman", "aliases": ["سلطنة عمان", "مسقط"]}]}
    result = classify(server, body).json()["results"][0]
    oman = next(s for s in result["stances"] if s["actor"] == "oman")
    assert oman["mentioned"] and oman["stance"] in ("favor", "against", "neutral")
    assert result["stances"][-1]["actor"] == "oman"


def test_non_arabic_text_is_scored_with_a_warning_or_refused_in_strict_mode(server):
    article = {"id": "en", "text": "Kuwait and Iraq signed an agreement."}
    lenient = classify(server, {"articles": [article]})
    assert lenient.status_code == 200 and "no Arabic letters" in lenient.json()["results"][0]["warnings"][0]
    strict = classify(server, {"articles": [article], "strict": True})
    assert strict.status_code == 400 and "no Arabic letters" in strict.text


def test_oversized_articles_are_truncated_with_a_warning(server):
    text = "أعلنت الكويت دعمها للعراق. " * (MAX_ARTICLE_CHARS // 25 + 10)
    response = classify(server, {"articles": [{"id": "huge", "text": text}], "evidence": False})
    assert response.status_code == 200
    assert "truncated" in response.json()["results"][0]["warnings"][0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"articles": [{"id": "e", "text": ""}]}, "text is empty"),
        ({"articles": [{"id": "e", "text": " \n\t "}]}, "text is empty"),
        ({"articles": []}, "at least 1 item"),
        ({"articles": [{"id": f"n{i}", "text": "نص"} for i in range(MAX_ARTICLES_PER_REQUEST + 1)]}, "at most 64 items"),
        ({"articles": "نص"}, "valid array"),
        ({"articles": [{"id": "t", "text": 5}]}, "valid string"),
        ({"articles": [{"text": "نص"}]}, "Field required"),
        ({"articles": [{"id": "x", "text": "نص", "body": "?"}]}, "Extra inputs"),
        ({"texts": ["نص"]}, "Field required"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "Oman!", "aliases": ["عمان"]}]}, "pattern"),
        ({"articles": [{"id": "a", "text": "نص"}],
          "actors": [{"id": "oman", "aliases": ["عمان"]}, {"id": "oman", "aliases": ["مسقط"]}]}, "repeated"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "oman", "aliases": []}]}, "at least 1 item"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "oman", "aliases": [""]}]}, "at least 2 characters"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "oman", "aliases": ["ع" * 101]}]}, "at most 100"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "oman", "aliases": [".*+"]}]}, "not patterns"),
        ({"articles": [{"id": "a", "text": "نص"}], "actors": [{"id": "iran", "aliases": ["فارس"]}]}, "default actors"),
    ],
)
def test_bad_requests_get_a_clear_4xx(server, body, expected):
    response = classify(server, body)
    assert 400 <= response.status_code < 500, response.text
    assert expected in response.text


def test_malformed_json_and_wrong_content_are_4xx(server):
    for raw in (b"{not json", b"", "نص".encode(), b"[1, 2, 3]"):
        response = server.post("/classify", content=raw, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (raw, response.status_code, response.text)


def test_metadata_health_and_openapi(server, tiny_model, schema):
    metadata = server.get("/metadata").json()
    assert metadata["model"]["tag"] == tiny_model
    assert [t["id"] for t in metadata["labels"]["topics"]] == schema.topic_ids
    assert set(metadata["thresholds"]) == set(schema.topic_ids) and metadata["data"]["fingerprint"]
    assert "dev_metrics" in metadata and metadata["config"]["name"] == "tiny"
    assert server.get("/livez").status_code == 200 and server.get("/readyz").status_code == 200
    spec = server.get("/docs.json").json()
    schema_text = json.dumps(spec, ensure_ascii=False)
    assert "/classify" in spec["paths"] and "الكاظمي" in schema_text


def test_bentoml_build_packages_the_service_and_its_model_offline(tiny_model):
    """`bentoml build` must work with no network: no lock step, the model taken from the store."""
    import bentoml

    env = {**os.environ, "MARSAD_MODEL": tiny_model, "HF_HUB_OFFLINE": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    bento = bentoml.bentos.get(tag)
    assert [str(m.tag) for m in bento.info.services[0].models] == [tiny_model]
    source = Path(bento.path_of("src"))
    packaged = {path.relative_to(source).as_posix() for path in source.rglob("*.py")}
    assert "serving/service.py" in packaged and "marsad/inference.py" in packaged
    assert not any(path.startswith(("training/", "tests/")) for path in packaged)
