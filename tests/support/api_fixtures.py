"""Fixtures of the API tests (a pytest plugin): a small but real gold snapshot, keys, an app.

The snapshot is written by the one gold writer (``lakehouse.gold_snapshot.stage_snapshot``)
and the research release by the pipeline's own ``build_release``, so the files, manifest and
CURRENT pointer have exactly the published format without running the pipeline. The data are derived from individual synthetic placements
(seeded), so the cube has the shape of the real one: many cells of 1-4 at the finest grain,
large totals at coarse grains. Each consent purpose's cube (what its audience is served from)
is a part of it: :func:`consented_cube`, :func:`role_cube`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI

from anonymization.cell_key import record_keys
from lakehouse.checks import CheckOutcome
from lakehouse.disclosure_ledger import ReleasedCells
from lakehouse.files import write_json_atomic
from lakehouse.gold_snapshot import MartOrigin, stage_snapshot
from lakehouse.layout import LakeLayout
from lakehouse.reference.purposes import CONSENT_PURPOSES, PURPOSES, purpose_of
from lakehouse.settings import ApiSettings, Settings
from lakehouse.signoff import SnapshotReviews, write_review
from lakehouse.snapshot_quality import check_snapshot_quality
from metrics_api.catalog import PACKAGED_CATALOG, load_catalog
from metrics_api.keys import KeyStore, parse_key_id
from metrics_api.main import create_app
from metrics_api.protected import SnapshotProtection, families, protect_snapshot
from metrics_api.release_access import AccessRecords, Agreement, agreement_path
from orchestration.release.build import build_release

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 in its test client; the lock file has httpx, which works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PEPPER = "5e" * 32
SNAPSHOT_ID = "20250101T000000000000Z"
CUBE = "metrics_placements_cube"
COMPLIANCE = "compliance_consent_access_by_institution_month"
PROVINCES = {
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "35": "Jawa Timur",
    "52": "Nusa Tenggara Barat",
    "91": "Papua",
}
#: Consent purpose -> the cube of the children with that consent (the catalog's
#: ``consented_sources``).
CONSENTED = {purpose: f"{CUBE}_{purpose}" for purpose in CONSENT_PURPOSES}
#: The share of the cube's cells whose children hold each consent in the fixture.
CONSENT_SHARE = {"research": 0.8, "community": 0.6, "media": 0.5}


def _origin(name: str, audience: tuple[str, ...], purpose: str) -> MartOrigin:
    population = PURPOSES[purpose].population
    return MartOrigin(f"marts.{name}", None, audience, purpose, population)


MART_ORIGINS = {
    CUBE: _origin(CUBE, ("metrics_api",), "service"),
    **{name: _origin(name, ("metrics_api",), purpose) for purpose, name in CONSENTED.items()},
    COMPLIANCE: _origin(COMPLIANCE, ("admin", "government"), "service"),
}


def make_cube(seed: int, placements: int = 400) -> pd.DataFrame:
    """The cube as dbt builds it: one row per non-empty combination, unsuppressed counts."""
    rng = np.random.default_rng(seed)
    codes = list(PROVINCES)
    quarters = pd.date_range("2023-01-01", "2024-10-01", freq="QS")
    records = pd.DataFrame(
        {
            "province_code": rng.choice(codes, placements, p=[0.15, 0.3, 0.08, 0.25, 0.17, 0.05]),
            "quarter_start": rng.choice(quarters.to_numpy(), placements),
            "sex": rng.choice(["M", "F"], placements),
            "age_band": rng.choice(
                ["00-04", "05-09", "10-14", "15-17", "unknown"],
                placements,
                p=[0.25, 0.3, 0.25, 0.17, 0.03],
            ),
            "placement_type": rng.choice(
                ["foster_care", "kinship_care", "adoption", "family_reunification"],
                placements,
                p=[0.4, 0.3, 0.1, 0.2],
            ),
            "institution_type": rng.choice(
                ["lksa_anak", "lksa_disabilitas", "panti_asuhan_keagamaan"],
                placements,
                p=[0.6, 0.15, 0.25],
            ),
        }
    )
    records["ended"] = rng.random(placements) < 0.7
    records["successful"] = records["ended"] & (rng.random(placements) < 0.75)
    # Each placement's perturbation record key, as ingestion derives it (anonymization.cell_key).
    records["record_key"] = record_keys(
        b"test-record-keys", "placements.placements", range(placements)
    )
    records["successful_key"] = records["record_key"].where(records["successful"], 0)
    keys = ["province_code", "quarter_start", "sex", "age_band", "placement_type"]
    keys.append("institution_type")
    cube = (
        records.groupby(keys)
        .agg(
            placements=("ended", "size"),
            ended_placements=("ended", "sum"),
            successful=("successful", "sum"),
            placements_record_key_sum=("record_key", "sum"),
            successful_record_key_sum=("successful_key", "sum"),
        )
        .reset_index()
    )
    cube.insert(1, "province_name", cube["province_code"].map(PROVINCES))
    quarter_start = pd.to_datetime(cube["quarter_start"])
    cube["quarter_start"] = quarter_start.astype("datetime64[s]")
    cube.insert(
        3,
        "quarter",
        quarter_start.dt.year.astype(str) + "-Q" + quarter_start.dt.quarter.astype(str),
    )
    for column in (
        "placements", "ended_placements", "successful",
        "placements_record_key_sum", "successful_record_key_sum",
    ):  # fmt: skip
        cube[column] = cube[column].astype("uint64")
    return cube


def consented_cube(cube: pd.DataFrame, purpose: str) -> pd.DataFrame:
    """The cube of the children with ``purpose`` consent in force, as dbt builds it from the
    same placements: here whole cells are in or out (chosen by a hash of the cell and the
    purpose), so a changed cube gives the changed consented cube."""
    dims = ["province_code", "quarter", "sex", "age_band", "placement_type", "institution_type"]
    labels = cube[dims].astype(str).agg("|".join, axis=1) + f"|{purpose}"
    share = labels.map(lambda s: int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) / 2**32)
    return cube[share < CONSENT_SHARE[purpose]].reset_index(drop=True)


def role_cube(cube: pd.DataFrame, role: str) -> pd.DataFrame:
    """The cube ``role`` is answered from: its purpose's consented cube, or every child's."""
    purpose = purpose_of(role)
    return consented_cube(cube, purpose.name) if purpose.requires_consent else cube


def make_compliance(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    institutions = [
        (f"LKSA-{i:05d}", kind, province)
        for i, (kind, province) in enumerate(
            [
                ("lksa_anak", "32"),
                ("lksa_anak", "32"),
                ("lksa_disabilitas", "32"),
                ("lksa_anak", "35"),
                ("panti_asuhan_keagamaan", "35"),
                ("lksa_anak", "31"),
                ("lksa_disabilitas", "31"),
                ("panti_asuhan_keagamaan", "52"),
                ("lksa_anak", "91"),
            ],
            start=1,
        )
    ]
    rows = []
    for month in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        for institution_id, kind, province in institutions:
            in_care = int(rng.integers(1, 45))
            research = int(rng.binomial(in_care, 0.6))
            accessed = int(rng.integers(0, in_care + 1))
            events = int(rng.poisson(3 * accessed))
            rows.append(
                {
                    "institution_id": institution_id,
                    "institution_type": kind,
                    "province_code": province,
                    "month_start": month,
                    "children_in_care": in_care,
                    "children_with_research_consent": research,
                    "children_with_community_consent": int(rng.binomial(in_care, 0.4)),
                    "children_with_media_consent": int(rng.binomial(in_care, 0.2)),
                    "research_consent_coverage": research / in_care,
                    "access_events": events,
                    "children_accessed": accessed,
                    "export_or_print_events": int(rng.binomial(events, 0.2)),
                    "events_by_other_roles": int(rng.binomial(events, 0.3)),
                }
            )
    frame = pd.DataFrame(rows)
    frame["month_start"] = frame["month_start"].astype("datetime64[s]")
    counts = [c for c in frame.columns if frame[c].dtype.kind == "i"]
    frame[counts] = frame[counts].astype("uint64")
    return frame


def make_release_source(seed: int, children: int = 300) -> pd.DataFrame:
    """Input of the research release builder (the restricted mart's columns)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "child_id": [f"ch_{i:05d}" for i in range(children)],
            "age_years": rng.integers(0, 18, children),
            "sex": rng.choice(["M", "F"], children),
            "regency_code": rng.choice(["3201", "3202", "3507", "3171"], children),
            "disability": rng.choice(
                ["none", "physical", "intellectual"], children, p=[0.8, 0.1, 0.1]
            ),
            "admission_year": rng.integers(2015, 2025, children),
            "case_type": rng.choice(
                ["abandonment", "neglect", "economic_hardship", "physical_abuse"], children
            ),
            "institution_type": rng.choice(["lksa_anak", "lksa_disabilitas"], children),
        }
    )


