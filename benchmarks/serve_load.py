"""Load test of the HTTP service, against a plain `transformers` loop in the same run.

Starts `bentoml serve` on loopback with the given model, sends a bounded load of real-length
Arabic articles (marsad's own dev articles) one article per request at concurrency 1, 8 and
32 (then 1 again, to show the batcher's recovery after a burst), and reports articles/s, p50/p95/p99 latency, HTTP status counts and the peak RSS of every
serving process. In the same run it times the model's bare encoder (`AutoModel` +
tokenizer, no service, no heads) over the same articles one at a time: the ratio of the
service's throughput to that loop is the headline figure.

    .venv/bin/python benchmarks/serve_load.py --model marsad:latest
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import marsad  # noqa: F401  (offline environment)

REPO = Path(__file__).resolve().parent.parent


def pick_articles(count: int, min_words: int, max_words: int) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "data" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = [r for r in rows if min_words <= len(r["text"].split()) <= max_words]
    return [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in chosen[:count]]


def process_tree_peak_rss(root: int) -> dict[int, int]:
    """Peak resident set size (VmHWM, MB) of a process and all its descendants."""
    peaks, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1]) // 1024
        frontier.extend(int(c) for c in children)
    return peaks


def start_service(model: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "MARSAD_MODEL": model}
    process = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", "serving.service:Marsad", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(1)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("service did not start")


def load(url: str, articles: list[dict], concurrency: int, requests: int, max_seconds: float) -> dict:
    import httpx

    client = httpx.Client(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency))
    latencies: list[float] = []
    statuses: Counter = Counter()
    started = time.monotonic()

    def one(index: int) -> None:
        if time.monotonic() - started > max_seconds:
            return
        article = articles[index % len(articles)]
        t0 = time.perf_counter()
        response = client.post("/classify", json={"articles": [article], "evidence": True})
        latencies.append(time.perf_counter() - t0)
        statuses[response.status_code] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(requests)))
    elapsed = time.monotonic() - started
    client.close()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "concurrency": concurrency, "requests": len(latencies), "seconds": round(elapsed, 1),
        "articles_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(quantiles[49] * 1000), "p95_ms": round(quantiles[94] * 1000), "p99_ms": round(quantiles[98] * 1000),
        "statuses": dict(statuses),
    }


def plain_transformers_loop(model: str, articles: list[dict]) -> float:
    """Articles/s of the bare encoder forward pass, one article at a time (the baseline)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from marsad.artifact import resolve_artifact

    directory, _ = resolve_artifact(model)
    tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer")
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(directory / "encoder"))
    from safetensors.torch import load_file

    state = {k.removeprefix("encoder."): v for k, v in load_file(str(directory / "model.safetensors")).items() if k.startswith("encoder.")}
    encoder.load_state_dict(state, strict=False)
    encoder.eval()
    texts = [f"passage: {a['title']}\n{a['text']}" for a in articles]
    with torch.inference_mode():
        encoder(**tokenizer(texts[0], truncation=True, max_length=512, return_tensors="pt"))
        started = time.perf_counter()
        for text in texts:
            encoder(**tokenizer(text, truncation=True, max_length=512, return_tensors="pt"))
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="marsad:latest")
    parser.add_argument("--articles", type=int, default=40, help="distinct articles (250–350 words)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap per concurrency level")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()

    articles = pick_articles(args.articles, 250, 350)
    words = statistics.mean(len(a["text"].split()) for a in articles)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    service = start_service(args.model, port)
    url = f"http://127.0.0.1:{port}"
    try:
        load(url, articles, 1, 16, 60)  # warm-up (the batcher trains on its first ~14 calls), not reported
        levels = [load(url, articles, c, n, args.max_seconds) for c, n in ((1, 40), (8, 120), (32, 192), (1, 40))]
        rss = process_tree_peak_rss(service.pid)
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=60)
    baseline = plain_transformers_loop(args.model, articles)

    print(f"model {args.model}; {len(articles)} articles of {words:.0f} words on average; "
          f"{os.cpu_count()} CPUs; torch threads {__import__('torch').get_num_threads()}")
    print(f"plain transformers forward, one article at a time: {baseline:.2f} articles/s")
    print("The last row repeats concurrency 1 right after the burst: single-request latency must recover.")
    print("| concurrency | requests | articles/s | × plain loop | p50 ms | p95 ms | p99 ms | statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for level in levels:
        print(f"| {level['concurrency']} | {level['requests']} | {level['articles_per_s']} | "
              f"{level['articles_per_s'] / baseline:.2f} | {level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} | "
              f"{level['statuses']} |")
    print(f"peak RSS per serving process (MB): {sorted(rss.values(), reverse=True)}")
    five_xx = sum(n for level in levels for code, n in level["statuses"].items() if int(code) >= 500)
    print(f"5xx responses: {five_xx}")
    if args.out:
        args.out.write_text(json.dumps({"baseline_articles_per_s": baseline, "levels": levels, "rss_mb": rss,
                                        "words": words}, indent=2))


if __name__ == "__main__":
    main()
