"""Release tiers: who may have a research release, how, and what must protect it — declared once.

Why tiers
---------
A file anyone may download must withstand an attacker who knows a child's age, sex and home
town and holds every other file we ever published; a file given to a named researcher under a
data-use agreement may keep more detail because the agreement, the audit log and the key add
protection; and some questions need record-level detail no file can carry, which the researcher
then asks inside the enclave without taking the records away. Statistical agencies publish the
same data this way (the UK Data Service's open / safeguarded / controlled access, IHSN/NADA's
public-use, licensed and enclave files). The release step builds one release per tier from the
same population; the API and the catalog serve each by the access it declares; every release
states its tier, criteria and risk figures in its privacy report.

The numbers
-----------
* public-use: k = 11 (the usual public-use floor: a maximum re-identification risk of 0.09,
  under the 0.1 many agencies use for public files), distinct 2-diversity and hierarchical
  t-closeness 0.3 on the case type (the case type's groups below), no geography below province,
  at most 5 % of records suppressed;
* licensed: k = 5, distinct 2-diversity, geography down to regency where the classes allow it;
  entropy and recursive diversity, t-closeness and the risk figures are measured and reported;
* enclave: the records pseudonymised (a release-specific token), nothing generalised, never
  downloadable: query-only inside the enclave, where outputs are checked before they leave
  (:class:`QueryRules`: frequency tables whose counts below 10 are hidden and whose other counts
  carry cell-key noise).

The criteria classes live in :mod:`anonymization` (this package is the ground floor and imports
nothing above it); :mod:`orchestration.release.build` turns a tier into criteria.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CASE_TYPE_GROUPS",
    "GEOGRAPHY_LEVELS",
    "TIERS",
    "Access",
    "AccessTerms",
    "QueryRules",
    "ReleaseTier",
    "tier",
]

Access = Literal["open", "licensed", "enclave"]
#: Levels of the region hierarchy, most detailed first (anonymization.hierarchies).
GEOGRAPHY_LEVELS = ("regency", "province", "island_group", "national")

#: Case types grouped by the kind of harm, for the hierarchical distance of t-closeness: telling
#: a class's neglect from abandonment costs half as much as telling it from sexual abuse.
CASE_TYPE_GROUPS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "neglect": ("care", "*"),
        "abandonment": ("care", "*"),
        "economic_hardship": ("care", "*"),
        "physical_abuse": ("abuse", "*"),
        "sexual_abuse": ("abuse", "*"),
        "exploitation": ("exploitation", "*"),
        "trafficking": ("exploitation", "*"),
        "conflict_with_law": ("justice", "*"),
    }
)


@dataclass(frozen=True)
class QueryRules:
    """How a tier that is never downloaded is queried: frequency tables over its records, each
    count output-checked before it leaves (``metrics_api.enclave``).

    * ``threshold`` 10: a count below it is never shown, and neither is a zero (a published
      zero next to hidden small counts would tell "none" from "a few": that a child of a given
      age, sex and regency is in care, or that all of them share a case type). Ten is the
      frequency threshold UK secure research environments check outputs against (SACRO/ACRO's
      ``safe_threshold``, which also treats zeros as disclosive); it sits between the API's
      researcher threshold for aggregate marts (5) and the public one (11) because an enclave
      cell can cut the records down to single years of age in one regency, where a count of a
      few is a few children one could name. A shown count carries cell-key noise of at most 2
      and is never published below the threshold.
    * ``max_dimensions`` 3: three record-level dimensions (regency x age x sex) already give
      cells of a few children; a fourth would mostly add hidden cells and more ways to cut.
    * ``max_filters`` 2: columns a table may be restricted on, besides its dimensions; with
      three dimensions a cell then conditions on five columns, which is the whole key of
      quasi-identifiers.
    * ``budget`` 200: different tables one key may ask of one release (a repeat is free). An
      analysis plan names tens of tables; two hundred leaves room to explore. It does not stop
      a patient differencing attack (the noise of a difference of two tables has variance 2, so
      some tens of differently filtered pairs average it down); it bounds it and makes it
      visible in the audit log, which records every table with its filters.
    """

    threshold: int
    max_dimensions: int
    max_filters: int
    budget: int

    def __post_init__(self) -> None:
        if self.threshold < 2 or self.max_dimensions < 1 or self.max_filters < 0:
            raise ValueError("a query service hides small counts and allows a dimension")
        if self.budget < 1:
            raise ValueError("a query budget is a positive number of tables")


@dataclass(frozen=True)
class AccessTerms:
    """How the catalog hands out a tier's releases (``metrics_api.release_access``), as the
    UK Data Service and IHSN's NADA catalogs do: open files to anyone registered, licensed files
    to named researchers under an agreement, enclave data only as checked outputs.

    * ``roles``: the API roles whose keys may have the records (None: every key, the open tier);
    * ``agreement``: a key must accept the data-use agreement for that release before its first
      download or table (recorded per key and release, and audited);
    * ``downloads_per_key``: copies of one release one key may take. Every copy is one more
      place the records live; a researcher needs a format or two and a spare, so five; beyond
      it the refusal says why and is audited (None: no limit beyond requests per minute);
    * ``available_days``: how long after it was built a release is handed out. A licence covers
      one project's analysis for about a year; later work asks for the newer releases the
      pipeline builds whenever the data changes, and an old file then stops circulating.
    """

    roles: frozenset[str] | None
    agreement: bool
    downloads_per_key: int | None = None
    available_days: int | None = None

    def __post_init__(self) -> None:
        if self.roles is not None and not self.roles:
            raise ValueError("access terms name at least one role (None: every key)")
        if self.downloads_per_key is not None and self.downloads_per_key < 1:
            raise ValueError("a download limit is a positive number of copies")
        if self.available_days is not None and self.available_days < 1:
            raise ValueError("availability is a positive number of days")

    def admits(self, role: str) -> bool:
        return self.roles is None or role in self.roles


#: The open tier: every key, no agreement, no limit but the requests per minute.
OPEN = AccessTerms(roles=None, agreement=False)
_RESEARCHERS = frozenset({"researcher"})


@dataclass(frozen=True)
class ReleaseTier:
    name: str
    title: str
    access: Access
    #: Whether the records may leave as a file (public-use and licensed) or only be queried.
    downloadable: bool
    description: str
    #: Enforced on every class; None: the tier's records are not generalised (enclave).
    k: int | None = None
    l_diversity: int | None = None
    t_closeness: float | None = None
    t_distance: Literal["equal", "hierarchical"] = "equal"
    max_suppression: float = 0.05
    #: The most detailed geography a record may show.
    lowest_geography: str = "regency"
    #: Measured on the release and reported, with the tier's bounds (the values achieved are
    #: in the privacy report; a bound not met is reported, not hidden).
    max_prosecutor_risk: float | None = None
    max_journalist_risk: float | None = None
    max_population_uniques: float | None = None
    #: δ-presence against the BPS child population: the largest share of a population class
    #: the release may hold.
    delta_max: float | None = None
    measured: tuple[str, ...] = field(default_factory=tuple)
    #: The tier whose latest file's classes this tier's classes are unions of (a licensed class
    #: never spans two public-use classes), so that the two held together split no class.
    coarsens: str | None = None
    #: How the records are queried when they are never downloaded; None for a file.
    queries: QueryRules | None = None
    #: Who may have the records, under what agreement, how often and for how long.
    terms: AccessTerms = OPEN

    def __post_init__(self) -> None:
        if self.lowest_geography not in GEOGRAPHY_LEVELS:
            raise ValueError(f"unknown geography level {self.lowest_geography!r}")
        if self.downloadable and self.k is None:
            raise ValueError(f"tier {self.name}: a downloadable file must be k-anonymous")
        if self.downloadable == (self.queries is not None):
            raise ValueError(
                f"tier {self.name}: a file is downloaded, a tier that is never downloaded is "
                "queried (QueryRules), and never both"
            )
        if (self.access == "open") != (self.terms.roles is None and not self.terms.agreement):
            raise ValueError(
                f"tier {self.name}: open access means every key and no agreement, and only "
                "open access does"
            )

    @property
    def geography_level(self) -> int:
        return GEOGRAPHY_LEVELS.index(self.lowest_geography)

    @property
    def anonymised(self) -> bool:
        return self.k is not None


TIERS: MappingProxyType[str, ReleaseTier] = MappingProxyType(
    {
        t.name: t
        for t in (
            ReleaseTier(
                name="public_use",
                title="Public-use file",
                access="open",
                downloadable=True,
                description=(
                    "For anyone: k-anonymous (k=11), 2-diverse and t-close (t=0.3, hierarchical) "
                    "on case type; geography no finer than province."
                ),
                k=11,
                l_diversity=2,
                t_closeness=0.3,
                t_distance="hierarchical",
                lowest_geography="province",
                max_prosecutor_risk=1 / 11,
                max_journalist_risk=1 / 11,
                max_population_uniques=0.01,
                delta_max=0.05,
                measured=("entropy_l_diversity", "recursive_c_l_diversity"),
                coarsens="licensed",
            ),
            ReleaseTier(
                name="licensed",
                title="Licensed file",
                access="licensed",
                downloadable=True,
                description=(
                    "For researchers under a data-use agreement: k-anonymous (k=5), 2-diverse on "
                    "case type; geography down to regency where the classes allow it."
                ),
                k=5,
                l_diversity=2,
                lowest_geography="regency",
                max_prosecutor_risk=0.2,
                max_journalist_risk=0.2,
                max_population_uniques=0.05,
                delta_max=0.2,
                measured=("entropy_l_diversity", "recursive_c_l_diversity", "t_closeness"),
                terms=AccessTerms(
                    roles=_RESEARCHERS, agreement=True, downloads_per_key=5, available_days=365
                ),
            ),
            ReleaseTier(
                name="enclave",
                title="Enclave extract",
                access="enclave",
                downloadable=False,
                description=(
                    "Record-level, pseudonymised with a release-specific token, not generalised; "
                    "never downloadable: queried inside the enclave only, outputs checked."
                ),
                lowest_geography="regency",
                max_suppression=0.0,
                queries=QueryRules(threshold=10, max_dimensions=3, max_filters=2, budget=200),
                terms=AccessTerms(roles=_RESEARCHERS, agreement=True, available_days=365),
            ),
        )
    }
)


def tier(name: str) -> ReleaseTier:
    try:
        return TIERS[name]
    except KeyError:
        raise ValueError(f"unknown release tier {name!r}; tiers: {', '.join(TIERS)}") from None