PublishGold = Callable[[str, pd.DataFrame, pd.DataFrame], Path]


_PROTECTED: dict[tuple[object, ...], SnapshotProtection] = {}


def _protection(marts: dict[str, pd.DataFrame], released: ReleasedCells) -> SnapshotProtection:
    """The publish's protected tables and their audit against the lake's publish ledger, once
    per distinct data and history in a session (protecting and auditing the fixture's families
    takes tens of seconds)."""
    catalog = load_catalog(PACKAGED_CATALOG)
    history = tuple((f.name, tuple(released.snapshots(f.name))) for f in families(catalog))
    key = (*(int(pd.util.hash_pandas_object(f).sum()) for f in marts.values()), history)
    if key not in _PROTECTED:
        _PROTECTED[key] = protect_snapshot(catalog, marts, history=released.history)
    return _PROTECTED[key]


def publish_gold(
    lake: Path,
    snapshot_id: str,
    cube: pd.DataFrame,
    compliance: pd.DataFrame,
    reporting_date: date | None = None,
    *,
    candidate: bool = False,
) -> Path:
    """Publish as the pipeline's gold step does: the marts, the protected tables computed
    from them, and the disclosure audit among the gate's checks. ``candidate``: leave it a
    candidate awaiting approval, with its quality report and review, as the publish step does
    (CURRENT does not move); otherwise CURRENT moves at once (a lake built directly)."""
    consented = {name: consented_cube(cube, purpose) for purpose, name in CONSENTED.items()}
    marts = {CUBE: cube, **consented, COMPLIANCE: compliance}
    released = ReleasedCells(lake / "restricted" / "ledger")
    protection = _protection(marts, released)
    released.record(snapshot_id, protection.ledger)  # before CURRENT moves, as the pipeline
    staged = stage_snapshot(
        lake / "gold",
        snapshot_id,
        {**marts, **protection.frames},
        {**MART_ORIGINS, **protection.origins(MART_ORIGINS)},
        [CheckOutcome("dbt_build", True, "test fixture"), *protection.outcomes],
        warehouse="test fixture",
        reporting_date=reporting_date,
    )
    if not candidate:
        return staged.commit().path
    layout = LakeLayout(lake)
    report = layout.quality_report(snapshot_id)
    write_json_atomic(report, check_snapshot_quality(marts, reporting_date).to_dict())
    write_review(staged.path, SnapshotReviews(layout).candidate(snapshot_id, report))
    return staged.promote().path


