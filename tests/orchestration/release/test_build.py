"""Building a research release: k, l and the PII scan decide; ids are release-specific."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import lakehouse.ids
import lakehouse.research_release
from anonymization.hierarchies import Hierarchy
from anonymization.kanonymity import AnonymizationError
from anonymization.output_checks import check_k_anonymity, check_l_diversity
from lakehouse.research_release import ResearchReleases
from orchestration.release.build import QUASI_IDENTIFIERS, ReleasePolicy, build_release
from tests.support.api_fixtures import make_release_source

KEY = b"r" * 32


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        lakehouse.ids, "utc_now", lambda: dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    )
    # As in a new process: no id made before (ids only ever move forward within a process).
    monkeypatch.setattr(lakehouse.research_release, "_last_release_time", [])


def test_a_release_meets_its_policy_independently_verified(tmp_path: Path) -> None:
    source = make_release_source(5, children=400)
    result = build_release(source, tmp_path, KEY)
    assert result.path is not None, result.manifest
    releases = ResearchReleases(tmp_path)
    release = releases.get(result.manifest.release_id)
    assert release is not None
    data = pd.read_parquet(releases.data_file(release, "parquet"))
    assert check_k_anonymity(data, QUASI_IDENTIFIERS, 5).passed
    assert check_l_diversity(data, QUASI_IDENTIFIERS, "case_type", 2).passed
    assert set(data.columns) == {"record_id", *QUASI_IDENTIFIERS, "case_type", "institution_type"}
    assert not set(data["record_id"]) & set(source["child_id"])  # ids are re-tokenized
    report = releases.privacy_report(release)
    assert report["release_id"] == release.id and report["purpose"] == "research"
    assert set(releases.dictionary(release)) == set(data.columns)


def test_the_manifest_states_the_purpose_population_and_its_size(tmp_path: Path) -> None:
    result = build_release(make_release_source(5, children=400), tmp_path, KEY, None, 412)
    manifest = result.manifest
    assert (manifest.purpose, manifest.population) == ("research", "children_with_research_consent")
    assert manifest.population_children == 412 and manifest.legal_basis is not None
    assert "consent" in manifest.legal_basis


def test_two_releases_of_the_same_children_cannot_be_joined(tmp_path: Path) -> None:
    source = make_release_source(5, children=400)
    first = build_release(source, tmp_path, KEY)
    second = build_release(source, tmp_path, KEY)
    assert first.path is not None and second.path is not None
    a = pd.read_parquet(first.path / "data.parquet")
    b = pd.read_parquet(second.path / "data.parquet")
    assert len(a) == len(b) and not set(a["record_id"]) & set(b["record_id"])


def test_the_same_id_gives_the_same_bytes(tmp_path: Path, frozen: None) -> None:
    """With the id clock pinned a release is reproducible byte for byte (what the
    behaviour-unchanged test relies on)."""
    source = make_release_source(5, children=400)
    first = build_release(source, tmp_path / "a", KEY)
    # A second id in the same process is a microsecond later (ids stay distinct); a new
    # process with the same pinned clock starts from it again:
    lakehouse.research_release._last_release_time.clear()
    second = build_release(source, tmp_path / "b", KEY)
    assert first.manifest.release_id == "research-20261101T120000000000Z"
    assert first.manifest.sha256 == second.manifest.sha256


def test_a_policy_the_data_cannot_meet_is_a_clear_error_and_writes_nothing(
    tmp_path: Path,
) -> None:
    source = make_release_source(5, children=30)
    with pytest.raises(AnonymizationError, match="no generalisation satisfies k=50"):
        build_release(source, tmp_path, KEY, ReleasePolicy(k=50, max_suppression=0.0))
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_an_identifier_in_the_output_rejects_the_release(tmp_path: Path) -> None:
    """A direct identifier that slipped into a released column fails the PII scan: only the
    rejected manifest is written, nothing is served."""
    source = make_release_source(5, children=400)
    source["institution_type"] = "lksa pak.budi@example.com"
    result = build_release(source, tmp_path, KEY)
    assert result.path is None and "pii_scan" not in result.manifest.checks_passed
    assert ResearchReleases(tmp_path).list() == []
    assert (tmp_path / "rejected" / f"{result.manifest.release_id}.json").exists()


def test_the_report_states_every_criterion_and_the_risk_as_achieved(tmp_path: Path) -> None:
    """Each declared criterion with its parameters, whether it is enforced, the value achieved
    (recomputed here by plain groupbys on the released file) and the prosecutor risk."""
    import math

    result = build_release(make_release_source(5, children=400), tmp_path, KEY)
    assert result.path is not None
    releases = ResearchReleases(tmp_path)
    release = releases.get(result.manifest.release_id)
    assert release is not None
    data = pd.read_parquet(releases.data_file(release, "parquet"))
    report = releases.privacy_report(release)
    by_name = {c["name"]: c for c in report["criteria"]}
    assert [c["name"] for c in report["criteria"] if c["enforced"]] == [
        "k_anonymity",
        "distinct_l_diversity",
    ]
    assert by_name["k_anonymity"]["holds"] and by_name["distinct_l_diversity"]["holds"]
    classes = data.groupby(list(QUASI_IDENTIFIERS))
    sizes = classes.size()
    assert by_name["k_anonymity"]["achieved"]["smallest_class"] == sizes.min() == report["k"]
    shares = classes["case_type"].value_counts(normalize=True)
    entropy = (
        (-shares * shares.map(math.log)).groupby(level=list(range(len(QUASI_IDENTIFIERS)))).sum()
    )
    assert by_name["entropy_l_diversity"]["achieved"]["lowest_entropy_l"] == pytest.approx(
        math.exp(entropy.min()), abs=1e-5
    )
    overall = data["case_type"].value_counts(normalize=True)
    emd = classes["case_type"].apply(
        lambda s: (
            0.5
            * (s.value_counts(normalize=True).reindex(overall.index, fill_value=0) - overall)
            .abs()
            .sum()
        )
    )
    assert by_name["t_closeness"]["achieved"]["largest_emd"] == pytest.approx(emd.max(), abs=1e-5)
    assert report["risk"]["prosecutor"]["highest"] == pytest.approx(1 / sizes.min(), abs=1e-6)
    # Utility a researcher can judge by: LM as the search measured it, discernibility by hand.
    utility = report["utility"]
    assert utility["loss_metric"]["total"] == pytest.approx(
        report["information_loss"]["value"], abs=1e-6
    )
    n_input, suppressed = report["input_rows"], report["suppressed_rows"]
    assert utility["discernibility"] == int((sizes**2).sum()) + suppressed * n_input
    assert set(utility["non_uniform_entropy"]["normalised_per_attribute"]) == set(QUASI_IDENTIFIERS)
    assert 0 <= utility["model"]["released"] <= 1
    # Nothing of the input below the release's own granularity: no counts of the values as
    # collected (a regency's 1 or 2 children are what the generalisation hides).
    assert "distributions" not in utility
    # Numbers as a person reads them: no float of 16 digits, which the publish gate's PII scan
    # would take for an identity number.
    text = (release.path / "privacy_report.json").read_text()
    assert not re.search(r"\d\.\d{7,}", text)
    assert report["risk"]["marketer"] == pytest.approx(len(sizes) / len(data), abs=1e-6)


def test_the_transformation_with_the_lower_loss_is_published_and_the_report_says_why(
    tmp_path: Path,
) -> None:
    result = build_release(make_release_source(5, children=400), tmp_path, KEY)
    assert result.path is not None
    report = ResearchReleases(tmp_path).privacy_report(
        ResearchReleases(tmp_path).get(result.manifest.release_id)  # type: ignore[arg-type]
    )
    transformation = report["transformation"]
    candidates = transformation["candidates"]
    assert set(candidates) == {"full_domain", "local_recoding", "microaggregation"}
    losses = {name: c["information_loss"] for name, c in candidates.items()}
    assert transformation["chosen"] == min(losses, key=losses.__getitem__)
    assert report["information_loss"]["value"] == losses[transformation["chosen"]]
    assert "lowest information loss" in transformation["why"]
    assert candidates["local_recoding"]["suppressed_rows"] == 0


# -- tiers and releases that cannot be combined -----------------------------------------------


def _tier(name: str) -> ReleasePolicy:
    from lakehouse.reference.release_tiers import TIERS

    return ReleasePolicy(tier=TIERS[name])


def _released_with_children(
    result_path: Path, source: pd.DataFrame, release_id: str
) -> pd.DataFrame:
    """The release's records joined back to the child ids through the release key (what only
    the platform can do: the test's independent view of who is in which class)."""
    from anonymization.tokens import retokenize
    from orchestration.release.build import release_key

    data = pd.read_parquet(result_path / "data.parquet")
    key = release_key(KEY, release_id)
    tokens = {retokenize(str(c), key): c for c in source["child_id"]}
    return data.assign(child_id=data["record_id"].map(tokens))


