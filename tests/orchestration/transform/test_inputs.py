"""What a dbt build reads and leaves, as digests: a build is skipped only when both are what
the last successful build of the whole project saw."""

from __future__ import annotations

from typing import Any

from orchestration.transform.inputs import (
    DbtInputs,
    dbt_inputs,
    models_state,
    project_digest,
    reuse_reason,
    sources_digest,
)

INPUTS = DbtInputs(sources="s", project="p", variables="v")
BUILD = {
    "finished": True,
    "invocation_id": "inv-1",
    "generated_at": "2026-11-01T00:00:00Z",
    "tests_run": 40,
    "tests_failed": [],
    "models_failed": [],
    "inputs": INPUTS.to_dict(),
    "models_state": "m",
}


def _raw(client: Any, database: str) -> str:
    client.command(
        f"create table {database}.t (k String, v Nullable(String), _batch_id String, "
        "_loaded_at DateTime64(3) default now64(3)) engine = ReplacingMergeTree(_loaded_at) "
        "order by k"
    )
    client.command(f"insert into {database}.t (k, v, _batch_id) values ('a', null, 'b1'), "
                   "('b', 'x', 'b1')")  # fmt: skip
    return f"{database}.t"


def test_the_sources_digest_is_the_content_staging_reads(
    chdb_client: Any, chdb_database: str
) -> None:
    table = _raw(chdb_client, chdb_database)
    digest = sources_digest(chdb_client, [table])
    # The same batch loaded again after a killed load: newer insert times, the same rows.
    chdb_client.command(f"insert into {table} (k, v, _batch_id) values ('a', null, 'b1')")
    assert sources_digest(chdb_client, [table]) == digest
    # A changed row (a re-extracted source row replaces its older version) is another content.
    chdb_client.command(f"insert into {table} (k, v, _batch_id) values ('a', 'y', 'b2')")
    changed = sources_digest(chdb_client, [table])
    assert changed != digest
    # A missing source table is recorded as missing: a digest, never an error.
    assert sources_digest(chdb_client, [table, f"{chdb_database}.gone"]) not in (changed, digest)


def test_the_models_state_sees_a_mutation_and_a_missing_model_not_a_merge(
    chdb_client: Any, chdb_database: str
) -> None:
    db = chdb_database
    chdb_client.command(f"create table {db}.m engine = MergeTree order by k as "
                        "select toString(number) as k, number as n from numbers(10)")  # fmt: skip
    chdb_client.command(f"create view {db}.v as select * from {db}.m")
    relations = [f"{db}.m", f"{db}.v"]
    state = models_state(chdb_client, relations)
    assert state is not None and models_state(chdb_client, relations) == state
    chdb_client.command(
        f"alter table {db}.m update n = 99 where k = '1' settings mutations_sync = 2"
    )
    mutated = models_state(chdb_client, relations)
    assert mutated not in (None, state)
    # Background merges rewrite parts, not rows: the same state.
    chdb_client.command(f"insert into {db}.m values ('x', 1)")
    inserted = models_state(chdb_client, relations)
    chdb_client.command(f"optimize table {db}.m final")
    assert models_state(chdb_client, relations) == inserted != mutated
    chdb_client.command(f"drop table {db}.m sync")
    assert models_state(chdb_client, relations) is None
    # Rebuilt with what the build made: the same state (dbt would make the same).
    chdb_client.command(f"create table {db}.m engine = MergeTree order by k as "
                        "select toString(number) as k, number as n from numbers(10)")  # fmt: skip
    assert models_state(chdb_client, relations) == state
    chdb_client.command(f"create or replace view {db}.v as select k from {db}.m")
    assert models_state(chdb_client, relations) not in (None, state)


def test_a_build_is_reused_only_when_everything_it_read_and_left_is_the_same() -> None:
    reason = reuse_reason(BUILD, INPUTS, "m")
    assert reason is not None and "inv-1" in reason and "not rebuilt" in reason
    assert reuse_reason(None, INPUTS, "m") is None  # no build yet
    assert reuse_reason({"finished": False}, INPUTS, "m") is None  # killed mid-build
    assert reuse_reason({**BUILD, "tests_failed": ["test.x"]}, INPUTS, "m") is None
    assert reuse_reason({**BUILD, "models_failed": ["model.x"]}, INPUTS, "m") is None
    without = {k: v for k, v in BUILD.items() if k != "inputs"}
    assert reuse_reason(without, INPUTS, "m") is None  # a subset build, or before digests
    for changed in ("sources", "project", "variables"):
        other = DbtInputs(**{**INPUTS.to_dict(), changed: "other"})
        assert reuse_reason(BUILD, other, "m") is None, changed
    assert reuse_reason(BUILD, INPUTS, "altered") is None  # a model changed by hand
    assert reuse_reason(BUILD, INPUTS, None) is None  # a model missing


def test_the_inputs_name_the_project_the_vars_and_dbt() -> None:
    inputs = dbt_inputs("s", {"as_of": "2026-11-01"})
    assert inputs.project == project_digest()
    assert dbt_inputs("s", {"as_of": "2026-11-01"}) == inputs
    assert dbt_inputs("s", {"as_of": "2026-11-02"}).variables != inputs.variables
    assert dbt_inputs("t", {"as_of": "2026-11-01"}).sources != inputs.sources
