"""Search benchmark: 100,000 generated documents (English and Chinese), the index build
throughput and the query latency of `SearchIndex` in this process (no HTTP yet).

    flock /tmp/live-cpu.lock .venv/bin/python -m loadtests.bench_search [N]
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from live.discovery.index import Document, SearchIndex

EN = [
    "quiet",
    "cabinet",
    "linen",
    "shirt",
    "wireless",
    "headphones",
    "tea",
    "felt",
    "pet",
    "wok",
    "jade",
    "lamp",
    "router",
    "mat",
]
CN = [
    "降噪机柜",
    "亚麻衬衫",
    "无线耳机",
    "普洱茶饼",
    "羊毛毡",
    "铁锅",
    "翡翠手镯",
    "台灯",
    "路由器",
]
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
]


def main(n: int) -> None:
    rng = random.Random(1)
    docs = [
        Document(
            kind="product" if i % 5 else "room",
            doc_id=f"d{i}",
            title=f"{rng.choice(EN)} {rng.choice(CN)} {rng.choice(EN)} {i}",
            body=" ".join(rng.choice(EN + CN) for _ in range(12)),
            url=f"/x/{i}",
        )
        for i in range(n)
    ]
    index = SearchIndex()
    start = time.perf_counter()
    for d in docs:
        index.put(d)
    build = time.perf_counter() - start
    latencies = []
    for _ in range(20):
        for q in QUERIES:
            t = time.perf_counter()
            hits, needles = index.search(q, None, now_ms=0)
            [h.answer(needles) for h in hits[:20]]
            latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"documents {n}: indexed {n / build:.0f}/s")
    print(f"query ms p50 {statistics.median(latencies):.1f} p99 {p99:.1f}")
    print(f"queries/s (one core) {1000 / statistics.mean(latencies):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
