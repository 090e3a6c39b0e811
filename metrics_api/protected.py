"""The tables a suppressed audience is served, protected jointly at publish time.

Why at publish: an audience that may combine several breakdowns of the same counts can add
them up. Suppressing each answer (or each table) on its own leaves cells that the others pin
down; the catalog therefore bounds what an audience may combine (``max_dimensions``), and the
publish step protects every table inside that bound as one problem
(:func:`anonymization.protected_tables.protect_tables`) and checks the result with the
independent auditor (:func:`anonymization.table_audit.audit_tables`). The API then answers such
an audience only with lookups of these cells and sums of whole periods of them — never with a
number computed from the mart — so whatever a reader combines is a combination of cells the
auditor has seen.

A *family* is one source mart × one audience rule (threshold, finest geography, dimension
bound): the roles that share a rule share its tables. The source is the one the rule names for
the role's purpose (:mod:`lakehouse.reference.purposes`): a consent purpose's roles get tables
computed from its consented mart only, so a family never mixes populations. Its counts are every mart column the
audience's metrics sum; a ratio metric tells the attacker (and so the protector) that its
numerator never exceeds its denominator: every ratio of the catalog is a share.

The published frame of a family is a gold mart like any other (Parquet in the snapshot, a gold
table in server mode), one row per cell: ``cell`` (its id in the frame), ``table``
(``province,sex|quarter``), the dimensions
(NA where the table does not break down by them; the province's name next to its code),
``grain``, ``period``, ``period_start``, each
count (NA when hidden: the file holds nothing the audience may not see) and ``<count>__state``
(0 shown, 1 hidden as small, 2 hidden to protect another cell).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from anonymization.cell_key import perturb
from anonymization.protected_tables import (
    CountRef,
    TableShape,
    Witness,
    cell_label,
    cell_sums,
    protect_tables,
    shapes_by_key,
    table_cells,
)
from anonymization.table_audit import TableAudit, audit_tables
from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin
from lakehouse.reference.regions import province_by_code
from metrics_api.catalog import Catalog, CatalogError, Metric, ResolvedRule
from metrics_api.windows import GRAIN_MONTHS, coarsest, parent_label, period_start

__all__ = [
    "PREFIX",
    "STATE_CHANGED",
    "STATE_COMPLEMENTARY",
    "STATE_PRIMARY",
    "STATE_SHOWN",
    "ProtectedFamily",
    "SnapshotProtection",
    "audit_family",
    "families",
    "family_for",
    "finest_cells",
    "ledger_frame",
    "protect_family",
    "protect_snapshot",
    "released_values",
]

PREFIX = "protected__"
STATE_SHOWN, STATE_PRIMARY, STATE_COMPLEMENTARY, STATE_CHANGED = 0, 1, 2, 3


class _RuleKey(NamedTuple):
    """What makes two (metric, role) pairs share a family: the fields of ProtectedFamily that
    come from the catalog rule rather than from the metrics gathered into it."""

    source: str
    threshold: int
    finest_geography: str
    max_dimensions: int
    dimensions: tuple[tuple[str, str], ...]
    time_column: str
    grains: tuple[str, ...]
    geography: str | None
    perturbed: bool
    purpose: str


@dataclass(frozen=True)
class ProtectedFamily:
    """Every table one audience rule may be served from one source mart."""

    source: str
    threshold: int
    finest_geography: str
    max_dimensions: int
    #: (dimension name, mart column), catalog order; no province for a national audience.
    dimensions: tuple[tuple[str, str], ...]
    time_column: str
    grains: tuple[str, ...]
    #: The province dimension, if the family has one: its cells carry the province's name.
    geography: str | None
    #: Shown counts carry cell-key noise (anonymization.cell_key), keyed by ``cell_keys``.
    perturbed: bool
    #: What its roles are served for: the source mart must declare the same purpose (the
    #: publish gate checks it).
    purpose: str
    counts: tuple[str, ...]
    bounded_by: tuple[tuple[str, str], ...]
    roles: tuple[str, ...]
    #: (count column, the mart column summing its records' perturbation keys); perturbed only.
    cell_keys: tuple[tuple[str, str], ...] = ()

    @property
    def rule_key(self) -> _RuleKey:
        return _RuleKey(*(getattr(self, name) for name in _RuleKey._fields))

    @property
    def name(self) -> str:
        """The mart name the family is published under."""
        return (
            f"{PREFIX}{self.source}__t{self.threshold}_{self.finest_geography}"
            f"_d{self.max_dimensions}{'_ck' if self.perturbed else ''}"
        )

    @property
    def width(self) -> float:
        """How wide the attacker's interval of a hidden small count must stay."""
        return self.threshold / 2

    @property
    def shapes(self) -> list[TableShape]:
        names = [d for d, _ in self.dimensions]
        return [
            TableShape(subset, grain)
            for size in range(min(self.max_dimensions, len(names)) + 1)
            for subset in itertools.combinations(names, size)
            for grain in self.grains
        ]

    @property
    def block(self) -> str:
        return coarsest(self.grains)

    @property
    def parents(self) -> dict[str, list[str]]:
        return {
            g: [c for c in self.grains if GRAIN_MONTHS[c] > GRAIN_MONTHS[g]] for g in self.grains
        }


