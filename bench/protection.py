"""What publishing the protected families costs, and what they hide against the old heuristic.

The marts of a published lake (a fresh `merajut demo --children N`, or an existing lake with
``--lake``) are protected as the publish step does it: every family of the packaged catalog,
protected and audited (`metrics_api.protected`), two processes at a time, and the whole is
timed (the publish's own cost). Per family: tables, cells, the counts hidden (each count has its
own pattern) and the placements in hidden placement cells.

The baseline, on the same snapshot: the per-table heuristic the API used before the families
(each table of the family suppressed on its own, primary and complementary with the quarters of
a year as a line, `metrics_api.privacy.suppress_answer`), its hidden counts, and how many small
counts the independent auditor then bounds narrower than half the threshold when every table
is read together (the joint pattern: none, or the gate would have failed).

    .venv/bin/python -m bench.protection [--children 2000 | --lake PATH] [--write-docs]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from anonymization.protected_tables import table_cells
from anonymization.table_audit import audit_tables
from bench.common import demo_lake
from bench.report import machine, write_section
from lakehouse.gold_snapshot import GoldSnapshots
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.privacy import suppress_answer
from metrics_api.protected import (
    STATE_SHOWN,
    ProtectedFamily,
    audit_family,
    families,
    finest_cells,
    protect_family,
)
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


def _protect_and_time(mart: pd.DataFrame, family: ProtectedFamily) -> FamilyCost:
    started = time.perf_counter()
    frame = protect_family(mart, family)
    protected = time.perf_counter() - started
    outcome = audit_family(mart, family, frame)
    audited = time.perf_counter() - started - protected
    first = family.counts[0]
    hidden_first = frame[f"{first}__state"] != STATE_SHOWN
    truth = table_cells(finest_cells(mart, family), family.shapes, [first])
    return FamilyCost(
        family=family.name,
        roles=", ".join(family.roles),
        threshold=family.threshold,
        perturbed=family.perturbed,
        tables=len(family.shapes),
        cells=len(frame),
        hidden=int(sum((frame[f"{c}__state"] != STATE_SHOWN).sum() for c in family.counts)),
        hidden_placements=_hidden_total(frame, truth, family, hidden_first, first),
        protect_seconds=protected,
        audit_seconds=audited,
        passed=outcome.passed,
    )


def _hidden_total(
    frame: pd.DataFrame,
    truth: pd.DataFrame,
    family: ProtectedFamily,
    hidden: pd.Series,
    count: str,
) -> int:
    """The true ``count`` summed over the hidden cells of ``frame`` (hidden values are not in
    the published frame: they come from the mart)."""
    labels = [
        tuple(str(v) for v in (*(r[d] for d in shape.dims), r["period"]))
        for r, shape in zip(
            frame.to_dict("records"),
            [dict((s.key, s) for s in family.shapes)[t] for t in frame["table"]],
            strict=True,
        )
    ]
    values = truth.set_index(["table", "label"])[count]
    keys = list(zip(frame["table"], labels, strict=True))
    return int(values.loc[[k for k, h in zip(keys, hidden, strict=True) if h]].sum())


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


def _marts(lake: Path) -> dict[str, pd.DataFrame]:
    gold = GoldSnapshots(lake / "gold")
    snapshot = gold.open_current()
    assert snapshot is not None, f"{lake}: nothing published"
    sources = {f.source for f in families(load_catalog(PACKAGED_CATALOG))}
    return {name: pd.read_parquet(gold.mart_file(snapshot, name)) for name in sorted(sources)}


def measure(marts: dict[str, pd.DataFrame], with_heuristic: bool) -> tuple[float, list[FamilyCost]]:
    todo = [f for f in families(load_catalog(PACKAGED_CATALOG)) if f.source in marts]
    started = time.perf_counter()
    # As the publish: two processes, spawned (protect_snapshot's own pool).
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        costs = list(pool.map(_protect_and_time, [marts[f.source] for f in todo], todo))
    wall = time.perf_counter() - started
    if with_heuristic:
        for i, family in enumerate(todo):
            h, hp, narrow, small = heuristic(marts[family.source], family)
            costs[i] = FamilyCost(
                **{**costs[i].__dict__, "heuristic_hidden": h, "heuristic_hidden_placements": hp,
                   "heuristic_narrow": narrow, "heuristic_small": small},
            )  # fmt: skip
    return wall, costs


def render(
    children: str, marts: dict[str, pd.DataFrame], wall: float, costs: list[FamilyCost]
) -> str:
    cube = marts.get("metrics_placements_cube")
    size = (
        f"{int(cube['placements'].sum()):,} placements in {cube['quarter'].nunique()} quarters"
        if cube is not None
        else ""
    )
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
        f"**Publish-time protection of every family (protect + audit, two processes as the "
        f"publish runs them): {wall:.1f} s wall.**\n\n"
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
    if args.lake is not None:
        marts = _marts(args.lake)
        label = f"existing lake {args.lake.name}"
    else:
        with demo_lake(args.children, "merajut-bench-protection-") as (tmp, _):
            marts = _marts(tmp / "lake")
        label = f"`merajut demo --children {args.children:,}`"
    wall, costs = measure(marts, not args.no_heuristic)
    text = render(label, marts, wall, costs)
    print(text)
    if args.write_docs:
        title = f"Publish-time protection, {label.strip('`')} (bench.protection)"
        write_section(title, text)


if __name__ == "__main__":
    main()
