"""Search benchmark: 100,000 generated documents (products, rooms and moments, English and
Chinese), in one run:

1. in this process, the index (`live.discovery.index.SearchIndex`) against the baseline (the
   first index, `loadtests/search_baseline.py`, which scores every matching document): the
   indexing rate, and query latency (p50, p99) for a fixed list of queries, on two corpora:
   `dense` (a 23-word vocabulary: every query matches tens of thousands of documents, the
   worst case for the baseline) and `zipf` (about 8,000 words, drawn with Zipf frequencies,
   as real text is);
2. over HTTP, `live serve` (one worker, uvloop + httptools) on an embedded Redis holding the
   `zipf` documents: the index rebuild at start-up (documents/s), query latency p50 and p99
   over one keep-alive connection, queries per second per core (queries over the server's
   CPU seconds), and how long a new product takes to be found.

    flock /tmp/live-cpu.lock .venv/bin/python -m loadtests.bench_search [--docs 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis

from live.discovery.index import SearchIndex
from live.discovery.model import Document
from live.redisdb.embedded import EmbeddedRedis, free_port
from loadtests.bench_buy import HOST, cpu_seconds, wait_up
from loadtests.search_baseline import BaselineIndex

EN = "quiet cabinet linen shirt wireless headphones tea felt pet wok jade lamp router mat nas"
CN = "降噪机柜 亚麻衬衫 无线耳机 普洱茶饼 羊毛毡 铁锅 翡翠手镯 台灯 路由器"
QUERIES = [
    "降噪 机柜",
    "降噪",
    "NAS 降噪",
    "linen shirt",
    "headphnes",
    "羊毛毡",
    "jade",
    "茶",
    "wok 铁锅",
    "wireless headphones 无线耳机",
    "quiet nas cabinet",
    "felt pet lamp",
    "亚麻衬衫 linen",
    "routr",
    "jade nosuchword",
]
DEPTH = 21  # one page of 20 and whether there is a next


def zipf_vocabulary(rng: random.Random) -> list[str]:
    """About 8,000 words, most frequent first: the benchmark's words among the first 200."""
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"]
    latin = {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(6000)}
    chars = [chr(0x4E00 + rng.randrange(0, 3000)) for _ in range(800)]
    chinese = {"".join(rng.choices(chars, k=rng.choice((2, 2, 3)))) for _ in range(2000)}
    words = sorted(latin) + sorted(chinese)
    rng.shuffle(words)
    for i, word in enumerate(EN.split() + CN.split()):
        words.insert(10 + i * 8, word)
    return words


class Corpus:
    def __init__(self, name: str, seed: int) -> None:
        self.rng = random.Random(seed)
        if name == "dense":
            self.words = EN.split() + CN.split()
            self.weights = [1.0] * len(self.words)
        else:
            self.words = zipf_vocabulary(self.rng)
            self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.cumulative = list(_accumulate(self.weights))

    def text(self, n: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=n))

    def document(self, i: int) -> Document:
        kind = ("product", "product", "product", "product", "product", "product", "product",
                "room", "moment", "moment")[i % 10]  # fmt: skip
        return Document(
            kind=kind,
            doc_id=f"d{i}",
            title=self.text(self.rng.randint(3, 6)),
            body=self.text(self.rng.randint(8, 24)),
            url=f"/x/{i}",
            at_ms=0 if kind == "product" else 1_700_000_000_000 + i,
            live=kind == "room" and i % 100 == 7,
        )


def _accumulate(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2)}


def time_queries(search: Callable[[str], object], rounds: int, warm: bool) -> dict[str, float]:
    """Wall-clock percentiles, and CPU ones (this thread's time: what the query costs
    on a core, whatever else the shared machine runs meanwhile)."""
    if warm:  # each list sorted once, as a serving process has long done
        for q in QUERIES:
            search(q)
    wall, cpu = [], []
    for _ in range(rounds):
        for q in QUERIES:
            start, start_cpu = time.perf_counter(), time.thread_time()
            search(q)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    cpu_p = {f"cpu_{k}": v for k, v in percentiles(cpu).items()}
    return {**percentiles(wall), **cpu_p, "queries": len(wall)}


