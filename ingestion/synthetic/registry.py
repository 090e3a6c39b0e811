"""The pluggable list of source generators.

A new source (education, health, volunteers, donations, surveys, payments, CRM, BPS
population, ...) is one module with one ``ServiceGenerator`` (a database) or ``DropGenerator``
(an external file) registered here; ``generate_sources`` needs no change. Generators run in
registration order, and ``requires`` makes a missing upstream service fail at registration
rather than as an empty join at generation time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from ingestion.synthetic.context import GenerationContext


class ServiceGenerator(ABC):
    """One operational service: its tables (one database) and how to fill them."""

    #: Service name; also the key of its URL in ``source_urls``.
    name: ClassVar[str]
    #: Services whose entities this one reads from the context (must be registered earlier).
    requires: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
        """Declare the service's tables on ``metadata`` (portable types, no PK/FK constraints)."""

    @abstractmethod
    def generate(self, ctx: GenerationContext) -> None:
        """Write legitimate rows, then planted defects, to ``ctx.out``; record shared entities."""

    def handoff(self, ctx: GenerationContext) -> Any:
        """What :meth:`generate` added to the context's records for later services, picklable.

        Run in a worker process (``generate_sources(workers=...)``), a service changes only
        that process's context; this is what goes back to the parent, which passes it to
        :meth:`receive`. Key spaces the service opened and ``ctx.shared`` entries it set go
        back by themselves. The default, ``None``, suits a service nobody else reads from.
        """
        return None

    def receive(self, ctx: GenerationContext, handoff: Any) -> None:
        """Apply what :meth:`handoff` returned in a worker to this process's ``ctx``."""
        return None


@dataclass(frozen=True)
class DropOutput:
    path: Path  # the written file
    rows: int  # data rows written, defective and duplicate rows included


class DropGenerator(ABC):
    """One external file drop (e.g. the Dukcapil verification CSV)."""

    #: Table name used in the manifest for this drop's rows and defects.
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def write(self, ctx: GenerationContext, drops_dir: Path) -> DropOutput:
        """Write the drop under ``drops_dir`` and record its planted defects in ``ctx``."""


class ServiceRegistry:
    def __init__(self) -> None:
        self._services: list[ServiceGenerator] = []
        self._drops: list[DropGenerator] = []

    def register(self, generator: ServiceGenerator | DropGenerator) -> None:
        known = {s.name for s in self._services}
        if generator.name in known or generator.name in {d.name for d in self._drops}:
            raise ValueError(f"generator {generator.name!r} is already registered")
        missing = [r for r in generator.requires if r not in known]
        if missing:
            raise ValueError(f"{generator.name!r} requires {missing}, register those first")
        if isinstance(generator, ServiceGenerator):
            self._services.append(generator)
        else:
            self._drops.append(generator)

    @property
    def services(self) -> tuple[ServiceGenerator, ...]:
        return tuple(self._services)

    @property
    def drops(self) -> tuple[DropGenerator, ...]:
        return tuple(self._drops)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._services)


def default_registry() -> ServiceRegistry:
    """The MerajutASA sources: six operational services and the Dukcapil drop."""
    from ingestion.synthetic.services.case_management import CaseManagementService
    from ingestion.synthetic.services.child_registry import ChildRegistryService
    from ingestion.synthetic.services.consent import ConsentService
    from ingestion.synthetic.services.gov_registry import GovRegistryDrop
    from ingestion.synthetic.services.institutions import InstitutionsService
    from ingestion.synthetic.services.placements import PlacementsService
    from ingestion.synthetic.services.platform_audit import PlatformAuditService

    registry = ServiceRegistry()
    for generator in (
        InstitutionsService(),
        ChildRegistryService(),
        CaseManagementService(),
        PlacementsService(),
        ConsentService(),
        PlatformAuditService(),
        GovRegistryDrop(),
    ):
        registry.register(generator)
    return registry