def _rule_key(metric: Metric, rule: ResolvedRule) -> _RuleKey:
    national = rule.finest_geography == "national"
    dims = tuple(
        (name, spec.column)
        for name, spec in metric.dimensions.items()
        if not (national and spec.geography == "province")
    )
    assert rule.max_dimensions is not None  # every suppressed rule has a bound
    return _RuleKey(
        rule.source, rule.threshold, rule.finest_geography, rule.max_dimensions, dims,
        metric.time.column, tuple(metric.time.grains),
        None if national else metric.geography_dimension, rule.perturbed, rule.purpose,
    )  # fmt: skip


def families(catalog: Catalog) -> list[ProtectedFamily]:
    """One family per source mart and audience rule of every suppressed audience."""
    grouped: dict[_RuleKey, dict[str, set[Any]]] = {}
    for metric in catalog.metrics.values():
        for role in metric.audiences:
            rule = metric.rule_for(role)
            assert rule is not None
            if not rule.suppressed:
                continue
            entry = grouped.setdefault(
                _rule_key(metric, rule),
                {"counts": set(), "bounded": set(), "roles": set(), "keys": set()},
            )
            columns = metric.count_columns
            entry["counts"].update(c for c in columns.values() if c)
            if rule.perturbed:
                entry["keys"].update((c, metric.cell_keys[c]) for c in columns.values() if c)
            entry["roles"].add(role)
            if metric.kind == "ratio" and columns["numerator"] != columns["denominator"]:
                entry["bounded"].add((columns["numerator"], columns["denominator"]))
    out: dict[str, ProtectedFamily] = {}
    for key, entry in sorted(grouped.items(), key=lambda kv: repr(kv[0])):
        family = ProtectedFamily(
            **key._asdict(),
            counts=tuple(sorted(entry["counts"])),
            bounded_by=tuple(sorted(entry["bounded"])),
            roles=tuple(sorted(entry["roles"])),
            cell_keys=tuple(sorted(entry["keys"])),
        )
        if len({count for count, _ in family.cell_keys}) != len(family.cell_keys):
            raise CatalogError(
                f"metrics of {family.source} name different cell_keys for the same count"
            )
        if family.name in out:
            raise CatalogError(
                f"metrics of {family.source} for the same audience rule declare different "
                "dimensions or grains; they cannot share one protected family"
            )
        out[family.name] = family
    return list(out.values())


def family_for(catalog: Catalog, metric: Metric, rule: ResolvedRule) -> ProtectedFamily:
    key = _rule_key(metric, rule)
    for family in families(catalog):
        if family.rule_key == key:
            return family
    raise LookupError(f"no protected family serves {metric.name!r} at this rule")


def _labels(starts: pd.Series, grain: str) -> pd.Series:
    year = starts.dt.year.astype(str)
    if grain == "year":
        return year
    if grain == "quarter":
        return year + "-Q" + starts.dt.quarter.astype(str)
    if grain == "month":
        return year + "-" + starts.dt.month.map("{:02d}".format)
    raise ValueError(f"unknown grain {grain!r}")


