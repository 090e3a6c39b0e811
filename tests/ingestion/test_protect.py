"""Pseudonymization of a batch: no clear identifier survives, tokens join, originals go to the
vault entries, derived quasi-identifiers are computed before the clear value is gone."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from ingestion.contracts import load_contracts
from ingestion.protect import protect_batch

CONTRACTS = load_contracts()
CHILDREN = CONTRACTS["child_registry.children"]
NOTES = CONTRACTS["case_management.case_notes"]
TOKENIZER = Tokenizer(b"k" * 32)
REDACTOR = Redactor(TOKENIZER)


def _children() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "child_id": ["CH1", "CH2", "CH3"],
            "full_name": ["Siti Aminah", "SITI  AMINAH", None],
            "nik": ["3273014506150003", "3273014506150003", "3201011203150001"],
            "birth_date": pd.to_datetime(["2015-06-05", "2015-06-05", None]),
            "sex": ["F", "F", "M"],
            "birthplace": ["Bandung", "Bandung", None],
            "address": ["Jl. Merdeka 1", "JL. MERDEKA 1", "Jl. Lain"],
        }
    )


def test_identifiers_become_tokens_and_originals_go_to_the_vault() -> None:
    frame = _children()
    protected = protect_batch(frame, CHILDREN, TOKENIZER, REDACTOR)
    out = protected.frame
    clear = {"Siti Aminah", "3273014506150003", "Bandung", "Jl. Merdeka 1"}
    assert not clear & set(out.astype(str).to_numpy().ravel())
    # One person spelt two ways has one token; a missing value stays missing.
    assert (
        out.loc[0, "full_name"]
        == out.loc[1, "full_name"]
        == TOKENIZER.token("person_name", "Siti Aminah")
    )
    assert out.loc[2, "full_name"] is None and out.loc[2, "birth_date"] is None
    assert out.loc[0, "birth_date"] == TOKENIZER.token("birth_date", "2015-06-05")
    # The vault keeps one original per token: the first spelling seen.
    names = protected.vault_entries["person_name"]
    assert names == {out.loc[0, "full_name"]: "Siti Aminah"}
    assert set(protected.vault_entries) >= {"person_name", "nik", "birth_date", "address"}
    # Derived before tokenization: the birth month survives as a quasi-identifier.
    assert out["birth_year_month"].tolist() == ["2015-06", "2015-06", None]
    # The input frame is not modified.
    assert frame.loc[0, "full_name"] == "Siti Aminah"


def test_free_text_is_redacted_with_the_subjects_known_identifiers() -> None:
    notes = pd.DataFrame(
        {
            "note_id": ["N1", "N2"],
            "case_id": ["K1", "K2"],
            "note_text": [
                "Kunjungan ke rumah Siti Aminah, hp 0812-3456-7890, NIK 3273014506150003.",
                None,
            ],
        }
    )
    known = [{"person_name": ["Siti Aminah"], "phone": ["081234567890"]}, {}]
    out = protect_batch(notes, NOTES, TOKENIZER, REDACTOR, known).frame
    text = out.loc[0, "note_text"]
    assert "Siti" not in text and "0812" not in text and "3273014506150003" not in text
    assert f"[person_name:{TOKENIZER.token('person_name', 'Siti Aminah')}]" in text
    assert f"[phone:{TOKENIZER.token('phone', '081234567890')}]" in text
    assert out.loc[1, "note_text"] is None


def test_known_identifiers_must_align_with_the_rows() -> None:
    notes = pd.DataFrame({"note_id": ["N1"], "case_id": ["K1"], "note_text": ["x"]})
    with pytest.raises(ValueError, match="every row"):
        protect_batch(notes, NOTES, TOKENIZER, REDACTOR, [{}, {}])
