"""Families of protected tables: what the catalog declares, what the publish protects, and the
independent check that stops a release whose cells differ from the mart or give a count away."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from anonymization.cell_key import MAX_NOISE, noise
from anonymization.protected_tables import cell_sums
from lakehouse.reference.regions import province_by_code
from metrics_api.catalog import PACKAGED_CATALOG, CatalogError, load_catalog, parse_catalog
from metrics_api.protected import (
    STATE_CHANGED,
    STATE_COMPLEMENTARY,
    STATE_PRIMARY,
    STATE_SHOWN,
    ProtectedFamily,
    audit_family,
    families,
    family_for,
    finest_cells,
    ledger_frame,
    protect_family,
    protect_snapshot,
)
from tests.support.api_fixtures import make_cube

CUBE = "metrics_placements_cube"


_KEYS = (("placements", "placements_record_key_sum"), ("successful", "successful_record_key_sum"))


def _family(
    threshold: int = 5, dims: tuple[str, ...] = ("province", "sex"), perturbed: bool = False
) -> ProtectedFamily:
    columns = {"province": "province_code", "sex": "sex", "age_band": "age_band"}
    return ProtectedFamily(
        source=CUBE, threshold=threshold, finest_geography="province", max_dimensions=2,
        dimensions=tuple((d, columns[d]) for d in dims), time_column="quarter_start",
        grains=("quarter", "year"), geography="province" if "province" in dims else None,
        counts=("placements", "successful"), bounded_by=(("successful", "placements"),),
        roles=("community",) if perturbed else ("government",), perturbed=perturbed,
        purpose="community" if perturbed else "service", cell_keys=_KEYS if perturbed else (),
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_cube() -> pd.DataFrame:
    return make_cube(seed=11, placements=300)


@pytest.fixture(scope="module")
def protected(small_cube: pd.DataFrame) -> pd.DataFrame:
    return protect_family(small_cube, _family(dims=("province", "sex", "age_band")))


def test_the_packaged_catalog_declares_one_family_per_source_and_rule() -> None:
    catalog = load_catalog(PACKAGED_CATALOG)
    by_name = {f.name: f for f in families(catalog)}
    assert set(by_name) == {
        "protected__metrics_placements_cube__t5_province_d2",
        "protected__metrics_placements_cube__t10_province_d2",
        "protected__metrics_placements_cube_research__t5_province_d2",
        "protected__metrics_placements_cube_community__t11_province_d2_ck",
        "protected__metrics_placements_cube_media__t11_national_d2_ck",
        "protected__compliance_consent_access_by_institution_month__t5_province_d2",
    }
    shared = by_name["protected__metrics_placements_cube__t5_province_d2"]
    # Researchers share the government's rule but not its population: research consent only.
    assert shared.roles == ("government",) and shared.purpose == "service"
    research = by_name["protected__metrics_placements_cube_research__t5_province_d2"]
    assert research.roles == ("researcher",) and research.purpose == "research"
    assert research.source == "metrics_placements_cube_research"
    assert shared.counts == ("placements", "successful")
    # The success rate is a share: the attacker knows successes never exceed placements.
    assert shared.bounded_by == (("successful", "placements"),)
    media = by_name["protected__metrics_placements_cube_media__t11_national_d2_ck"]
    assert media.source == "metrics_placements_cube_media" and media.purpose == "media"
    assert "province" not in dict(media.dimensions)
    # Public audiences are perturbed, keyed by the cube's record-key sums; the others exact.
    assert media.perturbed and dict(media.cell_keys) == {
        "placements": "placements_record_key_sum",
        "successful": "successful_record_key_sum",
    }
    assert not shared.perturbed and shared.cell_keys == ()
    # Every subset of at most two of the four national dimensions, by quarter and by year.
    assert len(media.shapes) == (1 + 4 + 6) * 2
    metric = catalog.metrics["placements"]
    rule = metric.rule_for("government")
    assert rule is not None and family_for(catalog, metric, rule) == shared
    rule = metric.rule_for("researcher")
    assert rule is not None and family_for(catalog, metric, rule) == research
    admin = metric.rule_for("admin")
    assert admin is not None and not admin.suppressed and admin.max_dimensions is None


def _catalog_with(audiences: dict[str, object], measure: str = "sum(placements)") -> object:
    raw = load_catalog(PACKAGED_CATALOG).model_dump(mode="json")
    raw["metrics"] = {
        "placements": {
            **{k: v for k, v in raw["metrics"]["placements"].items() if k != "name"},
            "measure": measure,
            "audiences": audiences,
        }
    }
    return parse_catalog(raw)


def test_the_catalog_refuses_rules_the_protected_tables_cannot_serve() -> None:
    with pytest.raises(CatalogError, match="must be sum"):
        _catalog_with({"government": {}}, measure="count(distinct child_id)")
    with pytest.raises(CatalogError, match="max_dimensions is moot"):
        _catalog_with({"admin": {"max_dimensions": 3}})
    catalog = _catalog_with({"government": {"max_dimensions": 1}, "admin": {}})
    (family,) = families(catalog)  # type: ignore[arg-type]
    assert family.max_dimensions == 1 and len(family.shapes) == (1 + 5) * 2


def test_every_small_count_is_hidden_and_the_audit_passes(
    small_cube: pd.DataFrame, protected: pd.DataFrame
) -> None:
    family = _family(dims=("province", "sex", "age_band"))
    assert set(protected["table"]) == {s.key for s in family.shapes}
    truth = _true_counts(small_cube, family, protected)
    for count in family.counts:
        state = protected[f"{count}__state"]
        small = truth[count].between(1, family.threshold - 1)
        assert (state[small] == STATE_PRIMARY).all()
        assert (state == STATE_COMPLEMENTARY).any()
        # What is hidden is not in the file; what is shown is the truth.
        assert protected.loc[state != STATE_SHOWN, count].isna().all()
        shown = state == STATE_SHOWN
        assert (protected.loc[shown, count].astype(int) == truth.loc[shown, count]).all()
    names = protected.dropna(subset=["province"])
    assert (names["province_name"] == names["province"].map(_PROVINCE_NAMES)).all()
    total = protected[protected["table"] == "|year"]
    year = small_cube["quarter"].str[:4]
    assert total.set_index("period")["placements"].to_dict() == (
        small_cube.groupby(year)["placements"].sum().astype(int).to_dict()
    )
    outcome = audit_family(small_cube, family, protected)
    assert outcome.passed, outcome.detail
    assert outcome.metadata is not None and outcome.metadata["narrow"] == 0


_PROVINCE_NAMES = {code: p.name for code, p in province_by_code().items()}


def _true_counts(cube: pd.DataFrame, family: ProtectedFamily, frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell's true counts (hidden ones included), aligned with ``frame``'s rows."""
    finest = finest_cells(cube, family)
    out = pd.DataFrame(index=frame.index, columns=list(family.counts), dtype="int64")
    for shape in family.shapes:
        rows = frame.index[frame["table"] == shape.key]
        sums = finest.groupby([*shape.dims, shape.grain], dropna=False)[list(family.counts)].sum()
        keys = [tuple(frame.loc[r, [*shape.dims, "period"]]) for r in rows]
        out.loc[rows] = sums.loc[[k if len(k) > 1 else k[0] for k in keys]].to_numpy()
    return out.astype("int64")


