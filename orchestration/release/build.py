"""The research releases: record-level, one per tier, consenting children only.

Input is the restricted mart ``research_child_cases`` (already limited by dbt to children
whose research consent is in force). Each tier (:mod:`lakehouse.reference.release_tiers`) gets
its own release: public-use and licensed files are generalised along hierarchies (full-domain
lattice search or local recoding, the lower loss published) to the tier's criteria, checked
against every earlier release of the same population so that two files held together reveal
no class below k (:mod:`anonymization.release_intersection`); the enclave extract is
pseudonymised only and never downloadable. The child id is replaced by a release-specific token
so two releases, or a release and internal data, cannot be joined by id.
The checks are independent (:mod:`anonymization.output_checks`); the files are written by the one
release writer (:mod:`lakehouse.research_release`), which renames them into place only after
every check passed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anonymization import cell_key
from anonymization import hierarchies as h
from anonymization.kanonymity import (
    LOSS_METRIC,
    AnonymizationError,
    ClassCriteria,
    PrivacyReport,
    anonymize,
    classes_meet,
)
from anonymization.local_recoding import local_recode
from anonymization.microaggregation import microaggregate
from anonymization.output_checks import (
    check_intersections,
    check_k_anonymity,
    check_l_diversity,
    check_pii_scan,
)
from anonymization.population_risk import (
    DeltaPresence,
    JournalistRisk,
    PopulationUniqueness,
    ReferencePopulation,
)
from anonymization.privacy_models import (
    Criterion,
    CriterionResult,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    ProsecutorRisk,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymization.release_intersection import EarlierRelease, guard_intersections
from anonymization.tokens import Tokenizer, retokenize
from anonymization.utility import evaluate_release
from lakehouse.checks import CheckOutcome
from lakehouse.reference.child_population import CHILD_POPULATION_SOURCE, child_population
from lakehouse.reference.purposes import PURPOSES
from lakehouse.reference.release_tiers import CASE_TYPE_GROUPS, TIERS, ReleaseTier
from lakehouse.research_release import (
    RECORD_KEY_COLUMN,
    ReleaseResult,
    ResearchReleases,
    new_release_id,
    publish_release,
)
from orchestration.release.report import render_report, value_meanings


@dataclass(frozen=True)
class ReleasePolicy:
    """What one release must meet: its tier's criteria, unless a test overrides one."""

    tier: ReleaseTier = TIERS["licensed"]
    k: int | None = None
    l_diversity: int | None = None
    max_suppression: float | None = None
    sensitive: str = "case_type"
    purpose: str = "research"
    #: Measured on every release and reported with the value achieved.
    measured: tuple[Criterion, ...] = field(
        default_factory=lambda: (
            EntropyLDiversity(2),
            RecursiveCLDiversity(c=3, l=2),
            TCloseness(0.35),
        )
    )
    #: The digest of what this release is built from (the release asset computes it), kept in
    #: the manifest so that a run with the same input builds no new release of the tier.
    input_sha256: str | None = None

    @property
    def k_required(self) -> int:
        return self.k if self.k is not None else self.tier.k or 1

    @property
    def l_required(self) -> int:
        return self.l_diversity if self.l_diversity is not None else self.tier.l_diversity or 1

    @property
    def suppression_limit(self) -> float:
        return (
            self.max_suppression if self.max_suppression is not None else self.tier.max_suppression
        )

    def closeness(self) -> TCloseness | None:
        if self.tier.t_closeness is None:
            return None
        if self.tier.t_distance == "hierarchical":
            return TCloseness(self.tier.t_closeness, "hierarchical", hierarchy=CASE_TYPE_GROUPS)
        return TCloseness(self.tier.t_closeness)

    def class_criteria(self) -> ClassCriteria | None:
        closeness = self.closeness()
        if closeness is None:
            return None
        return ClassCriteria(
            t=closeness.t, t_distance=closeness.distance, t_hierarchy=dict(closeness.hierarchy)
        )

    def lowest_levels(self) -> dict[str, int]:
        return {"regency_code": self.tier.geography_level}

    def criteria(self) -> list[tuple[Criterion, bool]]:
        """Every criterion of the release and whether it is enforced (True) or measured."""
        enforced: list[Criterion] = [
            KAnonymity(self.k_required),
            DistinctLDiversity(self.l_required),
        ]
        closeness = self.closeness()
        if closeness is not None:
            enforced.append(closeness)
        measured = [
            c for c in self.measured if not (closeness is not None and c.name == closeness.name)
        ]
        risk = ProsecutorRisk(
            max_risk=self.tier.max_prosecutor_risk or 1.0,
            average_risk=0.05,
            threshold=self.tier.max_prosecutor_risk or 0.2,
        )
        return [(c, True) for c in enforced] + [(c, False) for c in [*measured, risk]]


