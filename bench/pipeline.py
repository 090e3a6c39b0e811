"""Pipeline benchmark at 10,000 and 100,000 children.

Each size runs in a fresh lake, in child processes (chDB: one data path per process). The
baseline, measured in the same run on the same sources, is a plain copy of every source table
to Parquet (SQLAlchemy read + pandas write, no validation, privacy or warehouse): the ratio
says what validation, pseudonymization, loading, dbt and the publish gate cost on top of
moving the bytes.

    .venv/bin/python -m bench.pipeline [--sizes 10000 100000] [--write-docs]
    .venv/bin/python -m bench.pipeline --sizes 100000 --only-ingest --sources HOME [--write-docs]

``--sources HOME`` reuses the sources and drops of a home made by ``merajut generate`` with the
same number of children (generation is slow at 100,000). ``--only-ingest`` runs
``merajut run --step ingest`` alone (the publish step at 100,000 children takes half an hour
since protected families; see "Publish-time protection") and writes its own section. Peak
resident memory is sampled over the run's process tree (the largest process, and the sum).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import MERAJUT, isolated_env, timed, timed_with_memory
from bench.report import machine, write_section

BASELINE = """
import sys, time, pandas as pd, sqlalchemy as sa
from pathlib import Path

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
rows = 0
for db in sorted(src.glob('*.db')):
    engine = sa.create_engine(f'sqlite:///{db}')
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            frame = pd.read_sql(sa.text(f'select * from {table}'), conn)
            frame.astype(str).to_parquet(out / f'{db.stem}.{table}.parquet', index=False)
            rows += len(frame)
print(rows)
"""

STEP_LINE = re.compile(r"✓ (.+?) \((\d+(?:\.\d+)?)s\)")


def _sources(tmp: Path, env: dict[str, str], children: int, reuse: Path | None) -> float | None:
    """Generate the sources (seconds), or copy a generated home's (None)."""
    if reuse is None:
        generate_s, _ = timed([MERAJUT, "generate", "--children", str(children)], env)
        return generate_s
    for part in ("sources", "drops"):
        shutil.copytree(reuse / part, tmp / "home" / part)
    return None


def bench_size(children: int, reuse: Path | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"merajut-bench-{children}-") as d:
        tmp = Path(d)
        env = isolated_env(tmp)
        generate_s = _sources(tmp, env, children, reuse)
        baseline_s, out = timed(
            [sys.executable, "-c", BASELINE, str(tmp / "home" / "sources"), str(tmp / "copy")], env
        )
        source_rows = int(out.strip().splitlines()[-1])
        pipeline_s, out, peak_one, peak_all = timed_with_memory([MERAJUT, "run"], env)
        steps = {name: float(sec) for name, sec in STEP_LINE.findall(out)}
        rerun_s, _ = timed([MERAJUT, "run"], env)
        summary = json.loads((tmp / "lake" / "reports" / "last_summary.json").read_text())
    return {
        "children": children,
        "source_rows": source_rows,
        "generate_s": round(generate_s, 1) if generate_s is not None else "reused",
        "baseline_copy_s": round(baseline_s, 1),
        "pipeline_s": round(pipeline_s, 1),
        "pipeline_vs_baseline": round(pipeline_s / baseline_s, 1),
        "incremental_rerun_s": round(rerun_s, 1),
        "steps_s": steps,
        "peak_rss_mib": round(peak_one / 2**20),
        "peak_rss_tree_mib": round(peak_all / 2**20),
        "quarantined": sum(t["quarantined"] for t in summary["tables"]),
        "ingested": sum(t["ingested"] for t in summary["tables"]),
    }


