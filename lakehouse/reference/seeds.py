"""dbt seeds written from the reference modules, so dbt never holds a literal copy of them.

``merajut reference seeds`` (re)writes ``dbt_project/seeds/<name>.csv``; a test fails when a
committed seed differs from what these functions produce, so an edit of the reference data that
forgets the seeds cannot land.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from lakehouse.reference.audiences import AUDIENCE_THRESHOLDS
from lakehouse.reference.purposes import PURPOSES
from lakehouse.reference.regions import PROVINCES

__all__ = ["SEEDS", "render_seed", "stale_seeds", "write_seeds"]

Rows = tuple[Sequence[str], list[Sequence[object]]]


def _provinces() -> Rows:
    return (
        ("province_code", "province_name", "island_group"),
        [(p.code, p.name, p.island_group) for p in PROVINCES],
    )


def _audience_thresholds() -> Rows:
    return (("audience", "threshold"), [(a, t) for a, t in AUDIENCE_THRESHOLDS.items()])


def _purposes() -> Rows:
    return (
        ("purpose", "population", "requires_consent"),
        [(p.name, p.population, str(p.requires_consent).lower()) for p in PURPOSES.values()],
    )


#: Seed name -> its header and rows.
SEEDS: dict[str, Callable[[], Rows]] = {
    "bps_provinces": _provinces,
    "audience_thresholds": _audience_thresholds,
    "purposes": _purposes,
}


def render_seed(name: str) -> str:
    header, rows = SEEDS[name]()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_seeds(seed_dir: Path) -> list[Path]:
    written = []
    for name in SEEDS:
        path = seed_dir / f"{name}.csv"
        path.write_text(render_seed(name), encoding="utf-8")
        written.append(path)
    return written


def stale_seeds(seed_dir: Path) -> list[str]:
    """Names of seeds whose committed file differs from the reference data (or is missing)."""
    out = []
    for name in SEEDS:
        path = seed_dir / f"{name}.csv"
        if not path.exists() or path.read_text(encoding="utf-8") != render_seed(name):
            out.append(name)
    return out