def finest_cells(mart: pd.DataFrame, family: ProtectedFamily) -> pd.DataFrame:
    """The mart summed to the family's finest cells (every dimension × the finest grain), with
    a label column per grain; empty cells left out (the attacker knows them)."""
    starts = pd.to_datetime(mart[family.time_column])
    frame = pd.DataFrame(
        {name: mart[column].astype("string") for name, column in family.dimensions}
    )
    for grain in family.grains:
        frame[grain] = _labels(starts, grain).to_numpy()
    sums = [*family.counts, *(column for _, column in family.cell_keys)]
    for column in sums:
        frame[column] = mart[column].astype("int64").to_numpy()
    keys = [*(d for d, _ in family.dimensions), *family.grains]
    finest = frame.groupby(keys, as_index=False, dropna=False, sort=True)[sums].sum()
    finest = finest[(finest[list(family.counts)] > 0).any(axis=1)]
    return finest.reset_index(drop=True)


def released_values(
    family: ProtectedFamily, history: pd.DataFrame | None
) -> dict[CountRef, set[int]]:
    """Every value each count of ``family`` was shown with in earlier releases (the publish
    ledger's frames of the family: hidden counts are NA there and give nothing)."""
    return _released(family, history)[0]


def _released(
    family: ProtectedFamily, history: pd.DataFrame | None
) -> tuple[dict[CountRef, set[int]], dict[CountRef, int]]:
    """(every value each count was shown with; the true value of each count the latest
    release hid, where the ledger holds it: ``<count>__truth``, restricted)."""
    shown: dict[CountRef, set[int]] = {}
    hidden: dict[CountRef, int] = {}
    if history is None or history.empty:
        return shown, hidden
    latest = history["snapshot_id"].max() if "snapshot_id" in history else None
    shapes = shapes_by_key(family.shapes)
    for row in history.to_dict("records"):
        shape = shapes.get(str(row["table"]))
        if shape is None:  # a table the family no longer serves: nobody can add to it
            continue
        label = cell_label(row, shape)
        for count in family.counts:
            value = row.get(count)
            if row.get(f"{count}__state") == STATE_SHOWN:
                if value is not None and not pd.isna(value):
                    shown.setdefault((shape.key, label, count), set()).add(int(value))
            elif row.get("snapshot_id") == latest:
                truth = row.get(f"{count}__truth")
                if truth is not None and not pd.isna(truth):
                    hidden[(shape.key, label, count)] = int(truth)
    return shown, hidden


@dataclass(frozen=True)
class _History:
    """What earlier releases mean for this one (see :func:`protect_tables`)."""

    known: set[CountRef]
    changed: set[CountRef]
    kept: set[CountRef]


def _history_refs(
    finest: pd.DataFrame, family: ProtectedFamily, history: pd.DataFrame | None
) -> _History:
    """known: counts still holding a value they were shown with; changed: counts of an exact
    family that moved by 1 .. threshold - 1 since they were shown; kept: counts the latest
    release hid that still hold the same value (hidden again, so a run with nothing new
    publishes the same tables)."""
    given, hidden_before = _released(family, history)
    out = _History(set(), set(), set())
    if not given and not hidden_before:
        return out
    keys = dict(family.cell_keys)
    cells = table_cells(finest, family.shapes, [*family.counts, *keys.values()])
    t = family.threshold
    for count in family.counts:
        truth = cells[count].to_numpy(dtype="int64")
        shown = truth.copy()
        if count in keys:
            # The value the audience would see now: compare like with like.
            showable = (truth == 0) | (truth >= t)
            shown[showable] = perturb(truth[showable], cells[keys[count]].to_numpy()[showable], t)
        rows = zip(cells["table"], cells["label"], truth, shown, strict=True)
        for table, label, value, now in rows:
            ref = (table, label, count)
            before = given.get(ref)
            if before and int(now) in before:
                out.known.add(ref)
            elif before and count not in keys and any(0 < abs(int(value) - v) < t for v in before):
                out.changed.add(ref)
            elif hidden_before.get(ref) == int(value):
                out.kept.add(ref)
    return out


