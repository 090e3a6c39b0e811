"""dbt's reference seeds are written from the Python reference and never drift from it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lakehouse.layout import DBT_PROJECT_DIR
from lakehouse.reference.audiences import AUDIENCE_THRESHOLDS
from lakehouse.reference.regions import PROVINCES
from lakehouse.reference.seeds import SEEDS, render_seed, stale_seeds, write_seeds

SEED_DIR = DBT_PROJECT_DIR / "seeds"


def test_the_committed_seeds_match_the_reference_data() -> None:
    assert stale_seeds(SEED_DIR) == [], "run `merajut reference seeds` and commit the result"


def test_every_seed_has_a_yaml_with_its_columns() -> None:
    for name in SEEDS:
        assert (SEED_DIR / f"{name}.yml").exists(), name
        header = render_seed(name).splitlines()[0].split(",")
        text = (SEED_DIR / f"{name}.yml").read_text()
        assert all(f"name: {column}" in text for column in header), name


def test_rendered_seeds_hold_the_reference_values() -> None:
    provinces = list(csv.DictReader(io.StringIO(render_seed("bps_provinces"))))
    assert [r["province_code"] for r in provinces] == [p.code for p in PROVINCES]
    assert provinces[0] == {
        "province_code": "11",
        "province_name": "Aceh",
        "island_group": "Sumatera",
    }
    thresholds = {
        r["audience"]: int(r["threshold"])
        for r in csv.DictReader(io.StringIO(render_seed("audience_thresholds")))
    }
    assert thresholds == AUDIENCE_THRESHOLDS


def test_a_changed_seed_is_reported_and_rewritten(tmp_path: Path) -> None:
    write_seeds(tmp_path)
    assert stale_seeds(tmp_path) == []
    (tmp_path / "audience_thresholds.csv").write_text("audience,threshold\ngovernment,3\n")
    (tmp_path / "bps_provinces.csv").unlink()
    assert stale_seeds(tmp_path) == ["bps_provinces", "audience_thresholds"]
    write_seeds(tmp_path)
    assert stale_seeds(tmp_path) == []
