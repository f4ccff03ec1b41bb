"""Batch scoring throughput, against a naive loop in the same run; and memory on a large input.

Throughput: `marsad score`'s engine (windows of rows, length-sorted chunk batches inside the
inference core) over real-length articles from marsad's dev set, versus a naive loop that
calls the same classifier one article at a time. The ratio is the figure.

Memory (``--memory-rows``): a generated JSONL of that many rows is scored while the process's
resident memory is sampled; flat memory means the peak after 10% of the rows is the peak
after all of them. Use a small model for this part (``--memory-model``): the point is the
streaming machinery, and 100k articles through the full model take hours on 2 cores.

    .venv/bin/python benchmarks/batch.py --model marsad:latest --memory-model marsad-tiny:latest
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from pathlib import Path

import marsad  # noqa: F401  (offline environment)
from marsad.api import ArticleIn
from marsad.inference import load_classifier
from scoring.batch import score_file

REPO = Path(__file__).resolve().parent.parent


def corpus_rows() -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "data" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in rows]


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def throughput(model: str, rows: list[dict], work: Path) -> tuple[float, float]:
    classifier = load_classifier(model)
    articles = [ArticleIn(**r) for r in rows]
    classifier.classify(articles[:2])  # warm-up
    started = time.perf_counter()
    for article in articles:
        classifier.classify([article])
    naive = len(articles) / (time.perf_counter() - started)

    source = work / "throughput.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    summary = score_file(source, work / "throughput-out.jsonl", lambda a: classifier.classify(a), progress=False)
    return naive, summary.scored / summary.seconds


def memory(model: str, rows: list[dict], count: int, work: Path) -> list[tuple[int, float]]:
    source = work / "large.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for index in range(count):
            row = rows[index % len(rows)]
            handle.write(json.dumps({**row, "id": f"{row['id']}#{index}"}, ensure_ascii=False) + "\n")
    classifier = load_classifier(model)
    output = work / "large-out.jsonl"
    samples: list[tuple[int, float]] = []
    done = threading.Event()

    def sample() -> None:
        progress = output.with_name(output.name + ".progress.json")
        while not done.wait(2.0):
            rows_done = json.loads(progress.read_text())["rows_done"] if progress.exists() else 0
            samples.append((rows_done, current_rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    score_file(source, output, lambda a: classifier.classify(a), progress=True)
    done.set()
    sampler.join()
    samples.append((count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="marsad:latest")
    parser.add_argument("--articles", type=int, default=120)
    parser.add_argument("--memory-model", help="model for the memory run (e.g. a tiny one)")
    parser.add_argument("--memory-rows", type=int, default=100_000)
    args = parser.parse_args()

    rows = corpus_rows()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sample = rows[: args.articles]
        words = sum(len(r["text"].split()) for r in sample) / len(sample)
        naive, batched = throughput(args.model, sample, work)
        print(f"model {args.model}; {len(sample)} articles, {words:.0f} words on average")
        print(f"naive loop, one article per call: {naive:.2f} articles/s")
        print(f"marsad score engine:              {batched:.2f} articles/s  ({batched / naive:.2f}x)")
        if args.memory_model:
            samples = memory(args.memory_model, rows, args.memory_rows, work)
            tenth = max(rss for done, rss in samples if done <= args.memory_rows // 10) if samples else 0
            print(f"memory on {args.memory_rows} rows with {args.memory_model}: "
                  f"RSS {tenth:.0f} MB after 10% of rows, peak {samples[-1][1]:.0f} MB at the end")
            for done, rss in samples[:: max(1, len(samples) // 10)]:
                print(f"  {done:>7} rows  {rss:7.0f} MB")


if __name__ == "__main__":
    main()