def bench_ingest(children: int, reuse: Path | None = None) -> dict[str, object]:
    """``merajut run --step ingest`` on a fresh lake: seconds, peak memory, rows."""
    with tempfile.TemporaryDirectory(prefix=f"merajut-bench-ingest-{children}-") as d:
        tmp = Path(d)
        env = isolated_env(tmp)
        _sources(tmp, env, children, reuse)
        wall_s, out, peak_one, peak_all = timed_with_memory(
            [MERAJUT, "run", "--step", "ingest"], env
        )
        steps = {name: float(sec) for name, sec in STEP_LINE.findall(out)}
        summary = json.loads((tmp / "lake" / "reports" / "last_summary.json").read_text())
    return {
        "children": children,
        "chunk_rows": env.get("MERAJUT_INGEST_CHUNK_ROWS", "default"),
        "wall_s": round(wall_s, 1),
        "steps_s": steps,
        "peak_rss_mib": round(peak_one / 2**20),
        "peak_rss_tree_mib": round(peak_all / 2**20),
        "quarantined": sum(t["quarantined"] for t in summary["tables"]),
        "ingested": sum(t["ingested"] for t in summary["tables"]),
    }


def render_ingest(results: list[dict[str, object]]) -> str:
    lines = [
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load average "
        f"before the run: {open('/proc/loadavg').read().split()[0]}.",  # noqa: SIM115
        "",
        "`merajut run --step ingest` on a fresh lake (sources → validated, pseudonymized bronze),",
        "chunked (`MERAJUT_INGEST_CHUNK_ROWS`). Peak resident memory sampled every 0.2 s over the",
        "run's processes: the largest one, and all of them together (the redactor's two workers",
        "and the row-check worker included).",
        "",
        "| children | chunk rows | ingest step s | run wall s | peak RSS, largest process MiB | peak RSS, all processes MiB | ingested | quarantined |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        steps = r["steps_s"]
        assert isinstance(steps, dict)
        ingest = next((v for k, v in steps.items() if k.startswith("ingest")), "")
        lines.append(
            f"| {r['children']:,} | {r['chunk_rows']} | {ingest} | {r['wall_s']} | "
            f"{r['peak_rss_mib']:,} | {r['peak_rss_tree_mib']:,} | {r['ingested']:,} | {r['quarantined']:,} |"
        )
    return "\n".join(lines) + "\n"


def render(results: list[dict[str, object]]) -> str:
    lines = [
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "Baseline: a plain copy of every source table to Parquet (no validation, privacy,",
        "warehouse), same sources, same run. The pipeline is `merajut run` on a fresh lake",
        "(ingest → raw load → dbt build with tests → research release → gate and publish).",
        "",
        "| children | source rows | generate s | baseline copy s | pipeline s | pipeline / baseline | incremental re-run s | ingested | quarantined |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['children']:,} | {r['source_rows']:,} | {r['generate_s']} | {r['baseline_copy_s']} | "
            f"{r['pipeline_s']} | {r['pipeline_vs_baseline']}× | {r['incremental_rerun_s']} | {r['ingested']:,} | {r['quarantined']:,} |"
        )
    lines += ["", "Per step (seconds, as `merajut run` reports them):", ""]
    steps = list(dict.fromkeys(s for r in results for s in r["steps_s"]))  # type: ignore[attr-defined]
    lines.append("| step | " + " | ".join(f"{r['children']:,}" for r in results) + " |")
    lines.append("|---|" + "---:|" * len(results))
    for step in steps:
        lines.append(
            f"| {step} | " + " | ".join(str(r["steps_s"].get(step, "")) for r in results) + " |"
        )  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--sources", type=Path, help="a home generated with the same size")
    parser.add_argument("--only-ingest", action="store_true")
    args = parser.parse_args()
    if args.only_ingest:
        found = [bench_ingest(size, args.sources) for size in args.sizes]
        print(json.dumps(found), flush=True)
        text = render_ingest(found)
        print(text)
        if args.write_docs:
            write_section("Ingest (`.venv/bin/python -m bench.pipeline --only-ingest`)", text)
        return
    results = []
    for size in args.sizes:
        result = bench_size(size, args.sources)
        print(json.dumps(result), flush=True)
        results.append(result)
    text = render(results)
    print(text)
    if args.write_docs:
        write_section("Pipeline (`.venv/bin/python -m bench.pipeline --write-docs`)", text)


if __name__ == "__main__":
    main()
