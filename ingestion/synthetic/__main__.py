"""Debugging entry point: ``python -m ingestion.synthetic --children N --seed S --out DIR``.

Writes ``DIR/sources/<service>.db`` (SQLite) and ``DIR/drops`` and prints what was written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from ingestion.synthetic.config import GeneratorConfig
from ingestion.synthetic.generate import default_workers, generate_sources
from lakehouse.reference.services import sqlite_source_urls


def main(argv: list[str] | None = None) -> int:
    defaults = GeneratorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.synthetic",
        description="Generate the synthetic MerajutASA source databases and drops.",
    )
    parser.add_argument("--children", type=int, default=defaults.children)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--defect-rate", type=float, default=defaults.defect_rate)
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=defaults.as_of, help="YYYY-MM-DD"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes at once (default: one per CPU)"
    )
    args = parser.parse_args(argv)

    config = GeneratorConfig(
        children=args.children, seed=args.seed, defect_rate=args.defect_rate, as_of=args.as_of
    )
    out: Path = args.out
    started = time.perf_counter()
    manifest = generate_sources(
        config,
        sqlite_source_urls(out / "sources"),
        out / "drops",
        workers=args.workers or default_workers(),
    )
    elapsed = time.perf_counter() - started

    planted = manifest.defect_counts()
    width = max(len(t) for t in manifest.row_counts)
    print(f"{'table':<{width}}  {'rows':>9}  defects")
    for table, rows in manifest.row_counts.items():
        codes = ", ".join(f"{code}={n}" for code, n in planted.get(table, {}).items())
        print(f"{table:<{width}}  {rows:>9,}  {codes}")
    print(f"{len(manifest.defects):,} planted defects; manifest: {out / 'drops'}")
    print(f"generated in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
