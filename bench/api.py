"""Metrics API latency and throughput, cached and uncached, against the engine itself.

One fresh lake (10,000 children by default) is published by `merajut demo`; the API runs as a
real uvicorn server (`merajut api serve`) in a child process and is called over loopback. The
baseline, in the same run, is the same aggregate run directly on the engine the API uses
(DuckDB over the snapshot's Parquet, in this process): the ratio is what HTTP, auth, auditing,
suppression and JSON cost on top of the query. Each path runs twice, with the disclosure
ledger (every served cell recorded, the audit-coverage check before each answer) and without
(`MERAJUT_API_LEDGER=false`), in the same run; and the ledger's one-time cost of writing every
cell of the answer's family for a role is timed on its own.

    .venv/bin/python -m bench.api [--children 10000] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pandas as pd

from bench.common import api_key, demo_lake, serving
from bench.report import machine, write_section
from lakehouse.disclosure_ledger import ServedCells
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


def _ledger_write_ms(family: Path) -> tuple[int, float]:
    """(cells, milliseconds) to record every cell of ``family`` for one role in a new ledger:
    the most the ledger ever writes for one role and one snapshot of that family."""
    cells = pd.read_parquet(family, columns=["cell"])["cell"].tolist()
    with tempfile.TemporaryDirectory() as d:
        ledger = ServedCells(Path(d) / "served.sqlite")
        started = time.perf_counter()
        ledger.record("government", "bench", "20260101T000000000000Z", family.stem, cells)
        elapsed = time.perf_counter() - started
        ledger.close()
    return len(cells), elapsed * 1000


def run(children: int) -> dict[str, object]:
    with demo_lake(children, "merajut-bench-api-", limits=False) as (tmp, env):
        key = api_key(env, "government")
        port = 18765
        # Uncached servers keep no answer and no table: each call computes and looks up the
        # table afresh, as the first call of a dimension set on a new snapshot does.
        variants = {
            "cached": {**env},
            "uncached": {**env, "MERAJUT_API_CACHE_ENTRIES": "0"},
            "cached, no ledger": {**env, "MERAJUT_API_LEDGER": "false"},
            "uncached, no ledger": {
                **env, "MERAJUT_API_CACHE_ENTRIES": "0", "MERAJUT_API_LEDGER": "false",
            },
        }  # fmt: skip
        with ExitStack() as stack:
            clients: dict[str, httpx.Client] = {}
            for offset, (label, variant_env) in enumerate(variants.items()):
                stack.enter_context(serving(variant_env, port + offset))
                clients[label] = stack.enter_context(
                    httpx.Client(
                        base_url=f"http://127.0.0.1:{port + offset}",
                        headers={"X-API-Key": key},
                        timeout=30,
                    )
                )
            far = date(2040, 1, 1)

            def caller(label: str) -> Callable[[int], None]:
                def call(_: int) -> None:
                    r = clients[label].get(METRIC, params={"dimensions": DIMENSIONS})
                    r.raise_for_status()

                return call

            for label in clients:
                caller(label)(0)  # the first answer records its cells; then the steady state
            rows = len(
                clients["cached"].get(METRIC, params={"dimensions": DIMENSIONS}).json()["rows"]
            )
            latencies = {
                label: _timed_calls(caller(label), 400 if label.startswith("cached") else 150)
                for label in clients
            }

            gold = GoldSnapshots(tmp / "lake" / "gold")
            snapshot = gold.open_current()
            assert snapshot is not None
            cube = gold.mart_file(snapshot, "metrics_placements_cube")
            family = gold.mart_file(snapshot, "protected__metrics_placements_cube__t5_province_d2")
            con = duckdb.connect()
            sql = (
                "select province_code, quarter_start, sex, sum(placements) "
                "from read_parquet(?) where quarter_start <= ? group by all"
            )

            def direct(i: int) -> None:
                con.execute(sql, [str(cube), far - timedelta(days=i % 3000)]).fetchall()

            latencies["engine"] = _timed_calls(direct, 150)
            throughput = {
                label: _throughput(caller(label), threads=8, seconds=5) for label in clients
            }
            throughput["engine"] = _throughput(direct, threads=1, seconds=5)
            ledger_cells, ledger_ms = _ledger_write_ms(family)
    results: dict[str, object] = {"children": children, "rows": rows}
    for label, samples in latencies.items():
        p50, p99 = _percentiles(samples)
        results[label] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}
    results["throughput_rps"] = {k: round(v, 1) for k, v in throughput.items()}
    results["ledger_write"] = {"cells": ledger_cells, "ms": round(ledger_ms, 1)}
    return results


def render(r: dict) -> str:
    e, t = r["engine"], r["throughput_rps"]
    lines = [
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Lake published by `merajut demo --children {r['children']:,}`; query "
        f"`GET {METRIC}?dimensions={DIMENSIONS}` with a government key ({r['rows']} rows, "
        "looked up in the government's protected family), served by `merajut api serve` "
        "(uvicorn, one worker) over loopback. Engine baseline: the same aggregate in DuckDB "
        "over the snapshot's Parquet, same run. Uncached servers keep no answer and no table "
        '(`MERAJUT_API_CACHE_ENTRIES=0`); "no ledger" servers run with '
        "`MERAJUT_API_LEDGER=false` (no served-cells record, no coverage check). Per-key limits "
        "lifted (a catalog copy).",
        "",
        "| path | p50 ms | p99 ms | p50 / engine p50 | throughput req/s |",
        "|---|---:|---:|---:|---:|",
        f"| engine (DuckDB, in process) | {e['p50_ms']} | {e['p99_ms']} | 1.0× | {t['engine']} (1 thread) |",
    ]
    for label in ("uncached", "uncached, no ledger", "cached", "cached, no ledger"):
        v = r[label]
        lines.append(
            f"| API, {label} | {v['p50_ms']} | {v['p99_ms']} | {v['p50_ms'] / e['p50_ms']:.1f}× "
            f"| {t[label]} (8 clients) |"
        )
    w = r["ledger_write"]
    lines += [
        "",
        f"Ledger with / without, p50: uncached {r['uncached']['p50_ms'] / r['uncached, no ledger']['p50_ms']:.2f}×, "
        f"cached {r['cached']['p50_ms'] / r['cached, no ledger']['p50_ms']:.2f}×. "
        f"Writing every cell of the government's family for one role ({w['cells']:,} cells, "
        f"the most the ledger writes per role and snapshot of it): {w['ms']} ms.",
    ]
    return "\n".join(lines)


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