QUASI_IDENTIFIERS = ("age_years", "sex", "regency_code", "disability", "admission_year")
#: Whole numbers a microaggregated release shows as the range of their cluster.
NUMERIC_QUASI_IDENTIFIERS = ("age_years", "admission_year")

DICTIONARY = {
    "record_id": "Release-specific pseudonym of the child; not joinable across releases.",
    "age_years": "Age at the reporting date, generalised (see privacy_report.generalization).",
    "sex": "M / F, or * where generalised.",
    "regency_code": "BPS location, generalised to province code / island group / * where needed.",
    "disability": "Disability category, possibly generalised to any_disability / none / *.",
    "admission_year": "Year of admission to care, possibly generalised to a period or *.",
    "institution_type": "Type of the child's institution (not a quasi-identifier in this release).",
    "case_type": "Type of the child's most recent case: the sensitive attribute (l-diverse).",
    RECORD_KEY_COLUMN: (
        "Internal (enclave only): the record's permanent cell key 0..255, with which the query "
        "service perturbs counts; never a dimension or filter, never shown."
    ),
}
#: The table name the enclave's record keys are derived under (anonymization.cell_key).
ENCLAVE_KEY_TABLE = "research_enclave"


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


@dataclass
class _Candidate:
    name: str
    released: pd.DataFrame
    report: PrivacyReport


def _transform(
    frame: pd.DataFrame,
    policy: ReleasePolicy,
    shared: Mapping[str, int] | None,
    inner: pd.Series | None = None,
) -> tuple[list[_Candidate], dict[str, Any]]:
    """The transformations that meet the tier's criteria, lowest loss first (full-domain on a
    tie): full-domain generalisation (one level per quasi-identifier, records suppressed within
    the limit, the exact optimum), local recoding (each cell its own levels along the
    hierarchies, nothing suppressed, a greedy optimum), and, when the tier's latest release was
    full-domain, that release's scheme (``shared``) — the fallback when the others would
    combine with earlier releases below k. ``inner``: each record's class in the file this
    tier coarsens (null for a child it does not hold); local recoding then builds its cells
    from whole classes of that file."""
    columns = frame[[*QUASI_IDENTIFIERS, policy.sensitive, "institution_type", "child_id"]]
    qis = {q: hierarchies()[q] for q in QUASI_IDENTIFIERS}
    k, l_req, criteria = policy.k_required, policy.l_required, policy.class_criteria()
    lowest, limit = policy.lowest_levels(), policy.suppression_limit
    runs: dict[str, Callable[[], tuple[pd.DataFrame, PrivacyReport]]] = {
        "full_domain": lambda: anonymize(
            columns, qis, policy.sensitive, k, l_req, limit, criteria, lowest
        ),
        "local_recoding": lambda: _local_recode_coarsening(columns, policy, inner),
        "microaggregation": lambda: microaggregate(
            columns,
            qis,
            NUMERIC_QUASI_IDENTIFIERS,
            policy.sensitive,
            k,
            l_req,
            limit,
            criteria,
            lowest,
        ),
    }
    if shared is not None:
        runs["shared_scheme"] = lambda: anonymize(
            columns, qis, policy.sensitive, k, l_req, limit, criteria, lowest, shared
        )
    candidates: list[_Candidate] = []
    errors: dict[str, str] = {}
    for name, run in runs.items():
        try:
            candidates.append(_Candidate(name, *run()))
        except AnonymizationError as exc:
            errors[name] = str(exc)
    if not candidates:
        raise AnonymizationError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    order = {name: i for i, name in enumerate(runs)}
    fresh = [c for c in candidates if c.name != "shared_scheme"]
    fresh.sort(key=lambda c: (c.report.information_loss["value"], order[c.name]))
    candidates = fresh + [c for c in candidates if c.name == "shared_scheme"]
    transformation = {
        "candidates": {
            c.name: {
                "information_loss": c.report.information_loss["value"],
                "suppressed_rows": c.report.suppressed_rows,
                "equivalence_classes": c.report.equivalence_classes,
                "generalization": c.report.generalization,
            }
            for c in candidates
        },
        "not_possible": errors,
    }
    return candidates, transformation


