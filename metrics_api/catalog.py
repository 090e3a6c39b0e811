"""The metric catalog: loading and validating ``catalog.yml``.

Why a catalog: a metric (its SQL measure, the breakdowns it allows, who may see it and at which
small-cell threshold) must be defined once, so that the API, documentation and tests cannot
drift apart. The loader is strict on purpose — a typo in a role name or a threshold below the
audience default must stop the API at startup, not silently publish small cells.

Consent by purpose: every role is served for one purpose (:mod:`lakehouse.reference.purposes`).
A metric's ``source`` is the mart of every registered child, served for the service purpose; a
role served for a consent purpose (research, community, media) is served from the mart that
``consented_sources`` names for that purpose — a mart dbt builds from the children whose
guardians' consent for it is in force — and a metric that offers such a role no consented mart
is refused. The publish gate and the API check the mart's declared purpose too.

The catalog also holds each role's request limits (``limits:``, applied by
:mod:`metrics_api.limits`): every role is listed, limits are positive integers, and only the
admin may be unlimited, by writing ``null`` — a role left out is an error, never "no limit".
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lakehouse.reference.audiences import (
    NATIONAL_ONLY_AUDIENCES,
    PERTURBED_AUDIENCES,
    ROLES,
    Role,
    audience_thresholds,
)
from lakehouse.reference.purposes import ConsentPurpose, purpose_of

__all__ = [
    "DEFAULT_MAX_DIMENSIONS",
    "GEOGRAPHY_LEVELS",
    "GRAINS",
    "PACKAGED_CATALOG",
    "UNLIMITED_ROLES",
    "AudienceRule",
    "Catalog",
    "CatalogError",
    "DimensionSpec",
    "Grain",
    "Limits",
    "Metric",
    "ResolvedRule",
    "RoleLimits",
    "load_catalog",
]

#: The catalog shipped with the API (``MERAJUT_API_CATALOG_PATH`` may point elsewhere).
PACKAGED_CATALOG = Path(__file__).resolve().parent / "catalog.yml"
Grain = Literal["quarter", "year", "month"]
GRAINS: tuple[str, ...] = get_args(Grain)
Geography = Literal["national", "province"]
#: Coarse to fine: an audience whose finest level is ``national`` sees no province at all.
GEOGRAPHY_LEVELS: tuple[str, ...] = get_args(Geography)

#: Roles that may be configured without limits (``null``): the data protection officer, who
#: must be able to investigate without running into a budget.
UNLIMITED_ROLES = frozenset({"admin"})

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Measures are simple count aggregates over one mart column. Anything richer is refused: the
# catalog is executed as SQL, and suppression is only meaningful on counts.
_MEASURE = re.compile(
    r"^(?:sum\((?P<sum>[a-z_][a-z0-9_]*)\)|count\((?:\*|distinct (?P<cnt>[a-z_][a-z0-9_]*))\))$"
)


class CatalogError(ValueError):
    """The catalog file is invalid; the message says which metric and field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DimensionSpec(_Frozen):
    column: str
    geography: Literal["province"] | None = None

    @field_validator("column")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"column {value!r} is not a plain identifier")
        return value


class TimeSpec(_Frozen):
    column: str
    grains: tuple[Grain, ...] = Field(min_length=1)

    @field_validator("column")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"column {value!r} is not a plain identifier")
        return value


#: Breakdown dimensions a suppressed audience may combine in one answer (a province filter or
#: a key's province scope counts as one). Every table of at most this many dimensions × every
#: grain is protected jointly at publish (:mod:`metrics_api.protected`), so the bound is also
#: what the publish costs: the lattice grows with the number of subsets.
DEFAULT_MAX_DIMENSIONS = 2


class AudienceRule(_Frozen):
    threshold: int | None = Field(default=None, ge=1)
    finest_geography: Geography = "province"
    max_dimensions: int | None = Field(default=None, ge=0)
    #: Cell-key perturbation of shown counts; None: the audience's default
    #: (lakehouse.reference.audiences.PERTURBED_AUDIENCES).
    perturbed: bool | None = None


class ResolvedRule(_Frozen):
    """An audience rule with its defaults filled in (what the API actually applies)."""

    #: The mart the role is answered from: the metric's ``source`` for the service purpose,
    #: the purpose's consented mart for a consent purpose.
    source: str
    #: What the role is served for (lakehouse.reference.purposes).
    purpose: str
    threshold: int
    finest_geography: Geography
    #: None: any combination (only an audience without suppression, the admin).
    max_dimensions: int | None = None
    #: Shown counts carry cell-key noise (anonymization.cell_key); only suppressed audiences.
    perturbed: bool = False

    @property
    def suppressed(self) -> bool:
        """Served from the protected tables of the publish, never from the mart itself."""
        return self.threshold > 1


def _measure_column(expression: str) -> str | None:
    match = _MEASURE.match(expression.strip())
    if match is None:
        raise ValueError(
            f"measure {expression!r} must be sum(<column>), count(*) or count(distinct <column>)"
        )
    return match.group("sum") or match.group("cnt")


