"""Tests of the synthetic source generator (ingestion.synthetic).

The expected domains below are written out independently of the generator's own constants, so
a drift between the generator and the source contracts fails here instead of being "consistent
with itself".
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from ingestion.synthetic import (
    DEFECT_CODES,
    GenerationContext,
    GenerationManifest,
    GeneratorConfig,
    ServiceGenerator,
    ServiceRegistry,
    default_registry,
    generate_sources,
)
from ingestion.synthetic.__main__ import main as cli_main
from ingestion.synthetic.nik import corrupt_nik
from ingestion.synthetic.people import ID_MONTHS, format_phone, normalize_phone
from ingestion.synthetic.services._common import ID, col, source_table
from ingestion.synthetic.services.case_notes import TEMPLATES
from lakehouse.reference.nik import is_valid_nik, make_nik
from lakehouse.reference.regions import PROVINCES, regency_by_code
from lakehouse.reference.services import SERVICE_NAMES, sqlite_source_urls

CHILDREN = 400
AS_OF = dt.date(2026, 11, 1)

# table -> (service, key column)
TABLES: dict[str, tuple[str, str]] = {
    "institutions": ("institutions", "institution_id"),
    "children": ("child_registry", "child_id"),
    "guardians": ("child_registry", "guardian_id"),
    "cases": ("case_management", "case_id"),
    "case_status_history": ("case_management", "history_id"),
    "case_notes": ("case_management", "note_id"),
    "placements": ("placements", "placement_id"),
    "consents": ("consent", "consent_id"),
    "access_log": ("platform_audit", "event_id"),
}
ACCEPTED: dict[str, dict[str, set[str]]] = {
    "institutions": {
        "institution_type": {
            "lksa_anak",
            "lksa_disabilitas",
            "rumah_perlindungan",
            "panti_asuhan_keagamaan",
        },
        "accreditation": {"A", "B", "C", "none"},
    },
    "children": {
        "sex": {"M", "F"},
        "disability": {"none", "physical", "intellectual", "sensory", "mental", "multiple"},
    },
    "guardians": {
        "relationship": {
            "mother",
            "father",
            "grandparent",
            "aunt_uncle",
            "sibling",
            "legal_guardian",
        }
    },
    "cases": {
        "case_type": {
            "neglect",
            "abandonment",
            "physical_abuse",
            "sexual_abuse",
            "exploitation",
            "trafficking",
            "conflict_with_law",
            "economic_hardship",
        },
        "risk_level": {"low", "medium", "high", "critical"},
        "status": {"open", "assessment", "intervention", "monitoring", "closed"},
    },
    "case_status_history": {
        "status": {"open", "assessment", "intervention", "monitoring", "closed"}
    },
    "placements": {
        "placement_type": {
            "family_reunification",
            "kinship_care",
            "foster_care",
            "adoption",
            "independent_living",
        },
        "outcome": {"stable", "disrupted", "returned_to_care", "ongoing"},
    },
    "consents": {"purpose": {"research", "community", "media"}},
    "access_log": {
        "actor_role": {"caseworker", "supervisor", "institution_admin", "auditor", "system"},
        "action": {"view", "update", "export", "print"},
        "resource_type": {"child", "case", "placement", "consent"},
    },
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "institutions": ("institution_id", "name", "institution_type", "province_code", "capacity"),
    "children": (
        "child_id",
        "full_name",
        "nik",
        "birth_date",
        "sex",
        "province_code",
        "regency_code",
        "disability",
        "institution_id",
        "admission_date",
    ),
    "guardians": ("guardian_id", "child_id", "full_name"),
    "cases": ("case_id", "child_id", "case_type", "risk_level", "status", "opened_at"),
    "case_status_history": ("history_id", "case_id", "status", "changed_at"),
    "case_notes": ("note_id", "case_id", "note_text", "written_at"),
    "placements": ("placement_id", "child_id", "placement_type", "start_date", "outcome"),
    "consents": ("consent_id", "child_id", "purpose", "granted"),
    "access_log": ("event_id", "occurred_at", "actor_id", "action"),
}
# (table, column) -> (parent table, parent key)
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("children", "institution_id"): ("institutions", "institution_id"),
    ("guardians", "child_id"): ("children", "child_id"),
    ("cases", "child_id"): ("children", "child_id"),
    ("case_status_history", "case_id"): ("cases", "case_id"),
    ("case_notes", "case_id"): ("cases", "case_id"),
    ("placements", "child_id"): ("children", "child_id"),
    ("consents", "child_id"): ("children", "child_id"),
}
# Date/time columns that no legitimate row may have on or after as_of.
TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "institutions": ("created_at",),
    "children": ("birth_date", "admission_date", "exit_date", "created_at"),
    "guardians": ("created_at",),
    "cases": ("opened_at", "closed_at", "created_at"),
    "case_status_history": ("changed_at",),
    "case_notes": ("written_at",),
    "placements": ("start_date", "end_date", "created_at"),
    "consents": ("granted_at", "revoked_at"),
    "access_log": ("occurred_at",),
}
FUTURE_COLUMNS = {"admission_date", "opened_at", "start_date", "occurred_at"}
NIK_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")
PHONE_RE = re.compile(r"(?<![\w.+])(?:\+62 ?|62|0)8\d{2}(?:[ -]?\d){7,10}(?!\d)")
GUARDIAN_RE = re.compile(r"\b(?:Ibu|Bapak) ((?:[A-Z][a-z]+ ?)+)")
DATE_RE = re.compile(r"\b\d{1,2} (?:" + "|".join(ID_MONTHS) + r") \d{4}\b")


@dataclass
class World:
    root: Path
    config: GeneratorConfig
    manifest: GenerationManifest

    def db(self, service: str) -> Path:
        return self.root / "sources" / f"{service}.db"

    @property
    def drops(self) -> Path:
        return self.root / "drops"

    def rows(self, table: str) -> list[dict[str, Any]]:
        service, _ = TABLES[table]
        with sqlite3.connect(self.db(service)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(f"select * from {table} order by rowid")]

    def csv_rows(self) -> list[dict[str, str]]:
        path = self.drops / self.manifest.drops["gov_registry_verification"]
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def defect_keys(self, table: str, *, include_duplicates: bool = False) -> set[str]:
        return {
            d.key
            for d in self.manifest.defects
            if d.table == table and (include_duplicates or d.defect != "duplicate_row")
        }

    def legit(self, table: str) -> list[dict[str, Any]]:
        """Rows not carrying a planted defect (both copies of a duplicated row included)."""
        key = TABLES[table][1]
        bad = self.defect_keys(table)
        return [r for r in self.rows(table) if r[key] not in bad]


def _generate(root: Path, config: GeneratorConfig, **kwargs: Any) -> World:
    manifest = generate_sources(
        config, sqlite_source_urls(root / "sources"), root / "drops", **kwargs
    )
    return World(root, config, manifest)


def _dump(world: World) -> dict[str, Any]:
    out: dict[str, Any] = {t: world.rows(t) for t in TABLES}
    out["csv"] = (world.drops / world.manifest.drops["gov_registry_verification"]).read_bytes()
    out["manifest"] = (world.drops / "synthetic_manifest.json").read_bytes()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    config = GeneratorConfig(children=CHILDREN, seed=42, defect_rate=0.02, as_of=AS_OF)
    return _generate(tmp_path_factory.mktemp("world"), config)


# -- reference data and NIKs -----------------------------------------------------------------


def test_bps_codes_cover_all_38_provinces_with_real_regencies() -> None:
    codes = [p.code for p in PROVINCES]
    assert len(codes) == 38 == len(set(codes))
    assert codes[0] == "11" and codes[-1] == "96"
    assert {p.code: p.name for p in PROVINCES}["96"] == "Papua Barat Daya"
    for province in PROVINCES:
        assert len(province.regencies) >= 3, province.name
        assert all(r.code[:2] == province.code and len(r.code) == 4 for r in province.regencies)
    regencies = regency_by_code()
    assert regencies["3273"].name == "Kota Bandung"
    assert regencies["3578"].name == "Kota Surabaya"
    assert regencies["3174"].name == "Kota Jakarta Selatan"  # Kemendagri code, as in NIKs
    big = {p.code: p.weight for p in PROVINCES}
    assert big["32"] > big["35"] > big["33"] > 10 * big["92"]


def test_nik_structure_and_validator() -> None:
    nik = make_nik("3273", 1, dt.date(2015, 6, 5), female=True, serial=3)
    assert nik == "3273014506150003"
    assert is_valid_nik(nik)
    assert make_nik("3273", 1, dt.date(2015, 6, 5), female=False, serial=3)[6:8] == "05"
    for bad in (
        nik[:-1],
        nik + "1",
        "99" + nik[2:],
        nik[:6] + "35" + nik[8:],
        nik[:6] + "00" + nik[8:],
        nik[:8] + "13" + nik[10:],
        nik[:12] + "O003",
        "３２７３０１４５０６１５０００３",  # full-width digits are not digits here
    ):
        assert not is_valid_nik(bad), bad


def test_corrupted_niks_always_fail_validation() -> None:
    import random

    rng = random.Random(1)
    nik = "3273014506150003"
    for _ in range(500):
        assert not is_valid_nik(corrupt_nik(nik, rng))


def test_phone_formats_normalise_to_the_same_number() -> None:
    for national in ("081234567890", "08123456789", "0812345678901"):
        rendered = {
            format_phone(national, s)
            for s in ("national", "dashed", "spaced", "intl_plus", "intl_digits")
        }
        assert len(rendered) == 5
        assert {normalize_phone(r) for r in rendered} == {national}
    assert format_phone("081234567890", "intl_plus") == "+62 812-3456-7890"


# -- determinism and scale -------------------------------------------------------------------


def test_same_config_gives_identical_content(tmp_path: Path) -> None:
    config = GeneratorConfig(children=250, seed=11, as_of=dt.date(2025, 6, 30))
    first = _dump(_generate(tmp_path / "a", config))
    second = _dump(_generate(tmp_path / "b", config))
    assert first == second
    other = _dump(_generate(tmp_path / "c", GeneratorConfig(children=250, seed=12)))
    assert other["children"] != first["children"]
    assert other["csv"] != first["csv"]


def test_regenerating_in_place_replaces_previous_data(tmp_path: Path) -> None:
    first = _generate(tmp_path, GeneratorConfig(children=200))
    before = {t: len(first.rows(t)) for t in TABLES}
    second = _generate(tmp_path, GeneratorConfig(children=120))
    for table in TABLES:
        assert len(second.rows(table)) == second.manifest.row_counts[table], table
        if table != "institutions":  # 20 institutions minimum either way
            assert len(second.rows(table)) < before[table], table


def test_row_counts_scale_with_children(tmp_path: Path) -> None:
    small = _generate(tmp_path / "s", GeneratorConfig(children=200, defect_rate=0.0))
    large = _generate(tmp_path / "l", GeneratorConfig(children=1200, defect_rate=0.0))
    for table in TABLES:
        assert large.manifest.row_counts[table] > small.manifest.row_counts[table], table
    counts = large.manifest.row_counts
    assert counts["institutions"] == 30  # max(20, 1200 // 40)
    assert small.manifest.row_counts["institutions"] == 20
    assert counts["children"] == 1200
    assert counts["consents"] == 3 * 1200
    assert counts["access_log"] == 5 * 1200
    assert 1.0 * 1200 <= counts["guardians"] <= 2.0 * 1200
    assert 1.1 * 1200 <= counts["cases"] <= 1.4 * 1200
    assert 0.45 * 1200 <= counts["placements"] <= 0.75 * 1200
    assert 0.5 <= counts["gov_registry_verification"] / 1200 <= 0.7
    assert large.manifest.defects == []


def test_manifest_counts_equal_what_was_written(world: World) -> None:
    for table in TABLES:
        assert len(world.rows(table)) == world.manifest.row_counts[table], table
    assert len(world.csv_rows()) == world.manifest.row_counts["gov_registry_verification"]
    on_disk = json.loads((world.drops / "synthetic_manifest.json").read_text(encoding="utf-8"))
    assert on_disk == world.manifest.to_dict()
    assert GenerationManifest.read(world.drops / "synthetic_manifest.json") == world.manifest
    assert on_disk["config"] == {
        "children": CHILDREN,
        "seed": 42,
        "defect_rate": 0.02,
        "as_of": "2026-11-01",
    }
    assert set(on_disk["services"]) == set(SERVICE_NAMES)


# -- planted defects -------------------------------------------------------------------------


def test_every_defect_code_is_planted(world: World) -> None:
    codes = Counter(d.defect for d in world.manifest.defects)
    assert set(codes) == set(DEFECT_CODES)
    per_table = world.manifest.defect_counts()
    for table in ("children", "cases", "placements", "access_log"):
        assert per_table[table]["duplicate_row"] >= 1
    assert set(per_table["gov_registry_verification"]) == {
        "invalid_nik",
        "malformed_value",
        "duplicate_row",
    }
    # One defect per row: no key is listed twice.
    listed = Counter((d.table, d.key) for d in world.manifest.defects)
    assert max(listed.values()) == 1


def test_every_manifest_defect_is_really_in_the_data(world: World) -> None:
    as_of = world.config.as_of.isoformat()
    all_keys = {t: Counter(r[TABLES[t][1]] for r in world.rows(t)) for t in TABLES}
    checked: Counter[str] = Counter()
    for d in world.manifest.defects:
        if d.table == "gov_registry_verification":
            continue
        key_column = TABLES[d.table][1]
        matches = [r for r in world.rows(d.table) if r[key_column] == d.key]
        if d.defect == "duplicate_row":
            assert len(matches) == 2 and matches[0] == matches[1], d
            checked[d.defect] += 1
            continue
        assert len(matches) == 1, d
        row = matches[0]
        assert d.column is not None and d.column in row, d
        value = row[d.column]
        if d.defect == "missing_required":
            assert value is None, d
            assert d.column in REQUIRED[d.table], d
        elif d.defect == "invalid_nik":
            assert d.column == "nik" and not is_valid_nik(value), d
        elif d.defect == "future_date":
            assert d.column in FUTURE_COLUMNS and str(value) > as_of, d
        elif d.defect == "orphan_fk":
            parent, _ = REFERENCES[(d.table, d.column)]
            assert value is not None and value not in all_keys[parent], d
        elif d.defect == "malformed_value":
            domain = ACCEPTED.get(d.table, {}).get(d.column)
            if domain is not None:
                assert value not in domain, d
            elif d.column == "capacity":
                assert value < 1, d
            else:  # codes with a pattern
                pattern = r"[0-9]{2}" if d.column == "province_code" else r"[0-9]{4}"
                assert not re.fullmatch(pattern, value), d
        checked[d.defect] += 1
    assert set(checked) == set(DEFECT_CODES)


def test_gov_drop_defects_are_where_the_manifest_says(world: World) -> None:
    rows = world.csv_rows()
    assert list(rows[0]) == [
        "nik",
        "full_name",
        "birth_date",
        "verification_status",
        "verified_at",
        "registry_reference",
    ]
    defects = {int(d.key): d for d in world.manifest.defects_for("gov_registry_verification")}
    for number, d in defects.items():
        row = rows[number - 1]
        if d.defect == "invalid_nik":
            assert not is_valid_nik(row["nik"])
        elif d.defect == "malformed_value":
            assert row["verification_status"] not in {"verified", "not_found", "mismatch"}
        else:
            assert d.defect == "duplicate_row"
            assert row in rows[: number - 1]
    children = {r["nik"]: r for r in world.legit("children")}
    seen: set[tuple[str, ...]] = set()
    for number, row in enumerate(rows, start=1):
        if number in defects:
            continue
        assert row["nik"] in children
        assert row["verification_status"] in {"verified", "not_found", "mismatch"}
        assert row["verified_at"] < world.config.as_of.isoformat()
        if row["verification_status"] == "verified":
            child = children[row["nik"]]
            assert row["full_name"] == child["full_name"].upper()
            assert row["birth_date"] == child["birth_date"]
        line = tuple(row.values())
        assert line not in seen
        seen.add(line)


# -- legitimate rows are clean (a too-strict validator would be caught) ----------------------


def test_legitimate_rows_satisfy_every_rule(world: World) -> None:
    _assert_legitimate_rows_clean(world)


def test_an_early_as_of_moves_the_whole_world_back(tmp_path: Path) -> None:
    world = _generate(tmp_path, GeneratorConfig(children=150, as_of=dt.date(2019, 3, 15)))
    _assert_legitimate_rows_clean(world)
    assert world.legit("placements")


def _assert_legitimate_rows_clean(world: World) -> None:
    as_of = world.config.as_of.isoformat()
    valid_keys = {t: {r[TABLES[t][1]] for r in world.legit(t)} for t in TABLES}
    for table in TABLES:
        rows = world.legit(table)
        assert rows, table
        for row in rows:
            for column in REQUIRED[table]:
                assert row[column] is not None, (table, column, row)
            for column, domain in ACCEPTED.get(table, {}).items():
                if row[column] is not None:
                    assert row[column] in domain, (table, column, row)
            for column in (*TIME_COLUMNS[table], "updated_at"):
                if row[column] is not None:
                    assert str(row[column]) < as_of, (table, column, row)
            for (child_table, column), (parent, _) in REFERENCES.items():
                if child_table == table:
                    assert row[column] in valid_keys[parent], (table, column, row)
            if "created_at" in row and row["created_at"] is not None:
                assert row["updated_at"] >= row["created_at"], (table, row)
    institutions = world.legit("institutions")
    assert all(r["capacity"] > 0 for r in institutions)
    assert all(re.fullmatch(r"LKSA-\d{5}", r["institution_id"]) for r in institutions)
    for row in world.legit("children"):
        assert re.fullmatch(r"CH-\d{7}", row["child_id"])
        assert row["regency_code"][:2] == row["province_code"]
        assert row["regency_code"] in regency_by_code()
        assert row["admission_date"] >= row["birth_date"]
        assert row["exit_date"] is None or row["exit_date"] >= row["admission_date"]
        age = _age(dt.date.fromisoformat(row["birth_date"]), world.config.as_of)
        assert 0 <= age <= 17


def test_legitimate_edge_cases_are_present(world: World) -> None:
    children = world.legit("children")
    assert any(r["exit_date"] is None for r in children)
    assert any(r["exit_date"] is not None for r in children)
    placements = world.legit("placements")
    assert any(r["end_date"] is None for r in placements)
    consents = world.legit("consents")
    assert any(r["granted"] and r["revoked_at"] is not None for r in consents)
    phones = [r["phone"] for r in world.legit("guardians")]
    assert any(p.startswith("+62 ") for p in phones)
    assert any(p.startswith("62") for p in phones)
    assert any(p.startswith("08") and p.isdigit() for p in phones)
    assert any(" " in p and p.startswith("08") for p in phones)


def test_niks_are_structurally_real_for_legitimate_rows(world: World) -> None:
    regencies = regency_by_code()
    children = world.legit("children")
    for row in children:
        nik = row["nik"]
        assert is_valid_nik(nik), row
        assert nik[:4] in regencies
        born = dt.date.fromisoformat(row["birth_date"])
        day = born.day + (40 if row["sex"] == "F" else 0)
        assert nik[6:12] == f"{day:02d}{born.month:02d}{born.year % 100:02d}", row
        assert regencies[nik[:4]].place_name == row["birthplace"]
    assert any(r["sex"] == "F" and int(r["nik"][6:8]) > 40 for r in children)
    unique = {r["child_id"]: r["nik"] for r in children}
    assert len(set(unique.values())) == len(unique)
    guardians = world.legit("guardians")
    for row in guardians:
        assert is_valid_nik(row["nik"]), row
        assert row["nik"][10:12] == "00" or 60 <= int(row["nik"][10:12]) <= 99  # born 1960-2000
    assert not set(unique.values()) & {g["nik"] for g in guardians}


def test_domain_specific_consistency(world: World) -> None:
    children = {r["child_id"]: r for r in world.legit("children")}
    for row in world.legit("placements"):
        assert (row["outcome"] == "ongoing") == (row["end_date"] is None), row
        assert row["start_date"] >= "2022-01-01"
        if row["placement_type"] == "independent_living":
            child = children[row["child_id"]]
            age = _age(
                dt.date.fromisoformat(child["birth_date"]),
                dt.date.fromisoformat(row["start_date"]),
            )
            assert age >= 15, row
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in world.rows("case_status_history"):
        history[row["case_id"]].append(row)
    for case in world.legit("cases"):
        steps = history[case["case_id"]]
        assert 1 <= len(steps) <= 4, case
        assert steps[0]["status"] == "open" and steps[-1]["status"] == case["status"]
        assert [s["changed_at"] for s in steps] == sorted(s["changed_at"] for s in steps)
        assert (case["status"] == "closed") == (case["closed_at"] is not None)
    consents = Counter((r["child_id"], r["purpose"]) for r in world.legit("consents"))
    assert set(consents.values()) == {1}
    assert len(consents) == 3 * CHILDREN
    granted = {r["guardian_id"]: r["child_id"] for r in world.legit("guardians")}
    for row in world.legit("consents"):
        if row["granted"]:
            assert granted[row["granted_by_guardian_id"]] == row["child_id"]
    events = world.legit("access_log")
    first = (world.config.as_of - dt.timedelta(days=365)).isoformat()
    assert all(first <= e["occurred_at"] for e in events)


# -- free text -------------------------------------------------------------------------------


def test_case_notes_mention_identifiers_that_exist_in_the_registry(world: World) -> None:
    children = {r["child_id"]: r for r in world.legit("children")}
    guardians: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in world.legit("guardians"):
        guardians[g["child_id"]].append(g)
    case_child = {c["case_id"]: c["child_id"] for c in world.legit("cases")}
    notes = world.rows("case_notes")
    assert len(notes) >= CHILDREN
    third_parties = set(world.manifest.third_party_names)
    mentions: Counter[str] = Counter()
    for note in notes:
        text = note["note_text"]
        child = children[case_child[note["case_id"]]]
        family = guardians[child["child_id"]]
        assert child["full_name"] in text or re.search(
            rf"\b{re.escape(child['full_name'].split()[0])}\b", text
        ), text
        niks = NIK_RE.findall(text)
        assert set(niks) <= {child["nik"], *(g["nik"] for g in family)}, text
        mentions["nik"] += bool(niks)
        phones = PHONE_RE.findall(NIK_RE.sub(" ", text))
        assert {normalize_phone(p) for p in phones} <= {normalize_phone(g["phone"]) for g in family}
        mentions["phone"] += bool(phones)
        mentions["phone_other_format"] += any(p not in {g["phone"] for g in family} for p in phones)
        for name in GUARDIAN_RE.findall(text):
            if name.strip() in third_parties:
                mentions["third_party"] += 1
                continue
            assert name.strip() in {g["full_name"] for g in family}, text
            mentions["guardian"] += 1
        for birth in re.findall(r"lahir (\d{1,2} \w+ \d{4})", text):
            born = dt.date.fromisoformat(child["birth_date"])
            assert birth == f"{born.day} {ID_MONTHS[born.month - 1]} {born.year}"
            mentions["birth"] += 1
        mentions["email"] += "@" in text
        mentions["date"] += bool(DATE_RE.search(text))
    for kind in ("nik", "phone", "phone_other_format", "guardian", "birth", "email", "date"):
        assert mentions[kind] > 0, kind
    # Notes vary: at least 15 different templates are in use.
    anchors = [max(re.split(r"\{\w+\}", t), key=len) for t in TEMPLATES]
    used = {i for n in notes for i, a in enumerate(anchors) if a in n["note_text"]}
    assert len(TEMPLATES) >= 15 and len(used) >= 15


def test_provinces_are_weighted_so_some_are_small(tmp_path: Path) -> None:
    world = _generate(tmp_path, GeneratorConfig(children=4000, defect_rate=0.0))
    per_province = Counter(r["province_code"] for r in world.rows("children"))
    assert per_province.most_common(1)[0][0] in {"32", "33", "35"}
    assert min(per_province.values()) < 0.005 * 4000
    assert len(per_province) >= 20


# -- API, extension, CLI ---------------------------------------------------------------------


def test_missing_source_url_is_an_error(tmp_path: Path) -> None:
    urls = sqlite_source_urls(tmp_path)
    del urls["consent"]
    with pytest.raises(ValueError, match="consent"):
        generate_sources(GeneratorConfig(children=20), urls, tmp_path / "drops")


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(children=0)
    with pytest.raises(ValueError):
        GeneratorConfig(defect_rate=0.5)
    with pytest.raises(TypeError):
        GeneratorConfig(as_of=dt.datetime(2026, 1, 1))  # type: ignore[arg-type]


class _Education(ServiceGenerator):
    """A toy extension service: one enrolment per child."""

    name: ClassVar[str] = "education"
    requires: ClassVar[tuple[str, ...]] = ("child_registry",)

    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        return [
            source_table(
                metadata,
                "enrolments",
                "enrolment_id",
                col("enrolment_id", ID),
                col("child_id", ID),
                col("school", ID),
            )
        ]

    def generate(self, ctx: GenerationContext) -> None:
        keys = ctx.key_space("enrolments", "EN-", 7)
        for child in ctx.children:
            ctx.out.add(
                "enrolments",
                {
                    "enrolment_id": keys.next(),
                    "child_id": child.child_id,
                    "school": f"SD-{ctx.rng.randint(1, 500):04d}",
                    "updated_at": ctx.moment_on(child.admission_date),
                },
            )


def _with_education() -> ServiceRegistry:
    registry = ServiceRegistry()
    default = default_registry()
    for service in default.services:
        registry.register(service)
        if service.name == "child_registry":  # slot the new service into the middle
            registry.register(_Education())
    for drop in default.drops:
        registry.register(drop)
    return registry


def test_a_new_service_slots_in_without_changing_the_others(tmp_path: Path) -> None:
    config = GeneratorConfig(children=150)
    base = _generate(tmp_path / "base", config)
    urls = {**sqlite_source_urls(tmp_path / "ext" / "sources")}
    urls["education"] = f"sqlite:///{tmp_path / 'ext' / 'sources' / 'education.db'}"
    manifest = generate_sources(
        config, urls, tmp_path / "ext" / "drops", registry=_with_education()
    )
    extended = World(tmp_path / "ext", config, manifest)
    assert manifest.row_counts["enrolments"] == 150
    assert manifest.services["education"] == ["enrolments"]
    for table in TABLES:
        assert extended.rows(table) == base.rows(table), table
    assert manifest.defects == base.manifest.defects


def test_registry_refuses_a_service_before_its_dependencies() -> None:
    registry = ServiceRegistry()
    with pytest.raises(ValueError, match="child_registry"):
        registry.register(_Education())


def test_cli_writes_sqlite_sources_and_drops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["--children", "60", "--seed", "5", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "children" in printed and "access_log" in printed
    for service in SERVICE_NAMES:
        assert (tmp_path / "sources" / f"{service}.db").is_file()
    assert (
        tmp_path / "drops" / "gov_registry" / "gov_registry_verification_20261101.csv"
    ).is_file()
    manifest = GenerationManifest.read(tmp_path / "drops" / "synthetic_manifest.json")
    assert manifest.config == GeneratorConfig(children=60, seed=5)


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_some_notes_name_a_third_party_whom_no_table_holds(world: World) -> None:
    """What the redactor must recognise without a record: the manifest lists them."""
    third_parties = world.manifest.third_party_names
    registry = {r["full_name"] for r in world.legit("children")} | {
        g["full_name"] for g in world.legit("guardians")
    }
    assert third_parties == sorted(set(third_parties))
    assert not registry & set(third_parties)
    cases = {c["case_id"] for c in world.legit("cases")}
    naming = {
        n["case_id"]
        for n in world.rows("case_notes")
        if any(name in n["note_text"] for name in third_parties)
    }
    assert 0.2 * len(cases) <= len(naming) <= 0.4 * len(cases)
