"""Synthetic generator benchmark: ``merajut generate`` at given sizes, against writing the rows.

Each size runs ``merajut generate --children N`` in a fresh home (one worker per CPU unless
``--workers`` says otherwise). The baseline, measured in the same run, is the cost of only
storing that many rows: one process creates the same tables (the generated databases' own
``CREATE TABLE`` statements), inserts as many rows per table as the generator wrote, each a
tuple of pre-made values of the table's width, with ``sqlite3``'s ``executemany`` in one
transaction (same pragmas, no indexes). The ratio says what making the data (random draws,
names, NIKs, notes, planted defects) and indexing it cost on top of writing it. Peak RSS is
the largest single process of the run (the CLI or one of its workers), CPU the whole tree's.

    .venv/bin/python -m bench.generator [--sizes 100000 1000000] [--workers 2] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import MERAJUT, REPO, isolated_env
from bench.report import machine, write_section

BASELINE = """
import sqlite3, sys, time, itertools
from pathlib import Path

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
pool = [f"value-{i:012d}" for i in range(1000)]
started = time.perf_counter()
rows = 0
for db in sorted(src.glob("*.db")):
    source = sqlite3.connect(db)
    tables = source.execute(
        "select name, sql from sqlite_master where type = 'table' order by name"
    ).fetchall()
    counts = {t: source.execute(f'select count(*) from "{t}"').fetchone()[0] for t, _ in tables}
    source.close()
    target = sqlite3.connect(out / db.name)
    target.execute("PRAGMA synchronous=OFF")
    target.execute("PRAGMA journal_mode=MEMORY")
    for table, ddl in tables:
        target.execute(ddl)
        width = len(target.execute(f'select * from "{table}" limit 0').description)
        marks = ", ".join("?" * width)
        values = (
            tuple(pool[(i + c) % 1000] for c in range(width)) for i in range(counts[table])
        )
        target.executemany(f'insert into "{table}" values ({marks})', values)
        rows += counts[table]
    target.commit()
    target.close()
print(rows, time.perf_counter() - started)
"""


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (the process and its children), peak RSS in MiB of the
    largest single process, and what it printed; raises if the command failed."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{output[-4000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, output


def bench_size(children: int, workers: int | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"merajut-bench-generate-{children}-") as d:
        tmp = Path(d)
        env = isolated_env(tmp)
        load_before = os.getloadavg()[0]
        cmd = [MERAJUT, "generate", "--children", str(children)]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        generate_s, cpu_s, rss_mib, _ = run(cmd, env)
        sources = tmp / "home" / "sources"
        baseline_s, _, _, out = run(
            [sys.executable, "-c", BASELINE, str(sources), str(tmp / "baseline")], env
        )
        rows = int(out.split()[0])
        with sqlite3.connect(sources / "platform_audit.db") as conn:
            access_log = conn.execute("select count(*) from access_log").fetchone()[0]
    return {
        "children": children,
        "workers": workers or len(os.sched_getaffinity(0)),
        "rows": rows,
        "access_log_rows": access_log,
        "generate_s": round(generate_s, 1),
        "cpu_s": round(cpu_s, 1),
        "peak_rss_mib": rss_mib,
        "baseline_write_s": round(baseline_s, 1),
        "generate_vs_baseline": round(generate_s / baseline_s, 1),
        "us_per_child": round(generate_s / children * 1e6),
        "load_before": round(load_before, 1),
    }


def render(results: list[dict[str, object]], command: str) -> str:
    lines = [
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command: `{command}`.",
        "",
        "`merajut generate --children N` in a fresh home. Baseline: one process writing the same",
        "number of rows into the same tables (pre-made values, `executemany`, one transaction,",
        "no indexes), same run. CPU is the whole process tree's; peak RSS the largest single",
        "process. Load: the 1-minute load average when the run started (other sessions share",
        "the 2 cores).",
        "",
        "Where the time goes: institutions and the child registry run first, alone (everything",
        "reads the children); then case management runs in one worker while placements,",
        "consent and the registry drop run in the other; the access log needs every child's",
        "cases, so it starts when case management has written its rows. Each service draws from",
        "its own sequential random stream, so the chain child registry → case management →",
        "access log is the floor of the wall time with the output unchanged.",
        "",
        "| children | workers | rows | generate s | CPU s | peak RSS MiB | baseline write s | generate / baseline | µs per child | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['children']:,} | {r['workers']} | {r['rows']:,} | {r['generate_s']} | "
            f"{r['cpu_s']} | {r['peak_rss_mib']:,} | {r['baseline_write_s']} | "
            f"{r['generate_vs_baseline']}× | {r['us_per_child']} | {r['load_before']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[None], help="one run per value and size"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for workers in args.workers:
            result = bench_size(size, workers)
            print(json.dumps(result), flush=True)
            results.append(result)
    command = "python -m bench.generator " + " ".join(sys.argv[1:])
    text = render(results, command.strip())
    print(text)
    if args.write_docs:
        write_section(
            "Synthetic generator (`.venv/bin/python -m bench.generator --write-docs`)", text
        )


if __name__ == "__main__":
    main()
