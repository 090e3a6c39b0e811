"""The two stores answer one AggregateQuery the same way, each from its published gold only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lakehouse import gold_tables
from lakehouse.gold_snapshot import GoldSnapshots
from lakehouse.warehouse import WarehouseTarget
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.errors import Unavailable
from metrics_api.protected import PREFIX
from metrics_api.service import Caller, MetricRequest, MetricService, ResultCache
from metrics_api.store import AggregateQuery, LakeSnapshotStore, WarehouseSnapshotStore
from tests.support.api_fixtures import CONSENTED, CUBE, SNAPSHOT_ID

QUERIES = [
    AggregateQuery(CUBE, "quarter_start", (("value", "sum(placements)"),)),
    AggregateQuery(
        CUBE, "quarter_start", (("value", "sum(placements)"),), (("province", "province_code"),)
    ),
    AggregateQuery(
        CUBE,
        "quarter_start",
        (("numerator", "sum(successful)"), ("denominator", "sum(placements)")),
        (("sex", "sex"),),
        grain="quarter",
        date_from=date(2023, 4, 1),
        date_to=date(2024, 3, 31),
    ),
    AggregateQuery(
        CUBE,
        "quarter_start",
        (("value", "count(*)"),),
        (("age_band", "age_band"),),
        grain="year",
        equals=(("province_code", "32"),),
    ),
]


def _pandas(cube: pd.DataFrame, query: AggregateQuery) -> pd.DataFrame:
    """The same aggregate, independently, with pandas."""
    frame = cube.copy()
    if query.date_from:
        frame = frame[frame["quarter_start"].dt.normalize() >= pd.Timestamp(query.date_from)]
    if query.date_to:
        frame = frame[frame["quarter_start"].dt.normalize() <= pd.Timestamp(query.date_to)]
    for column, value in query.equals:
        frame = frame[frame[column].astype(str) == value]
    keys = [column for _, column in query.group_by]
    names = [name for name, _ in query.group_by]
    if query.grain == "quarter":
        frame = frame.assign(quarter=frame["quarter_start"].dt.year.astype(str) + "-Q"
                             + frame["quarter_start"].dt.quarter.astype(str))  # fmt: skip
        keys, names = [*keys, "quarter"], [*names, "quarter"]
    if query.grain == "year":
        frame = frame.assign(year=frame["quarter_start"].dt.year.astype(str))
        keys, names = [*keys, "year"], [*names, "year"]
    measures = {
        name: ("placements" if "placements" in expr else "successful", "sum")
        if expr.startswith("sum")
        else ("placements", "size")
        for name, expr in query.counts
    }
    if not keys:
        out = pd.DataFrame({n: [int(frame[c].agg(f))] for n, (c, f) in measures.items()})
    else:
        out = frame.groupby(keys).agg(**measures).reset_index()
        out.columns = [*names, *measures]
    for name in measures:
        out[name] = out[name].astype("int64")
    return out.sort_values(names).reset_index(drop=True) if names else out


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q.output_dimensions) or "total")
def test_the_embedded_store_aggregates_the_current_snapshot(
    lake: Path, cube: pd.DataFrame, query: AggregateQuery
) -> None:
    store = LakeSnapshotStore(GoldSnapshots(lake / "gold"))
    snapshot = store.current()
    assert snapshot is not None and snapshot.id == SNAPSHOT_ID
    got = store.aggregate(snapshot, query)
    assert list(got.columns) == [*query.output_dimensions, *(n for n, _ in query.counts)]
    pd.testing.assert_frame_equal(got, _pandas(cube, query), check_dtype=False)


def test_the_embedded_store_answers_threads_at_once_as_it_answers_one(
    lake: Path, cube: pd.DataFrame
) -> None:
    """The server answers from a thread pool, and the store shares one engine between them."""
    store = LakeSnapshotStore(GoldSnapshots(lake / "gold"))
    snapshot = store.current()
    assert snapshot is not None
    asked = QUERIES * 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda q: store.aggregate(snapshot, q), asked))
    for query, got in zip(asked, answers, strict=True):
        pd.testing.assert_frame_equal(got, _pandas(cube, query), check_dtype=False)


def test_the_embedded_store_refuses_what_it_cannot_vouch_for(lake: Path) -> None:
    store = LakeSnapshotStore(GoldSnapshots(lake / "gold"))
    snapshot = store.current()
    assert snapshot is not None
    with pytest.raises(Unavailable, match="does not publish mart"):
        store.aggregate(snapshot, AggregateQuery("nope", "quarter_start", (("v", "count(*)"),)))
    (lake / "gold" / "snapshots" / SNAPSHOT_ID / f"{CUBE}.parquet").write_bytes(b"tampered")
    with pytest.raises(Unavailable, match="does not match its manifest"):
        store.aggregate(snapshot, QUERIES[0])
    (lake / "gold" / "CURRENT").write_text("../elsewhere")
    with pytest.raises(Unavailable, match="valid snapshot id"):
        store.current()
    (lake / "gold" / "CURRENT").unlink()
    assert store.current() is None


@pytest.fixture
def warehouse_gold(
    chdb_client: Any, chdb_database: str, chdb_target: WarehouseTarget, lake: Path
) -> WarehouseSnapshotStore:
    """The lake's snapshot published into the warehouse the way the publish step does it."""
    snapshot = GoldSnapshots(lake / "gold").open_current()
    assert snapshot is not None
    cubes = [CUBE, *CONSENTED.values()]
    relations = {name: f"{chdb_database}.{name}" for name in cubes}
    for name, relation in relations.items():
        frame = pd.read_parquet(GoldSnapshots(lake / "gold").mart_file(snapshot, name))
        chdb_client.command(
            f"create table {relation} (province_code String, province_name String, "
            "quarter_start Date, quarter String, sex String, age_band String, "
            "placement_type String, institution_type String, placements UInt64, "
            "ended_placements UInt64, successful UInt64, placements_record_key_sum UInt64, "
            "successful_record_key_sum UInt64) engine = MergeTree order by tuple()"
        )
        chdb_client.insert_df(relation, frame)
    chdb_client.command("drop database if exists gold")
    gold_tables.stage_snapshot(chdb_client, snapshot.id, relations)
    # The protected tables are computed at publish, not by dbt: written from their frames.
    protected = {
        name: pd.read_parquet(GoldSnapshots(lake / "gold").mart_file(snapshot, name))
        for name in snapshot.manifest.marts
        if name.startswith(PREFIX)
    }
    gold_tables.stage_frames(chdb_client, snapshot.id, protected)
    served = {n: m for n, m in snapshot.manifest.marts.items() if n in relations or n in protected}
    gold_tables.mark_current(chdb_client, snapshot.manifest.model_copy(update={"marts": served}))
    yield WarehouseSnapshotStore(chdb_target)
    chdb_client.command("drop database if exists gold")


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q.output_dimensions) or "total")
def test_the_warehouse_store_answers_like_the_embedded_one(
    warehouse_gold: WarehouseSnapshotStore, lake: Path, query: AggregateQuery
) -> None:
    embedded = LakeSnapshotStore(GoldSnapshots(lake / "gold"))
    snapshot = warehouse_gold.current()
    assert snapshot is not None and snapshot.id == SNAPSHOT_ID and snapshot.path is None
    expected = embedded.aggregate(embedded.current(), query)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(warehouse_gold.aggregate(snapshot, query), expected)


