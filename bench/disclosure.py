"""What an attacker with one key per role recovers from every table of a breakdown, by LP.

A fresh lake (2,000 children by default) is published by `merajut demo`; the API runs as a real
server. For each non-admin role, the attacker asks every table the role may get over two
dimensions and time (every subset of the dimensions × grain quarter, year or none × every
whole-year window: about 30 queries), writes each visible count as an equation over the finest cells
(the two dimensions × quarter, as listed by the finest answer itself) and bounds every hidden
finest cell by two linear programmes (`anonymization.disclosure_audit`). Reported per role:
hidden cells, cells recovered exactly, cells bounded to an interval narrower than half the
role's threshold, and the attacker's solve time.

    .venv/bin/python -m bench.disclosure [--children 2000] [--write-docs]
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from anonymization.disclosure_audit import LinearRelease, audit_intervals, release_from_answers
from anonymization.joint_suppression import CellFamily, protect_jointly
from bench.common import REPO, api_key, demo_lake, serving
from bench.report import machine, write_section
from lakehouse.gold_snapshot import GoldSnapshots
from lakehouse.reference.audiences import audience_thresholds
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.disclosure import published_answer
from metrics_api.windows import period_start

ROLES = ("government", "business", "researcher", "community", "media")
DIMENSIONS = {
    # Two: a suppressed audience may combine at most max_dimensions (2) per answer.
    "media": ("sex", "placement_type"),  # national only
    "default": ("province", "placement_type"),
}
DOC = REPO / "docs" / "disclosure-control.md"


@dataclass(frozen=True)
class Attack:
    role: str
    threshold: int
    keys: int
    queries: int
    hidden: int
    exact: int
    narrow: int
    #: Hidden cells whose true count is small (1 .. threshold - 1), and of them those the
    #: attacker pins or bounds narrower than half the threshold: the disclosures.
    small: int
    small_exact: int
    small_narrow: int
    seconds: float


def _finest_cells(finest: dict[str, Any]) -> pd.DataFrame:
    """The unknowns, as the attacker lists them: every row of the finest answer (hidden ones
    too), with the year and first day of its quarter."""
    cells = pd.DataFrame([r["dimensions"] for r in finest["rows"]])
    cells["year"] = cells["quarter"].str[:4]
    cells["period_start"] = cells["quarter"].map(lambda label: period_start(label, "quarter"))
    return cells


def _true_finest(env: dict[str, str], role: str, dims: tuple[str, ...]) -> dict[tuple, int]:
    """The true placements of every finest cell (``dims`` × quarter) of the population the
    role is served: its purpose's consented cube where the snapshot has one (consent by
    purpose), else every child's cube (a checkout from before it)."""
    gold = GoldSnapshots(Path(env["MERAJUT_LAKE_ROOT"]) / "gold")
    snapshot = gold.open_current()
    assert snapshot is not None
    rule = load_catalog(PACKAGED_CATALOG).metrics["placements"].rule_for(role)
    assert rule is not None
    source = rule.source if snapshot.mart(rule.source) else "metrics_placements_cube"
    cube = pd.read_parquet(gold.mart_file(snapshot, source))
    columns = [{"province": "province_code"}.get(d, d) for d in dims]
    sums = cube.groupby([*columns, "quarter"])["placements"].sum()
    return {tuple(str(v) for v in key): int(value) for key, value in sums.items()}


