"""Which rows are a subject's, derived from the source contracts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anonymization.tokens import Tokenizer
from ingestion.contracts import load_contracts
from ingestion.subjects import SubjectRules, subject_links

TOKENIZER = Tokenizer(b"k" * 32)


def test_every_table_that_can_name_a_child_has_a_link() -> None:
    links = subject_links(load_contracts())
    assert links["child_registry.children"].column == "child_id"
    assert links["child_registry.guardians"].column == "child_id"
    assert links["case_management.cases"].via is None
    notes = links["case_management.case_notes"]
    assert (notes.column, notes.via, notes.via_key) == (
        "case_id",
        "case_management.cases",
        "case_id",
    )
    assert links["case_management.case_status_history"].via == "case_management.cases"
    assert links["platform_audit.access_log"].column == "child_id"
    registry = links["gov_registry.verifications"]
    assert registry.identifier and registry.column == "nik"
    assert "institutions.institutions" not in links


def _rules(**kwargs: frozenset[str]) -> SubjectRules:
    return SubjectRules(TOKENIZER, links=subject_links(load_contracts()), **kwargs)


def test_fates_by_child_id_case_and_identifier() -> None:
    ref = TOKENIZER.token("data_subject", "CH-1")
    assert ref is not None and ref.startswith("sub_")
    rules = _rules(
        erased=frozenset({ref}),
        restricted=frozenset({TOKENIZER.token("data_subject", "CH-2") or ""}),
    )
    cases = pd.DataFrame({"case_id": ["K1", "K2", "K3"], "child_id": ["CH-1", "CH-2", "CH-3"]})
    assert rules.fates("case_management.cases", cases, tokenized=True).tolist() == [
        "erased", "restricted", "keep",
    ]  # fmt: skip
    notes = pd.DataFrame({"note_id": ["N1", "N2", "N3"], "case_id": ["K3", "K1", None]})
    fates = rules.fates(
        "case_management.case_notes",
        notes,
        tokenized=True,
        parent_subjects=lambda table, key, keys: {"K1": "CH-1", "K3": "CH-3"},
    )
    assert fates.tolist() == ["keep", "erased", "keep"]
    nik = TOKENIZER.token("nik", "3276015503150001")
    assert nik is not None
    rules = _rules(erased_identifiers=frozenset({nik}))
    drop = pd.DataFrame({"nik": ["3276015503150001", "3276015503150002"]})
    assert rules.fates("gov_registry.verifications", drop, tokenized=False).tolist() == [
        "erased",
        "keep",
    ]
    assert rules.fates("gov_registry.verifications", drop.assign(nik=[nik, "nik_x"]), tokenized=True).tolist() == [
        "erased", "keep",
    ]  # fmt: skip


def test_an_unreadable_drop_holding_an_erased_nik_is_removed(tmp_path: Path) -> None:
    from ingestion.subject_requests import scrub_lake
    from lakehouse.layout import LakeLayout

    layout = LakeLayout(tmp_path / "lake")
    folder = layout.restricted / "rejected_drops" / "gov_registry" / "verifications"
    folder.mkdir(parents=True)
    theirs = folder / "ab12-registry_2026-10.csv"
    theirs.write_bytes(
        b"\xff\xfenik;nama\n3276015503150001;Ayu\xe9\n"
    )  # not UTF-8: why it was rejected
    others = folder / "cd34-registry_2026-11.csv"
    others.write_bytes(b"nik;nama\n3276015503150002;Bayu\n")
    nik = TOKENIZER.token("nik", "3276015503150001")
    assert nik is not None
    scrub = scrub_lake(layout, load_contracts(), _rules(erased_identifiers=frozenset({nik})))
    assert scrub.rejected_drops_removed == [str(theirs)]
    assert not theirs.exists() and others.exists()
