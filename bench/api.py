"""Metrics API latency and throughput, cached and uncached, against the engine itself.

One fresh lake (10,000 children by default) is published by `merajut demo`; the API runs as a
real uvicorn server (`merajut api serve`) in a child process and is called over loopback. The
baseline, in the same run, is the same aggregate run directly on the engine the API uses
(DuckDB over the snapshot's Parquet, in this process): the ratio is what HTTP, auth, auditing,
suppression and JSON cost on top of the query.

    .venv/bin/python -m bench.api [--children 10000] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import duckdb
import httpx

from bench.common import api_key, demo_lake, serving
from bench.report import machine, write_section
from lakehouse.gold_snapshot import GoldSnapshots

METRIC = "/v1/metrics/placements"
DIMENSIONS = "province,quarter,sex"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50 * 1000, p99 * 1000


def _timed_calls(call: Callable[[int], None], n: int) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - started)
    return out


def _throughput(call: Callable[[int], None], threads: int, seconds: float) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))
    lock = threading.Lock()

    def worker(slot: int) -> None:
        while time.monotonic() < stop:
            with lock:
                i = next(counter)
            call(i)
            done[slot] += 1

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / (time.monotonic() - started)


def run(children: int) -> dict[str, object]:
    with demo_lake(children, "merajut-bench-api-", limits=False) as (tmp, env):
        key = api_key(env, "government")
        port = 18765
        # The second server keeps no answer and no table: each call computes and suppresses
        # the table afresh, as the first call of a dimension set on a new snapshot does.
        no_cache = {**env, "MERAJUT_API_CACHE_ENTRIES": "0"}
        with serving(env, port), serving(no_cache, port + 1):
            base = f"http://127.0.0.1:{port}"
            headers = {"X-API-Key": key}
            client = httpx.Client(base_url=base, headers=headers, timeout=30)
            fresh = httpx.Client(
                base_url=f"http://127.0.0.1:{port + 1}", headers=headers, timeout=30
            )
            far = date(2040, 1, 1)

            def cached(_: int) -> None:
                r = client.get(METRIC, params={"dimensions": DIMENSIONS})
                r.raise_for_status()

            def uncached(_: int) -> None:
                r = fresh.get(METRIC, params={"dimensions": DIMENSIONS})
                r.raise_for_status()

            cached(0)
            rows = len(client.get(METRIC, params={"dimensions": DIMENSIONS}).json()["rows"])
            api_cached = _timed_calls(cached, 400)
            api_uncached = _timed_calls(lambda i: uncached(i + 10_000), 150)

            gold = GoldSnapshots(tmp / "lake" / "gold")
            snapshot = gold.open_current()
            assert snapshot is not None
            cube = gold.mart_file(snapshot, "metrics_placements_cube")
            con = duckdb.connect()
            sql = (
                "select province_code, quarter_start, sex, sum(placements) "
                "from read_parquet(?) where quarter_start <= ? group by all"
            )

            def direct(i: int) -> None:
                con.execute(sql, [str(cube), far - timedelta(days=i % 3000)]).fetchall()

            engine = _timed_calls(direct, 150)
            tp_cached = _throughput(cached, threads=8, seconds=5)
            tp_uncached = _throughput(lambda i: uncached(i + 20_000), threads=8, seconds=5)
            tp_engine = _throughput(direct, threads=1, seconds=5)
            client.close()
            fresh.close()
    results: dict[str, object] = {"children": children, "rows": rows}
    for label, samples in (
        ("api_cached", api_cached),
        ("api_uncached", api_uncached),
        ("engine", engine),
    ):
        p50, p99 = _percentiles(samples)
        results[label] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
    results["throughput_rps"] = {
        "api_cached": round(tp_cached, 1),
        "api_uncached": round(tp_uncached, 1),
        "engine": round(tp_engine, 1),
    }
    return results


def render(r: dict) -> str:
    e, c, u, t = r["engine"], r["api_cached"], r["api_uncached"], r["throughput_rps"]
    return "\n".join(
        [
            f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
            "",
            f"Lake published by `merajut demo --children {r['children']:,}`; query "
            f"`GET {METRIC}?dimensions={DIMENSIONS}` with a government key ({r['rows']} rows after "
            "suppression), served by `merajut api serve` (uvicorn, one worker) over loopback. Engine "
            "baseline: the same aggregate in DuckDB over the snapshot's Parquet, same run. "
            "Uncached calls go to a second server with no cache (`MERAJUT_API_CACHE_ENTRIES=0`): "
            "each computes and suppresses the table afresh. Per-key limits lifted (a catalog "
            "copy).",
            "",
            "| path | p50 ms | p99 ms | p50 / engine p50 | throughput req/s |",
            "|---|---:|---:|---:|---:|",
            f"| engine (DuckDB, in process) | {e['p50_ms']} | {e['p99_ms']} | 1.0× | {t['engine']} (1 thread) |",
            f"| API, uncached | {u['p50_ms']} | {u['p99_ms']} | {u['p50_ms'] / e['p50_ms']:.1f}× | {t['api_uncached']} (8 clients) |",
            f"| API, cached | {c['p50_ms']} | {c['p99_ms']} | {c['p50_ms'] / e['p50_ms']:.1f}× | {t['api_cached']} (8 clients) |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    result = run(args.children)
    print(json.dumps(result))
    text = render(result)
    print(text)
    if args.write_docs:
        write_section("Metrics API (`.venv/bin/python -m bench.api --write-docs`)", text)


if __name__ == "__main__":
    sys.exit(main())
