"""The research release: record-level, k-anonymous and l-diverse, consenting children only.

Input is the restricted mart ``research_child_cases`` (already limited by dbt to children
whose research consent is in force). Quasi-identifiers are generalised along hierarchies by a
lattice search (anonymization.kanonymity) within a suppression limit; the child id is replaced
by a release-specific token so two releases, or a release and internal data, cannot be joined.
The release is written to a staging directory and renamed into place only after its own checks
pass.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from anonymization import hierarchies as h
from anonymization.kanonymity import anonymize
from anonymization.tokens import retokenize
from ingestion.lake import write_json_atomic
from orchestration.publish.gate import (
    CheckOutcome,
    check_k_anonymity,
    check_l_diversity,
    check_pii_scan,
)


@dataclass(frozen=True)
class ReleasePolicy:
    k: int = 5
    l_diversity: int = 2
    max_suppression: float = 0.05
    sensitive: str = "case_type"
    purpose: str = "research"


QUASI_IDENTIFIERS = ("age_years", "sex", "regency_code", "disability", "admission_year")

DICTIONARY = {
    "record_id": "Release-specific pseudonym of the child; not joinable across releases.",
    "age_years": "Age at the reporting date, generalised (see privacy_report.generalization).",
    "sex": "M / F, or * where generalised.",
    "regency_code": "BPS location, generalised to province code / island group / * where needed.",
    "disability": "Disability category, possibly generalised to any_disability / none / *.",
    "admission_year": "Year of admission to care, possibly generalised to a period or *.",
    "institution_type": "Type of the child's institution (not a quasi-identifier in this release).",
    "case_type": "Type of the child's most recent case: the sensitive attribute (l-diverse).",
}


def hierarchies() -> dict[str, Any]:
    return {
        "age_years": h.age_hierarchy(),
        "sex": h.sex_hierarchy(),
        "regency_code": h.province_hierarchy(),
        "disability": h.disability_hierarchy(),
        "admission_year": h.year_hierarchy(),
    }


def release_key(master: bytes, release_id: str) -> bytes:
    return hmac.new(master, f"merajut-release:{release_id}".encode(), hashlib.sha256).digest()


def new_release_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return "research-" + now.strftime("%Y%m%dT%H%M%S%fZ")


def build_release(
    source: pd.DataFrame, releases_dir: Path, master_key: bytes, policy: ReleasePolicy | None = None
) -> tuple[Path | None, dict[str, Any]]:
    """Returns (release dir or None if rejected, manifest)."""
    policy = policy or ReleasePolicy()
    release_id = new_release_id()
    frame = source.copy()
    frame["age_years"] = frame["age_years"].astype("Int64")
    frame["admission_year"] = frame["admission_year"].astype("Int64")
    frame = frame.dropna(subset=[*QUASI_IDENTIFIERS, policy.sensitive]).reset_index(drop=True)
    released, report = anonymize(
        frame[[*QUASI_IDENTIFIERS, policy.sensitive, "institution_type", "child_id"]],
        quasi_identifiers={q: hierarchies()[q] for q in QUASI_IDENTIFIERS},
        sensitive=policy.sensitive,
        k=policy.k,
        l=policy.l_diversity,
        max_suppression=policy.max_suppression,
    )
    key = release_key(master_key, release_id)
    released = released.reset_index(drop=True)
    released.insert(0, "record_id", [retokenize(str(v), key) for v in released.pop("child_id")])
    released = released.sample(frac=1.0, random_state=int.from_bytes(key[:4], "big")).reset_index(
        drop=True
    )
    for column in QUASI_IDENTIFIERS:
        released[column] = released[column].astype(str)

    report_dict = report.to_dict()
    report_dict.update(
        release_id=release_id,
        purpose=policy.purpose,
        population="children whose guardians' research consent is in force at build time",
        excluded_incomplete_rows=int(len(source) - len(frame)),
        record_id="release-specific HMAC re-tokenization of the child id",
    )
    data_csv = released.to_csv(index=False)
    checks: list[CheckOutcome] = [
        check_k_anonymity(released, QUASI_IDENTIFIERS, policy.k),
        check_l_diversity(released, QUASI_IDENTIFIERS, policy.sensitive, policy.l_diversity),
        check_pii_scan({"release": released}, {"data.csv": data_csv}),
    ]
    manifest: dict[str, Any] = {
        "release_id": release_id,
        "created_at": datetime.now(UTC).isoformat(),
        "purpose": policy.purpose,
        "rows": len(released),
        "checks": [c.to_dict() for c in checks],
        "checks_passed": [c.name for c in checks if c.passed],
        "all_checks_passed": all(c.passed for c in checks),
        "files": ["data.parquet", "data.csv", "data_dictionary.json", "privacy_report.json"],
    }
    if not manifest["all_checks_passed"]:
        write_json_atomic(releases_dir / "rejected" / f"{release_id}.json", manifest)
        return None, manifest
    staging = releases_dir / f".staging-{release_id}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    released.to_parquet(staging / "data.parquet", index=False)
    (staging / "data.csv").write_text(data_csv, encoding="utf-8")
    write_json_atomic(
        staging / "data_dictionary.json",
        {
            c: {"description": DICTIONARY.get(c, ""), "dtype": str(t)}
            for c, t in released.dtypes.items()
        },
    )
    write_json_atomic(staging / "privacy_report.json", report_dict)
    write_json_atomic(staging / "manifest.json", manifest)
    final = releases_dir / release_id
    os.replace(staging, final)
    return final, manifest


def latest_release(releases_dir: Path) -> dict[str, Any] | None:
    import json

    candidates = sorted(
        p for p in releases_dir.glob("research-*") if (p / "manifest.json").exists()
    )
    if not candidates:
        return None
    path = candidates[-1]
    return {
        "id": path.name,
        "path": path,
        "manifest": json.loads((path / "manifest.json").read_text()),
    }