def attack(base: str, env: dict[str, str], role: str, checkout: Path) -> Attack:
    """One role's attacker; holding any number of keys of the role, they take a new one
    whenever a key's rate limit or query budget says no (429)."""
    dims = DIMENSIONS.get(role, DIMENSIONS["default"])
    keys = [api_key(env, role, checkout)]

    def ask(**params: str) -> dict[str, Any]:
        while True:
            response = httpx.get(
                f"{base}/v1/metrics/placements", params=params,
                headers={"X-API-Key": keys[-1]}, timeout=60,
            )  # fmt: skip
            if response.status_code != 429:
                break
            keys.append(api_key(env, role, checkout))
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    finest = ask(dimensions=",".join([*dims, "quarter"]))
    cells = _finest_cells(finest)
    subsets = [s for n in range(len(dims) + 1) for s in itertools.combinations(dims, n)]
    answers = [finest]
    for subset in subsets:
        for grain in ("quarter", "year", None):
            names = [*subset, *([grain] if grain else [])]
            if names != [*dims, "quarter"]:
                answers.append(ask(dimensions=",".join(names)))
    for year in sorted(cells["year"].unique()):
        for subset in subsets:
            answers.append(ask(dimensions=",".join(subset), **{"from": f"{year}-01-01"}))
            answers.append(
                ask(dimensions=",".join(subset), **{"from": f"{year}-01-01", "to": f"{year}-12-31"})
            )
    started = time.perf_counter()
    release = release_from_answers(cells, [published_answer(a) for a in answers])
    hidden = [np.array([i]) for i, r in enumerate(finest["rows"]) if r["suppressed"]]
    intervals = audit_intervals(release, hidden)
    seconds = time.perf_counter() - started
    threshold = audience_thresholds()[role]
    exact_of = _true_finest(env, role, dims)
    true = [exact_of[tuple(finest["rows"][int(h[0])]["dimensions"].values())] for h in hidden]
    small = [1 <= v < threshold for v in true]
    return Attack(
        role=role,
        threshold=threshold,
        keys=len(keys),
        queries=len(answers),
        hidden=len(hidden),
        exact=sum(i.exact() for i in intervals),
        narrow=sum(i.width < threshold / 2 for i in intervals),
        small=sum(small),
        small_exact=sum(i.exact() for i, s in zip(intervals, small, strict=True) if s),
        small_narrow=sum(
            i.width < threshold / 2 - 1e-6 for i, s in zip(intervals, small, strict=True) if s
        ),
        seconds=seconds,
    )


@dataclass(frozen=True)
class Loss:
    role: str
    threshold: int
    cells: int
    heuristic_cells: int
    heuristic_count: int
    heuristic_narrow: int
    joint_cells: int
    joint_count: int
    joint_narrow: int
    rounds: int
    seconds: float


JOINT_DIMENSIONS = ("province", "placement_type")


def _family_answers(ask: Any, dims: tuple[str, ...]) -> list[dict[str, Any]]:
    subsets = [s for n in range(len(dims) + 1) for s in itertools.combinations(dims, n)]
    return [
        ask(dimensions=",".join([*subset, *([grain] if grain else [])]))
        for subset in subsets
        for grain in ("quarter", "year", None)
    ]


def _narrow(family: CellFamily, hidden: np.ndarray, sensitive: np.ndarray, width: float) -> int:
    """Sensitive cells the independent auditor bounds narrower than ``width``."""
    release = LinearRelease(family.n_finest, [])
    for cell, value, h in zip(family.cells, family.values, hidden, strict=True):
        if not h:
            release.add(cell, value)
    targets = [family.cells[i] for i in np.flatnonzero(sensitive)]
    return sum(i.width < width - 1e-9 for i in audit_intervals(release, targets))