def in_process(docs: list[Document], rounds: int, baseline_rounds: int) -> dict[str, Any]:
    new, old = SearchIndex(), BaselineIndex()
    rates = {}
    for name, index in (("index", new), ("baseline", old)):
        start = time.perf_counter()
        for doc in docs:
            index.put(doc)
        rates[name] = round(len(docs) / (time.perf_counter() - start))

    def search_new(q: str) -> object:
        hits, needles = new.search(q, None, 0, DEPTH)
        return [h.answer(needles) for h in hits[:20]]

    def search_old(q: str) -> object:
        hits, needles = old.search(q, None, 0)
        return [h.answer(needles) for h in hits[:20]]

    times = {
        "index": time_queries(search_new, rounds, warm=True),
        "baseline": time_queries(search_old, baseline_rounds, warm=False),
    }
    return {name: {"indexed_per_s": rates[name], **times[name]} for name in times}


def over_http(docs: list[Document], seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="live-bench-search-") as tmp:
        store = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        url = store.start()
        admin = secrets.token_urlsafe(32)
        prefix = "bench"
        client = redis.Redis.from_url(url)
        pipe = client.pipeline(transaction=False)
        for doc in docs:
            pipe.set(f"{prefix}:{{search}}:doc:{doc.key}", orjson.dumps(asdict(doc)))
        pipe.execute()
        env = {
            **os.environ,
            "LIVE_REDIS_URL": url,
            "LIVE_ADMIN_TOKEN": admin,
            "LIVE_AUTH_SECRET": secrets.token_urlsafe(16),
            "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
            "LIVE_LOGGING_LEVEL": "warning",
            "LIVE_REDIS_KEY_PREFIX": prefix,
        }
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "live.cli:app_from_environment", "--factory",
            "--host", HOST, "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        started = time.perf_counter()
        server = subprocess.Popen(command, env=env)
        try:
            wait_up(port, "/healthz", timeout_s=120)  # the lifespan rebuilds before serving
            rebuild_s = time.perf_counter() - started
            report = _measure_http(port, admin, seconds, server.pid)
            report["rebuild_docs_per_s"] = round(len(docs) / rebuild_s)
        finally:
            server.terminate()
            server.wait(10)
            store.stop()
    return report


def _measure_http(port: int, admin: str, seconds: float, pid: int) -> dict[str, Any]:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as http:
        for q in QUERIES:  # warm: each list sorted once
            http.get("/api/search", params={"q": q}).raise_for_status()
        latencies = []
        cpu_before = cpu_seconds(pid)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for q in QUERIES:
                start = time.perf_counter()
                http.get("/api/search", params={"q": q, "limit": "20"}).raise_for_status()
                latencies.append((time.perf_counter() - start) * 1000)
        cpu = cpu_seconds(pid) - cpu_before
        word = "fresh" + secrets.token_hex(4)
        product = {"sku": word, "title": f"NAS 降噪机柜 {word}", "price_cents": 100,
                   "currency": "EUR"}  # fmt: skip
        created = time.perf_counter()
        http.post(
            "/api/products", json=product, headers={"Authorization": f"Bearer {admin}"}
        ).raise_for_status()
        while not http.get("/api/search", params={"q": word}).json()["results"]:
            time.sleep(0.01)
        visible_ms = (time.perf_counter() - created) * 1000
    return {
        **percentiles(latencies),
        "queries": len(latencies),
        "queries_per_core_s": round(len(latencies) / max(cpu, 1e-9)),
        "server_cpu_us_per_query": round(cpu * 1e6 / len(latencies)),
        "new_product_visible_ms": round(visible_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the queries")
    parser.add_argument("--baseline-rounds", type=int, default=1)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    args = parser.parse_args()
    report: dict[str, Any] = {"documents": args.docs}
    corpora = {}
    for name in ("dense", "zipf"):
        corpus = Corpus(name, seed=1)
        corpora[name] = [corpus.document(i) for i in range(args.docs)]
        report[name] = in_process(corpora[name], args.rounds, args.baseline_rounds)
    report["http_zipf"] = over_http(corpora["zipf"], args.http_seconds)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