def _reveal(cube: pd.DataFrame, frame: pd.DataFrame, rows: pd.Series, count: str) -> pd.DataFrame:
    """``frame`` with the cells of ``rows`` shown in ``count`` (state and true value)."""
    family = _family(dims=("province", "sex", "age_band"))
    out = frame.copy()
    out[count] = out[count].astype("Int64")
    out.loc[rows, count] = _true_counts(cube, family, frame).loc[rows, count]
    out.loc[rows, f"{count}__state"] = STATE_SHOWN
    return out


def _fails(cube: pd.DataFrame, frame: pd.DataFrame, why: str) -> None:
    outcome = audit_family(cube, _family(dims=("province", "sex", "age_band")), frame)
    assert not outcome.passed and why in outcome.detail, outcome.detail


def _first(frame: pd.DataFrame, state: int) -> object:
    return frame.index[frame["placements__state"] == state][0]


def test_the_audit_fails_a_cell_that_differs_from_the_mart(
    small_cube: pd.DataFrame, protected: pd.DataFrame
) -> None:
    tampered = protected.copy()
    shown = _first(tampered, STATE_SHOWN)
    tampered.loc[shown, "placements"] += 1
    _fails(small_cube, tampered, "differ from the mart")
    _fails(small_cube, protected.drop(index=shown), "differ from the mart")