def _local_recode_coarsening(
    columns: pd.DataFrame, policy: ReleasePolicy, inner: pd.Series | None
) -> tuple[pd.DataFrame, PrivacyReport]:
    """Local recoding; when this tier coarsens another, every cell a union of that file's
    classes (``inner``: each record's class there; a child it does not hold is an atom of its
    own)."""
    qis = {q: hierarchies()[q] for q in QUASI_IDENTIFIERS}
    k, l_req, criteria = policy.k_required, policy.l_required, policy.class_criteria()
    lowest = policy.lowest_levels()
    if inner is None:
        return local_recode(columns, qis, policy.sensitive, k, l_req, criteria, lowest)
    atoms = inner.astype(object).where(
        inner.notna(), pd.Series([f"\x00own {i}" for i in range(len(inner))], index=inner.index)
    )
    released, report = local_recode(
        columns, qis, policy.sensitive, k, l_req, criteria, lowest, atoms=atoms.to_numpy()
    )
    return released, replace(
        report,
        generalization={
            q: f"{g}; unions of the {policy.tier.coarsens} file's classes"
            for q, g in report.generalization.items()
        },
    )


def _levels(report: PrivacyReport) -> dict[str, int] | None:
    """A full-domain report's node (each quasi-identifier's level), for a later release to
    keep; None for local recoding (no single level)."""
    out = {}
    for name, hierarchy in hierarchies().items():
        level_name = report.generalization.get(name, "")
        names = [hierarchy.level_name(i) for i in range(hierarchy.height)]
        if level_name not in names:
            return None
        out[name] = names.index(level_name)
    return out


def _own_criteria(policy: ReleasePolicy, reference: pd.Series) -> Callable[[pd.DataFrame], Any]:
    """Whether each record's class still meets the release's own criteria (after records were
    suppressed for an intersection), t-closeness against the input's distribution as the
    search measures it."""
    overall = reference.value_counts(normalize=True)
    values = list(overall.index)
    criteria = policy.class_criteria()

    def ok(released: pd.DataFrame) -> Any:
        if released.empty:
            return np.ones(0, dtype=bool)
        cls = released.groupby(list(QUASI_IDENTIFIERS), dropna=False, sort=False).ngroup()
        table = pd.crosstab(cls, released[policy.sensitive]).reindex(columns=values, fill_value=0)
        good = classes_meet(
            table.to_numpy(), policy.k_required, policy.l_required, criteria,
            overall.to_numpy(), values,
        )  # fmt: skip
        return pd.Series(good, index=table.index)[cls].to_numpy()

    return ok


