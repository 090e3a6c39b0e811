"""Answering a metric request: catalog checks, scope rules, the query, suppression, caching.

Kept apart from the HTTP layer so that the rules are plain functions the tests can call and a
second transport (a CLI, a batch export) would apply exactly the same ones.

Order of the checks matters: the caller's right to the metric and to the requested breakdown
is decided from the catalog before anything is read, so a refused request costs nothing and
reveals nothing about the data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from anonymization.cell_key import MAX_NOISE
from anonymization.protected_tables import TableShape
from lakehouse.periods import period_end
from lakehouse.reference.audiences import PREVIEW_AUDIENCES
from lakehouse.signoff import SignoffError, SnapshotReviews
from lakehouse.withdrawals import marked_snapshots
from metrics_api.catalog import Catalog, Metric, ResolvedRule
from metrics_api.errors import BadRequest, Forbidden, NotFound, Unavailable
from metrics_api.ledger import DisclosureLedger
from metrics_api.privacy import protected_answer, suppress_answer
from metrics_api.protected import ProtectedFamily, family_for
from metrics_api.store import AggregateQuery, MetricStore, Snapshot
from metrics_api.windows import (
    GRAIN_MONTHS,
    Window,
    align_window,
    coarsest,
    finest,
    parent_label,
    period_start,
)

__all__ = ["Caller", "MetricAnswer", "MetricRequest", "MetricService", "ResultCache"]


@dataclass(frozen=True)
class Caller:
    """Who is asking: an authenticated key's id, name, role and optional province scope."""

    key_id: str
    name: str
    role: str
    province: str | None = None


@dataclass(frozen=True)
class MetricRequest:
    metric: str
    dimensions: str | None = None
    grain: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    province: str | None = None
    #: A snapshot other than CURRENT: a candidate awaiting approval, for roles that preview.
    snapshot: str | None = None


@dataclass(frozen=True)
class MetricAnswer:
    metric: Metric
    snapshot_id: str
    rule: ResolvedRule
    dimensions: list[str]
    grain: str | None
    province: str | None
    #: dims..., value, [numerator, denominator], suppressed, reason, and for a perturbed
    #: audience ``max_abs_error`` (each count's bound: MAX_NOISE per cell it adds up).
    frame: pd.DataFrame
    cached: bool
    window: Window | None = None
    #: What makes two answers the same (snapshot, metric, breakdown, window, scope, role):
    #: the key of the answer's prepared bodies too.
    key: tuple[Any, ...] = ()
    #: The snapshot's reporting date (ISO), if it recorded one.
    reporting_date: str | None = None
    #: Whether it came from a candidate a reviewer previewed (not from approved CURRENT).
    candidate: bool = False

    @property
    def perturbed(self) -> bool:
        return self.rule.perturbed

    @property
    def value_columns(self) -> list[str]:
        return ["value", "numerator", "denominator"] if self.metric.kind == "ratio" else ["value"]

    @property
    def suppressed_cells(self) -> int:
        return int(self.frame["suppressed"].sum())


V = TypeVar("V")


class ResultCache(Generic[V]):
    """A small thread-safe LRU of final (already suppressed) answers.

    Keys always start with the snapshot id, so a new publish can never be answered from an
    old snapshot's entry, and always include role and scope, so one audience's answer is
    never served to another.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[Any, ...], V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> V | None:
        with self._lock:
            frame = self._data.get(key)
            if frame is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return frame

    def put(self, key: tuple[Any, ...], frame: V) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._data[key] = frame
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


@dataclass(frozen=True)
class _Computed:
    """An answer's frame and the protected cells it was made of (for the ledger)."""

    frame: pd.DataFrame
    cells: tuple[int, ...]


