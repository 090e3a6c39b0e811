"""Erasure benchmark: one child erased from a lake of N children, against rebuilding the lake.

In one temporary folder, on one set of generated sources:

* lake A is built step by step (``merajut run --step subjects|ingest|load|dbt|release``);
  the child with the most rows (guardians, cases, notes, status history, placements, consents,
  access events) is erased with ``merajut subject erase``; then the next run's steps are timed:
  ``subjects`` (carrying the erasure out in bronze, quarantine, vault and raw), ``load`` (nothing
  new) and ``dbt`` (every run rebuilds the models); ``merajut subject verify`` must say clean;
* the baseline, lake B, is the rebuild an erasure would need without this machinery: a fresh
  lake from the same sources, ``ingest`` then ``load`` (then the same ``dbt``).

The publish step (the gate's protection of every family: 27 minutes cold at 100,000 children,
see "Publish-time protection") is not run: it is the same for any run that publishes, erasure
or not. Every command runs in a child process (chDB: one data path per process).

    .venv/bin/python -m bench.erasure [--children 100000] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import MERAJUT, isolated_env, timed
from bench.report import machine, write_section

STEP_LINE = re.compile(r"✓ (.+?) \((\d+(?:\.\d+)?)s\)")
KEY = re.compile(r"dpo_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _step(env: dict[str, str], step: str) -> float:
    """Seconds of the step itself, as `merajut run` reports it (without the ~15 s every
    `merajut run` process spends loading the code location and parsing the dbt project)."""
    _, out = timed([MERAJUT, "run", "--step", step], env)
    found = STEP_LINE.findall(out)
    if len(found) != 1:
        raise RuntimeError(f"expected one step line in:\n{out[-2000:]}")
    return float(found[0][1])


def _most_rows_child(sources: Path) -> tuple[str, int]:
    con = sqlite3.connect(sources / "case_management.db")
    for name in ("child_registry", "placements", "consent", "platform_audit"):
        con.execute(f"attach '{sources / f'{name}.db'}' as {name}")
    row = con.execute(
        """
        select c.child_id,
               (select count(*) from cases k where k.child_id = c.child_id)
             + (select count(*) from case_notes n join cases k on k.case_id = n.case_id
                 where k.child_id = c.child_id)
             + (select count(*) from case_status_history h join cases k on k.case_id = h.case_id
                 where k.child_id = c.child_id)
             + (select count(*) from child_registry.guardians g where g.child_id = c.child_id)
             + (select count(*) from placements.placements p where p.child_id = c.child_id)
             + (select count(*) from consent.consents s where s.child_id = c.child_id)
             + (select count(*) from platform_audit.access_log a where a.child_id = c.child_id)
             + 1 as n
        from (select child_id from cases group by child_id order by count(*) desc limit 50) c
        order by n desc, c.child_id limit 1
        """
    ).fetchone()
    con.close()
    return str(row[0]), int(row[1])


def bench(children: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"merajut-erasure-{children}-") as d:
        tmp = Path(d)
        env = isolated_env(tmp)
        timed([MERAJUT, "generate", "--children", str(children)], env)
        built = {
            s: round(_step(env, s), 1) for s in ("subjects", "ingest", "load", "dbt", "release")
        }
        child, rows = _most_rows_child(tmp / "home" / "sources")
        _, out = timed([MERAJUT, "subject", "key", "create", "--name", "bench DPO"], env)
        match = KEY.search(out)
        assert match is not None, out
        dpo = {**env, "MERAJUT_DPO_KEY": match.group(0)}
        erase_s, _ = timed([MERAJUT, "subject", "erase", child, "--reason", "bench"], dpo)
        apply_s = _step(env, "subjects")
        carried = json.loads((tmp / "lake" / "_state" / "subject_requests.json").read_text())
        load_after_s = _step(env, "load")
        dbt_after_s = _step(env, "dbt")
        verify_s, verify_out = timed([MERAJUT, "subject", "verify", child], dpo)
        assert "clean" in verify_out, verify_out
        # Baseline: a fresh lake rebuilt from the same sources.
        rebuild_env = {
            **env,
            "MERAJUT_LAKE_ROOT": str(tmp / "lake-rebuilt"),
            "DAGSTER_HOME": str(tmp / "dagster-rebuilt"),
        }
        rebuild = {
            s: round(_step(rebuild_env, s), 1) for s in ("subjects", "ingest", "load", "dbt")
        }
    erasure_s = erase_s + apply_s + load_after_s
    rebuild_s = rebuild["subjects"] + rebuild["ingest"] + rebuild["load"]
    return {
        "children": children,
        "subject_rows": rows,
        "built_s": built,
        "erase_command_s": round(erase_s, 1),
        "carry_out_s": round(apply_s, 1),
        "load_after_s": round(load_after_s, 1),
        "dbt_after_s": round(dbt_after_s, 1),
        "verify_s": round(verify_s, 1),
        "erasure_s": round(erasure_s, 1),
        "rebuild_s": round(rebuild_s, 1),
        "rebuild_steps_s": rebuild,
        "erasure_vs_rebuild": round(erasure_s / rebuild_s, 3),
        "rows_removed": sum(carried.get("erased_rows", {}).values()),
        "files_rewritten": carried.get("files_rewritten"),
        "raw_rows_removed": sum(carried.get("raw_rows_removed", {}).values()),
    }


def render(r: dict[str, object]) -> str:
    rebuild = r["rebuild_steps_s"]
    assert isinstance(rebuild, dict)
    return "\n".join(
        [
            f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
            f"Command: `.venv/bin/python -m bench.erasure --children {r['children']}`.",
            "",
            f"One child erased from a lake of {r['children']:,} children: the child with the most "
            f"rows in the sources ({r['subject_rows']} rows: registry row, guardians, cases, notes, "
            "status history, placements, consents, access events). Erasure = `merajut subject "
            "erase` (tombstone, crypto-shred) + the next run's `subjects` step (bronze, quarantine, "
            "held files, vault, raw tables) + its `load` step. Baseline, same run, same sources: "
            "rebuilding a fresh lake (`ingest` + `load`). Both are followed by the same `dbt` "
            "build, and by the same publish (not run here). Step times are the steps' own, as "
            "`merajut run` reports them (each `merajut run` process also spends ~15 s loading the "
            "code location, the same for every step); the two commands are wall times.",
            "",
            "| | seconds |",
            "|---|---:|",
            f"| `subject erase` (tombstone, crypto-shred) | {r['erase_command_s']} |",
            f"| next run: `subjects` (carry out) | {r['carry_out_s']} |",
            f"| next run: `load` (nothing new) | {r['load_after_s']} |",
            f"| **erasure** | **{r['erasure_s']}** |",
            f"| rebuild: `ingest` | {rebuild['ingest']} |",
            f"| rebuild: `load` | {rebuild['load']} |",
            f"| **rebuild** | **{r['rebuild_s']}** |",
            f"| erasure / rebuild | {r['erasure_vs_rebuild']} |",
            f"| `dbt` after the erasure / in the rebuild (every run) | {r['dbt_after_s']} / {rebuild['dbt']} |",
            f"| `subject verify` (every zone searched) | {r['verify_s']} |",
            "",
            f"Carried out: {r['rows_removed']} rows removed from the lake, {r['files_rewritten']} "
            f"files rewritten, {r['raw_rows_removed']} rows removed from the raw tables.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    result = bench(args.children)
    print(json.dumps(result), flush=True)
    text = render(result)
    print(text)
    if args.write_docs:
        write_section(
            "Erasure of one subject (`.venv/bin/python -m bench.erasure --write-docs`)", text
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
