"""Response models: what the OpenAPI document promises and the routes return."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "EnclaveQueries",
    "ErrorMessage",
    "Health",
    "KeyLimits",
    "MetricCatalog",
    "MetricInfo",
    "MetricResult",
    "MetricRow",
    "Perturbation",
    "QueryFilters",
    "RateLimitMessage",
    "ReleaseDetail",
    "ReleaseList",
    "ReleaseSummary",
    "ReleaseTable",
    "TableCell",
    "TableRequest",
]


class ErrorMessage(BaseModel):
    detail: str = Field(description="What went wrong and, where possible, how to fix it")


class ParameterProblem(BaseModel):
    parameter: str = Field(description="The query or path parameter, header or body field")
    location: str = Field(description="query, path, header or body")
    problem: str


class InvalidRequest(ErrorMessage):
    """A 422 from validation: every parameter that is wrong, and what is wrong with it (what
    was sent is not echoed back: a header may hold a secret)."""

    errors: list[ParameterProblem]


class RateLimitMessage(ErrorMessage):
    """A 429: which limit, and when to ask again (also in the ``Retry-After`` header)."""

    limit: str = Field(
        description="requests_per_minute, distinct_queries_per_snapshot or "
        "distinct_queries_per_release (an enclave release's tables)"
    )
    retry_after: int = Field(description="Seconds to wait before asking again")
    resets: str = Field(description="When the limit resets, in words")


class KeyLimits(BaseModel):
    requests_per_minute: int | None = Field(
        description="Data requests (metric queries, downloads, enclave tables) per minute; "
        "null: unlimited"
    )
    distinct_queries_per_snapshot: int | None = Field(
        description="Different metric queries per published snapshot (repeats are free); "
        "null: unlimited"
    )
    distinct_queries_used: int | None = Field(
        description="Distinct queries this key has asked of the current snapshot "
        "(null when unlimited or nothing is published)"
    )


class MetricInfo(BaseModel):
    name: str
    description: str
    unit: str
    kind: str = Field(description="count, or ratio (value = numerator / denominator)")
    dimensions: list[str] = Field(description="Accepted values of the `dimensions` parameter")
    grains: list[str] = Field(description="Time grains (also usable as dimensions)")
    stock: bool = Field(description="A level per period: always broken down by its finest grain")
    threshold: int = Field(description="Your small-cell threshold for this metric")
    finest_geography: str = Field(description="national: no province breakdown or filter")
    purpose: str = Field(description="What your role is served for (research, community, ...)")
    population: str = Field(
        description="The children the counts include, e.g. children_with_community_consent: "
        "only those whose guardians' consent for your purpose is in force at build time"
    )


class MetricCatalog(BaseModel):
    role: str
    province_scope: str | None
    snapshot_id: str | None
    limits: KeyLimits = Field(description="Your key's limits (the catalog's, for your role)")
    metrics: list[MetricInfo]


class QueryFilters(BaseModel):
    # Written as "from" and "to", and read back from them too: a client validating an answer
    # with this model keeps its window.
    date_from: date | None = Field(
        default=None, serialization_alias="from", validation_alias=AliasChoices("from", "date_from")
    )
    date_to: date | None = Field(
        default=None, serialization_alias="to", validation_alias=AliasChoices("to", "date_to")
    )
    province: str | None = None


class MetricRow(BaseModel):
    dimensions: dict[str, str | None]
    labels: dict[str, str] | None = Field(
        default=None,
        description="Names of the coded values in `dimensions`, e.g. the province's name for "
        "its BPS code (null when the row has no coded dimension)",
    )
    value: int | float | None = Field(description="null when suppressed")
    numerator: int | None = Field(default=None, description="ratio metrics only")
    denominator: int | None = Field(default=None, description="ratio metrics only")
    suppressed: bool
    suppression_reason: str | None = None
    perturbed: bool = Field(
        default=False,
        description="The counts carry cell-key noise (community and media; see `perturbation`)",
    )
    max_abs_error: int | None = Field(
        default=None,
        description="Perturbed rows only: each count (value, or numerator and denominator) is "
        "within this of the true count (2 per protected cell the row adds up)",
    )
    partial_period: bool | None = Field(
        default=None,
        description="The row's period ends after the snapshot's reporting date: its counts "
        "are the part so far (null when the answer has no period breakdown)",
    )


class Perturbation(BaseModel):
    """How a perturbed answer's counts were changed, so a reader can judge them."""

    method: str
    max_abs_noise_per_cell: int = Field(description="No cell's count moves by more than this")
    noise_variance_per_cell: float
    noise_mean: float = Field(description="The noise is unbiased")
    distribution: dict[str, float] = Field(description="noise -> probability")
    table: str = Field(description="Where the full perturbation table is published")
    additive: bool = Field(
        description="false: each protected cell is perturbed on its own, so a national count "
        "need not equal the sum of its perturbed provinces; a total over a window adds up its "
        "perturbed periods"
    )


class MetricResult(BaseModel):
    metric: str
    description: str
    unit: str
    kind: str
    snapshot_id: str = Field(description="The gold snapshot the numbers come from")
    snapshot_status: Literal["approved", "candidate"] = Field(
        default="approved",
        description="approved: CURRENT, signed off by a data steward; candidate: a preview of "
        "a snapshot awaiting approval (government and admin keys only), not published yet",
    )
    reporting_date: str | None = Field(
        default=None,
        description="The date the snapshot reports on; a period ending after it is partial",
    )
    role: str
    threshold: int = Field(description="Counts 1..threshold-1 are never shown to this role")
    purpose: str = Field(description="What this role is served for")
    population: str = Field(description="The children the counts include")
    dimensions: list[str]
    grain: str | None
    filters: QueryFilters
    row_count: int
    suppressed_cells: int
    suppression_note: str
    perturbation: Perturbation | None = Field(
        default=None, description="null: the counts are exact (where shown)"
    )
    rows: list[MetricRow]