def test_each_tier_states_itself_and_meets_its_criteria(tmp_path: Path) -> None:
    from anonymization.privacy_models import TCloseness
    from lakehouse.reference.release_tiers import CASE_TYPE_GROUPS

    source = make_release_source(5, children=1500)
    results = {t: build_release(source, tmp_path, KEY, _tier(t)) for t in
               ("licensed", "public_use", "enclave")}  # fmt: skip
    releases = ResearchReleases(tmp_path)
    for tier, result in results.items():
        assert result.path is not None, result.manifest
        assert result.manifest.tier == tier
        assert releases.privacy_report(releases.get(result.manifest.release_id))["tier"] == tier  # type: ignore[arg-type]
    public = pd.read_parquet(results["public_use"].path / "data.parquet")  # type: ignore[operator]
    assert public.groupby(list(QUASI_IDENTIFIERS)).size().min() >= 11
    assert not public["regency_code"].str.fullmatch(r"\d{4}").any()  # province at most
    hierarchical = TCloseness(0.3, "hierarchical", hierarchy=dict(CASE_TYPE_GROUPS))
    # t against the input's distribution, as the tier declares it: recomputed here.
    overall = source["case_type"].value_counts(normalize=True)
    per = public.groupby(list(QUASI_IDENTIFIERS))["case_type"].value_counts(normalize=True)
    shares = per.unstack(fill_value=0.0).reindex(columns=overall.index, fill_value=0.0)
    emd = hierarchical.distances(shares.to_numpy(), overall.to_numpy(), list(overall.index))
    assert emd.max() <= 0.3 + 1e-9
    licensed = pd.read_parquet(results["licensed"].path / "data.parquet")  # type: ignore[operator]
    assert licensed["regency_code"].str.fullmatch(r"\d{4}").any()  # some regency kept
    enclave = releases.get(results["enclave"].manifest.release_id)
    assert enclave is not None and enclave.manifest.downloadable is False
    from lakehouse.research_release import NotDownloadable

    with pytest.raises(NotDownloadable, match="enclave"):
        releases.download_file(enclave, "csv")
    assert [r.id for r in releases.list("public_use")] == [
        results["public_use"].manifest.release_id
    ]


