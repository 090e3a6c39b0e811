"""Response models: what the OpenAPI document promises and the routes return."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ErrorMessage",
    "Health",
    "MetricCatalog",
    "MetricInfo",
    "MetricResult",
    "MetricRow",
    "QueryFilters",
    "ReleaseDetail",
    "ReleaseList",
    "ReleaseSummary",
]


class ErrorMessage(BaseModel):
    detail: str = Field(description="What went wrong and, where possible, how to fix it")


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


class MetricCatalog(BaseModel):
    role: str
    province_scope: str | None
    snapshot_id: str | None
    metrics: list[MetricInfo]


class QueryFilters(BaseModel):
    date_from: date | None = Field(default=None, serialization_alias="from")
    date_to: date | None = Field(default=None, serialization_alias="to")
    province: str | None = None


class MetricRow(BaseModel):
    dimensions: dict[str, str | None]
    value: int | float | None = Field(description="null when suppressed")
    numerator: int | None = Field(default=None, description="ratio metrics only")
    denominator: int | None = Field(default=None, description="ratio metrics only")
    suppressed: bool
    suppression_reason: str | None = None


class MetricResult(BaseModel):
    metric: str
    description: str
    unit: str
    kind: str
    snapshot_id: str = Field(description="The gold snapshot the numbers come from")
    role: str
    threshold: int = Field(description="Counts 1..threshold-1 are never shown to this role")
    dimensions: list[str]
    grain: str | None
    filters: QueryFilters
    row_count: int
    suppressed_cells: int
    suppression_note: str
    rows: list[MetricRow]


class ReleaseSummary(BaseModel):
    release_id: str
    created_at: str | None = None
    purpose: str | None = None
    rows: int | None = None
    checks_passed: list[str] = []
    all_checks_passed: bool


class ReleaseList(BaseModel):
    releases: list[ReleaseSummary]


class ReleaseDetail(ReleaseSummary):
    files: list[str] = []
    data_dictionary: dict[str, Any]
    privacy_report: dict[str, Any]
    download_formats: list[str]


class Health(BaseModel):
    status: str
    backend: str = Field(description="lake (the gold snapshot's files) or warehouse (gold tables)")
    snapshot_id: str | None
    metrics: int = Field(description="Metrics in the catalog")
