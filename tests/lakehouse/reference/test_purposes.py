"""Purposes: declared once, every role served for exactly one, consent purposes as the consent
service records them."""

from __future__ import annotations

import csv
import io

from ingestion.contracts import load_contracts
from lakehouse.reference.audiences import ROLES
from lakehouse.reference.purposes import CONSENT_PURPOSES, PURPOSES, purpose_of
from lakehouse.reference.seeds import render_seed


def test_each_role_is_served_for_one_purpose() -> None:
    assert {r: purpose_of(r).name for r in ROLES} == {
        "admin": "service",
        "government": "service",
        "business": "service",
        "researcher": "research",
        "community": "community",
        "media": "media",
    }


def test_consent_purposes_count_only_consenting_children_and_the_service_says_its_basis() -> None:
    assert CONSENT_PURPOSES == ("research", "community", "media")
    for name in CONSENT_PURPOSES:
        purpose = PURPOSES[name]
        assert purpose.requires_consent and purpose.population == f"children_with_{name}_consent"
        assert "consent" in purpose.legal_basis
    service = PURPOSES["service"]
    assert not service.requires_consent and service.population == "all_registered_children"
    assert service.legal_basis.endswith("not consent")
    assert len({p.population for p in PURPOSES.values()}) == len(PURPOSES)


def test_the_consent_service_contract_accepts_exactly_the_consent_purposes() -> None:
    contract = load_contracts()["consent.consents"]
    (purpose,) = [c for c in contract.columns if c.name == "purpose"]
    assert tuple(purpose.accepted_values or ()) == CONSENT_PURPOSES


def test_the_purposes_seed_is_the_declaration() -> None:
    rows = list(csv.DictReader(io.StringIO(render_seed("purposes"))))
    assert rows == [
        {
            "purpose": p.name,
            "population": p.population,
            "requires_consent": str(p.requires_consent).lower(),
        }
        for p in PURPOSES.values()
    ]
