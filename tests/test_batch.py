"""Batch scoring: every row accounted for, and a killed job resumes to the same output."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import REAL_DEV, REPO, read_jsonl
from scoring.batch import Checkpoint, ScoringError, local_scorer, score_file

BROKEN = [
    '{"id": "bad-json", "text": "نص',
    json.dumps({"id": "no-text"}),
    json.dumps({"id": "empty", "text": "   "}),
    json.dumps({"id": "number", "text": 12345}),
    json.dumps({"text": "نص بلا معرف"}),
    json.dumps(["not", "an", "object"]),
    json.dumps({"id": "bad-title", "text": "نص", "title": ["x"]}),
]
REASONS = {"bad_json": 1, "missing_text": 1, "empty_text": 1, "wrong_type": 3, "missing_id": 1}


@pytest.fixture(scope="module")
def real_rows():
    if not REAL_DEV.is_file():
        pytest.skip("real articles not available")
    return [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in read_jsonl(REAL_DEV)]


@pytest.fixture(scope="module")
def scorer(tiny_model):
    return local_scorer(tiny_model)


def write_input(path, rows, broken=(), every=40):
    lines = []
    broken = list(broken)
    for index, row in enumerate(rows):
        lines.append(json.dumps(row, ensure_ascii=False))
        if broken and index % every == every - 1:
            lines.append(broken.pop())
    lines.extend(broken)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_row_is_scored_or_rejected_with_its_reason(tmp_path, real_rows, scorer):
    source = write_input(tmp_path / "in.jsonl", real_rows, BROKEN)
    summary = score_file(source, tmp_path / "out.jsonl", scorer, window=64, progress=False)
    assert summary.read == len(real_rows) + len(BROKEN)
    assert summary.scored == len(real_rows) and summary.rejected == len(BROKEN)
    assert dict(summary.reasons) == REASONS
    output = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in output] == [r["id"] for r in real_rows]
    assert all(len(r["stances"]) >= 12 and len(r["topics"]) == 4 for r in output)
    assert [r["text_chars"] for r in output[:3]] == [len(r["text"]) for r in real_rows[:3]]
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert sorted(e["reason"] for e in errors) == sorted(r for r, n in REASONS.items() for _ in range(n))
    lines = source.read_text(encoding="utf-8").splitlines()
    for error in errors:
        assert lines[error["row"] - 1] in BROKEN  # the row number finds the line again


def test_outputs_are_not_silently_overwritten(tmp_path, real_rows, scorer):
    source = write_input(tmp_path / "in.jsonl", real_rows[:5])
    score_file(source, tmp_path / "out.jsonl", scorer, progress=False)
    with pytest.raises(ScoringError, match="--resume"):
        score_file(source, tmp_path / "out.jsonl", scorer, progress=False)
    summary = score_file(source, tmp_path / "out.jsonl", scorer, overwrite=True, progress=False)
    assert summary.scored == 5 and len(read_jsonl(tmp_path / "out.jsonl")) == 5


def test_csv_in_parquet_out_with_custom_columns(tmp_path, real_rows, scorer):
    frame = pd.DataFrame([{"doc": r["id"], "body": r["text"], "headline": r["title"]} for r in real_rows[:40]])
    frame.loc[7, "body"] = ""
    frame.to_csv(tmp_path / "in.csv", index=False)
    from scoring.sources import Columns

    summary = score_file(tmp_path / "in.csv", tmp_path / "out.parquet", scorer, window=16,
                         columns=Columns("doc", "body", "headline"), progress=False)
    assert (summary.scored, summary.rejected) == (39, 1)
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert list(table["id"]) == [r["id"] for i, r in enumerate(real_rows[:40]) if i != 7]
    first = json.loads(table["result"][0])
    assert table["topic_economy"][0] == first["topics"][0]["probability"]
    assert not (tmp_path / "out.parquet.parts").exists()
    assert read_jsonl(tmp_path / "out.parquet.errors.jsonl")[0] == {
        "row": 9, "id": real_rows[7]["id"], "reason": "empty_text",
        "message": "text: Value error, text is empty: send the article body (at least one Arabic word)"}


def _run_cli(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "marsad.cli", "score", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_killed_job_resumes_to_exactly_the_uninterrupted_output(tmp_path, real_rows, tiny_model, suffix):
    rows = [{**r, "id": f"{r['id']}#{copy}"} for copy in range(2) for r in real_rows]
    source = write_input(tmp_path / "in.jsonl", rows, BROKEN)
    common = ["--model", tiny_model, "--window", "8"]

    reference = _run_cli([str(source), "-o", str(tmp_path / f"ref{suffix}"), *common])
    assert reference.wait(timeout=600) == 3, reference.stdout.read().decode()

    target = tmp_path / f"out{suffix}"
    job = _run_cli([str(source), "-o", str(target), *common])
    checkpoint = target.with_name(target.name + ".progress.json")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if checkpoint.exists() and Checkpoint.load(checkpoint).rows_done >= 200:
            break
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    done = Checkpoint.load(checkpoint)
    assert 200 <= done.rows_done < len(rows) + len(BROKEN) and not done.complete
    if suffix == ".jsonl":
        with open(target, "a", encoding="utf-8") as handle:  # a torn write past the checkpoint
            handle.write('{"id": "half-writ')

    resumed = _run_cli([str(source), "-o", str(target), *common, "--resume"])
    output = resumed.communicate(timeout=600)[0].decode()
    assert resumed.returncode == 3, output
    assert f"read {len(rows) + len(BROKEN)} = scored {len(rows)} + rejected {len(BROKEN)}" in output
    if suffix == ".jsonl":
        assert target.read_bytes() == (tmp_path / f"ref{suffix}").read_bytes()
    else:
        assert pd.read_parquet(target).equals(pd.read_parquet(tmp_path / f"ref{suffix}"))
    errors = target.with_name(target.name + ".errors.jsonl").read_bytes()
    assert errors == (tmp_path / f"ref{suffix}.errors.jsonl").read_bytes()