class MetricService:
    def __init__(
        self,
        catalog: Catalog,
        store: MetricStore,
        cache: ResultCache[Any],
        ledger: DisclosureLedger | None = None,
        *,
        reviews: SnapshotReviews | None = None,
    ) -> None:
        self.catalog = catalog
        self.store = store
        #: The sign-off state of the lake's snapshots: which candidates a reviewer may preview
        #: (None: no previews, CURRENT only).
        self.reviews = reviews
        self.cache: ResultCache[_Computed] = cache
        #: Records what each role is served and refuses what no audit saw together (None:
        #: off, only to measure its cost).
        self.ledger = ledger
        # Protected tables (whole, before slicing), kept apart from the answers they serve.
        self.tables: ResultCache[pd.DataFrame] = ResultCache(cache.max_entries)
        #: Answers as the bytes sent (per format): a cached answer is not serialised again.
        #: Each answer's prepared body and its ETag (the body's hash), per format.
        self.bodies: ResultCache[tuple[bytes, str]] = ResultCache(cache.max_entries)
        self._families: dict[tuple[str, ResolvedRule], ProtectedFamily] = {}

    # -- checks that need no data -------------------------------------------
    def family(self, metric: Metric, rule: ResolvedRule) -> ProtectedFamily:
        """The protected family serving ``metric`` at ``rule`` (the catalog never changes
        while the service runs)."""
        key = (metric.name, rule)
        if key not in self._families:
            self._families[key] = family_for(self.catalog, metric, rule)
        return self._families[key]

    def metric_for(self, caller: Caller, name: str) -> tuple[Metric, ResolvedRule]:
        metric = self.catalog.metrics.get(name)
        if metric is None:
            raise BadRequest(
                f"unknown metric {name!r}; known metrics: {', '.join(self.catalog.names)}"
            )
        rule = metric.rule_for(caller.role)
        if rule is None:
            raise Forbidden(f"role {caller.role!r} may not read metric {name!r}")
        return metric, rule

    @staticmethod
    def resolve_dimensions(
        metric: Metric, raw: str | None, grain: str | None
    ) -> tuple[list[str], str | None]:
        """(breakdown dimensions in request order, time grain or None)."""
        names = [part.strip() for part in (raw or "").split(",") if part.strip()]
        allowed = metric.dimension_names
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise BadRequest(
                f"unknown dimension {unknown[0]!r} for metric {metric.name!r}; "
                f"allowed: {', '.join(allowed)}"
            )
        if len(set(names)) != len(names):
            raise BadRequest("a dimension is listed twice in `dimensions`")
        if grain is not None and grain not in metric.time.grains:
            raise BadRequest(
                f"grain {grain!r} is not available for metric {metric.name!r}; "
                f"available: {', '.join(metric.time.grains)}"
            )
        time_dims = [n for n in names if n in metric.time.grains]
        if len(time_dims) > 1:
            raise BadRequest(f"at most one time dimension at a time, got {', '.join(time_dims)}")
        if grain is not None and time_dims and time_dims[0] != grain:
            raise BadRequest(
                f"`grain={grain}` contradicts the time dimension {time_dims[0]!r} in `dimensions`"
            )
        chosen = time_dims[0] if time_dims else grain
        if chosen is None and metric.stock:
            # A stock summed over periods counts child-months, not children: the threshold
            # would lose its meaning. Always break a stock down by its finest grain.
            chosen = finest(metric.time.grains)
        if chosen is not None and chosen not in names:
            names.append(chosen)
        return names, chosen

    @staticmethod
    def check_scope(
        caller: Caller, metric: Metric, rule: ResolvedRule, dims: list[str], province: str | None
    ) -> str | None:
        """The province filter to apply (the key's scope wins), or a 403."""
        geo = metric.geography_dimension
        national_only = rule.finest_geography == "national"
        if national_only and ((geo is not None and geo in dims) or province is not None):
            raise Forbidden(
                f"role {caller.role!r} sees {metric.name!r} nationally only: "
                "no province breakdown or filter"
            )
        if caller.province is not None:
            if national_only or geo is None:
                raise Forbidden(
                    f"this key is scoped to province {caller.province}, "
                    f"but {metric.name!r} cannot be limited to a province for role {caller.role!r}"
                )
            if province is not None and province != caller.province:
                raise Forbidden(
                    f"this key is scoped to province {caller.province}; "
                    f"it may not query province {province}"
                )
            return caller.province
        if province is not None and geo is None:
            raise BadRequest(f"metric {metric.name!r} has no province to filter on")
        return province

    def check_breadth(
        self,
        caller: Caller,
        metric: Metric,
        rule: ResolvedRule,
        dims: list[str],
        grain: str | None,
        province: str | None,
    ) -> ProtectedFamily | None:
        """The protected family a suppressed audience is served from, or a 403 when the
        answer would need a table outside it (more dimensions than the audience may combine;
        a province filter or a key's province counts as one). None: served from the mart."""
        if not rule.suppressed:
            return None
        family = self.family(metric, rule)
        breakdown = _table_dimensions(metric, dims, grain, province)
        if len(breakdown) > family.max_dimensions:
            raise Forbidden(
                f"role {caller.role!r} may combine at most {family.max_dimensions} dimensions "
                f"of {metric.name!r} (a province filter or a province-scoped key counts as "
                f"one); this answer needs {', '.join(breakdown)}: ask for fewer"
            )
        return family

    # -- the answer -----------------------------------------------------------
    def snapshot_for(self, caller: Caller, requested: str | None) -> tuple[Snapshot, bool]:
        """The snapshot to answer from, and whether it is a candidate: CURRENT (approved) for
        everyone; a candidate awaiting approval only for a role that previews
        (``PREVIEW_AUDIENCES``), asked by id. Any other role asking for anything but CURRENT
        gets a 403 (whether that snapshot exists or not: it learns nothing of candidates)."""
        current = self.store.current()
        if requested is None or (current is not None and requested == current.id):
            if current is None:
                raise Unavailable("no gold snapshot has been published yet")
            return current, False
        if caller.role not in PREVIEW_AUDIENCES:
            raise Forbidden(
                f"role {caller.role!r} is served approved snapshots only (CURRENT"
                + (f", {current.id}" if current is not None else "")
                + "); a candidate awaiting approval is previewed by "
                + " and ".join(sorted(PREVIEW_AUDIENCES))
                + " keys"
            )
        if self.reviews is None or not self._awaiting(requested, current):
            raise NotFound(f"snapshot {requested} is not a candidate awaiting approval")
        return self.store.snapshot(requested), True

    def _awaiting(self, snapshot_id: str, current: Snapshot | None) -> bool:
        """A candidate (or an approval not finished) newer than CURRENT, not marked for
        withdrawal: what may still go live, hence be previewed."""
        assert self.reviews is not None
        try:
            review = self.reviews.read(snapshot_id)
        except SignoffError:
            return False
        return (
            review is not None
            and review.status in ("candidate", "approved")
            and (current is None or snapshot_id > current.id)
            and snapshot_id not in marked_snapshots(self.reviews.layout)
        )

    def answer(self, caller: Caller, request: MetricRequest) -> MetricAnswer:
        answer = self._answer(caller, request, compute=True)
        assert answer is not None
        return answer

    def cached_answer(self, caller: Caller, request: MetricRequest) -> MetricAnswer | None:
        """The answer if this process has it already (every check made, the served cells
        recorded), else None and nothing done: cheap enough for an event loop to call."""
        return self._answer(caller, request, compute=False)

    def _answer(
        self, caller: Caller, request: MetricRequest, *, compute: bool
    ) -> MetricAnswer | None:
        metric, rule = self.metric_for(caller, request.metric)
        dims, grain = self.resolve_dimensions(metric, request.dimensions, request.grain)
        province = self.check_scope(caller, metric, rule, dims, request.province)
        family = self.check_breadth(caller, metric, rule, dims, grain, province)
        window = self.window_for(metric, grain, request)
        snapshot, candidate = self.snapshot_for(caller, request.snapshot)
        self._check_snapshot(snapshot, metric, rule, caller.role, family)
        if family is not None and self.ledger is not None:
            self.ledger.check(caller.role, snapshot, family.name)
        key = (
            snapshot.id,
            metric.name,
            tuple(dims),
            window,
            province,
            caller.role,
            caller.province,
            rule.threshold,
        )
        computed = self.cache.get(key)
        cached = computed is not None
        if computed is None:
            if not compute:
                return None
            computed = self._compute(snapshot, metric, rule, family, dims, grain, window, province)
            self.cache.put(key, computed)
        if family is not None and self.ledger is not None:
            # Before the answer leaves: an answer that cannot be recorded is not given.
            self.ledger.record(caller.role, caller.key_id, snapshot, family.name, computed.cells)
        return MetricAnswer(
            metric, snapshot.id, rule, dims, grain, province, computed.frame, cached, window, key,
            snapshot.manifest.reporting_date, candidate,
        )  # fmt: skip

    @staticmethod
    def window_for(metric: Metric, grain: str | None, request: MetricRequest) -> Window | None:
        """Whole periods of the answer's grain; a total without a grain adds up whole periods
        of the metric's coarsest grain."""
        if request.date_from is None and request.date_to is None:
            return None
        return align_window(
            grain or coarsest(metric.time.grains), request.date_from, request.date_to
        )

    @staticmethod
    def _check_snapshot(
        snapshot: Snapshot,
        metric: Metric,
        rule: ResolvedRule,
        role: str,
        family: ProtectedFamily | None,
    ) -> None:
        source = rule.source
        entry = snapshot.mart(source)
        if entry is None:
            raise Unavailable(f"snapshot {snapshot.id} does not publish {source!r}")
        # Consent by purpose: the role is answered only from tables made for its purpose (the
        # mart's purpose is its dbt meta, recorded in the manifest by the gated publish).
        if entry.purpose != rule.purpose:
            raise Unavailable(
                f"snapshot {snapshot.id}: {source!r} is published for purpose "
                f"{entry.purpose!r}, not {rule.purpose!r} (role {role!r})"
            )
        if family is not None:
            tables = snapshot.mart(family.name)
            if tables is None:
                raise Unavailable(
                    f"snapshot {snapshot.id} has no protected tables {family.name!r} for role "
                    f"{role!r} (published before they existed, or by another catalog)"
                )
            if role not in tables.audience:
                raise Forbidden(f"{family.name!r} is not published for role {role!r}")
            if tables.purpose != rule.purpose:
                raise Unavailable(
                    f"snapshot {snapshot.id}: {family.name!r} is published for purpose "
                    f"{tables.purpose!r}, not {rule.purpose!r}"
                )
        # Defence in depth: the mart's own audience (from dbt meta) must admit the caller too.
        audience = entry.audience
        if "metrics_api" not in audience and role not in audience:
            raise Forbidden(f"mart {source!r} is not published for role {role!r}")
        missing = metric.columns_used - set(entry.columns)
        if missing:
            raise Unavailable(
                f"snapshot {snapshot.id}: {source} lacks columns {sorted(missing)} "
                "that the catalog uses"
            )

    def _compute(
        self,
        snapshot: Snapshot,
        metric: Metric,
        rule: ResolvedRule,
        family: ProtectedFamily | None,
        dims: list[str],
        grain: str | None,
        window: Window | None,
        province: str | None,
    ) -> _Computed:
        """Slice the answer out of one protected table, never suppress the slice on its own.

        The table is the metric broken down by the requested dimensions plus every filtered
        one, over all periods: for a suppressed audience a table of its protected family, as
        the publish gate audited it; for the admin the mart itself. So a cell has the same value (or is hidden) whether it is asked for directly,
        through a filter, in another dimension order or in another window, and a total over
        a window is a sum of that table's cells: hidden as soon as one of them is.
        """
        geo = metric.geography_dimension
        table_dims = _table_dimensions(metric, dims, grain, province)
        table_grain = grain or (window.grain if window else None)
        if table_grain is None and family is not None:
            # The protected tables have a period column: a total adds up whole years.
            table_grain = coarsest(metric.time.grains)
        table = self._protected_table(snapshot, metric, rule, family, table_dims, table_grain)
        counts = list(metric.count_expressions)
        if province and geo:
            table = table[table[geo] == province]
        if window is not None and table_grain is not None:
            covered = _per_label(
                table[table_grain], lambda label: window.covers(period_start(label, table_grain))
            )
            table = table[covered]
        cells = tuple(int(c) for c in table[_CELL]) if _CELL in table.columns else ()
        if grain is None and table_grain is not None:
            table = _add_up(table, dims, counts, table_grain)
        extra = []
        if rule.perturbed:
            # Each shown count is off by at most MAX_NOISE per protected cell it adds up.
            bound = (table[_CELLS] * MAX_NOISE).astype("Int64").mask(table["suppressed"])
            table = table.assign(max_abs_error=bound)
            extra = ["max_abs_error"]
        if grain is not None and grain in dims and snapshot.manifest.reporting_date:
            # A period that ends after the reporting date was still going on: its counts are
            # the part so far, and a reader must not take them for a drop.
            reported = date.fromisoformat(snapshot.manifest.reporting_date)
            partial = _per_label(
                table[grain], lambda label: period_end(period_start(label, grain), grain) > reported
            )
            table = table.assign(partial_period=partial)
            extra = [*extra, "partial_period"]
        out = table[[*dims, *counts, "suppressed", "suppression_reason", *extra]]
        if dims:
            out = out.sort_values(dims, na_position="last", kind="stable")
        out = out.reset_index(drop=True)
        if metric.kind == "ratio":
            num = out["numerator"].astype("Float64")
            den = out["denominator"].astype("Float64")
            # Every ratio of the catalog is a share; perturbed counts may cross, never the share.
            value = (num / den.where(den > 0)).clip(upper=1.0).round(metric.decimals)
            out.insert(len(dims), "value", value.astype(object).where(value.notna(), None))
        return _Computed(out, cells)

    def _protected_table(
        self,
        snapshot: Snapshot,
        metric: Metric,
        rule: ResolvedRule,
        family: ProtectedFamily | None,
        table_dims: tuple[str, ...],
        grain: str | None,
    ) -> pd.DataFrame:
        """The metric by ``table_dims`` (catalog order) and ``grain`` over all periods, with the
        audience's protection applied; cached per snapshot like the answers."""
        # The source too: two roles at one threshold may be served different populations.
        key = (snapshot.id, metric.name, rule.source, table_dims, grain, rule.threshold)
        table = self.tables.get(key)
        if table is None:
            if family is None:
                table = self._mart_cells(snapshot, metric, rule, table_dims, grain)
            else:
                assert grain is not None  # _compute gives suppressed answers a period column
                table = self._published_cells(snapshot, metric, family, table_dims, grain)
            self.tables.put(key, table)
        return table

    def _mart_cells(
        self,
        snapshot: Snapshot,
        metric: Metric,
        rule: ResolvedRule,
        table_dims: tuple[str, ...],
        grain: str | None,
    ) -> pd.DataFrame:
        """The admin's table: computed from the mart, exact (threshold 1 hides nothing)."""
        query = AggregateQuery(
            mart=rule.source,
            time_column=metric.time.column,
            counts=tuple(metric.count_expressions.items()),
            group_by=tuple((d, metric.dimensions[d].column) for d in table_dims),
            grain=grain,
        )
        raw = self.store.aggregate(snapshot, query)
        names = [*table_dims, *([grain] if grain else [])]
        return suppress_answer(
            raw[[*names, *metric.count_expressions]], names, list(metric.count_expressions),
            1, nested=coarser_periods(raw, metric, grain),
        )  # fmt: skip

    def _published_cells(
        self,
        snapshot: Snapshot,
        metric: Metric,
        family: ProtectedFamily,
        table_dims: tuple[str, ...],
        grain: str,
    ) -> pd.DataFrame:
        """A suppressed audience's table: looked up in its protected family, as the publish
        gate audited it, never computed from the mart."""
        columns = metric.count_columns
        counts: list[tuple[str, str]] = [(_CELL, "min(cell)")]  # one cell per group
        for name, column in columns.items():
            counts += [(name, f"sum({column})"), (f"{name}__state", f"max({column}__state)")]
        query = AggregateQuery(
            mart=family.name,
            time_column="period_start",
            counts=tuple(counts),
            group_by=tuple((d, d) for d in table_dims),
            grain=grain,
            equals=(("table", TableShape(table_dims, grain).key),),
        )
        raw = self.store.aggregate(snapshot, query)
        return protected_answer(raw, list(columns), family.threshold).assign(**{_CELLS: 1})


