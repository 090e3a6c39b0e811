"""Generate all source databases and drops of one synthetic MerajutASA world."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ingestion.synthetic.config import GeneratorConfig
from ingestion.synthetic.context import GenerationContext
from ingestion.synthetic.manifest import MANIFEST_FILENAME, GenerationManifest
from ingestion.synthetic.registry import ServiceGenerator, ServiceRegistry, default_registry
from ingestion.synthetic.sink import SqlSink


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)

        # Generated data can be regenerated; durability during the bulk load buys nothing.
        @sa.event.listens_for(engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.close()

    return engine


def _generate_service(
    ctx: GenerationContext, service: ServiceGenerator, url: str
) -> dict[str, int]:
    engine = _engine(url)
    try:
        metadata = sa.MetaData()
        tables = service.tables(metadata)
        with engine.begin() as conn:
            # Drop first so that a regeneration never mixes with rows of an earlier run.
            metadata.drop_all(conn)
            # Tables now, indexes after the load: building an index once is much cheaper
            # than maintaining it through hundreds of thousands of inserts.
            for table in tables:
                conn.execute(sa.schema.CreateTable(table))
        with engine.begin() as conn:
            sink = SqlSink(conn, {t.name: t for t in tables})
            ctx.begin_service(service.name, sink)
            service.generate(ctx)
            sink.flush()
            ctx.begin_service(service.name, None)
            for table in tables:
                for index in sorted(table.indexes, key=lambda i: str(i.name)):
                    index.create(conn)
            return sink.counts
    finally:
        engine.dispose()


def generate_sources(
    config: GeneratorConfig,
    source_urls: Mapping[str, str],
    drops_dir: Path,
    *,
    registry: ServiceRegistry | None = None,
) -> GenerationManifest:
    """Create every service's tables at its URL, fill them, write the drops and the manifest.

    Existing tables of the services are dropped and recreated. Drop files with the same name
    are overwritten; other files under ``drops_dir`` are left alone. The manifest is written
    to ``drops_dir / "synthetic_manifest.json"`` and returned.
    """
    registry = registry or default_registry()
    missing = [name for name in registry.service_names if name not in source_urls]
    if missing:
        raise ValueError(
            f"no source URL for service(s) {missing}; expected keys {list(registry.service_names)}"
        )
    drops_dir = Path(drops_dir)
    drops_dir.mkdir(parents=True, exist_ok=True)

    ctx = GenerationContext.create(config)
    row_counts: dict[str, int] = {}
    services: dict[str, list[str]] = {}
    for service in registry.services:
        counts = _generate_service(ctx, service, source_urls[service.name])
        services[service.name] = list(counts)
        row_counts.update(counts)
    drops: dict[str, str] = {}
    for drop in registry.drops:
        output = drop.write(ctx, drops_dir)
        row_counts[drop.name] = output.rows
        drops[drop.name] = output.path.relative_to(drops_dir).as_posix()

    manifest = GenerationManifest(
        config=config,
        row_counts=row_counts,
        defects=list(ctx.defects.planted),
        services=services,
        drops=drops,
        third_party_names=sorted(set(ctx.shared.get("third_party_names", []))),
    )
    manifest.write(drops_dir / MANIFEST_FILENAME)
    return manifest