def information_loss(base: str, env: dict[str, str], role: str, checkout: Path) -> Loss:
    """The same family of tables (JOINT_DIMENSIONS, every subset × quarter, year, total),
    suppressed as the API serves it today and jointly: cells and children hidden, and what the
    auditor still proves narrower than half the threshold."""

    def asker(key: str) -> Any:
        def ask(**params: str) -> dict[str, Any]:
            response = httpx.get(
                f"{base}/v1/metrics/placements", params=params, headers={"X-API-Key": key},
                timeout=60,
            )  # fmt: skip
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        return ask

    truth = _family_answers(asker(api_key(env, "admin", checkout)), JOINT_DIMENSIONS)
    served = _family_answers(asker(api_key(env, role, checkout)), JOINT_DIMENSIONS)
    finest = next(a for a in truth if a["dimensions"] == [*JOINT_DIMENSIONS, "quarter"])
    cells = _finest_cells(finest)
    equations = release_from_answers(cells, [published_answer(a) for a in truth]).equations
    family = CellFamily(len(cells), [c for c, _ in equations], np.array([v for _, v in equations]))
    for exact, suppressed in zip(truth, served, strict=True):  # the same cells, in order
        assert [r["dimensions"] for r in exact["rows"]] == [
            r["dimensions"] for r in suppressed["rows"]
        ]
    heuristic = np.array([r["suppressed"] for a in served for r in a["rows"]])
    assert len(heuristic) == len(family.values)
    threshold = audience_thresholds()[role]
    started = time.perf_counter()
    joint = protect_jointly(family, threshold, threshold / 2)
    seconds = time.perf_counter() - started
    values = family.values
    return Loss(
        role=role,
        threshold=threshold,
        cells=len(values),
        heuristic_cells=int(heuristic.sum()),
        heuristic_count=int(values[heuristic].sum()),
        heuristic_narrow=_narrow(family, heuristic, joint.sensitive, threshold / 2),
        joint_cells=int(joint.hidden.sum()),
        joint_count=int(values[joint.hidden].sum()),
        joint_narrow=_narrow(family, joint.hidden, joint.sensitive, threshold / 2),
        rounds=joint.rounds,
        seconds=seconds,
    )


def run(children: int, checkout: Path = REPO) -> tuple[list[Attack], str]:
    with demo_lake(children, "merajut-bench-disclosure-", checkout=checkout) as (_, env):
        port = 8765
        with serving(env, port, checkout):
            base = f"http://127.0.0.1:{port}"
            results = [attack(base, env, r, checkout) for r in ROLES]
            # The joint pattern is this tree's; an earlier checkout is only attacked.
            joint_roles = ("government", "business") if checkout == REPO else ()
            losses = [information_loss(base, env, r, checkout) for r in joint_roles]
    rows = "\n".join(
        f"| {a.role} | {a.threshold} | {a.queries} | {a.keys} | {a.hidden} | {a.exact} | {a.narrow} "
        f"| {a.small} | {a.small_exact} | {a.small_narrow} | {a.seconds:.1f} |"
        for a in results
    )
    loss_rows = "\n".join(
        f"| {x.role} | {x.threshold} | {x.cells} | {x.heuristic_cells} ({x.heuristic_count}) "
        f"| {x.heuristic_narrow} | {x.joint_cells} ({x.joint_count}) | {x.joint_narrow} "
        f"| {x.rounds} | {x.seconds:.1f} |"
        for x in losses
    )
    text = (
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"`merajut demo --children {children}`, metric `placements`; dimensions "
        f"{', '.join(DIMENSIONS['default'])} (media: {', '.join(DIMENSIONS['media'])}) × quarter.\n\n"
        "| role | threshold | queries | keys used | hidden cells | recovered exactly "
        "| interval < threshold / 2 | of them small | small recovered exactly "
        "| small < threshold / 2 | LP seconds |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n\n"
        "Information loss on one family of linked tables (province, placement type: every "
        "subset × quarter, year, all periods), as the API suppresses it today and jointly "
        "(`anonymization.joint_suppression`, width = threshold / 2): cells hidden (children "
        "in them), and sensitive cells the independent auditor bounds narrower than half the "
        "threshold.\n\n"
        "| role | threshold | cells | today: hidden (children) | today: too narrow "
        "| joint: hidden (children) | joint: too narrow | rounds | joint seconds |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{loss_rows}\n"
    )
    return results, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--checkout",
        type=Path,
        default=REPO,
        help="another checkout of this repository (its .venv installed), e.g. an earlier "
        "commit, attacked the same way; its figures are printed, never written to the docs",
    )
    args = parser.parse_args()
    _, text = run(args.children, args.checkout.resolve())
    print(text)
    if args.write_docs and args.checkout.resolve() == REPO:
        write_section(
            "Measured: the LP attacker over every table of a breakdown "
            "(`.venv/bin/python -m bench.disclosure --write-docs`)",
            text,
            doc=DOC,
        )


if __name__ == "__main__":
    main()