def test_the_warehouse_store_refuses_unpublished_marts(
    warehouse_gold: WarehouseSnapshotStore,
) -> None:
    snapshot = warehouse_gold.current()
    assert snapshot is not None
    with pytest.raises(Unavailable, match="does not publish mart"):
        warehouse_gold.aggregate(
            snapshot, AggregateQuery("compliance_x", "month_start", (("v", "count(*)"),))
        )


@pytest.mark.parametrize("role", ["business", "media"])
def test_a_suppressed_answer_is_the_same_from_the_warehouse(
    warehouse_gold: WarehouseSnapshotStore, lake: Path, role: str
) -> None:
    """Server mode serves the protected tables it was given at publish, cell for cell."""
    catalog = load_catalog(PACKAGED_CATALOG)
    embedded = MetricService(
        catalog, LakeSnapshotStore(GoldSnapshots(lake / "gold")), ResultCache(0)
    )
    server = MetricService(catalog, warehouse_gold, ResultCache(0))
    caller = Caller("k", "test", role)
    geo = "sex" if role == "media" else "province"
    hidden = 0
    for request in (
        MetricRequest("placements", f"{geo},quarter"),
        MetricRequest("placement_success_rate", "age_band", grain="year"),
        MetricRequest("successful_placements", geo, date_from=date(2024, 1, 1)),
    ):
        expected = embedded.answer(caller, request).frame
        pd.testing.assert_frame_equal(server.answer(caller, request).frame, expected)
        hidden += int(expected["suppressed"].sum())
    assert hidden > 0
