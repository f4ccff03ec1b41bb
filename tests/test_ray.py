"""Scale-out scoring on a local Ray runtime with 2 workers: same results as the local engine,
a killed worker loses and duplicates nothing, and --resume skips finished shards."""

import signal
import threading
import time

import pytest

from conftest import REAL_DEV, read_jsonl
from test_batch import BROKEN, write_input

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

from scoring.batch import local_scorer, score_file  # noqa: E402
from scoring.ray_engine import score_with_ray  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    if not REAL_DEV.is_file():
        pytest.skip("real articles not available")
    return [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in read_jsonl(REAL_DEV)]


@pytest.fixture(scope="module")
def ray_runtime():
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, rows, tiny_model):
    directory = tmp_path_factory.mktemp("reference")
    source = write_input(directory / "in.jsonl", rows, BROKEN)
    score_file(source, directory / "out.jsonl", local_scorer(tiny_model), progress=False)
    return source, directory / "out.jsonl"


def test_ray_engine_gives_exactly_the_local_results(tmp_path, reference, tiny_model, ray_runtime):
    source, local_output = reference
    output = tmp_path / "ray.jsonl"
    summary = score_with_ray(source, output, tiny_model, num_workers=2, shard_rows=100, batch_size=16)
    assert (summary.scored, summary.rejected) == (330, len(BROKEN))
    assert output.read_bytes() == local_output.read_bytes()
    errors = output.with_name("ray.jsonl.errors.jsonl").read_bytes()
    assert errors == local_output.with_name("out.jsonl.errors.jsonl").read_bytes()


def busy_scoring_workers() -> list[psutil.Process]:
    """Worker processes in the middle of a scoring batch. Ray titles each worker process after
    what it runs, e.g. ``ray::MapWorker(MapBatches(_ScoringActor)).submit``."""
    busy = []
    for process in psutil.process_iter():
        try:
            title = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if "_ScoringActor" in title and ".submit" in title:
            busy.append(process)
    return busy


def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path, reference, tiny_model, ray_runtime):
    source, local_output = reference
    output = tmp_path / "killed.jsonl"
    outcome = {}

    def run() -> None:
        try:
            outcome["summary"] = score_with_ray(source, output, tiny_model, num_workers=2, shard_rows=40, batch_size=4)
        except Exception as error:  # reported by the assertions below
            outcome["error"] = error

    job = threading.Thread(target=run)
    job.start()
    results = output.with_name("killed.jsonl.ray") / "results"
    victim, deadline = None, time.monotonic() + 300
    while victim is None and job.is_alive() and time.monotonic() < deadline:
        busy = busy_scoring_workers()
        if busy and results.exists() and any(results.glob("shard-*.jsonl")):
            victim = busy[0]
            shards_done = len(list(results.glob("shard-*.jsonl")))
            victim.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    job.join(timeout=600)
    assert victim is not None, f"no busy scoring worker seen mid-run: {outcome}"
    total_shards = int((results.parent / "input" / "COMPLETE").read_text())
    assert shards_done < total_shards, "the worker was killed after the work was done"
    assert not job.is_alive() and "error" not in outcome, outcome
    assert not victim.is_running() or victim.status() == psutil.STATUS_ZOMBIE
    assert (outcome["summary"].scored, outcome["summary"].rejected) == (330, len(BROKEN))
    assert output.read_bytes() == local_output.read_bytes()


def test_resume_skips_finished_shards(tmp_path, reference, tiny_model, ray_runtime):
    source, local_output = reference
    output = tmp_path / "resumed.jsonl"
    score_with_ray(source, output, tiny_model, num_workers=2, shard_rows=100)
    results = output.with_name("resumed.jsonl.ray") / "results"
    kept = {p.name: p.stat().st_mtime_ns for p in sorted(results.glob("*.jsonl"))[:2]}
    for path in sorted(results.glob("*.jsonl"))[2:]:
        path.unlink()  # as if the job had been killed after two shards
    output.unlink()
    score_with_ray(source, output, tiny_model, num_workers=2, shard_rows=100, resume=True)
    assert {p.name: p.stat().st_mtime_ns for p in sorted(results.glob("*.jsonl"))[:2]} == kept
    assert output.read_bytes() == local_output.read_bytes()