def ledger_frame(mart: pd.DataFrame, family: ProtectedFamily, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the publish ledger keeps it: with every cell's true counts
    (``<count>__truth``), so the next publish can tell an unchanged hidden cell (and hide it
    again) from one that moved. Restricted: never published."""
    truth = cell_sums(finest_cells(mart, family), frame, family.shapes, list(family.counts))
    return frame.assign(**{f"{c}__truth": truth[c].to_numpy() for c in family.counts})


def protect_family(
    mart: pd.DataFrame, family: ProtectedFamily, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The family's published frame (see the module docstring), protected against ``history``
    too: the frames of the family released before (the publish ledger)."""
    return _protect_family(mart, family, history)[0]


def _protect_family(
    mart: pd.DataFrame, family: ProtectedFamily, history: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[Witness]]:
    """:func:`protect_family` and the protector's witness tables (rows of
    :func:`finest_cells`), which the audit may check and use instead of solving its own LPs."""
    finest = finest_cells(mart, family)
    before = _history_refs(finest, family, history)
    result = protect_tables(
        finest, family.shapes, family.counts, family.threshold,
        family.width, block=family.block, parents=family.parents,
        bounded_by=dict(family.bounded_by), known=before.known, changed=before.changed,
        kept=before.kept,
    )  # fmt: skip
    cells = result.cells
    keys = dict(family.cell_keys)
    key_sums = cell_sums(finest, cells, family.shapes, list(keys.values())) if keys else None
    out = cells[["table", *(d for d, _ in family.dimensions), "grain", "period"]].copy()
    if family.geography is not None:
        # Readers (a dashboard's table, a CSV) need the name, not only the BPS code.
        names = {code: p.name for code, p in province_by_code().items()}
        at = out.columns.get_loc(family.geography) + 1
        out.insert(at, f"{family.geography}_name", out[family.geography].map(names))
    out["period_start"] = pd.to_datetime(
        [period_start(p, g) for p, g in zip(cells["period"], cells["grain"], strict=True)]
    ).astype("datetime64[s]")
    for count in family.counts:
        hidden = cells[f"{count}__hidden"].astype(bool).to_numpy()
        # A hidden count is not in the file at all: whoever reads the gold table (a dashboard,
        # SQL Lab, a copy of the snapshot) gets what the API would serve, nothing more.
        values = cells[count].astype("Int64")
        if key_sums is not None:
            # Public audiences: the shown count is count + noise(count, cell key), the same
            # for the same records in every answer, table and snapshot.
            shown = values.where(~hidden, 0).astype("int64")
            values = pd.Series(
                perturb(shown, key_sums[keys[count]], family.threshold), index=values.index
            )
            values = values.astype("Int64")
        out[count] = values.mask(hidden)
        reason = cells[f"{count}__reason"].fillna("")
        primary = reason.str.startswith("primary").to_numpy()
        moved = reason.str.startswith("changed").to_numpy()
        state = np.select(
            [primary, moved, hidden], [STATE_PRIMARY, STATE_CHANGED, STATE_COMPLEMENTARY],
            STATE_SHOWN,
        )  # fmt: skip
        out[f"{count}__state"] = state.astype("int8")
    # A total order: the same mart gives a byte-identical file (and hash).
    order = ["table", "period", *(d for d, _ in family.dimensions)]
    out = out.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)
    # Each cell's id in this frame: what the served-cells ledger records an answer by.
    out.insert(0, "cell", np.arange(len(out), dtype="int32"))
    return out, result.witnesses