def earlier_releases(
    reader: ResearchReleases, purpose: str, children: pd.Series, master_key: bytes
) -> list[EarlierRelease]:
    """Every published, downloadable release of the same purpose's population, with its token
    of each of ``children`` (the child ids of the new release's input, same index)."""
    out = []
    for release in reader.list():
        manifest = release.manifest
        if manifest.purpose != purpose or not manifest.downloadable:
            continue
        report = reader.privacy_report(release)
        records = pd.read_parquet(reader.data_file(release, "parquet"))
        key = release_key(master_key, release.id)
        tokens = pd.Series([retokenize(str(c), key) for c in children], index=children.index)
        out.append(
            EarlierRelease(
                release.id, records, int(report.get("k_required", 1)),
                int(report.get("l_required", 1)), tokens,
            )
        )  # fmt: skip
    return out


def build_release(
    source: pd.DataFrame,
    releases_dir: Path,
    master_key: bytes,
    policy: ReleasePolicy | None = None,
    population_children: int | None = None,
    registry: pd.DataFrame | None = None,
) -> ReleaseResult:
    """Build ``policy``'s tier of release from ``source``, check it, publish it if every check
    passed. ``population_children``: how many children the purpose's population held at build
    time (``source`` is already limited to them), stated in the manifest. ``registry``: every
    registered child counted by the quasi-identifiers (column ``children``), the population of
    the journalist risk; without it that risk is not estimated (the report says so)."""
    policy = policy or ReleasePolicy()
    if not policy.tier.anonymised:
        return _build_enclave(source, releases_dir, master_key, policy, population_children)
    release_id = new_release_id()
    frame = _complete_rows(source, policy)
    reader = ResearchReleases(releases_dir)
    earlier = earlier_releases(reader, policy.purpose, frame["child_id"], master_key)
    same_tier = reader.latest(policy.tier.name)
    shared = None
    if same_tier is not None:
        levels = reader.privacy_report(same_tier).get("levels")
        shared = dict(levels) if isinstance(levels, dict) else None
    inner = None
    if policy.tier.coarsens is not None:
        finer = reader.latest(policy.tier.coarsens)
        for old in earlier:
            if finer is not None and old.release_id == finer.id:
                inner = old.classes(QUASI_IDENTIFIERS)
    candidates, transformation = _transform(frame, policy, shared, inner)
    own_criteria = _own_criteria(policy, frame[policy.sensitive])
    withheld: dict[str, str] = {}
    for candidate in candidates:
        report = candidate.report
        budget = int(policy.suppression_limit * len(frame) + 1e-9) - report.suppressed_rows
        released, intersections, refused = guard_intersections(
            candidate.released, QUASI_IDENTIFIERS, policy.sensitive, earlier,
            policy.k_required, policy.l_required, max(budget, 0), own_criteria,
        )  # fmt: skip
        if refused is None:
            break
        withheld[candidate.name] = refused
    chosen = candidate.name
    loss = report.information_loss["value"]
    why = f"lowest information loss ({LOSS_METRIC} {loss:.4f}) of the transformations"
    if withheld:
        why += (
            " that do not combine with earlier releases below k ("
            + "; ".join(f"{name}: {reason}" for name, reason in withheld.items())
            + ")"
        )
    others = [
        f"{c.name} {c.report.information_loss['value']:.4f}" for c in candidates if c.name != chosen
    ]
    if others:
        why += "; the others: " + ", ".join(others)
    transformation.update(chosen=chosen, why=why, withheld=withheld)
    key = release_key(master_key, release_id)
    utility = _utility(frame, released, policy)
    children = released["child_id"]
    released = released.drop(columns="child_id")
    released.insert(0, "record_id", [retokenize(str(v), key) for v in children])
    order = released.sample(frac=1.0, random_state=int.from_bytes(key[:4], "big")).index
    released, children = released.loc[order], children.loc[order]
    for column in QUASI_IDENTIFIERS:
        released[column] = released[column].astype(str)
    intersection_check = check_intersections(
        released, QUASI_IDENTIFIERS, policy.sensitive, policy.k_required, policy.l_required,
        [replace(e, tokens=e.tokens.loc[children.index]) for e in earlier],
    )  # fmt: skip
    if refused is not None:  # every transformation would combine below k: not published
        intersection_check = CheckOutcome("intersection", False, f"withheld: {refused}")
    released = released.reset_index(drop=True)

    privacy_report = _privacy_report(released, report, policy, registry)
    privacy_report["utility"] = utility
    suppressed_for_intersections = sum(r.suppressed_for_it for r in intersections)
    privacy_report.update(
        transformation=transformation,
        intersections={
            "earlier_releases": [r.to_dict() for r in intersections],
            "suppressed_rows": suppressed_for_intersections,
            "refused": refused,
        },
        released_rows=len(released),
        suppressed_rows=report.suppressed_rows + suppressed_for_intersections,
        release_id=release_id,
        tier=policy.tier.name,
        access=policy.tier.access,
        purpose=policy.purpose,
        population="children whose guardians' research consent is in force at build time",
        excluded_incomplete_rows=int(len(source) - len(frame)),
        record_id="release-specific HMAC re-tokenization of the child id",
        levels=_levels(report),
    )  # fmt: skip
    checks: list[CheckOutcome] = [
        check_k_anonymity(released, QUASI_IDENTIFIERS, policy.k_required),
        check_l_diversity(released, QUASI_IDENTIFIERS, policy.sensitive, policy.l_required),
        intersection_check,
    ]
    return _publish(
        releases_dir, release_id, released, frame, _readable(privacy_report), checks, policy,
        population_children,
    )  # fmt: skip


