"""The release's report for people: what a researcher or a DPO reads, rendered as they see it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
from PIL import Image

from lakehouse.reference.release_tiers import TIERS
from orchestration.release.build import QUASI_IDENTIFIERS, ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source

KEY = b"r" * 32
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium is required: `make test` installs it"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_the_report_shows_criteria_risk_utility_and_every_value_meaning(tmp_path: Path) -> None:
    result = build_release(make_release_source(5, children=1500), tmp_path, KEY)
    assert result.path is not None
    report = json.loads((result.path / "privacy_report.json").read_text())
    dictionary = json.loads((result.path / "data_dictionary.json").read_text())
    data = pd.read_parquet(result.path / "data.parquet")
    page = (result.path / "report.html").as_uri()
    text = _chromium("--dump-dom", page).stdout

    assert "Licensed file" in text and report["release_id"] in text
    for criterion in report["criteria"]:
        assert criterion["name"] in text
    assert "<svg" in text and "prosecutor risk of a record" in text
    assert "naive Bayes" in text and "discernibility" in text  # the utility figures
    # Every released value of every quasi-identifier is explained, in the file and the page.
    for column in QUASI_IDENTIFIERS:
        assert set(dictionary[column]["values"]) == set(data[column].astype(str))
    assert "Kabupaten Bogor" in text or "Jawa Barat" in text  # codes 32xx read as places
    assert "the regency not shown" in text or "regency/city" in text
    # The manifest vouches for the report like for every other file.
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert "report.html" in manifest["sha256"]

    png = tmp_path / "report.png"
    _chromium(f"--screenshot={png}", "--window-size=1100,1600", page)
    with Image.open(png) as image:
        gray = image.convert("L")
        histogram = gray.histogram()
        # Text, table rules and the bars of the plot: not a blank page.
        assert max(histogram) / sum(histogram) < 0.97
        assert len(gray.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20


def test_the_enclave_report_says_it_is_query_only(tmp_path: Path) -> None:
    policy = ReleasePolicy(tier=TIERS["enclave"])
    result = build_release(make_release_source(5, children=300), tmp_path, KEY, policy)
    assert result.path is not None
    page = (result.path / "report.html").read_text()
    assert "Enclave extract" in page and "never downloadable" in page
