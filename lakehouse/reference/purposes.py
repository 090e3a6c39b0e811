"""Why each audience is served, and which children its outputs may count: purposes, declared once.

Every output (a gold mart, a protected table, a research release) is made for one purpose and
counts one population of children. Three purposes rest on consent: research, community and
media. Their outputs count only the children whose guardians' consent for that purpose is in
force when the output is built (a consented mart per purpose, built by dbt; never a filter
applied when a question is asked). The other audiences (the data protection officer, the
government, donors) are served under the legal basis of the service itself, and their outputs
count every registered child: that is a population too, stated as such.

dbt reads the same declaration from the ``purposes`` seed (written from here by
``merajut reference seeds``). The legal bases cite UU 27/2022 (Pelindungan Data Pribadi); their
wording is the data protection officer's to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from lakehouse.reference.audiences import ROLES

__all__ = [
    "CONSENT_PURPOSES",
    "PURPOSES",
    "ConsentPurpose",
    "Purpose",
    "PurposeName",
    "purpose_of",
]

PurposeName = Literal["research", "community", "media", "service"]
#: Purposes whose outputs count only children with that consent in force (the consent
#: service's ``purpose`` values; its source contract accepts exactly these).
ConsentPurpose = Literal["research", "community", "media"]
CONSENT_PURPOSES: tuple[str, ...] = get_args(ConsentPurpose)


@dataclass(frozen=True)
class Purpose:
    name: str
    description: str
    #: The API roles (lakehouse.reference.audiences) served for this purpose.
    audiences: tuple[str, ...]
    #: The children an output of this purpose may count.
    population: str
    #: True: the population is the children whose guardians' consent for this purpose is in
    #: force at build time (granted, not revoked).
    requires_consent: bool
    legal_basis: str


_CONSENT_BASIS = "the guardian's explicit consent for this purpose (UU 27/2022, art. 20(2)(a))"

PURPOSES: dict[str, Purpose] = {
    p.name: p
    for p in (
        Purpose(
            name="research",
            description="Research under a data-use agreement: record-level releases and "
            "aggregate statistics for researchers.",
            audiences=("researcher",),
            population="children_with_research_consent",
            requires_consent=True,
            legal_basis=_CONSENT_BASIS,
        ),
        Purpose(
            name="community",
            description="Public aggregates for communities (public dashboard, metrics API).",
            audiences=("community",),
            population="children_with_community_consent",
            requires_consent=True,
            legal_basis=_CONSENT_BASIS,
        ),
        Purpose(
            name="media",
            description="Approved national statistics for the media.",
            audiences=("media",),
            population="children_with_media_consent",
            requires_consent=True,
            legal_basis=_CONSENT_BASIS,
        ),
        Purpose(
            name="service",
            description="Running and overseeing the child-welfare service: case work and "
            "audits (data protection officer), statutory reporting to government, impact "
            "reporting to funders.",
            audiences=("admin", "government", "business"),
            population="all_registered_children",
            requires_consent=False,
            legal_basis="the child-welfare service's legal obligations and public task "
            "(UU 27/2022, art. 20(2)(c) and (e)); not consent",
        ),
    )
}

if (
    tuple(PURPOSES) != get_args(PurposeName)
    or tuple(p for p in PURPOSES if PURPOSES[p].requires_consent) != CONSENT_PURPOSES
):  # pragma: no cover - a broken edit of this file
    raise RuntimeError("PURPOSES, PurposeName and ConsentPurpose disagree")
_BY_ROLE = {role: p for p in PURPOSES.values() for role in p.audiences}
_SERVED = [role for p in PURPOSES.values() for role in p.audiences]
if sorted(_SERVED) != sorted(ROLES):  # pragma: no cover - a broken edit of this file
    raise RuntimeError("every role is served for exactly one purpose")


def purpose_of(role: str) -> Purpose:
    """The purpose ``role`` is served for (KeyError for an unknown role)."""
    return _BY_ROLE[role]