def _publish(
    releases_dir: Path,
    release_id: str,
    released: pd.DataFrame,
    frame: pd.DataFrame,
    privacy_report: dict[str, Any],
    checks: list[CheckOutcome],
    policy: ReleasePolicy,
    population_children: int | None,
) -> ReleaseResult:
    """The files of any tier's release, the PII scan of its records, and the one writer."""
    purpose = PURPOSES[policy.purpose]
    data_csv = released.to_csv(index=False)
    dictionary = _dictionary(released, policy)
    return publish_release(
        releases_dir,
        release_id,
        data=released,
        data_csv=data_csv,
        dictionary=dictionary,
        privacy_report=privacy_report,
        purpose=policy.purpose,
        checks=[*checks, check_pii_scan({"release": released}, {"data.csv": data_csv})],
        population=purpose.population,
        legal_basis=purpose.legal_basis,
        population_children=population_children,
        tier=policy.tier.name,
        downloadable=policy.tier.downloadable,
        report_html=render_report(
            privacy_report, released, frame, dictionary, policy.tier.title, policy.tier.description
        ),
        input_sha256=policy.input_sha256,
    )


def _complete_rows(source: pd.DataFrame, policy: ReleasePolicy) -> pd.DataFrame:
    frame = source.copy()
    frame["age_years"] = frame["age_years"].astype("Int64")
    frame["admission_year"] = frame["admission_year"].astype("Int64")
    return frame.dropna(subset=[*QUASI_IDENTIFIERS, policy.sensitive]).reset_index(drop=True)


def _population_criteria(
    released: pd.DataFrame, policy: ReleasePolicy, registry: pd.DataFrame | None
) -> list[Criterion]:
    """The criteria measured against a population: journalist risk and population uniqueness
    against the child register (every registered child, ``registry``: counts by the
    quasi-identifiers in ``children``), δ-presence against the country's children (BPS)."""
    tier = policy.tier
    out: list[Criterion] = []
    if registry is not None and len(registry):
        register = ReferencePopulation(registry, hierarchies(), count_column="children")
        threshold = tier.max_journalist_risk or 0.2
        out.append(JournalistRisk(threshold, 1.0, threshold, population=register))
        fraction = min(len(released) / max(int(registry["children"].sum()), 1), 1.0)
        if fraction > 0:
            out.append(PopulationUniqueness(tier.max_population_uniques or 1.0, "dankar", fraction))
    country = ReferencePopulation(
        child_population(), hierarchies(), count_column="children", projected=True
    )
    out.append(DeltaPresence(0.0, tier.delta_max or 1.0, population=country))
    return out