def test_the_audit_fails_a_shown_small_count_and_a_too_narrow_one(
    small_cube: pd.DataFrame, protected: pd.DataFrame
) -> None:
    family = _family(dims=("province", "sex", "age_band"))
    one = protected.index == _first(protected, STATE_PRIMARY)
    _fails(small_cube, _reveal(small_cube, protected, one, "placements"), "small counts shown")
    # Show every complementary cell: the hidden small counts are then pinned by the margins.
    exposed = protected
    for count in family.counts:
        exposed = _reveal(
            small_cube, exposed, exposed[f"{count}__state"] == STATE_COMPLEMENTARY, count
        )
    _fails(small_cube, exposed, "too narrow")


def test_a_snapshot_protects_only_families_that_pass(small_cube: pd.DataFrame) -> None:
    catalog = _catalog_with(
        {"government": {"max_dimensions": 1}, "media": {"finest_geography": "national"}}
    )
    # Media is answered from its consented cube (here the same cells: the test is protection).
    marts = {CUBE: small_cube, f"{CUBE}_media": small_cube}
    result = protect_snapshot(catalog, marts, workers=2)  # type: ignore[arg-type]
    assert sorted(result.frames) == [
        "protected__metrics_placements_cube__t5_province_d1",
        "protected__metrics_placements_cube_media__t11_national_d2_ck",
    ]
    assert all(o.passed for o in result.outcomes), [o.detail for o in result.outcomes]
    assert result.audiences["protected__metrics_placements_cube__t5_province_d1"] == ("government",)
    again = protect_snapshot(catalog, marts, workers=1)  # type: ignore[arg-type]
    for name, frame in result.frames.items():
        pd.testing.assert_frame_equal(frame, again.frames[name])
    missing = protect_snapshot(catalog, {}, workers=1)  # type: ignore[arg-type]
    assert not missing.frames and not any(o.passed for o in missing.outcomes)


def test_a_public_family_shows_the_same_pattern_with_cell_key_noise(
    small_cube: pd.DataFrame,
) -> None:
    dims = ("province", "sex", "age_band")
    exact_family, noisy_family = _family(11, dims), _family(11, dims, perturbed=True)
    exact = protect_family(small_cube, exact_family)
    noisy = protect_family(small_cube, noisy_family)
    assert noisy_family.name.endswith("_ck") and list(noisy.columns) == list(exact.columns)
    assert not any("record_key" in c for c in noisy.columns)  # the keys never leave
    finest = finest_cells(small_cube, noisy_family)
    keys = cell_sums(finest, noisy, noisy_family.shapes, [k for _, k in _KEYS])
    moved = 0
    for count, key in _KEYS:
        state = noisy[f"{count}__state"]
        # The pattern is decided on the truth: the same cells are hidden either way.
        assert (state == exact[f"{count}__state"]).all()
        assert noisy.loc[state != STATE_SHOWN, count].isna().all()
        shown = state == STATE_SHOWN
        truth = exact.loc[shown, count].astype(int)
        published = noisy.loc[shown, count].astype(int)
        assert (published - truth).abs().max() <= MAX_NOISE
        assert (published == truth + noise(truth, keys.loc[shown, key] % 256, 11)).all()
        assert not published.between(1, 10).any()
        assert (published[truth == 0] == 0).all()
        moved += int((published != truth).sum())
    assert moved > 0
    # The same records give the same noise: protecting again gives the same file.
    pd.testing.assert_frame_equal(noisy, protect_family(small_cube, noisy_family))
    outcome = audit_family(small_cube, noisy_family, noisy)
    assert outcome.passed, outcome.detail
    # A perturbed count that is not the table's noise (or the exact count) fails the gate.
    for changed in (
        noisy.assign(placements=noisy["placements"].where(noisy["placements__state"] != 0)),
        _with_one_cell(noisy, exact, "placements"),
    ):
        failed = audit_family(small_cube, noisy_family, changed)
        assert not failed.passed and "differ from the mart" in failed.detail, failed.detail


def _with_one_cell(noisy: pd.DataFrame, exact: pd.DataFrame, count: str) -> pd.DataFrame:
    """``noisy`` with one shown perturbed count replaced by the exact one."""
    differs = (noisy[f"{count}__state"] == STATE_SHOWN) & (noisy[count] != exact[count])
    row = noisy.index[differs.fillna(False)][0]
    out = noisy.copy()
    out.loc[row, count] = exact.loc[row, count]
    return out