@pytest.fixture
def no_merajut_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in the developer's environment must not leak into in-process tests."""
    for name in list(os.environ):
        if name.startswith("MERAJUT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def cube() -> pd.DataFrame:
    """The fixture snapshot's cube (shared: tests copy before changing it)."""
    return make_cube(seed=3)


@pytest.fixture(scope="session")
def compliance() -> pd.DataFrame:
    return make_compliance(seed=4)


@pytest.fixture(scope="session")
def lake_template(
    tmp_path_factory: pytest.TempPathFactory, cube: pd.DataFrame, compliance: pd.DataFrame
) -> Path:
    """Published once per session; every test gets its own copy (tests may tamper with it)."""
    lake = tmp_path_factory.mktemp("lake_template") / "lake"
    publish_gold(lake, SNAPSHOT_ID, cube, compliance)
    result = build_release(make_release_source(5), lake / "releases", b"r" * 32)
    assert result.path is not None, result.manifest
    return lake


@pytest.fixture
def lake(tmp_path: Path, lake_template: Path) -> Path:
    return Path(shutil.copytree(lake_template, tmp_path / "lake"))


@pytest.fixture
def publish(lake: Path) -> PublishGold:
    """Publish another snapshot into the test lake (moves CURRENT)."""

    def _publish(snapshot_id: str, cube: pd.DataFrame, compliance: pd.DataFrame) -> Path:
        return publish_gold(lake, snapshot_id, cube, compliance)

    return _publish


@pytest.fixture
def candidate(lake: Path) -> PublishGold:
    """Make a candidate snapshot in the test lake, awaiting approval (CURRENT stays)."""

    def _candidate(snapshot_id: str, cube: pd.DataFrame, compliance: pd.DataFrame) -> Path:
        return publish_gold(lake, snapshot_id, cube, compliance, candidate=True)

    return _candidate


@pytest.fixture
def settings(tmp_path: Path, lake: Path) -> Settings:
    """The lakehouse settings of a test lake, with a fixed API key pepper."""
    return Settings(home=tmp_path / "home", lake_root=lake, api=ApiSettings(key_pepper=PEPPER))


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def key_store(settings: Settings) -> KeyStore:
    return KeyStore(settings.api_key_store, settings.api_pepper())


@pytest.fixture
def keys(key_store: KeyStore) -> dict[str, str]:
    """Plaintext keys by label: one per role, a province-scoped one and a revoked one."""
    out = {}
    for role in ("admin", "government", "business", "researcher", "community", "media"):
        out[role] = key_store.create(f"test {role}", role)[1]
    out["government_32"] = key_store.create("Dinsos Jawa Barat", "government", "32")[1]
    out["business_35"] = key_store.create("donor Jawa Timur", "business", "35")[1]
    record, out["revoked"] = key_store.create("former partner", "business")
    key_store.revoke(record.id)
    return out


@pytest.fixture
def auth(keys: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """``auth("media")`` -> the request headers of that key."""

    def _auth(label: str) -> dict[str, str]:
        return {"X-API-Key": keys[label]}

    return _auth


def accept_agreement(settings: Settings, key: str, release_id: str) -> None:
    """Record ``key``'s acceptance of the release's data-use agreement as the API does, for
    tests about what comes after it (the acceptance itself is tested through the API, in
    tests/metrics_api/test_release_catalog.py); writes nothing to the audit log."""
    records = AccessRecords(agreement_path(settings.api_key_store))
    try:
        records.accept(parse_key_id(key), release_id, Agreement.packaged().sha256, "test project")
    finally:
        records.close()


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    """Run ``merajut`` in-process; returns (exit code, what it printed).

    The CLI's rich console is bound to the real stdout at import (pipeline steps redirect
    sys.stdout), so CliRunner cannot capture it: point the console at a buffer instead, as
    wide as a test's longest expected line (else the width is the terminal's, or 80 in a
    pytest-xdist worker, and a message wraps where a test looks for it whole).
    """
    import io

    from typer.testing import CliRunner

    from orchestration.cli import app
    from orchestration.cli.common import console

    def _run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
        buffer = io.StringIO()
        monkeypatch.setattr(console, "file", buffer)
        monkeypatch.setattr(console, "_width", 200)
        result = CliRunner().invoke(app, args, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, buffer.getvalue() + result.output

    return _run