def _sum_column(expression: str) -> str | None:
    match = _MEASURE.match(expression.strip())
    return match.group("sum") if match else None


class Metric(_Frozen):
    name: str
    description: str
    unit: str
    kind: Literal["count", "ratio"]
    source: str
    time: TimeSpec
    dimensions: dict[str, DimensionSpec]
    audiences: dict[Role, AudienceRule] = Field(min_length=1)
    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    decimals: int = Field(default=4, ge=0, le=10)
    stock: bool = False
    #: Mart count column -> the mart column holding the sum of its records' perturbation keys
    #: (anonymization.cell_key); needed by every count a perturbed audience is served.
    cell_keys: dict[str, str] = Field(default_factory=dict)
    #: Consent purpose -> the mart of the children with that consent in force (the same
    #: columns as ``source``); a role served for a consent purpose is answered from it only.
    consented_sources: dict[ConsentPurpose, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if self.kind == "count":
            if self.measure is None or self.numerator or self.denominator:
                raise ValueError("a count metric declares `measure` and no numerator/denominator")
        elif self.measure is not None or not (self.numerator and self.denominator):
            raise ValueError("a ratio metric declares `numerator` and `denominator`, no `measure`")
        for expression in self.count_expressions.values():
            _measure_column(expression)
        clash = set(self.dimensions) & set(GRAINS)
        if clash:
            raise ValueError(f"dimension names {sorted(clash)} are reserved for time grains")
        for name in self.dimensions:
            if not _IDENTIFIER.match(name):
                raise ValueError(f"dimension name {name!r} is not a plain identifier")
        for column in (*self.cell_keys, *self.cell_keys.values()):
            if not _IDENTIFIER.match(column):
                raise ValueError(f"cell_keys column {column!r} is not a plain identifier")
        for mart in (self.source, *self.consented_sources.values()):
            if not _IDENTIFIER.match(mart):
                raise ValueError(f"source {mart!r} is not a plain identifier")
        if self.source in self.consented_sources.values():
            raise ValueError(
                f"{self.source} counts every registered child: it cannot be a consented source"
            )
        if len(set(self.consented_sources.values())) != len(self.consented_sources):
            raise ValueError("each consent purpose needs a mart of its own")
        defaults = audience_thresholds()
        for role, rule in self.audiences.items():
            purpose = purpose_of(role)
            if purpose.requires_consent and purpose.name not in self.consented_sources:
                raise ValueError(
                    f"audience {role} is served for the {purpose.name} purpose: only children "
                    f"with {purpose.name} consent in force may be counted; name the mart of "
                    f"{purpose.population} in consented_sources.{purpose.name}"
                )
            if rule.threshold is not None and rule.threshold < defaults[role]:
                raise ValueError(
                    f"audience {role}: threshold {rule.threshold} is below the default "
                    f"{defaults[role]}; the catalog may tighten a threshold, never loosen it"
                )
            if role in NATIONAL_ONLY_AUDIENCES and rule.finest_geography != "national":
                raise ValueError(f"audience {role} sees national statistics only")
            resolved = self.rule_for(role)
            assert resolved is not None
            if resolved.suppressed and not all(self.count_columns.values()):
                # Protected tables are sums of finest cells: a distinct count is not additive.
                raise ValueError(
                    f"audience {role} is served protected tables: its measures must be "
                    "sum(<column>) over the mart"
                )
            if not resolved.suppressed and rule.max_dimensions is not None:
                raise ValueError(f"audience {role} is not suppressed: max_dimensions is moot")
            if role in PERTURBED_AUDIENCES and rule.perturbed is False:
                raise ValueError(
                    f"audience {role} is public: its counts are always perturbed "
                    "(the catalog may perturb more audiences, never fewer)"
                )
            if resolved.perturbed:
                if not resolved.suppressed:
                    raise ValueError(f"audience {role} is exact (not suppressed): no perturbation")
                keyless = [c for c in self.count_columns.values() if c not in self.cell_keys]
                if keyless:
                    raise ValueError(
                        f"audience {role} is served perturbed counts: `cell_keys` must name the "
                        f"record-key sum of {', '.join(sorted(str(c) for c in keyless))}"
                    )
        return self

    @property
    def count_columns(self) -> dict[str, str | None]:
        """Output count -> the mart column it sums (None for count(*) / count(distinct))."""
        return {
            name: _sum_column(expression) for name, expression in self.count_expressions.items()
        }

    @property
    def count_expressions(self) -> dict[str, str]:
        """Output column -> aggregate SQL: the counts suppression is decided on."""
        if self.kind == "count":
            assert self.measure is not None
            return {"value": self.measure}
        assert self.numerator is not None and self.denominator is not None
        return {"numerator": self.numerator, "denominator": self.denominator}

    @property
    def sources(self) -> list[str]:
        """Every mart the metric may be answered from (all children first)."""
        return [self.source, *self.consented_sources.values()]

    @property
    def columns_used(self) -> set[str]:
        """Mart columns the metric reads (in each of its sources); checked against the snapshot
        manifest per query."""
        used = {d.column for d in self.dimensions.values()} | {self.time.column}
        for expression in self.count_expressions.values():
            column = _measure_column(expression)
            if column:
                used.add(column)
        return used

    @property
    def dimension_names(self) -> list[str]:
        """Every name the ``dimensions`` parameter accepts: breakdowns, then time grains."""
        return [*self.dimensions, *self.time.grains]

    @property
    def geography_dimension(self) -> str | None:
        for name, spec in self.dimensions.items():
            if spec.geography == "province":
                return name
        return None

    def rule_for(self, role: str) -> ResolvedRule | None:
        """The rule applied to ``role``, or None if the role may not see this metric."""
        rule = self.audiences.get(role)  # type: ignore[call-overload]
        if rule is None:
            return None
        threshold = rule.threshold if rule.threshold is not None else audience_thresholds()[role]
        limit = rule.max_dimensions
        if limit is None and threshold > 1:
            limit = DEFAULT_MAX_DIMENSIONS
        perturbed = rule.perturbed if rule.perturbed is not None else role in PERTURBED_AUDIENCES
        purpose = purpose_of(role)
        source = self.source
        if purpose.requires_consent:
            # Validated: every consent-purpose audience of the metric has its mart.
            source = self.consented_sources[purpose.name]  # type: ignore[index]
        return ResolvedRule(
            source=source,
            purpose=purpose.name,
            threshold=threshold,
            finest_geography=rule.finest_geography,
            max_dimensions=limit,
            perturbed=perturbed and threshold > 1,
        )


#: A limit: a positive integer (strict: no "10", 10.0 or true), or null = unlimited.
_Limit = Annotated[int, Field(strict=True, gt=0)] | None


class RoleLimits(_Frozen):
    """One role's limits per key; both fields are required, ``None`` means unlimited."""

    requests_per_minute: _Limit = Field(
        description="Data requests (metric queries, release downloads, enclave tables) per key "
        "per minute"
    )
    distinct_queries_per_snapshot: _Limit = Field(
        description="Different metric queries per key per gold snapshot; repeats are free"
    )


class Limits(_Frozen):
    """The ``limits:`` block: every role's limits, and the hint sent with an empty budget."""

    roles: dict[Role, RoleLimits]
    budget_retry_after_seconds: int = Field(
        strict=True,
        gt=0,
        description="Retry-After of an exhausted query budget (it resets at the next publish, "
        "whose time the API cannot know: about the publish cadence)",
    )

    @model_validator(mode="after")
    def _every_role_bounded(self) -> Limits:
        missing = [r for r in ROLES if r not in self.roles]
        if missing:
            raise ValueError(
                f"limits: every role needs its limits (null = unlimited, admin only); "
                f"missing: {', '.join(missing)}"
            )
        for role, rule in self.roles.items():
            unlimited = [name for name, value in rule if value is None]
            if unlimited and role not in UNLIMITED_ROLES:
                raise ValueError(
                    f"limits: role {role} may not be unlimited ({', '.join(unlimited)} is null); "
                    f"only {', '.join(sorted(UNLIMITED_ROLES))} may"
                )
        return self

    def for_role(self, role: str) -> RoleLimits:
        return self.roles[role]  # type: ignore[index]


class Catalog(_Frozen):
    version: Literal[1]
    metrics: dict[str, Metric]
    limits: Limits

    @cached_property
    def names(self) -> list[str]:
        return sorted(self.metrics)

    def visible_to(self, role: str) -> list[Metric]:
        return [self.metrics[n] for n in self.names if self.metrics[n].rule_for(role) is not None]


def parse_catalog(raw: Any) -> Catalog:
    """Validate an already-parsed YAML document (``x-`` anchor blocks are ignored)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("metrics"), dict):
        raise CatalogError("the catalog needs a `metrics:` mapping")
    metrics = {}
    for name, body in raw["metrics"].items():
        if not isinstance(body, dict):
            raise CatalogError(f"metric {name!r}: expected a mapping")
        if not _IDENTIFIER.match(str(name)):
            raise CatalogError(f"metric name {name!r} is not a plain identifier")
        try:
            metrics[name] = Metric(name=name, **body)
        except ValidationError as exc:
            raise CatalogError(f"metric {name!r}: {exc}") from None
    if not isinstance(raw.get("limits"), dict):
        raise CatalogError("the catalog needs a `limits:` mapping (every role's request limits)")
    try:
        limits = Limits.model_validate(raw["limits"])
    except ValidationError as exc:
        raise CatalogError(f"limits: {exc}") from None
    try:
        return Catalog.model_validate(
            {"version": raw.get("version"), "metrics": metrics, "limits": limits}
        )
    except ValidationError as exc:
        raise CatalogError(str(exc)) from None


def load_catalog(path: Path) -> Catalog:
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return parse_catalog(raw)