def _late_arrivals(cube: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """``cube`` with one more placement in ``n`` cells of its first year (registered late)."""
    later = cube.copy()
    rows = later.index[later["quarter"].str.startswith("2023")][:: max(1, len(later) // 40)][:n]
    later.loc[rows, "placements"] += 1
    later.loc[rows, "placements_record_key_sum"] += 77
    return later


def test_a_new_snapshot_is_protected_against_what_the_last_one_gave(
    small_cube: pd.DataFrame, protected: pd.DataFrame
) -> None:
    family = _family(dims=("province", "sex", "age_band"))
    history = protected.assign(snapshot_id="20260101T000000000000Z")
    later = _late_arrivals(small_cube)
    again = protect_family(later, family, history)
    before = _true_counts(small_cube, family, protected)
    now = _true_counts(later, family, again)
    assert (again["table"] == protected["table"]).all()  # the same cells, in the same order
    changed = 0
    for count in family.counts:
        was_shown = protected[f"{count}__state"] == STATE_SHOWN
        unchanged = before[count] == now[count]
        # Given before with the value it still has: shown again, never hidden.
        sticky = was_shown & unchanged
        assert (again.loc[sticky, f"{count}__state"] == STATE_SHOWN).all()
        # Moved by a few children since it was given: hidden, or the difference is a count.
        moved = was_shown & (now[count] - before[count]).abs().between(1, family.threshold - 1)
        assert (again.loc[moved, f"{count}__state"] == STATE_CHANGED).all()
        changed += int(moved.sum())
    assert changed > 0
    outcome = audit_family(later, family, again, history)
    assert outcome.passed, outcome.detail
    assert outcome.metadata is not None
    assert outcome.metadata["audited_with"] == ["20260101T000000000000Z"]
    # Protected without the history, the new snapshot shows the late arrivals as differences.
    blind = protect_family(later, family)
    failed = audit_family(later, family, blind, history)
    assert not failed.passed and "changed by less than" in failed.detail, failed.detail


def test_a_public_family_keeps_what_it_gave_and_lets_the_noise_cover_changes(
    small_cube: pd.DataFrame,
) -> None:
    family = _family(11, ("province", "sex", "age_band"), perturbed=True)
    first = protect_family(small_cube, family)
    history = first.assign(snapshot_id="20260101T000000000000Z")
    later = _late_arrivals(small_cube)
    again = protect_family(later, family, history)
    before = _true_counts(small_cube, family, first)
    now = _true_counts(later, family, again)
    unchanged = (before["placements"] == now["placements"]) & (
        first["placements__state"] == STATE_SHOWN
    )
    assert (again.loc[unchanged, "placements"] == first.loc[unchanged, "placements"]).all()
    assert not (again["placements__state"] == STATE_CHANGED).any()
    outcome = audit_family(later, family, again, history)
    assert outcome.passed, outcome.detail


def test_nothing_new_publishes_the_same_tables_without_solving_again(
    small_cube: pd.DataFrame, protected: pd.DataFrame
) -> None:
    family = _family(dims=("province", "sex", "age_band"))
    kept = ledger_frame(small_cube, family, protected)
    assert not any(c.endswith("__truth") for c in protected.columns)  # never published
    history = kept.assign(snapshot_id="20260101T000000000000Z")
    started = time.perf_counter()
    again = protect_family(small_cube, family, history)
    assert time.perf_counter() - started < 2.0  # no LP: every cell is as it was
    pd.testing.assert_frame_equal(again, protected)
    # Nothing moved: the gate takes every year as the last gate proved it.
    outcome = audit_family(small_cube, family, again, history)
    assert outcome.passed and outcome.metadata is not None
    assert outcome.metadata["reused_blocks"] == ["2023", "2024"]
    assert outcome.metadata["reused_from"] == "20260101T000000000000Z"
    # One block changed (late arrivals in 2023): the other years are kept as they were, and
    # only 2023 is proven again.
    late = _late_arrivals(small_cube)
    later = protect_family(late, family, history)
    other = protected["period"].str.startswith("2024")
    pd.testing.assert_frame_equal(later[other], protected[other])
    outcome = audit_family(late, family, later, history)
    assert outcome.passed and outcome.metadata is not None
    assert outcome.metadata["reused_blocks"] == ["2024"]
    # A reused block is still checked against the mart: a changed published value is not the
    # cell the last gate proved, so its block is proven again (and fails as it should).
    tampered = again.copy()
    row = tampered.index[(tampered["placements__state"] == STATE_SHOWN) & other][0]
    tampered.loc[row, "placements"] += 1
    failed = audit_family(small_cube, family, tampered, history)
    assert not failed.passed and failed.metadata is not None
    assert failed.metadata["reused_blocks"] == ["2023"]
