"""A release's input digest: the same records, population, policy and code give the same
digest (so no new release is built); anything that would make another release gives another."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lakehouse.reference.release_tiers import TIERS
from lakehouse.research_release import ResearchReleases
from orchestration.release.build import ReleasePolicy, build_release
from orchestration.release.inputs import code_digest, release_input_digest
from tests.support.api_fixtures import make_release_source

KEY = bytes(range(32))
LICENSED = ReleasePolicy(tier=TIERS["licensed"])


def test_the_same_input_in_another_order_has_the_same_digest() -> None:
    source = make_release_source(5, children=200)
    digest = release_input_digest(source, None, 200, LICENSED, KEY)
    shuffled = source.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert release_input_digest(shuffled, None, 200, LICENSED, KEY) == digest
    # The digest a policy carries to the manifest is not part of what it digests.
    assert release_input_digest(source, None, 200, replace(LICENSED, input_sha256="x"), KEY) == (
        digest
    )


def test_anything_that_makes_another_release_makes_another_digest() -> None:
    source = make_release_source(5, children=200)
    digest = release_input_digest(source, None, 200, LICENSED, KEY)
    one_record = source.copy()
    one_record.loc[0, "case_type"] = (
        "neglect" if one_record.loc[0, "case_type"] != "neglect" else "abandonment"
    )
    registry = source.groupby(["sex"]).size().rename("children").reset_index()
    others = {
        "a record": release_input_digest(one_record, None, 200, LICENSED, KEY),
        "a child fewer": release_input_digest(source.iloc[1:], None, 199, LICENSED, KEY),
        "the population's size": release_input_digest(source, None, 201, LICENSED, KEY),
        "the register": release_input_digest(source, registry, 200, LICENSED, KEY),
        "the tier": release_input_digest(
            source, None, 200, ReleasePolicy(tier=TIERS["public_use"]), KEY
        ),
        "an overridden k": release_input_digest(source, None, 200, replace(LICENSED, k=7), KEY),
        "the release key": release_input_digest(source, None, 200, LICENSED, b"\1" * 32),
    }
    for what, other in others.items():
        assert other != digest, what


def test_the_code_digest_covers_the_release_code() -> None:
    assert len(code_digest()) == 64 and code_digest() == code_digest()


def test_the_manifest_records_the_input_digest(tmp_path: Path) -> None:
    source = make_release_source(5, children=400)
    digest = release_input_digest(source, None, 400, LICENSED, KEY)
    result = build_release(source, tmp_path, KEY, replace(LICENSED, input_sha256=digest), 400)
    assert result.manifest.input_sha256 == digest
    latest = ResearchReleases(tmp_path).latest("licensed")
    assert latest is not None and latest.manifest.input_sha256 == digest