def _evaluate(criterion: Criterion, released: pd.DataFrame, sensitive: str) -> CriterionResult:
    """A criterion's result; one its population cannot answer (a released value the reference
    table does not know) is reported as not met, with the reason, never skipped."""
    try:
        return criterion.evaluate(released, QUASI_IDENTIFIERS, sensitive)
    except ValueError as exc:
        return CriterionResult(criterion.name, {}, {"not_evaluated": str(exc)}, False)


def _privacy_report(
    released: pd.DataFrame,
    report: PrivacyReport,
    policy: ReleasePolicy,
    registry: pd.DataFrame | None,
) -> dict[str, Any]:
    """The search's report, every declared criterion as achieved on the released file, and
    the risk figures under the prosecutor, journalist and marketer models."""
    out = report.to_dict()
    declared = policy.criteria() + [
        (c, False) for c in _population_criteria(released, policy, registry)
    ]
    results = [_evaluate(c, released, policy.sensitive) for c, _ in declared]
    by_name = {r.name: r.achieved for r in results}
    prosecutor = by_name["prosecutor_risk"]
    journalist = by_name.get("journalist_risk")
    uniqueness = by_name.get("population_uniqueness")
    out.update(
        criteria=[
            {**r.to_dict(), "enforced": enforced}
            for r, (_, enforced) in zip(results, declared, strict=True)
        ],
        risk={
            # Not measurable on a file with no record (every class suppressed): say so.
            "prosecutor": None
            if "highest" not in prosecutor
            else {k: prosecutor[k] for k in ("highest", "average", "share_above_threshold")},
            "journalist": None
            if journalist is None or "highest" not in journalist
            else {k: journalist[k] for k in ("highest", "average", "share_above_threshold")},
            "journalist_population": "every child in the child register (research or not)",
            "marketer": prosecutor.get("marketer")
            if journalist is None or "average" not in journalist
            else journalist["average"],
            "population_uniqueness": uniqueness,
            "delta_presence": by_name.get("delta_presence"),
            "delta_presence_population": CHILD_POPULATION_SOURCE,
        },
        k=int(released.groupby(list(QUASI_IDENTIFIERS)).size().min()) if len(released) else 0,
    )
    return out


def _utility(frame: pd.DataFrame, released: pd.DataFrame, policy: ReleasePolicy) -> dict[str, Any]:
    """What the release keeps, as a researcher judges it (``anonymization.utility``, measured
    on the released labels against the input): discernibility, average class size, LM and
    non-uniform entropy per attribute, and how well a naive Bayes model predicts the sensitive
    attribute from the quasi-identifiers on the released table against the input (70/30
    split, seeded)."""
    columns = [*QUASI_IDENTIFIERS, policy.sensitive]
    measured = evaluate_release(
        frame[columns], released[columns], QUASI_IDENTIFIERS, policy.sensitive,
        k=policy.k_required, all_star_is_suppressed=False, hierarchies=hierarchies(),
        with_distributions=False,
    ).to_dict()  # fmt: skip
    # No distribution of the values as collected: their counts per regency and single age are
    # the small cells the release generalises away, and the report is served to every key.
    measured.pop("distributions", None)
    return measured