def test_two_releases_held_together_show_no_class_below_k(tmp_path: Path) -> None:
    """The licensed and the public-use file of the same children, and a later licensed file of
    a changed population: every pair of releases, joined by the children they share, has no
    joint class below the weaker k (computed here from the files and the release key)."""
    first = make_release_source(5, children=1500)
    later = pd.concat([first.iloc[100:], make_release_source(9, children=300).assign(
        child_id=[f"new_{i}" for i in range(300)])]).reset_index(drop=True)  # fmt: skip
    built = [
        (build_release(first, tmp_path, KEY, _tier("licensed")), first, 5),
        (build_release(first, tmp_path, KEY, _tier("public_use")), first, 11),
        (build_release(later, tmp_path, KEY, _tier("licensed")), later, 5),
    ]
    published = [(r, s, k) for r, s, k in built if r.path is not None]
    assert len(published) >= 2
    for i, (a, source_a, k_a) in enumerate(published):
        for b, source_b, k_b in published[i + 1 :]:
            left = _released_with_children(a.path, source_a, a.manifest.release_id)  # type: ignore[arg-type]
            right = _released_with_children(b.path, source_b, b.manifest.release_id)  # type: ignore[arg-type]
            both = left.merge(right, on="child_id", suffixes=("_a", "_b"))
            keys = [f"{q}_{s}" for q in QUASI_IDENTIFIERS for s in ("a", "b")]
            assert both.groupby(keys).size().min() >= min(k_a, k_b)
    for result, _, _ in built:
        report = result.manifest
        if result.path is None:  # withheld: the reason is on record, nothing was served
            assert "withheld" in next(
                c["detail"] for c in report.checks if c["name"] == "intersection"
            )


