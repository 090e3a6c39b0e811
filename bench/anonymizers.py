"""Our k-anonymity engines against anjana, anonypy and anonypyx on one synthetic data set.

One seeded data set of N records (1,000,000 by default) with six quasi-identifiers (the
research release's five, ``age_years`` 0-17, ``sex``, ``regency_code`` with the population
skew of the regions list, ``disability``, ``admission_year``, plus ``institution_type``) and
the sensitive ``case_type`` is written once to Parquet; every tool reads that file. Each tool
runs in a fresh interpreter of its own (:mod:`bench.anonymizer_tools`): ours from the project's
``.venv``, the others from the bench-only ``.bench-venv`` (``make bench-anonymizers`` builds it
from ``bench/anonymizers-requirements.txt``). The parent measures each process's wall time
and peak resident memory (``os.wait4``), stops a tool at ``--timeout`` seconds ("did not
finish"), and evaluates every released table with the same code (:mod:`anonymization.utility`
and plain groupbys): k and distinct l achieved, suppressed rows, discernibility, normalised
average class size, non-uniform entropy, Iyengar's LM, and a naive Bayes model's accuracy.
Ratios are against our local recoding in the same run.

Same criteria where a tool supports them: k=5, distinct l=2 on ``case_type``, at most 5 %
suppressed. anjana: k-anonymity then l-diversity with our hierarchies (its dict format),
suppression within the limit. anonypy, anonypyx: Mondrian with k and distinct l (no
hierarchies: numbers become ranges, categories sets; nothing suppressed).

    .venv/bin/python -m bench.anonymizers [--records 1000000] [--timeout 1200] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anonymization.hierarchies import SUPPRESSED, Hierarchy
from anonymization.utility import evaluate_release
from bench.anonymizer_tools import RECORD_ID, bench_hierarchies
from bench.common import REPO, regency_weights
from bench.report import machine, write_section
from ingestion.synthetic.services.case_management import CASE_TYPES
from ingestion.synthetic.services.child_registry import DISABILITIES
from ingestion.synthetic.services.institutions import INSTITUTION_TYPES

QUASI_IDENTIFIERS = (
    "age_years",
    "sex",
    "regency_code",
    "disability",
    "admission_year",
    "institution_type",
)
NUMERIC = ("age_years", "admission_year")
SENSITIVE = "case_type"
K, L, MAX_SUPPRESSION = 5, 2, 0.05
BASELINE = "ours_local_recoding"
GOAL_RECORDS, GOAL_SECONDS = 1_000_000, 30
BENCH_VENV = REPO / ".bench-venv"
TITLE = "Anonymisation engines against anjana, anonypy, anonypyx (`.venv/bin/python -m bench.anonymizers --write-docs`)"


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    venv: str  # "project" or "bench"
    enforced: str
    package: str | None = None


TOOLS = (
    Tool(
        "ours_local_recoding",
        "ours, local recoding",
        "project",
        "k=5, distinct l=2 on every released cell; cuts along our hierarchies; no suppression",
    ),
    Tool(
        "ours_full_domain",
        "ours, full-domain",
        "project",
        "k=5, distinct l=2, ≤5 % suppressed; one hierarchy level per quasi-identifier (the "
        "exact optimum of LM)",
    ),
    Tool(
        "ours_microaggregation",
        "ours, microaggregation",
        "project",
        "k=5, distinct l=2, ≤5 % suppressed; categorical quasi-identifiers full-domain (the level "
        "of least total LM), ages and admission years as MDAV cluster ranges within each class",
    ),
    Tool(
        "anjana",
        "anjana `l_diversity`",
        "bench",
        "k=5 then distinct l=2, ≤5 % suppressed (in percent: 5), our hierarchies; greedy: "
        "one level up for the quasi-identifier with the most distinct values until k holds",
        "anjana",
    ),
    Tool(
        "anonypy",
        "anonypy Mondrian",
        "bench",
        "k=5, distinct l=2 per partition; Mondrian (median splits, categories halved); no "
        "hierarchies, no suppression",
        "anonypy",
    ),
    Tool(
        "anonypyx",
        "anonypyx `Anonymiser` (Mondrian)",
        "bench",
        "k=5, distinct l=2 (`diversity_definition='distinct'`); Mondrian as anonypy; no "
        "hierarchies, no suppression",
        "anonypyx",
    ),
)


# --- data ---------------------------------------------------------------------------------------


def make_data(records: int, seed: int) -> pd.DataFrame:
    """The synthetic data set: regencies by province population (regions list) and, within a
    province, by 1/rank (its first regency the largest); age, sex, institution type and
    disability with the synthetic platform's weights; admission no earlier than birth (at most
    12 years before 2025); the case type depending on age band, sex and institution type."""
    rng = np.random.default_rng(seed)
    n = records
    codes, weights = regency_weights()
    p = np.asarray(weights) / sum(weights)
    regency = np.asarray(codes, dtype=object)[rng.choice(len(codes), n, p=p)]
    age_w = np.linspace(0.6, 1.4, 18)
    age = rng.choice(18, n, p=age_w / age_w.sum()).astype(np.int64)
    sex = np.where(rng.random(n) < 0.48, "F", "M").astype(object)
    inst_w = np.asarray([50, 10, 10, 30], dtype=float)  # as ingestion.synthetic's institutions
    institution = np.asarray(INSTITUTION_TYPES, dtype=object)[
        rng.choice(len(INSTITUTION_TYPES), n, p=inst_w / inst_w.sum())
    ]
    dis_common = np.asarray([88, 3, 3, 2, 2, 2], dtype=float)  # as the child registry's
    dis_lksa_d = np.asarray([15, 25, 25, 15, 8, 12], dtype=float)
    special = institution == "lksa_disabilitas"
    disability = np.where(
        special,
        np.asarray(DISABILITIES, dtype=object)[
            rng.choice(len(DISABILITIES), n, p=dis_lksa_d / dis_lksa_d.sum())
        ],
        np.asarray(DISABILITIES, dtype=object)[
            rng.choice(len(DISABILITIES), n, p=dis_common / dis_common.sum())
        ],
    )
    admission_year = 2025 - rng.integers(0, np.minimum(age, 12) + 1)
    case_type = np.empty(n, dtype=object)
    band = np.digitize(age, [6, 12])  # 0: 0-5, 1: 6-11, 2: 12-17
    base = np.asarray([25, 18, 10, 7, 6, 2, 10, 22], dtype=float)  # as case management's
    idx = {c: i for i, c in enumerate(CASE_TYPES)}
    for b in range(3):
        for s in ("F", "M"):
            for inst in INSTITUTION_TYPES:
                rows = np.flatnonzero((band == b) & (sex == s) & (institution == inst))
                if not len(rows):
                    continue
                w = base.copy()
                if b == 0:
                    w[idx["abandonment"]] *= 2.5
                    w[idx["neglect"]] *= 1.5
                    w[idx["conflict_with_law"]] = 0.0
                    w[idx["exploitation"]] *= 0.2
                    w[idx["sexual_abuse"]] *= 0.5
                elif b == 1:
                    w[idx["conflict_with_law"]] *= 0.3
                else:
                    w[idx["conflict_with_law"]] *= 2.5
                    w[idx["exploitation"]] *= 2.0
                    w[idx["sexual_abuse"]] *= 1.5
                    w[idx["abandonment"]] *= 0.4
                if s == "F":
                    w[idx["sexual_abuse"]] *= 2.0
                    w[idx["trafficking"]] *= 1.5
                else:
                    w[idx["conflict_with_law"]] *= 1.8
                if inst == "rumah_perlindungan":
                    w[idx["trafficking"]] *= 4.0
                    w[idx["sexual_abuse"]] *= 2.0
                    w[idx["physical_abuse"]] *= 2.0
                case_type[rows] = np.asarray(CASE_TYPES, dtype=object)[
                    rng.choice(len(CASE_TYPES), len(rows), p=w / w.sum())
                ]
    return pd.DataFrame(
        {
            RECORD_ID: np.arange(n, dtype=np.int64),
            "age_years": age,
            "sex": sex,
            "regency_code": regency,
            "disability": disability,
            "admission_year": admission_year.astype(np.int64),
            "institution_type": institution,
            SENSITIVE: case_type,
        }
    )


def hierarchies() -> dict[str, Hierarchy]:
    """The six hierarchies every tool that takes hierarchies gets; the release's five must
    generalise as ``orchestration.release.build.hierarchies()`` does."""
    from orchestration.release.build import QUASI_IDENTIFIERS as RELEASE_QIS
    from orchestration.release.build import hierarchies as release_hierarchies

    ours, release = bench_hierarchies(), release_hierarchies()
    sample = make_data(2000, seed=1)
    for q in RELEASE_QIS:
        for level in range(release[q].height):
            same = (
                ours[q].generalize(sample[q], level).equals(release[q].generalize(sample[q], level))
            )
            if ours[q].height != release[q].height or not same:
                raise RuntimeError(f"bench hierarchy for {q} differs from the release's")
    return ours


def anjana_hierarchies(data: pd.DataFrame, hs: dict[str, Hierarchy]) -> dict[str, list[list[str]]]:
    """Our hierarchies in anjana's format: per quasi-identifier one list per level, one entry
    per distinct original value (level 0 its text)."""
    out: dict[str, list[list[str]]] = {}
    for q, h in hs.items():
        values = pd.Series(pd.unique(data[q]))
        out[q] = [h.generalize(values, level).tolist() for level in range(h.height)]
    return out


# --- one tool in its own process ------------------------------------------------------------------


@dataclass
class Run:
    tool: Tool
    status: str  # "ok", "timeout", "failed"
    wall_s: float
    peak_rss_mib: float
    tool_s: float | None = None
    note: str = ""
    released: Path | None = None


def _python(tool: Tool, bench_python: Path) -> str:
    return sys.executable if tool.venv == "project" else str(bench_python)


def run_tool(tool: Tool, python: str, data: Path, spec: Path, work: Path, timeout: float) -> Run:
    out, result, log = (work / f"{tool.name}.{ext}" for ext in ("parquet", "json", "log"))
    cmd = [python, "-m", "bench.anonymizer_tools", tool.name]
    cmd += ["--data", str(data), "--spec", str(spec), "--out", str(out), "--result", str(result)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this tool's processes
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / 1024  # KiB on Linux
    if timed_out:
        return Run(tool, "timeout", wall, rss, note=f"did not finish in {timeout:.0f} s")
    if proc.returncode != 0 or not out.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        return Run(tool, "failed", wall, rss, note=" / ".join(tail)[-400:])
    said = json.loads(result.read_text(encoding="utf-8"))
    return Run(tool, "ok", wall, rss, said["seconds"], said["note"], out)


def tool_versions(python: str, packages: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    )
    proc = subprocess.run(
        [python, "-c", code, *packages], capture_output=True, text=True, check=True, cwd=REPO
    )
    return dict(json.loads(proc.stdout))


# --- evaluation: the same code for every output -----------------------------------------------------


def evaluate(
    original: pd.DataFrame, released_path: Path, hs: dict[str, Hierarchy], seed: int
) -> dict[str, Any]:
    """Every measure from the original and the released file alone. A record is suppressed
    when the release lacks it or shows every quasi-identifier as "*"."""
    released = pd.read_parquet(released_path).set_index(RECORD_ID)
    qis = list(QUASI_IDENTIFIERS)
    report = evaluate_release(
        original,
        released,
        qis,
        SENSITIVE,
        k=K,
        all_star_is_suppressed=True,
        hierarchies=hs,
        seed=seed,
    )
    shown = released[qis].astype(str)
    kept = released[~(shown == SUPPRESSED).all(axis=1)]
    classes = kept.groupby(qis, dropna=False)[SENSITIVE]
    altered = int((kept[SENSITIVE].astype(str) != original.loc[kept.index, SENSITIVE]).sum())
    distinct = {q: int(shown.loc[kept.index, q].nunique()) for q in qis}
    # Geography a researcher can still aggregate: records whose released region lies in one
    # province (a regency, a province code, a set of regencies of one province; not an island
    # group or "*", whatever provinces the records under them happen to come from).
    region = shown.loc[kept.index, "regency_code"]
    provinces = original.loc[kept.index, "regency_code"].str[:2]
    regions = hs["regency_code"]
    coarse = {
        str(v)
        for level in range(2, regions.height)
        for v in regions.generalize(original["regency_code"], level).unique()
    }
    one_province = (provinces.groupby(region).transform("nunique") == 1) & ~region.isin(coarse)
    province_known = int(one_province.sum())
    model = report.model
    assert model is not None
    return {
        "k": int(classes.size().min()) if len(kept) else 0,
        "l": int(classes.nunique().min()) if len(kept) else 0,
        "suppressed": report.suppressed_rows,
        "suppressed_share": report.suppressed_rows / report.rows,
        "classes": report.equivalence_classes,
        "discernibility": report.discernibility,
        "aecs": report.average_class_size,
        "nue_bits": report.non_uniform_entropy.total,
        "nue": report.non_uniform_entropy.normalised,
        "nue_per_attribute": report.non_uniform_entropy.normalised_per_attribute,
        "lm": report.loss_metric.total,
        "lm_per_attribute": report.loss_metric.per_attribute,
        "accuracy": model.released,
        "accuracy_original": model.original,
        "accuracy_majority": model.majority,
        "sensitive_altered": altered,
        "province_known_share": province_known / report.rows,
        "distinct_released_values": distinct,
        "distributions": report.distributions,
    }


def bench(records: int, seed: int, timeout: float, tools: list[str], bench_python: Path) -> dict:
    hs = hierarchies()
    chosen = [t for t in TOOLS if t.name in tools]
    if any(t.venv == "bench" for t in chosen) and not bench_python.exists():
        raise SystemExit(
            f"{bench_python} not found: `make bench-anonymizers` builds .bench-venv "
            "(or pass --tools with ours only, or --bench-python)"
        )
    with tempfile.TemporaryDirectory(prefix=f"merajut-anonymizers-{records}-") as d:
        work = Path(d)
        started = time.perf_counter()
        data = make_data(records, seed)
        data_path = work / "data.parquet"
        data.to_parquet(data_path, index=False)
        generate_s = time.perf_counter() - started
        spec_path = work / "spec.json"
        spec = {
            "quasi_identifiers": list(QUASI_IDENTIFIERS),
            "numeric": list(NUMERIC),
            "sensitive": SENSITIVE,
            "k": K,
            "l": L,
            "max_suppression": MAX_SUPPRESSION,
            "anjana_hierarchies": anjana_hierarchies(data, hs),
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        original = data.set_index(RECORD_ID)
        versions = {"project pandas": pd.__version__, "project numpy": np.__version__}
        packages = [t.package for t in chosen if t.package]
        if packages:
            versions.update(tool_versions(str(bench_python), [*packages, "pandas", "numpy"]))
        results: list[dict[str, Any]] = []
        for tool in chosen:
            run = run_tool(tool, _python(tool, bench_python), data_path, spec_path, work, timeout)
            print(f"{tool.name}: {run.status} in {run.wall_s:.1f} s {run.note}", flush=True)
            row: dict[str, Any] = {
                "tool": tool.name,
                "label": tool.label,
                "enforced": tool.enforced,
                "status": run.status,
                "note": run.note,
                "wall_s": run.wall_s,
                "tool_s": run.tool_s,
                "peak_rss_mib": run.peak_rss_mib,
            }
            if run.released is not None:
                row.update(evaluate(original, run.released, hs, seed))
            results.append(row)
    return {
        "records": records,
        "seed": seed,
        "timeout_s": timeout,
        "generate_s": generate_s,
        "versions": versions,
        "results": results,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
    }


# --- report --------------------------------------------------------------------------------------


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or not base:
        return "–"
    return f"{value / base:.2f}×"


def _command(r: dict[str, Any]) -> str:
    extra = "" if r["timeout_s"] == 1200 else f" --timeout {r['timeout_s']:.0f}"
    return f".venv/bin/python -m bench.anonymizers --records {r['records']}{extra} --write-docs"


def _goal(r: dict[str, Any], base: dict[str, Any], ok: list[dict[str, Any]]) -> str:
    """The issue's goal: local recoding in at most 30 s at 1,000,000 records, with lower loss
    than anonypy (said to take ~700 s there)."""
    at_size = r["records"] == GOAL_RECORDS
    seconds = base["tool_s"]
    time_part = (
        f"{seconds:.1f} s ({'met' if seconds <= GOAL_SECONDS else 'not met'})"
        if at_size
        else f"{seconds:.1f} s at {r['records']:,} records (the goal is for {GOAL_RECORDS:,})"
    )
    others = [x for x in ok if x["tool"] in ("anonypy", "anonypyx")]
    if others:
        loss_part = "; ".join(
            f"NUE {base['nue']:.3f} against {x['label']}'s {x['nue']:.3f}, LM {base['lm']:.3f} "
            f"against {x['lm']:.3f} ({'lower' if base['nue'] < x['nue'] and base['lm'] < x['lm'] else 'not lower'})"
            for x in others
        )
    else:
        loss_part = "anonypy and anonypyx did not finish, so no loss to compare"
    return (
        f"Goal (local recoding ≤ {GOAL_SECONDS} s at {GOAL_RECORDS:,} records, with lower loss "
        f"than anonypy): time {time_part}; loss: {loss_part}."
    )


def render(r: dict[str, Any]) -> str:
    rows = r["results"]
    ok = [x for x in rows if x["status"] == "ok"]
    base = next((x for x in ok if x["tool"] == BASELINE), None)
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    lines = [
        f"Machine: {r['machine']}. Date: {r['date']}. Command: `{_command(r)}` (`make "
        f"bench-anonymizers` builds the tools' venv, then runs it). Versions: {versions}.",
        "",
        f"One synthetic data set of {r['records']:,} records (seed {r['seed']}), written once to "
        "Parquet and read by every tool: six quasi-identifiers (`age_years` 0-17, `sex`, "
        "`regency_code` skewed by province population, `disability`, `admission_year`, "
        "`institution_type`), sensitive `case_type` (8 values). Criteria: k=5, distinct l=2, "
        "≤5 % suppressed, where the tool supports them (what each enforced is below). Each tool "
        "ran alone in a fresh interpreter; *anonymise s* is the tool's own call, timed inside "
        "that process; *process s* and *peak RSS* are the whole process (start, reading the "
        "Parquet file, writing the output), by `os.wait4`. Every output was then evaluated by "
        "the same code (`anonymization.utility`, plain groupbys); a record is suppressed when "
        "the output lacks it or shows every quasi-identifier as `*`. NUE: non-uniform entropy "
        "normalised by suppressing everything (0 = nothing lost, 1 = all lost); LM: Iyengar's "
        "loss metric (suppressed records cost 1); a released value covers what our hierarchy "
        "maps to it, or (a tool's own range or set) the original values released with it. "
        "Both score a set of regencies by its size alone, wherever they lie; *region within a "
        "province* is the share of all records whose released region still names one province "
        "(a regency, a province, a set of one province's regencies). AECS: average class size "
        "/ k; accuracy: a "
        "naive Bayes predicting `case_type` from the quasi-identifiers, 70/30 split of the "
        "release (on the original table: "
        + (f"{ok[0]['accuracy_original']:.3f}" if ok else "–")
        + ", always the most frequent: "
        + (f"{ok[0]['accuracy_majority']:.3f}" if ok else "–")
        + ").",
        "",
        "| tool | anonymise s | process s | peak RSS MiB | k | l | suppressed | classes | "
        "discernibility | AECS | NUE | LM | accuracy | region within a province |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in rows:
        if x["status"] != "ok":
            lines.append(
                f"| {x['label']} | {x['note']} | {x['wall_s']:.1f} | {x['peak_rss_mib']:,.0f} "
                "| – | – | – | – | – | – | – | – | – | – |"
            )
            continue
        lines.append(
            f"| {x['label']} | {x['tool_s']:.1f} | {x['wall_s']:.1f} | {x['peak_rss_mib']:,.0f} "
            f"| {x['k']} | {x['l']} | {x['suppressed']:,} ({x['suppressed_share']:.1%}) "
            f"| {x['classes']:,} | {x['discernibility']:.3g} | {x['aecs']:.2f} | {x['nue']:.3f} "
            f"| {x['lm']:.3f} | {x['accuracy']:.3f} | {x['province_known_share']:.1%} |"
        )
    if base is not None:
        lines += ["", _goal(r, base, ok)]
        lines += [
            "",
            "Against our local recoding in the same run (lower is better for every column):",
            "",
            "| tool | anonymise s | peak RSS | discernibility | NUE | LM |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for x in ok:
            lines.append(
                f"| {x['label']} | {_ratio(x['tool_s'], base['tool_s'])} "
                f"| {_ratio(x['peak_rss_mib'], base['peak_rss_mib'])} "
                f"| {_ratio(x['discernibility'], base['discernibility'])} "
                f"| {_ratio(x['nue'], base['nue'])} | {_ratio(x['lm'], base['lm'])} |"
            )
    if ok:
        header = " | ".join(f"`{q}`" for q in QUASI_IDENTIFIERS)
        lines += [
            "",
            "Per quasi-identifier: normalised non-uniform entropy, and (after /) how many "
            "distinct values the released records show:",
            "",
            f"| tool | {header} |",
            "|---|" + "---:|" * len(QUASI_IDENTIFIERS),
        ]
        for x in ok:
            cells = " | ".join(
                f"{x['nue_per_attribute'][q]:.3f} / {x['distinct_released_values'][q]}"
                for q in QUASI_IDENTIFIERS
            )
            lines.append(f"| {x['label']} | {cells} |")
    lines += ["", "What each tool enforced and how it was called:", ""]
    for x in rows:
        note = f" ({x['note']})" if x["note"] and x["status"] == "ok" else ""
        lines.append(f"- {x['label']}: {x['enforced']}{note}.")
    altered = [x["label"] for x in ok if x["sensitive_altered"]]
    if altered:
        lines += ["", f"Sensitive values changed by: {', '.join(altered)}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per tool")
    parser.add_argument(
        "--tools", default=",".join(t.name for t in TOOLS), help="comma-separated, in order"
    )
    parser.add_argument("--bench-python", type=Path, default=BENCH_VENV / "bin" / "python")
    parser.add_argument("--json", type=Path, help="also write every number (and distributions)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - {t.name for t in TOOLS}
    if unknown:
        parser.error(f"unknown tools: {sorted(unknown)}")
    result = bench(args.records, args.seed, args.timeout, tools, args.bench_python)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    text = render(result)
    print(text)
    if args.write_docs:
        write_section(TITLE, text)


if __name__ == "__main__":
    main()
