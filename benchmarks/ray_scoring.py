"""Ray engine throughput per worker core, against the local engine in the same run.

Scores the same real-length articles with `marsad score`'s local engine (one process, torch
on every core) and with `--engine ray` on a local Ray runtime (N workers, one core each), and
prints articles/s, articles/s per worker core and the 10M-article extrapolation that
docs/scale-out.md's cost model uses. Start-up (Ray runtime, model loading in each worker) is
counted in the Ray figure, as it is in a real job; use enough articles that it is amortised.

    .venv/bin/python benchmarks/ray_scoring.py --model marsad:latest --articles 330 --num-workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import marsad  # noqa: F401  (offline environment)
from marsad.inference import load_classifier
from scoring.batch import score_file
from scoring.ray_engine import score_with_ray

REPO = Path(__file__).resolve().parent.parent
REAL_DEV = REPO.parent / "shared" / "data" / "real" / "dev.jsonl"


def articles(count: int) -> list[dict]:
    """Real articles when the shared set is present, else marsad's own dev split, cycled to `count`."""
    source = REAL_DEV if REAL_DEV.is_file() else REPO / "data" / "dev.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"id": f"{rows[i % len(rows)]['id']}#{i}", "title": rows[i % len(rows)]["title"],
             "text": rows[i % len(rows)]["text"]} for i in range(count)]


def compare_outputs(left: Path, right: Path) -> dict:
    """Row ids, decisions and probabilities of two scored files. Bytes can differ: a worker
    with one torch thread sums in another order than a process with two (last digits)."""
    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def decisions(row: dict) -> tuple:
        return (tuple(t["predicted"] for t in row["topics"]), tuple(s["stance"] for s in row["stances"]))

    def probabilities(row: dict) -> list[float]:
        return [t["probability"] for t in row["topics"]] + [
            p for s in row["stances"] if s["probabilities"] for p in s["probabilities"].values()]

    a, b = read(left), read(right)
    return {
        "rows": [r["id"] for r in a] == [r["id"] for r in b],
        "decisions": f"{sum(decisions(x) == decisions(y) for x, y in zip(a, b))}/{len(a)}",
        "max_difference": max(abs(p - q) for x, y in zip(a, b) for p, q in zip(probabilities(x), probabilities(y))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="marsad:latest")
    parser.add_argument("--articles", type=int, default=330)
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args()

    rows = articles(args.articles)
    words = sum(len(r["text"].split()) for r in rows) / len(rows)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "in.jsonl"
        source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")

        started = time.perf_counter()
        classifier = load_classifier(args.model)
        local = score_file(source, Path(scratch) / "local.jsonl", classifier.classify, progress=False)
        local_rate = local.scored / (time.perf_counter() - started)

        started = time.perf_counter()
        distributed = score_with_ray(source, Path(scratch) / "ray.jsonl", args.model, num_workers=args.num_workers)
        ray_rate = distributed.scored / (time.perf_counter() - started)
        agreement = compare_outputs(Path(scratch) / "local.jsonl", Path(scratch) / "ray.jsonl")

    per_core = ray_rate / args.num_workers
    core_hours = 10_000_000 / per_core / 3600
    print(f"model {args.model}; {len(rows)} articles, {words:.0f} words on average; {os.cpu_count()} CPUs")
    print(f"local engine (all cores, model load included): {local_rate:.2f} articles/s")
    print(f"ray engine, {args.num_workers} workers x 1 core (start-up included): {ray_rate:.2f} articles/s "
          f"({ray_rate / local_rate:.2f}x local), {per_core:.2f} articles/s per worker core")
    print(f"same rows: {agreement['rows']}; same decisions (topics and stances): {agreement['decisions']}; "
          f"largest probability difference: {agreement['max_difference']:.2g}")
    print(f"10M articles at that rate: {core_hours:,.0f} core-hours")


if __name__ == "__main__":
    main()