class ReleaseSummary(BaseModel):
    release_id: str
    status: Literal["available", "expired", "withdrawn", "retired"] = Field(
        description="available; expired (its tier's availability ended); withdrawn (taken "
        "back, records deleted); retired (removed by the retention policy)"
    )
    identifier: str = Field(description="Persistent identifier: cite the release by it")
    citation: str = Field(description="How to cite it (also as BibTeX or RIS: /citation)")
    created_at: str | None = None
    purpose: str | None = None
    population: str | None = None
    tier: str = Field(
        "licensed",
        description="public_use, licensed or enclave (lakehouse.reference.release_tiers)",
    )
    access: str | None = Field(
        None, description="open (any key), licensed (named roles, agreement) or enclave"
    )
    downloadable: bool = Field(True, description="False: query-only inside the enclave")
    agreement_required: bool = Field(
        False, description="A key must accept the data-use agreement for it first"
    )
    downloads_per_key: int | None = Field(None, description="Copies one key may take")
    available_until: str | None = Field(None, description="End of its availability")
    ended_at: str | None = Field(None, description="When it was withdrawn or retired")
    reason: str | None = Field(None, description="Why it was withdrawn or retired")
    rows: int | None = None
    checks_passed: list[str] = []
    all_checks_passed: bool


class ReleaseList(BaseModel):
    releases: list[ReleaseSummary] = Field(description="Newest first, at most `limit`")
    total: int = Field(description="Entries matching the filters, on every page")
    next_after: str | None = Field(
        default=None, description="Pass as `after` for the next page; null on the last page"
    )


class EnclaveQueries(BaseModel):
    """How an enclave release is queried (its tier's rules): it is never downloaded."""

    endpoint: str = Field(description="Where to send a table request")
    columns: list[str] = Field(description="Columns a table may use as dimension or filter")
    max_dimensions: int
    max_filters: int = Field(description="Filtered columns per table")
    max_cells: int = Field(description="Cells one table may hold")
    threshold: int = Field(description="Counts below it, zero included, are never shown")
    max_abs_noise: int = Field(description="No shown count moves by more than this")
    method: str
    budget: int = Field(description="Different tables one key may ask of this release")


class ReleaseDetail(ReleaseSummary):
    files: list[str] = []
    data_dictionary: dict[str, Any] = Field(description="Empty once the release is gone")
    privacy_report: dict[str, Any] = Field(description="Empty once the release is gone")
    download_formats: list[str]
    query: EnclaveQueries | None = Field(
        default=None, description="An enclave release: how to query it (null for a file)"
    )


class AgreementStatus(BaseModel):
    """The data-use agreement of one release, and where the caller's key stands with it."""

    release_id: str
    agreement_sha256: str = Field(description="Accept exactly this text: send this sha256")
    text: str | None = Field(default=None, description="The agreement (Markdown)")
    required: bool = Field(description="Whether this release's tier needs an acceptance")
    accepted: bool
    accepted_at: str | None = None
    project: str | None = None
    downloads_taken: int = 0
    downloads_per_key: int | None = None
    available_until: str | None = None


class AgreementAcceptance(BaseModel):
    """Accepting the data-use agreement of one release, for one named project."""

    model_config = ConfigDict(extra="forbid")

    accept: Literal[True] = Field(description="true: you accept every term of the agreement")
    agreement_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="The sha256 of the text you read (from GET .../agreement)"
    )
    project: Annotated[str, StringConstraints(min_length=10, max_length=500)] = Field(
        description="Your project: title and approval reference (ethics board, DUA number)",
        examples=["Placement stability in Java 2020-2025; ethics approval UI-FKM 123/2026"],
    )


_Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
_Value = Annotated[str, StringConstraints(max_length=100)]


class TableRequest(BaseModel):
    """A frequency table over an enclave release's records. The bounds here only keep a body
    sane (beyond them the framework refuses it); the tier's limits are checked, and audited,
    by the route."""

    model_config = ConfigDict(extra="forbid")

    dimensions: list[_Name] = Field(
        max_length=16, examples=[["regency_code", "case_type"]],
        description="1 to the release's max_dimensions columns, e.g. regency_code, case_type",
    )  # fmt: skip
    filters: dict[_Name, list[_Value]] = Field(
        default_factory=dict,
        max_length=16,
        examples=[{"sex": ["F"], "admission_year": ["2023", "2024"]}],
        description="column -> the values kept (a record is counted if its value is listed)",
    )


class TableCell(BaseModel):
    dimensions: dict[str, str]
    count: int | None = Field(description="null when hidden")
    suppressed: bool
    suppression_reason: str | None = None


class ReleaseTable(BaseModel):
    release_id: str
    tier: str
    dimensions: list[str]
    filters: dict[str, list[str]]
    method: str = Field(description="How shown counts were perturbed")
    threshold: int = Field(description="Counts below it, zero included, are never shown")
    max_abs_noise: int = Field(description="Each shown count is within this of the true count")
    note: str = Field(description="What the cells listed are, and why tables do not add up")
    row_count: int
    suppressed_cells: int
    budget: int = Field(description="Different tables your key may ask of this release")
    budget_used: int = Field(description="Different tables your key has asked of it")
    cells: list[TableCell]


class Health(BaseModel):
    status: str
    backend: str = Field(description="lake (the gold snapshot's files) or warehouse (gold tables)")
    snapshot_id: str | None
    metrics: int = Field(description="Metrics in the catalog")
