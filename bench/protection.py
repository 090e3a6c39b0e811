"""What protecting every served table of the placements cube jointly costs, and what it hides.

A fresh lake is published by `merajut demo`; its cube (placements and successes by province,
sex, age band, placement type, institution type and quarter) is cut into every subset of at
most ``--max-dimensions`` dimensions × quarter and year, and protected as one problem per
audience threshold (`anonymization.protected_tables`), then checked by the independent auditor
(`anonymization.disclosure_audit.prove_widths`). Reported per audience: tables, cells, hidden
counts (each count has its own pattern), the children in hidden placement cells, the seconds
to protect and to audit.

    .venv/bin/python -m bench.protection [--children 2000] [--max-dimensions 2] [--write-docs]
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from anonymization.protected_tables import TableShape, protect_tables
from anonymization.table_audit import audit_tables
from bench.common import demo_lake
from bench.report import machine, write_section
from lakehouse.gold_snapshot import GoldSnapshots

DIMS = ("province_code", "sex", "age_band", "placement_type", "institution_type")
COUNTS = ("placements", "successful")
#: (audience, threshold, national only)
AUDIENCES = (
    ("government, researcher", 5, False),
    ("business", 10, False),
    ("community", 11, False),
    ("media", 11, True),
)


@dataclass(frozen=True)
class Cost:
    audience: str
    threshold: int
    tables: int
    cells: int
    hidden_placements: int
    hidden_successes: int
    children_hidden: int
    narrow: int
    protect_seconds: float
    audit_seconds: float


def _finest(cube: pd.DataFrame, dims: tuple[str, ...]) -> pd.DataFrame:
    frame = cube.assign(year=cube["quarter"].str[:4])
    keys = [*dims, "quarter", "year"]
    finest = frame.groupby(keys, as_index=False, dropna=False)[list(COUNTS)].sum()
    return finest[(finest[list(COUNTS)] > 0).any(axis=1)].reset_index(drop=True)


def measure(cube: pd.DataFrame, max_dims: int) -> list[Cost]:
    out = []
    for audience, threshold, national in AUDIENCES:
        dims = tuple(d for d in DIMS if not (national and d == "province_code"))
        finest = _finest(cube, dims)
        shapes = [
            TableShape(subset, grain)
            for size in range(max_dims + 1)
            for subset in itertools.combinations(dims, size)
            for grain in ("quarter", "year")
        ]
        started = time.perf_counter()
        result = protect_tables(
            finest, shapes, COUNTS, threshold, threshold / 2, block="year",
            parents={"quarter": ["year"]}, bounded_by={"successful": "placements"},
        )  # fmt: skip
        protected = time.perf_counter() - started
        cells = result.cells
        audit = audit_tables(
            finest, cells, shapes, COUNTS, threshold, threshold / 2, {"successful": "placements"}
        )
        narrow = len(audit.narrow)
        assert not audit.mismatched and not audit.shown_small, audit.summary()
        audited = time.perf_counter() - started - protected
        hidden = cells["placements__hidden"].astype(bool)
        out.append(
            Cost(
                audience=audience,
                threshold=threshold,
                tables=len(shapes),
                cells=len(cells),
                hidden_placements=int(hidden.sum()),
                hidden_successes=int(cells["successful__hidden"].astype(bool).sum()),
                children_hidden=int(cells.loc[hidden, "placements"].sum()),
                narrow=narrow,
                protect_seconds=protected,
                audit_seconds=audited,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--max-dimensions", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with demo_lake(args.children, "merajut-bench-protection-") as (tmp, _):
        gold = GoldSnapshots(tmp / "lake" / "gold")
        snapshot = gold.open_current()
        assert snapshot is not None
        cube = pd.read_parquet(gold.mart_file(snapshot, "metrics_placements_cube"))
    costs = measure(cube, args.max_dimensions)
    rows = "\n".join(
        f"| {c.audience} | {c.threshold} | {c.tables} | {c.cells} | {c.hidden_placements} "
        f"({c.children_hidden}) | {c.hidden_successes} | {c.narrow} | {c.protect_seconds:.1f} "
        f"| {c.audit_seconds:.1f} |"
        for c in costs
    )
    text = (
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"`.venv/bin/python -m bench.protection --children {args.children} --max-dimensions "
        f"{args.max_dimensions}`: the `make demo` cube ({int(cube['placements'].sum())} "
        f"placements, {cube['quarter'].nunique()} quarters), every subset of at most "
        f"{args.max_dimensions} dimensions × quarter and year, placements and successes.\n\n"
        "| audience | threshold | tables | cells | hidden placement cells (their placements, summed over all tables) "
        "| hidden success cells | auditor: narrower than t/2 | protect s | audit s |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )
    print(text)
    if args.write_docs:
        write_section("Joint protection of every served table (bench.protection)", text)


if __name__ == "__main__":
    main()