def _readable(value: Any) -> Any:
    """The report's numbers as a person reads them: floats to six decimals (a float's sixteen
    digits would also read as an identity number to the PII scan), NaN as None (a model with
    no test rows has no accuracy)."""
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_readable(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def _dictionary(released: pd.DataFrame, policy: ReleasePolicy) -> dict[str, Any]:
    """Each column's meaning; for a generalised column also what each released value stands
    for ("32": province 32, Jawa Barat, the regency not shown)."""
    meanings = value_meanings(released, QUASI_IDENTIFIERS) if policy.tier.anonymised else {}
    return {
        c: {"description": DICTIONARY.get(c, ""), "dtype": str(t)}
        | ({"values": meanings[c]} if c in meanings else {})
        for c, t in released.dtypes.items()
    }


def enclave_record_keys(master_key: bytes, children: pd.Series) -> np.ndarray:
    """Each enclave record's permanent cell key, from the child id (not the release's token):
    the same child has the same key in every enclave release, so the same records get the same
    noise in every release and asking again, of this release or the next, draws nothing new.
    Keyed with the release master key's own domain, so nobody without it can compute one."""
    domain_key = Tokenizer(master_key).domain_key(cell_key.RECORD_KEY_DOMAIN)
    return cell_key.record_keys(domain_key, ENCLAVE_KEY_TABLE, children.astype(str))


def _enclave_protection(policy: ReleasePolicy) -> list[str]:
    """The enclave's protection as its query service applies it (the tier's QueryRules)."""
    rules = policy.tier.queries
    assert rules is not None, "an enclave tier declares its query rules"
    return [
        "release-specific HMAC re-tokenization of the child id",
        "no download: the records are queried inside the enclave only, as frequency tables "
        f"(researcher keys; at most {rules.max_dimensions} dimensions and {rules.max_filters} "
        f"filtered columns; {rules.budget} different tables per key; every table audited)",
        f"every count of a table is checked before it leaves: a count below {rules.threshold} "
        "is never shown, and neither is a zero (the two look alike); a count of "
        f"{rules.threshold} or more carries cell-key noise of at most {cell_key.MAX_NOISE} "
        f"either way and is never published below {rules.threshold}",
        "the noise is fixed by the records a count holds (each record's permanent key, from the "
        "child id): asking again, in another order or of another enclave release gives the "
        "same number",
    ]


def _build_enclave(
    source: pd.DataFrame,
    releases_dir: Path,
    master_key: bytes,
    policy: ReleasePolicy,
    population_children: int | None,
) -> ReleaseResult:
    """The enclave extract: every complete record, pseudonymised with the release's own
    token, nothing generalised, with its permanent cell key (``record_key``) so that the query
    service perturbs counts without holding any secret; published with ``downloadable = False``
    so the reader never hands its records out (query-only, inside the enclave)."""
    release_id = new_release_id()
    frame = _complete_rows(source, policy)
    key = release_key(master_key, release_id)
    columns = [*QUASI_IDENTIFIERS, policy.sensitive, "institution_type"]
    released = frame[columns].copy()
    released.insert(0, "record_id", [retokenize(str(v), key) for v in frame["child_id"]])
    released[RECORD_KEY_COLUMN] = enclave_record_keys(master_key, frame["child_id"])
    released = released.sample(frac=1.0, random_state=int.from_bytes(key[:4], "big"))
    released = released.reset_index(drop=True)
    for column in QUASI_IDENTIFIERS:
        released[column] = released[column].astype(str)
    privacy_report = {
        "release_id": release_id,
        "tier": policy.tier.name,
        "access": policy.tier.access,
        "purpose": policy.purpose,
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
        "sensitive_attribute": policy.sensitive,
        "input_rows": len(source),
        "released_rows": len(released),
        "excluded_incomplete_rows": int(len(source) - len(frame)),
        "protection": _enclave_protection(policy),
        "generalization": dict.fromkeys(QUASI_IDENTIFIERS, "none (record level)"),
        "risk": {
            "prosecutor": KAnonymity(1).evaluate(released, QUASI_IDENTIFIERS, policy.sensitive)
            .achieved,
            "note": "record level: the protection is the access, not the data",
        },
        "record_id": "release-specific HMAC re-tokenization of the child id",
    }  # fmt: skip
    return _publish(
        releases_dir, release_id, released, frame, privacy_report, [], policy, population_children
    )
