"""One anonymisation tool run on the benchmark's data set, in a process of its own.

    <python> -m bench.anonymizer_tools TOOL --data data.parquet --spec spec.json \
        --out released.parquet --result result.json

Started by :mod:`bench.anonymizers`: our engine from the project's ``.venv``, anjana, anonypy and
anonypyx from the bench-only ``.bench-venv`` (they are not project dependencies). So this module
imports nothing at the top but pandas and numpy, and each runner imports its own tool. A runner
reads the Parquet file every tool reads, times the tool's own work, and writes the released
table (``record_id``, the quasi-identifiers as text, the sensitive attribute; suppressed records
left out) and what it enforced; :mod:`bench.anonymizers` evaluates every output with the same
code, so nothing a tool says about its output is trusted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECORD_ID = "record_id"

Runner = Callable[[pd.DataFrame, dict[str, Any]], tuple[pd.DataFrame, float, str]]


def _as_text(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    qis, sensitive = spec["quasi_identifiers"], spec["sensitive"]
    out = frame[[RECORD_ID, *qis, sensitive]].copy()
    for q in qis:
        out[q] = out[q].astype(str)
    return out


# --- ours -------------------------------------------------------------------------------------


def bench_hierarchies() -> dict[str, Any]:
    """The research release's hierarchies (``orchestration.release.build.hierarchies``, built
    here from the same constructors so this process imports only the privacy library; the
    parent checks they generalise alike) and one for ``institution_type``."""
    from anonymization import hierarchies as h

    return {
        "age_years": h.age_hierarchy(),
        "sex": h.sex_hierarchy(),
        "regency_code": h.province_hierarchy(),
        "disability": h.disability_hierarchy(),
        "admission_year": h.year_hierarchy(),
        "institution_type": h.categorical_hierarchy(
            "institution_type",
            {
                "lksa_anak": "lksa",
                "lksa_disabilitas": "lksa",
                "rumah_perlindungan": "other_care",
                "panti_asuhan_keagamaan": "other_care",
            },
            level_names=["institution_type", "lksa_or_other"],
        ),
    }


def _ours(kind: str) -> Runner:
    def run(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, float, str]:
        from anonymization.kanonymity import anonymize
        from anonymization.local_recoding import local_recode
        from anonymization.microaggregation import microaggregate

        all_h = bench_hierarchies()
        qis = {q: all_h[q] for q in spec["quasi_identifiers"]}
        data = frame[[RECORD_ID, *qis, spec["sensitive"]]]
        started = time.perf_counter()
        if kind == "full_domain":
            released, report = anonymize(
                data, qis, spec["sensitive"], spec["k"], spec["l"], spec["max_suppression"]
            )
        elif kind == "microaggregation":
            released, report = microaggregate(
                data, qis, [q for q in ("age_years", "admission_year") if q in qis],
                spec["sensitive"], spec["k"],
                spec["l"], spec["max_suppression"],
            )  # fmt: skip
        else:
            released, report = local_recode(data, qis, spec["sensitive"], spec["k"], spec["l"])
        seconds = time.perf_counter() - started
        note = "levels: " + "; ".join(f"{q} {v}" for q, v in report.generalization.items())
        return _as_text(released, spec), seconds, note

    return run


# --- anjana -----------------------------------------------------------------------------------


def _anjana(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, float, str]:
    """``anjana.anonymity.l_diversity``: k-anonymity first, then distinct l-diversity, over our
    hierarchies in anjana's format (per quasi-identifier ``{level: values}``, one row per
    distinct original value). The data's quasi-identifiers are given as the hierarchies' level-0
    text, the suppression limit in percent."""
    from anjana.anonymity import l_diversity

    qis, sensitive = spec["quasi_identifiers"], spec["sensitive"]
    data = _as_text(frame, spec)
    hierarchies = {
        q: {level: np.asarray(values, dtype=object) for level, values in enumerate(levels)}
        for q, levels in spec["anjana_hierarchies"].items()
    }
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        released = l_diversity(
            data,
            [],
            qis,
            sensitive,
            spec["k"],
            spec["l"],
            spec["max_suppression"] * 100,
            hierarchies,
        )
    seconds = time.perf_counter() - started
    said = " ".join(printed.getvalue().split())
    if released.empty:
        raise RuntimeError(f"anjana released nothing: {said}")
    return _as_text(released, spec), seconds, f"anjana printed: {said}" if said else ""


# --- anonypy / anonypyx (Mondrian) --------------------------------------------------------------


def _mondrian_input(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Numbers stay numbers (split at the median), every other quasi-identifier becomes a pandas
    category (split into two halves of its values): how both tools tell the two apart."""
    data = frame[[RECORD_ID, *spec["quasi_identifiers"], spec["sensitive"]]].copy()
    for q in spec["quasi_identifiers"]:
        if q not in spec["numeric"]:
            data[q] = data[q].astype(str).astype("category")
    data[spec["sensitive"]] = data[spec["sensitive"]].astype("category")
    return data.reset_index(drop=True)