#: How many protected cells an answer's row adds up (1 for a lookup; the years of a total).
_CELLS = "__cells"
#: The id of a protected cell in its family's frame (the ledger records it).
_CELL = "__cell"


def _per_label(labels: pd.Series, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each period label, computed once per distinct label (a table repeats each
    period once per cell: a thousand rows, twenty quarters)."""
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)
    return np.array([bool(test(label)) for label in uniques], dtype=bool)[codes]


def _table_dimensions(
    metric: Metric, dims: list[str], grain: str | None, province: str | None
) -> tuple[str, ...]:
    """The breakdown of the table an answer is sliced from (catalog order): the requested
    dimensions plus the filtered geography."""
    geo = metric.geography_dimension
    filtered = {geo} if province and geo else set()
    breakdown = {d for d in dims if d != grain} | filtered
    return tuple(d for d in metric.dimensions if d in breakdown)


def coarser_periods(
    table: pd.DataFrame, metric: Metric, grain: str | None
) -> dict[str, tuple[str, pd.Series]]:
    """The coarser grains the metric also serves, as nested lines of a ``grain`` table: the
    quarters of a year add up to the year's cell, which another answer shows."""
    if grain is None:
        return {}
    labels = table[grain].tolist()
    return {
        coarser: (grain, pd.Series([parent_label(x, grain, coarser) for x in labels]))
        for coarser in metric.time.grains
        if GRAIN_MONTHS[coarser] > GRAIN_MONTHS[grain]
    }


def _add_up(table: pd.DataFrame, dims: list[str], counts: list[str], grain: str) -> pd.DataFrame:
    """Totals over whole periods: the sum of the periods' cells, hidden if any one is."""
    if table.empty and not dims:
        return pd.DataFrame(
            {
                **{c: pd.array([0], dtype="Int64") for c in counts},
                "suppressed": [False],
                "suppression_reason": pd.Series([None], dtype=object),
                _CELLS: [0],
            }
        )
    key = dims or ["__all__"]
    if _CELLS not in table.columns:
        table = table.assign(**{_CELLS: 1})
    grouped = table.assign(__all__=0).groupby(key, dropna=False, sort=False)
    hidden = grouped["suppressed"].any()
    out = grouped[counts].sum(min_count=0).astype("Int64")
    out[_CELLS] = grouped[_CELLS].sum()
    for column in counts:
        out[column] = out[column].mask(hidden)
    out["suppressed"] = hidden
    out["suppression_reason"] = hidden.map(
        lambda h: f"includes a hidden {grain} cell" if h else None
    ).astype(object)
    return out.reset_index(drop=not dims)
