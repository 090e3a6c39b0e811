"""The region list: 38 provinces, island groups, regencies inside their province."""

from __future__ import annotations

from lakehouse.reference.regions import (
    ISLAND_GROUPS,
    PROVINCE_CODES,
    PROVINCES,
    all_regencies,
    province_by_code,
    regency_by_code,
)


def test_the_38_provinces() -> None:
    assert len(PROVINCES) == len(PROVINCE_CODES) == 38
    assert {"11", "31", "36", "51", "65", "76", "96"} <= PROVINCE_CODES
    assert not {"10", "20", "37", "66", "99"} & PROVINCE_CODES
    assert province_by_code()["32"].name == "Jawa Barat"


def test_island_groups_cover_every_province_with_six_groups() -> None:
    assert set(ISLAND_GROUPS) == PROVINCE_CODES
    assert set(ISLAND_GROUPS.values()) == {
        "Sumatera",
        "Jawa",
        "Bali-Nusa Tenggara",
        "Kalimantan",
        "Sulawesi",
        "Maluku-Papua",
    }
    assert ISLAND_GROUPS["21"] == "Sumatera"  # Kepulauan Riau
    assert ISLAND_GROUPS["82"] == ISLAND_GROUPS["96"] == "Maluku-Papua"


def test_regencies_belong_to_their_province_and_are_unique() -> None:
    regencies = all_regencies()
    assert len({r.code for r in regencies}) == len(regencies) == len(regency_by_code())
    for province in PROVINCES:
        assert province.regencies, province.code
        assert all(r.province_code == province.code for r in province.regencies)
        assert all(
            r.code.startswith(province.code) and len(r.code) == 4 for r in province.regencies
        )
    assert regency_by_code()["3273"].place_name == "Bandung"
