"""The operational services of the MerajutASA platform whose databases the lakehouse ingests.

One registry: the settings default each service's source URL from it, the synthetic generator
builds one database per service, and a test checks that the dbt source contracts declare
exactly these services (plus the external file drops).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SERVICES", "SERVICE_NAMES", "Service", "sqlite_source_urls"]


@dataclass(frozen=True)
class Service:
    name: str
    description: str


#: In dependency order: a service's rows reference only services listed before it.
SERVICES: tuple[Service, ...] = (
    Service("institutions", "Care institutions (LKSA), their licences and capacity"),
    Service("child_registry", "Children in care and their guardians"),
    Service("case_management", "Cases, their status history and case workers' notes"),
    Service("placements", "Family-based placements and their outcomes"),
    Service("consent", "Guardians' consent per child and purpose"),
    Service("platform_audit", "Who accessed which child's record on the platform"),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)


def sqlite_source_urls(directory: Path) -> dict[str, str]:
    """One SQLite file per service under ``directory`` (the dev and demo default)."""
    directory = Path(directory).resolve()
    return {name: f"sqlite:///{directory / f'{name}.db'}" for name in SERVICE_NAMES}