def audit_family(
    mart: pd.DataFrame,
    family: ProtectedFamily,
    published: pd.DataFrame,
    history: pd.DataFrame | None = None,
    witnesses: Sequence[Witness] = (),
) -> CheckOutcome:
    """The gate's check ``disclosure:<family>``: every published cell re-derived from the mart,
    every small count hidden, every hidden one at least ``threshold / 2`` wide — against
    everything ``history`` (the family's earlier releases) gave the same audience, too.
    ``witnesses``: the protector's tables of finest cells, offered to the audit as candidate
    proofs; it checks each against its own equations and solves LPs for whatever they leave
    unproven (:func:`anonymization.table_audit.audit_tables`)."""
    given = released_values(family, history)
    before = sorted(set(history["snapshot_id"])) if history is not None and len(history) else []
    finest = finest_cells(mart, family)
    cells = published.copy()
    for count in family.counts:
        hidden = cells[f"{count}__state"].astype(int) != STATE_SHOWN
        cells[f"{count}__hidden"] = hidden
    report: TableAudit
    try:
        reused, reused_from = _unchanged_blocks(finest, family, published, history)
        if reused:
            # Every cell of these blocks (its truth, its pattern, its published value) is as the
            # last published snapshot had it: that snapshot's gate proved them against the same
            # equations (the ones it added are these very cells), so the proof carries over.
            cells = cells[~_block_labels(cells, family).isin(reused).to_numpy()]
            keep = ~finest[family.block].isin(reused).to_numpy()
            finest = finest[keep].reset_index(drop=True)
            witnesses = _kept_witnesses(witnesses, keep)
        report = audit_tables(
            finest, cells, family.shapes, family.counts, family.threshold,
            family.width, dict(family.bounded_by), dict(family.cell_keys), given, witnesses,
        )  # fmt: skip
    except (KeyError, ValueError) as exc:  # a frame of the wrong shape, a contradicting table
        return CheckOutcome(f"disclosure:{family.name}", False, f"cannot audit: {exc}")
    return CheckOutcome(
        f"disclosure:{family.name}",
        report.passed,
        f"{family.name} ({', '.join(family.roles)}; t={family.threshold}): {report.summary()}",
        {
            "cells": report.cells,
            "hidden_small": report.hidden_small,
            "mismatched": len(report.mismatched),
            "shown_small": len(report.shown_small),
            "narrow": len(report.narrow),
            "tables": len(family.shapes),
            # What the check covered: the API refuses to serve a role cells of snapshots
            # that no audit saw together (metrics_api.ledger).
            "audited_with": before,
            "released_counts": len(given),
            # Blocks (periods) identical to the last snapshot's, proven by its gate.
            "reused_blocks": sorted(reused),
            "reused_from": reused_from,
        },
    )


def _kept_witnesses(witnesses: Sequence[Witness], keep: np.ndarray) -> list[Witness]:
    """The witnesses of the finest rows ``keep`` leaves, renumbered (a witness covers one
    block, so it is kept whole or dropped)."""
    position = np.cumsum(keep) - 1
    return [
        Witness(position[w.rows], w.tables)
        for w in witnesses
        if len(w.rows) and bool(keep[w.rows].all())
    ]


def _block_labels(frame: pd.DataFrame, family: ProtectedFamily) -> pd.Series:
    """The block (coarsest period) each cell of a family frame lies in."""
    return pd.Series(
        [
            p if g == family.block else parent_label(p, g, family.block)
            for p, g in zip(frame["period"].astype(str), frame["grain"], strict=True)
        ],
        index=frame.index,
    )


def _unchanged_blocks(
    finest: pd.DataFrame,
    family: ProtectedFamily,
    published: pd.DataFrame,
    history: pd.DataFrame | None,
) -> tuple[set[str], str | None]:
    """The blocks whose every cell has the same truth, state and published value as in the
    latest release (which the ledger keeps with its true counts), and that release's id."""
    truths = [f"{c}__truth" for c in family.counts]
    if history is None or history.empty or not set(truths) <= set(history.columns):
        return set(), None
    latest_id = str(history["snapshot_id"].max())
    latest = history[history["snapshot_id"] == latest_id]
    now = published.assign(
        **{
            f"{c}__truth": cell_sums(finest, published, family.shapes, [c])[c].to_numpy()
            for c in family.counts
        }
    )
    shapes = shapes_by_key(family.shapes)

    def signature(frame: pd.DataFrame) -> dict[str, set[tuple[object, ...]]]:
        out: dict[str, set[tuple[object, ...]]] = {}
        blocks = _block_labels(frame, family)
        for block, row in zip(blocks, frame.to_dict("records"), strict=True):
            shape = shapes.get(str(row["table"]))
            if shape is None:  # a table the family no longer serves
                out.setdefault(block, set()).add(("gone", str(row["table"])))
                continue
            facts: list[object] = [row["table"], cell_label(row, shape)]
            for c in family.counts:
                value = row[c]
                facts += [
                    None if pd.isna(value) else int(value),
                    int(row[f"{c}__state"]),
                    int(row[f"{c}__truth"]),
                ]
            out.setdefault(block, set()).add(tuple(facts))
        return out

    before, current = signature(latest), signature(now)
    same = {b for b, facts in current.items() if before.get(b) == facts}
    return same, latest_id if same else None


