"""The research release: record-level, k-anonymous and l-diverse, consenting children only.

Input is the restricted mart ``research_child_cases`` (already limited by dbt to children
whose research consent is in force). Quasi-identifiers are generalised along hierarchies by a
lattice search (anonymization.kanonymity) within a suppression limit; the child id is replaced
by a release-specific token so two releases, or a release and internal data, cannot be joined.
The checks are independent (:mod:`anonymization.output_checks`); the files are written by the one
release writer (:mod:`lakehouse.research_release`), which renames them into place only after
every check passed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from anonymization import hierarchies as h
from anonymization.kanonymity import LOSS_METRIC, AnonymizationError, PrivacyReport, anonymize
from anonymization.local_recoding import local_recode
from anonymization.output_checks import check_k_anonymity, check_l_diversity, check_pii_scan
from anonymization.privacy_models import (
    Criterion,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    ProsecutorRisk,
    RecursiveCLDiversity,
    TCloseness,
    evaluate_criteria,
)
from anonymization.tokens import retokenize
from lakehouse.checks import CheckOutcome
from lakehouse.reference.purposes import PURPOSES
from lakehouse.research_release import ReleaseResult, new_release_id, publish_release


@dataclass(frozen=True)
class ReleasePolicy:
    k: int = 5
    l_diversity: int = 2
    max_suppression: float = 0.05
    sensitive: str = "case_type"
    purpose: str = "research"
    #: Measured on every release and reported with the value achieved; enforced are k and
    #: distinct l (the search guarantees them, the checks gate on them).
    measured: tuple[Criterion, ...] = field(
        default_factory=lambda: (
            EntropyLDiversity(2),
            RecursiveCLDiversity(c=3, l=2),
            TCloseness(0.35),
            ProsecutorRisk(max_risk=0.2, average_risk=0.05, threshold=0.2),
        )
    )

    def criteria(self) -> list[tuple[Criterion, bool]]:
        """Every criterion of the release and whether it is enforced (True) or measured."""
        enforced: list[Criterion] = [KAnonymity(self.k), DistinctLDiversity(self.l_diversity)]
        return [(c, True) for c in enforced] + [(c, False) for c in self.measured]


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


def _transform(
    frame: pd.DataFrame, policy: ReleasePolicy
) -> tuple[pd.DataFrame, PrivacyReport, dict[str, Any]]:
    """Both transformations, the one with the lower loss published (full-domain on a tie):
    full-domain generalisation (one level per quasi-identifier, records suppressed within the
    limit, the exact optimum) and local recoding (each cell its own levels along the
    hierarchies, nothing suppressed, a greedy optimum)."""
    columns = frame[[*QUASI_IDENTIFIERS, policy.sensitive, "institution_type", "child_id"]]
    qis = {q: hierarchies()[q] for q in QUASI_IDENTIFIERS}
    candidates: dict[str, tuple[pd.DataFrame, PrivacyReport]] = {}
    errors: dict[str, str] = {}
    try:
        candidates["full_domain"] = anonymize(
            columns, qis, policy.sensitive, policy.k, policy.l_diversity, policy.max_suppression
        )
    except AnonymizationError as exc:
        errors["full_domain"] = str(exc)
    try:
        candidates["local_recoding"] = local_recode(
            columns, qis, policy.sensitive, policy.k, policy.l_diversity
        )
    except AnonymizationError as exc:
        errors["local_recoding"] = str(exc)
    if not candidates:
        raise AnonymizationError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    loss = {name: r.information_loss["value"] for name, (_, r) in candidates.items()}
    chosen = min(loss, key=lambda name: (loss[name], name != "full_domain"))
    others = ", ".join(f"{n} {v:.4f}" for n, v in loss.items() if n != chosen)
    why = f"lowest information loss ({LOSS_METRIC} {loss[chosen]:.4f}" + (
        f" against {others})" if others else ")"
    )
    transformation = {
        "chosen": chosen,
        "why": why,
        "candidates": {
            name: {
                "information_loss": r.information_loss["value"],
                "suppressed_rows": r.suppressed_rows,
                "equivalence_classes": r.equivalence_classes,
                "generalization": r.generalization,
            }
            for name, (_, r) in candidates.items()
        },
        "not_possible": errors,
    }
    released, report = candidates[chosen]
    return released, report, transformation


def build_release(
    source: pd.DataFrame,
    releases_dir: Path,
    master_key: bytes,
    policy: ReleasePolicy | None = None,
    population_children: int | None = None,
) -> ReleaseResult:
    """Anonymize ``source``, check the result, publish it if every check passed.
    ``population_children``: how many children the purpose's population held at build time
    (``source`` is already limited to them), stated in the manifest."""
    policy = policy or ReleasePolicy()
    purpose = PURPOSES[policy.purpose]
    release_id = new_release_id()
    frame = source.copy()
    frame["age_years"] = frame["age_years"].astype("Int64")
    frame["admission_year"] = frame["admission_year"].astype("Int64")
    frame = frame.dropna(subset=[*QUASI_IDENTIFIERS, policy.sensitive]).reset_index(drop=True)
    released, report, transformation = _transform(frame, policy)
    key = release_key(master_key, release_id)
    released = released.reset_index(drop=True)
    released.insert(0, "record_id", [retokenize(str(v), key) for v in released.pop("child_id")])
    released = released.sample(frac=1.0, random_state=int.from_bytes(key[:4], "big")).reset_index(
        drop=True
    )
    for column in QUASI_IDENTIFIERS:
        released[column] = released[column].astype(str)

    privacy_report = report.to_dict()
    declared = policy.criteria()
    results = evaluate_criteria(
        released, QUASI_IDENTIFIERS, policy.sensitive, [c for c, _ in declared]
    )
    risk = next(r for r in results if r.name == "prosecutor_risk").achieved
    privacy_report.update(
        transformation=transformation,
        criteria=[
            {**r.to_dict(), "enforced": enforced}
            for r, (_, enforced) in zip(results, declared, strict=True)
        ],
        risk={
            "prosecutor": {k: risk[k] for k in ("highest", "average", "share_above_threshold")},
            "marketer": risk["marketer"],
            "journalist": None,
            "journalist_note": "not estimated yet: needs the population's class frequencies",
        },
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
    dictionary = {
        c: {"description": DICTIONARY.get(c, ""), "dtype": str(t)}
        for c, t in released.dtypes.items()
    }
    return publish_release(
        releases_dir,
        release_id,
        data=released,
        data_csv=data_csv,
        dictionary=dictionary,
        privacy_report=privacy_report,
        purpose=policy.purpose,
        checks=checks,
        population=purpose.population,
        legal_basis=purpose.legal_basis,
        population_children=population_children,
    )