def test_a_child_who_left_between_two_releases_is_not_named_by_their_difference(
    tmp_path: Path,
) -> None:
    """One child leaves between two licensed files (consent withdrawn): the later file is
    published, but no region both files cover holds that child alone: the earlier class is
    recomputed here from the files and the release key, and every new record of a class that
    shares children with it is gone, or the region holds at least k children the new file lacks.
    Ten leaving at once in 1,500 would take more suppression than the limit: withheld, with
    the reason on record."""
    first = make_release_source(5, children=1500)
    earlier = build_release(first, tmp_path, KEY, _tier("licensed"))
    assert earlier.path is not None
    leaver = first["child_id"].iloc[0]
    later = build_release(first.iloc[1:].reset_index(drop=True), tmp_path, KEY, _tier("licensed"))
    assert later.path is not None
    check = next(c for c in later.manifest.checks if c["name"] == "intersection")
    assert check["passed"], check["detail"]
    report = json.loads((later.path / "privacy_report.json").read_text(encoding="utf-8"))
    combined = report["intersections"]["earlier_releases"][0]
    assert combined["leavers"] >= 1 and combined["smallest_difference"] >= 5
    old = _released_with_children(earlier.path, first, earlier.manifest.release_id)
    new = _released_with_children(later.path, first, later.manifest.release_id)
    qis = list(QUASI_IDENTIFIERS)
    leaver_class = old.loc[old["child_id"] == leaver, qis].iloc[0]
    classmates = old.loc[(old[qis] == leaver_class).all(axis=1), "child_id"]
    in_new = new[new["child_id"].isin(classmates)]
    # Each class of the new file holding one of the leaver's classmates: the earlier class
    # less the new file's children is what a subtraction would show.
    assert in_new.empty or len(set(classmates) - set(new["child_id"])) >= 5

    many = build_release(first.iloc[10:].reset_index(drop=True), tmp_path, KEY, _tier("licensed"))
    if many.path is None:
        detail = next(c for c in many.manifest.checks if c["name"] == "intersection")["detail"]
        assert "withheld" in detail


def _consistent(label: str, value: object, hierarchy: Hierarchy, numeric: bool) -> bool:
    """Whether an original value is consistent with a released label: the label is one of the
    value's generalisations, a set of labels one of which is, or (for a number) a range that
    holds it. Written out plainly, apart from the engine's matching."""
    generalisations = {
        str(hierarchy.generalize(pd.Series([value]), level).iloc[0])
        for level in range(hierarchy.height)
    }
    if label in generalisations:
        return True
    if "|" in label:
        return bool(set(label.split("|")) & generalisations)
    if numeric and "-" in label:
        low, high = label.split("-")
        return int(low) <= int(str(value)) <= int(high)
    return False


def test_the_risk_under_each_attacker_model_is_stated_and_recomputable(tmp_path: Path) -> None:
    """Journalist risk against the child register (every registered child counted by the
    quasi-identifiers), recomputed here record by record from the released labels; population
    uniqueness estimated (Dankar's rule); δ-presence against the country's children."""
    from orchestration.release.build import NUMERIC_QUASI_IDENTIFIERS, hierarchies

    source = make_release_source(5, children=600)
    # The register: the release's children and twice as many who did not consent.
    register = (
        source.assign(children=3).groupby(list(QUASI_IDENTIFIERS), as_index=False)["children"].sum()
    )
    result = build_release(source, tmp_path, KEY, registry=register)
    assert result.path is not None
    report = ResearchReleases(tmp_path).privacy_report(
        ResearchReleases(tmp_path).get(result.manifest.release_id)  # type: ignore[arg-type]
    )
    data = pd.read_parquet(result.path / "data.parquet")
    h = hierarchies()
    population: dict[tuple[str, ...], int] = {}
    for labels in data[list(QUASI_IDENTIFIERS)].drop_duplicates().itertuples(index=False):
        matches = register.apply(
            lambda row, labels=labels: all(
                _consistent(str(lab), row[q], h[q], q in NUMERIC_QUASI_IDENTIFIERS)
                for q, lab in zip(QUASI_IDENTIFIERS, labels, strict=True)
            ),
            axis=1,
        )
        population[tuple(labels)] = int(register.loc[matches, "children"].sum())
    big_f = data[list(QUASI_IDENTIFIERS)].apply(tuple, axis=1).map(population)
    risk = report["risk"]
    assert risk["journalist"]["highest"] == pytest.approx(1 / big_f.min(), abs=1e-6)
    assert risk["journalist"]["average"] == pytest.approx((1 / big_f).mean(), abs=1e-6)
    assert risk["journalist"]["highest"] <= risk["prosecutor"]["highest"]
    by_name = {c["name"]: c for c in report["criteria"]}
    assert by_name["population_uniqueness"]["achieved"]["converged"]
    assert by_name["delta_presence"]["holds"]  # a few hundred of Indonesia's children
    assert "estimate" in risk["delta_presence_population"]


