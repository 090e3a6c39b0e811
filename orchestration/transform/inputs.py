"""What a dbt build reads and what it leaves, as digests: whether a build now can be skipped.

Every model of this project is a view or a table rebuilt whole (none is incremental), so a
build is a function of what it reads: the dbt sources (the warehouse's raw tables), the seeds,
SQL, macros and adapter in ``dbt_project/``, the vars (the reporting date, where the warehouse
is) and dbt itself. When all of those are what the last successful build of the whole project
read, and every model still holds what that build left (same view definitions, same columns
and rows in every table: nothing dropped or altered since), a build now would make the same
models, and the dbt step skips it. Anything this cannot vouch for means: build. A subset build,
a failed or killed build, a model mutated by hand, a warehouse restored or emptied, a lake
whose last build predates these digests, a new day when the reporting date is not pinned.

The raw tables are read as ``final`` (what staging reads), without ``_loaded_at`` (when a row
was inserted says nothing about its content: a batch loaded again after a killed load is the
same data).
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lakehouse.digests import files_digest, json_digest
from lakehouse.layout import DBT_PROJECT_DIR

__all__ = [
    "DbtInputs",
    "build_relations",
    "dbt_inputs",
    "models_state",
    "reuse_reason",
    "source_relations",
    "sources_digest",
]

#: Columns of a raw table that record when a row was inserted, not what it holds.
INSERT_TIME_COLUMNS = frozenset({"_loaded_at"})


@dataclass(frozen=True)
class DbtInputs:
    """Digests of what a dbt build reads."""

    sources: str
    project: str
    variables: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def version(self) -> str:
        """A short digest of all three: the data version of models built from them."""
        return json_digest(self.to_dict())[:16]


def _manifest(manifest_path: Path) -> dict[str, Any]:
    return dict(json.loads(manifest_path.read_text(encoding="utf-8")))


def source_relations(manifest_path: Path) -> list[str]:
    """``database.table`` of every dbt source: the raw tables a build reads."""
    sources = _manifest(manifest_path)["sources"].values()
    return sorted({f"{s['schema']}.{s['identifier'] or s['name']}" for s in sources})


def build_relations(manifest_path: Path) -> list[str]:
    """``database.name`` of every model and seed: what a build leaves in the warehouse."""
    nodes = _manifest(manifest_path)["nodes"].values()
    built = (n for n in nodes if n["resource_type"] in ("model", "seed"))
    return sorted({f"{n['schema']}.{n.get('alias') or n['name']}" for n in built})


def _split(relation: str) -> tuple[str, str]:
    database, _, table = relation.partition(".")
    return database, table


def sources_digest(client: Any, relations: list[str]) -> str:
    """The content of every source table as staging reads it: rows and an order-independent
    hash of each row (insert times left out). A missing table is recorded as missing."""
    out: dict[str, object] = {}
    for relation in relations:
        database, table = _split(relation)
        columns = [
            str(name)
            for (name,) in client.query(
                "select name from system.columns where database = {d:String} "
                "and table = {t:String} order by position",
                parameters={"d": database, "t": table},
            ).result_rows
            if name not in INSERT_TIME_COLUMNS
        ]
        if not columns:
            out[relation] = None
            continue
        row = ", ".join(f"`{c}`" for c in columns)
        rows, total = client.query(
            f"select count(), sum(cityHash64(tuple({row}))) from `{database}`.`{table}` final"
        ).result_rows[0]
        out[relation] = [columns, int(rows), str(total)]
    return json_digest(out)


def _columns(client: Any, database: str, table: str) -> list[tuple[str, str]]:
    return [
        (str(name), str(kind))
        for name, kind in client.query(
            "select name, type from system.columns where database = {d:String} "
            "and table = {t:String} order by position",
            parameters={"d": database, "t": table},
        ).result_rows
    ]


def models_state(client: Any, relations: list[str]) -> str | None:
    """What a build left: every view's definition, every table's columns and content (rows and
    an order-independent hash of them); None when any model is missing. Content, not parts or
    uuids: background merges rewrite parts without changing a row, a mutation or a table
    rebuilt by hand changes rows."""
    databases = sorted({_split(r)[0] for r in relations})
    tables = client.query(
        "select database, name, engine, as_select from system.tables "
        "where database in {d:Array(String)}",
        parameters={"d": databases},
    ).result_rows
    found = {f"{d}.{n}": (str(e), str(q)) for d, n, e, q in tables}
    state: dict[str, object] = {}
    for relation in relations:
        if relation not in found:
            return None
        engine, query = found[relation]
        database, table = _split(relation)
        columns = _columns(client, database, table)
        if engine == "View":
            state[relation] = [engine, query, columns]
            continue
        row = ", ".join(f"`{name}`" for name, _ in columns)
        rows, total = client.query(
            f"select count(), sum(cityHash64(tuple({row}))) from `{database}`.`{table}`"
        ).result_rows[0]
        state[relation] = [engine, columns, int(rows), str(total)]
    return json_digest(state)


def project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """The dbt project as a build reads it: SQL, YAML, seeds, macros, the adapter plugin."""
    return files_digest([project_dir], project_dir)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def dbt_inputs(
    sources: str, variables: Mapping[str, str], project_dir: Path = DBT_PROJECT_DIR
) -> DbtInputs:
    """The inputs of a build with the model ``variables`` (the reporting date) whose sources
    have the digest ``sources``: dbt, the adapter and the embedded engine are part of them."""
    versions = {name: _version(name) for name in ("dbt-core", "dbt-clickhouse", "chdb-core")}
    return DbtInputs(
        sources=sources,
        project=project_digest(project_dir),
        variables=json_digest({"vars": dict(variables), "versions": versions}),
    )


def reuse_reason(
    last_build: Mapping[str, Any] | None, inputs: DbtInputs, models: str | None
) -> str | None:
    """Why the last build's models can stand for a build now, or None (build).

    They can when that build finished with every test passing, built the whole project from
    exactly these inputs, and left the models as they are now."""
    if not last_build or last_build.get("finished") is not True:
        return None
    if last_build.get("tests_failed") or last_build.get("models_failed"):
        return None
    if models is None or last_build.get("models_state") != models:
        return None
    if last_build.get("inputs") != inputs.to_dict():
        return None
    return (
        f"dbt inputs unchanged since build {last_build.get('invocation_id')} "
        f"({last_build.get('generated_at')}): the same sources, project and vars, and its "
        "models untouched since; not rebuilt"
    )
