"""What publishing the protected families costs, and what they hide against the old heuristic.

A fresh `merajut demo --children N` (or an existing lake with ``--lake``) publishes as it
always does: the publish step protects and audits every family of the packaged catalog (two
processes), and each family's ``disclosure:`` check in the manifest records its protect and
audit seconds. The publish step's wall time comes from the demo's own step line. Per family:
tables, cells, the counts hidden (each count has its own pattern) and the placements in hidden
placement cells, read from the published frames and the cube.

The baseline, on the same snapshot: the per-table heuristic the API used before the families
(each table of the family suppressed on its own, primary and complementary with the quarters of
a year as a line, `metrics_api.privacy.suppress_answer`), its hidden counts, and how many small
counts the independent auditor then bounds narrower than half the threshold when every table
is read together (the joint pattern: none, or the gate would have failed).

    .venv/bin/python -m bench.protection [--children 2000 | --lake PATH] [--write-docs]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from anonymization.protected_tables import cell_sums, table_cells
from anonymization.table_audit import audit_tables
from bench.common import MERAJUT, isolated_env, timed
from bench.report import machine, write_section
from lakehouse.gold_snapshot import GoldSnapshots
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.privacy import suppress_answer
from metrics_api.protected import STATE_SHOWN, ProtectedFamily, families, finest_cells
from metrics_api.windows import parent_label


@dataclass(frozen=True)
class FamilyCost:
    family: str
    roles: str
    threshold: int
    perturbed: bool
    tables: int
    cells: int
    hidden: int  # counts hidden, all counts of all cells
    hidden_placements: int  # placements in hidden cells of the first count, summed over tables
    protect_seconds: float
    audit_seconds: float
    passed: bool
    heuristic_hidden: int = 0
    heuristic_hidden_placements: int = 0
    heuristic_narrow: int = 0
    heuristic_small: int = 0


def published_cost(
    mart: pd.DataFrame, family: ProtectedFamily, frame: pd.DataFrame, check: dict[str, Any]
) -> FamilyCost:
    """One family as the publish left it: its frame and its gate check (with the seconds)."""
    first = family.counts[0]
    truth = cell_sums(finest_cells(mart, family), frame, family.shapes, [first])[first]
    hidden_first = (frame[f"{first}__state"] != STATE_SHOWN).to_numpy()
    metadata = check.get("metadata") or {}
    return FamilyCost(
        family=family.name,
        roles=", ".join(family.roles),
        threshold=family.threshold,
        perturbed=family.perturbed,
        tables=len(family.shapes),
        cells=len(frame),
        hidden=int(sum((frame[f"{c}__state"] != STATE_SHOWN).sum() for c in family.counts)),
        hidden_placements=int(truth[hidden_first].sum()),
        protect_seconds=float(metadata.get("protect_seconds", float("nan"))),
        audit_seconds=float(metadata.get("audit_seconds", float("nan"))),
        passed=bool(check.get("passed")),
    )


def heuristic(mart: pd.DataFrame, family: ProtectedFamily) -> tuple[int, int, int, int]:
    """(counts hidden, placements in hidden cells of the first count, small counts the auditor
    bounds narrower than t/2, small counts hidden) when each table is suppressed on its own."""
    finest = finest_cells(mart, family)
    counts = list(family.counts)
    frames = []
    for shape in family.shapes:
        cells = table_cells(finest, [shape], counts)
        table = pd.DataFrame(cells["label"].tolist(), columns=[*shape.dims, shape.grain])
        for count in counts:
            table[count] = cells[count].to_numpy()
        names = [*shape.dims, shape.grain]
        nested = {
            coarser: (
                shape.grain,
                table[shape.grain].map(lambda x, c=coarser, g=shape.grain: parent_label(x, g, c)),
            )
            for coarser in family.parents[shape.grain]
        }
        decided = suppress_answer(table, names, counts, family.threshold, nested=nested)
        out = table.rename(columns={shape.grain: "period"}).assign(table=shape.key)
        for count in counts:
            out[f"{count}__hidden"] = decided[count].isna().to_numpy()
        frames.append(out)
    every = pd.concat(frames, ignore_index=True)
    report = audit_tables(
        finest, every, family.shapes, counts, family.threshold, family.width,
        dict(family.bounded_by),
    )  # fmt: skip
    first = counts[0]
    hidden = sum(int(every[f"{c}__hidden"].sum()) for c in counts)
    placements = int(every.loc[every[f"{first}__hidden"], first].sum())
    return hidden, placements, len(report.narrow), report.hidden_small


def measure(lake: Path, with_heuristic: bool) -> list[FamilyCost]:
    gold = GoldSnapshots(lake / "gold")
    snapshot = gold.open_current()
    assert snapshot is not None, f"{lake}: nothing published"
    checks = {c["name"]: c for c in snapshot.manifest.checks}
    costs = []
    for family in families(load_catalog(PACKAGED_CATALOG)):
        if snapshot.mart(family.name) is None:
            continue
        mart = pd.read_parquet(gold.mart_file(snapshot, family.source))
        frame = pd.read_parquet(gold.mart_file(snapshot, family.name))
        cost = published_cost(mart, family, frame, checks[f"disclosure:{family.name}"])
        if with_heuristic:
            h, hp, narrow, small = heuristic(mart, family)
            cost = replace(
                cost, heuristic_hidden=h, heuristic_hidden_placements=hp,
                heuristic_narrow=narrow, heuristic_small=small,
            )  # fmt: skip
        costs.append(cost)
    return costs


def _publish_seconds(output: str) -> float | None:
    """The publish step's wall time from the demo's own step line."""
    match = re.search(r"✓ publish[^(\n]*\((\d+(?:\.\d+)?)s\)", output)
    return float(match.group(1)) if match else None


def render(children: str, size: str, publish: float | None, costs: list[FamilyCost]) -> str:
    rows = "\n".join(
        f"| {c.family.removeprefix('protected__')} | {c.roles} | {c.threshold}"
        f"{' (perturbed)' if c.perturbed else ''} | {c.tables} | {c.cells:,} | {c.hidden:,} "
        f"({c.hidden_placements:,}) | {c.heuristic_hidden:,} ({c.heuristic_hidden_placements:,}) "
        f"| {c.heuristic_narrow:,} of {c.heuristic_small:,} | {c.protect_seconds:.1f} "
        f"| {c.audit_seconds:.1f} | {'passed' if c.passed else 'FAILED'} |"
        for c in costs
    )
    return (
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Lake: {children} "
        f"({size}). Command: `.venv/bin/python -m bench.protection "
        f"{'--lake PATH' if children.startswith('existing') else '--children N'}`.\n\n"
        + (
            f"**The publish step (protect and audit every family in two processes, the gate's "
            f"other checks, write the snapshot): {publish:.1f} s wall.** "
            if publish is not None
            else ""
        )
        + f"Protect + audit summed over families (CPU seconds, one process each): "
        f"{sum(c.protect_seconds + c.audit_seconds for c in costs):.1f} s.\n\n"
        'Per family (each count has its own pattern; "hidden" counts every hidden count of '
        "every cell of every table, the placements in hidden placement cells in brackets). "
        "Heuristic: each table suppressed on its own (the API before protected families), on "
        'the same snapshot; "pinned": hidden small counts the auditor bounds narrower than '
        "t/2 when every table of the family is read together.\n\n"
        "| family | roles | threshold | tables | cells | joint: hidden (placements) "
        "| heuristic: hidden (placements) | heuristic: pinned of small | protect s | audit s "
        "| gate |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--lake", type=Path, help="an already published lake (skips the demo)")
    parser.add_argument("--no-heuristic", action="store_true", help="skip the baseline")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    publish = None
    if args.lake is not None:
        lake, label = args.lake, f"existing lake {args.lake.name}"
        costs = measure(lake, not args.no_heuristic)
        size = _size(lake)
    else:
        with tempfile.TemporaryDirectory(prefix="merajut-bench-protection-") as d:
            env = isolated_env(Path(d))
            _, output = timed([MERAJUT, "demo", "--children", str(args.children)], env)
            publish = _publish_seconds(output)
            lake = Path(d) / "lake"
            costs = measure(lake, not args.no_heuristic)
            size = _size(lake)
        label = f"`merajut demo --children {args.children:,}`"
    text = render(label, size, publish, costs)
    print(text)
    if args.write_docs:
        title = f"Publish-time protection, {label.strip('`')} (bench.protection)"
        write_section(title, text)


def _size(lake: Path) -> str:
    gold = GoldSnapshots(lake / "gold")
    snapshot = gold.open_current()
    assert snapshot is not None
    cube = pd.read_parquet(gold.mart_file(snapshot, "metrics_placements_cube"))
    return f"{int(cube['placements'].sum()):,} placements in {cube['quarter'].nunique()} quarters"


if __name__ == "__main__":
    main()