def test_the_enclave_carries_each_childs_permanent_cell_key(tmp_path: Path) -> None:
    """Each enclave record's cell key is the keyed hash of its child id, recomputed here with
    the cell-key module's own function: the same child has the same key in two enclave releases
    of changed populations (so two releases are not two draws of noise to average), while the
    record ids differ; the dictionary marks the key as internal and the report states the
    query rule with the tier's threshold."""
    from anonymization import cell_key
    from anonymization.tokens import Tokenizer
    from lakehouse.reference.release_tiers import TIERS

    source = make_release_source(5, children=400)
    later = pd.concat([source.iloc[50:], make_release_source(9, children=60).assign(
        child_id=lambda f: "new_" + f["child_id"])], ignore_index=True)  # fmt: skip
    first = build_release(source, tmp_path, KEY, _tier("enclave"))
    second = build_release(later, tmp_path, KEY, _tier("enclave"))
    assert first.path is not None and second.path is not None
    domain_key = Tokenizer(KEY).domain_key(cell_key.RECORD_KEY_DOMAIN)
    by_child = []
    for result, children in ((first, source), (second, later)):
        data = _released_with_children(result.path, children, result.manifest.release_id)  # type: ignore[arg-type]
        assert data["child_id"].notna().all()
        expected = cell_key.record_keys(domain_key, "research_enclave", data["child_id"])
        assert data["record_key"].tolist() == expected.tolist()
        assert data["record_key"].between(0, cell_key.KEY_RANGE - 1).all()
        by_child.append(data.set_index("child_id"))
    shared = by_child[0].index.intersection(by_child[1].index)
    assert len(shared) == 350
    a, b = by_child[0].loc[shared], by_child[1].loc[shared]
    assert (a["record_key"] == b["record_key"]).all()
    assert not set(a["record_id"]) & set(b["record_id"])
    assert a["record_key"].nunique() > 100  # spread over the key range, not a constant
    releases = ResearchReleases(tmp_path)
    release = releases.get(first.manifest.release_id)
    assert release is not None
    assert "Internal" in releases.dictionary(release)["record_key"]["description"]
    threshold = TIERS["enclave"].queries.threshold  # type: ignore[union-attr]
    protection = " ".join(releases.privacy_report(release)["protection"])
    assert f"a count below {threshold} is never shown" in protection
    assert "Protection" in (release.path / "report.html").read_text()


def test_a_release_the_intersection_guard_withholds_is_recorded_not_a_crash(
    tmp_path: Path,
) -> None:
    """Other children than the earlier release's (here: another synthetic population) make
    almost every joint class small: the file is withheld with its reason, its manifest is kept
    under rejected/, and the report of an empty file states no risk instead of failing."""
    releases = tmp_path / "releases"
    first = build_release(make_release_source(1), releases, b"r" * 32)
    assert first.path is not None
    second = build_release(make_release_source(2), releases, b"r" * 32)
    assert second.path is None and second.manifest.rows == 0
    failed = {c["name"]: c for c in second.manifest.checks if not c["passed"]}
    assert "withheld" in failed["intersection"]["detail"]
    rejected = releases / "rejected" / f"{second.manifest.release_id}.json"
    assert json.loads(rejected.read_text())["all_checks_passed"] is False
    assert [r.id for r in ResearchReleases(releases).list()] == [first.manifest.release_id]