def _label_partitions(
    data: pd.DataFrame, partitions: list[pd.Index], spec: dict[str, Any]
) -> pd.DataFrame:
    """Every record with its partition's values as the tools write them: a number range
    "min-max" (or the one value), a category's set of values joined by "," (sorted, as
    anonypyx's human-readable output does; anonypy joins a Python set, whose order can differ
    between equal sets, so sorting keeps one label per set)."""
    part = np.empty(len(data), dtype=np.int64)
    for i, rows in enumerate(partitions):
        part[data.index.get_indexer(rows)] = i
    out = data[[RECORD_ID, spec["sensitive"]]].copy()
    for q in spec["quasi_identifiers"]:
        grouped = data[q].groupby(part, observed=True)
        if q in spec["numeric"]:
            lo, hi = grouped.min(), grouped.max()
            label = np.where(lo == hi, lo.astype(str), lo.astype(str) + "-" + hi.astype(str))
            out[q] = pd.Series(label, index=lo.index).reindex(part).to_numpy()
        else:
            sets = grouped.unique().map(lambda v: ",".join(sorted(str(x) for x in v)))
            out[q] = sets.reindex(part).to_numpy()
    out[spec["sensitive"]] = out[spec["sensitive"]].astype(str)
    return out


def _anonypy(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, float, str]:
    """anonypy's Mondrian with k and distinct l (``Preserver.anonymize_l_diversity`` partitions
    with ``Mondrian.partition(k, l)`` and then writes one row per partition and sensitive value
    with a count, which cannot be matched to records; so the partitions are taken from
    ``Mondrian.partition`` and each record labelled with its partition's values)."""
    import anonypy

    data = _mondrian_input(frame, spec)
    started = time.perf_counter()
    mondrian = anonypy.Mondrian(data, spec["quasi_identifiers"], spec["sensitive"])
    partitions = mondrian.partition(spec["k"], spec["l"])
    released = _label_partitions(data, partitions, spec)
    seconds = time.perf_counter() - started
    return released, seconds, f"{len(partitions)} partitions"


def _anonypyx(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.DataFrame, float, str]:
    """anonypyx's ``Anonymiser`` (Mondrian, k-anonymity + distinct l-diversity); its
    ``anonymise()`` also writes one row per partition with counts, so the partitions come from
    the anonymiser's own ``algorithm.partition(parameters)`` and each record gets its
    partition's human-readable values."""
    from anonypyx import Anonymiser

    data = _mondrian_input(frame, spec)
    started = time.perf_counter()
    anonymiser = Anonymiser(
        data,
        feature_columns=spec["quasi_identifiers"],
        sensitive_column=spec["sensitive"],
        k=spec["k"],
        l=spec["l"],
        diversity_definition="distinct",
        algorithm="Mondrian",
        generalisation_strategy="human-readable",
    )
    partitions = anonymiser.algorithm.partition(anonymiser.parameters)
    released = _label_partitions(data, partitions, spec)
    seconds = time.perf_counter() - started
    return released, seconds, f"{len(partitions)} partitions"


RUNNERS: dict[str, Runner] = {
    "ours_local_recoding": _ours("local_recoding"),
    "ours_full_domain": _ours("full_domain"),
    "ours_microaggregation": _ours("microaggregation"),
    "anjana": _anjana,
    "anonypy": _anonypy,
    "anonypyx": _anonypyx,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=sorted(RUNNERS))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    frame = pd.read_parquet(args.data)
    released, seconds, note = RUNNERS[args.tool](frame, spec)
    released.to_parquet(args.out, index=False)
    args.result.write_text(json.dumps({"seconds": seconds, "note": note}), encoding="utf-8")


if __name__ == "__main__":
    main()
