"""Deterministic synthetic source systems of the MerajutASA platform, with planted defects.

``generate_sources(config, source_urls, drops_dir)`` builds one database per operational
service (any SQLAlchemy URL), the Dukcapil verification CSV drop, and a manifest listing
every planted defect, so data-quality and privacy tests have an exact answer key.
"""

from ingestion.synthetic.config import GeneratorConfig
from ingestion.synthetic.context import GenerationContext
from ingestion.synthetic.generate import default_workers, generate_sources
from ingestion.synthetic.manifest import (
    DEFECT_CODES,
    MANIFEST_FILENAME,
    DefectRecord,
    GenerationManifest,
)
from ingestion.synthetic.registry import (
    DropGenerator,
    DropOutput,
    ServiceGenerator,
    ServiceRegistry,
    default_registry,
)

__all__ = [
    "DEFECT_CODES",
    "MANIFEST_FILENAME",
    "DefectRecord",
    "DropGenerator",
    "DropOutput",
    "GenerationContext",
    "GenerationManifest",
    "GeneratorConfig",
    "ServiceGenerator",
    "ServiceRegistry",
    "default_registry",
    "default_workers",
    "generate_sources",
]