def _protect_and_audit(
    mart: pd.DataFrame, family: ProtectedFamily, history: pd.DataFrame | None
) -> tuple[pd.DataFrame, CheckOutcome, pd.DataFrame]:
    started = time.perf_counter()
    try:
        frame, witnesses = _protect_family(mart, family, history)
    except (RuntimeError, ValueError) as exc:  # no pattern within the budget; a bad count
        empty = pd.DataFrame()
        failed = CheckOutcome(f"disclosure:{family.name}", False, f"not protected: {exc}")
        return empty, failed, empty
    protected = time.perf_counter() - started
    outcome = audit_family(mart, family, frame, history, witnesses)
    # What the publish spends on each family, in the manifest beside the proof.
    seconds = {
        "protect_seconds": round(protected, 2),
        "audit_seconds": round(time.perf_counter() - started - protected, 2),
    }
    outcome = replace(outcome, metadata={**(outcome.metadata or {}), **seconds})
    return frame, outcome, ledger_frame(mart, family, frame)


@dataclass(frozen=True)
class SnapshotProtection:
    """Every family's published frame, who it is for, and the gate's outcome for each."""

    frames: dict[str, pd.DataFrame]
    audiences: dict[str, tuple[str, ...]]
    outcomes: list[CheckOutcome]
    #: The frames as the publish ledger keeps them (with true counts: restricted).
    ledger: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Family name -> (its source mart, the purpose its roles are served for).
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)

    def origins(self, marts: Mapping[str, MartOrigin]) -> dict[str, MartOrigin]:
        """How the snapshot records each frame: computed at publish (no warehouse relation),
        for the roles of its rule only, with the purpose and population of its source mart
        (``marts``: the source marts' origins, from dbt meta)."""
        out = {}
        for name in self.frames:
            source, purpose = self.sources.get(name, (None, None))
            origin = marts.get(source) if source else None
            out[name] = MartOrigin(
                audience=self.audiences[name],
                purpose=origin.purpose if origin else purpose,
                population=origin.population if origin else None,
            )
        return out


def protect_snapshot(
    catalog: Catalog,
    marts: Mapping[str, pd.DataFrame],
    workers: int | None = None,
    history: Callable[[str], pd.DataFrame] | None = None,
) -> SnapshotProtection:
    """Protect and audit every family whose source mart is in ``marts``, each against its
    ``history(family name)`` (what earlier snapshots released of it); families run in
    parallel processes (each is one independent problem)."""
    declared = families(catalog)
    todo: Sequence[ProtectedFamily] = [f for f in declared if f.source in marts]
    missing = sorted({f.source for f in declared} - set(marts))
    outcomes = [
        CheckOutcome(f"disclosure:{PREFIX}{source}", False, f"mart {source} was not built")
        for source in missing
    ]
    pasts = [history(f.name) if history else None for f in todo]
    workers = min(len(todo), workers or os.cpu_count() or 1)
    if workers > 1:
        # spawn: the publish runs inside Dagster and the API's threads; fork would copy them.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            results = list(
                pool.map(_protect_and_audit, [marts[f.source] for f in todo], todo, pasts)
            )
    else:
        results = [
            _protect_and_audit(marts[f.source], f, h) for f, h in zip(todo, pasts, strict=True)
        ]
    frames: dict[str, pd.DataFrame] = {}
    ledger: dict[str, pd.DataFrame] = {}
    for family, (frame, outcome, kept) in zip(todo, results, strict=True):
        outcomes.append(outcome)
        if outcome.passed:
            frames[family.name] = frame
            ledger[family.name] = kept
    return SnapshotProtection(
        frames,
        {f.name: f.roles for f in todo},
        outcomes,
        ledger,
        {f.name: (f.source, f.purpose) for f in todo},
    )
