"""Independent checks of what is about to be published, re-derived from the output alone.

Each check reads only the table (or text) that would be published, never the SQL or the
algorithm that produced it, so a bug in a dbt macro or in the lattice search cannot approve its
own output. The publish gate and the research release run them; their outcomes go into the
manifests as :class:`lakehouse.checks.CheckOutcome`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from anonymization.hierarchies import SET_SEPARATOR
from anonymization.redaction import scan_for_pii
from anonymization.release_intersection import EarlierRelease
from anonymization.small_cells import singly_hidden_lines
from lakehouse.checks import CheckOutcome

__all__ = [
    "check_intersections",
    "check_k_anonymity",
    "check_l_diversity",
    "check_pii_scan",
    "check_small_cells",
]


def check_small_cells(
    name: str,
    frame: pd.DataFrame,
    *,
    dims: Sequence[str],
    counts: Sequence[str],
    hidden: str,
    threshold: int,
    derived: Mapping[str, tuple[str, str]] | None = None,
) -> CheckOutcome:
    """No published count (or difference of two published counts) in 1..threshold-1, no hidden
    cell that still carries a count, and no margin line along any dimension with exactly one
    hidden cell (recoverable from its total), one-cell lines included."""
    problems: list[str] = []
    published = frame.loc[~frame[hidden].astype(bool)]
    series = {c: published[c].astype("float") for c in counts}
    for label, (minuend, subtrahend) in (derived or {}).items():
        series[label] = published[minuend].astype("float") - published[subtrahend].astype("float")
    for label, values in series.items():
        small = int(((values >= 1) & (values < threshold)).sum())
        if small:
            problems.append(f"{small} published {label} value(s) in 1..{threshold - 1}")
    hidden_rows = frame.loc[frame[hidden].astype(bool)]
    for c in counts:
        if hidden_rows[c].notna().any():
            problems.append(f"hidden cells still carry {c}")
    lines = singly_hidden_lines(frame, frame[hidden].to_numpy(dtype=bool), dims, min_line_size=1)
    for dim in dims:
        along = sum(1 for d, _ in lines if d == dim)
        if along:
            problems.append(f"{along} line(s) along {dim} with exactly one hidden cell")
    detail = "; ".join(problems) or (
        f"{int(frame[hidden].sum())} of {len(frame)} cells hidden; none recoverable, "
        f"no published count below {threshold}"
    )
    return CheckOutcome(f"small_cells:{name}", not problems, detail, {"threshold": threshold})


def _strings(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, str) and value:
            yield value


def _scan_value(text: str) -> list[str]:
    """A value as the redactor's scan reads it; a released set ("Bali-Nusa Tenggara|Jawa|
    Sumatera": any one of these) part by part, each part a value of its own: read whole, three
    island groups' names looked like a person's full name and withheld a public-use file. An
    identifier, or a name in a sentence, inside any part is still found."""
    if SET_SEPARATOR not in text:
        return scan_for_pii(text)
    return [found for part in text.split(SET_SEPARATOR) for found in scan_for_pii(part)]


def _scan_values(values: Iterable[str], where: str, hits: list[str]) -> int:
    """Scan each value as :func:`_scan_value` does, noting a hit as ``where`` (never the value
    itself); returns how many values were scanned."""
    scanned = 0
    for text in values:
        scanned += 1
        found = _scan_value(text)
        if found:
            hits.append(f"{where}: {found[0]}")
    return scanned


def check_pii_scan(
    frames: Mapping[str, pd.DataFrame], extra_texts: Mapping[str, str] | None = None
) -> CheckOutcome:
    """Scan of every published string with the redactor's own recognizers: NIK structure,
    Indonesian phones, e-mails, and person names, addresses and schools in any value that
    is prose (a name that escaped the redaction of a note blocks publication)."""
    hits: list[str] = []
    scanned = 0
    for name, frame in frames.items():
        for column in frame.columns:
            if frame[column].dtype != object and not pd.api.types.is_string_dtype(frame[column]):
                continue
            scanned += _scan_values(_strings(frame[column].unique()), f"{name}.{column}", hits)
    for name, text in (extra_texts or {}).items():
        if name.endswith(".csv"):
            # A CSV file is scanned field by field, each like a table value: read as one
            # text, a label with a space ("Bali-Nusa Tenggara") made the whole file prose,
            # and "Jawa|Sumatera" three fields later read as somebody's name.
            fields = set(_strings(f for row in csv.reader(io.StringIO(text)) for f in row))
            scanned += _scan_values(fields, name, hits)
            continue
        scanned += 1
        # The JSON documents the platform writes (dictionary, privacy report) are in English:
        # scanned only for numbers, e-mails and NIKs.
        found = scan_for_pii(text, prose=not name.endswith(".json"))
        if found:
            hits.append(f"{name}: {found[0]}")
    # Never echo the matched value itself into logs or manifests.
    detail = (
        f"{scanned} distinct strings scanned, no identifier pattern found"
        if not hits
        else f"{len(hits)} identifier-like value(s) in "
        + ", ".join(h.split(":")[0] for h in hits[:10])
    )
    return CheckOutcome("pii_scan", not hits, detail, {"strings_scanned": scanned})


def check_k_anonymity(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int
) -> CheckOutcome:
    if frame.empty:
        return CheckOutcome("k_anonymity", False, "release is empty")
    sizes = frame.groupby(list(quasi_identifiers), dropna=False).size()
    achieved = int(sizes.min())
    return CheckOutcome(
        "k_anonymity",
        achieved >= k,
        f"smallest equivalence class {achieved} (required {k}) over {len(sizes)} classes",
        {"k": achieved, "k_required": k},
    )


def check_l_diversity(
    frame: pd.DataFrame, quasi_identifiers: Sequence[str], sensitive: str, l_required: int
) -> CheckOutcome:
    if frame.empty:
        return CheckOutcome("l_diversity", False, "release is empty")
    distinct = frame.groupby(list(quasi_identifiers), dropna=False)[sensitive].nunique()
    achieved = int(distinct.min())
    return CheckOutcome(
        "l_diversity",
        achieved >= l_required,
        f"fewest distinct {sensitive} values in a class: {achieved} (required {l_required})",
        {"l": achieved, "l_required": l_required},
    )


def _difference_problem(
    mine: pd.DataFrame,
    theirs: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    k: int,
    l_required: int,
) -> str | None:
    """Whether some region of both files holds 1..k-1 children of one file only (or too few
    distinct sensitive values among them); ``mine`` carries the earlier file's token of each
    child as ``record_id``."""
    qis = list(quasi_identifiers)
    parent: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}

    def root(node: tuple[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    new_class = {
        rid: ("new", tuple(map(str, row)))
        for rid, *row in mine[["record_id", *qis]].itertuples(index=False)
    }
    old_class = {
        rid: ("old", tuple(map(str, row)))
        for rid, *row in theirs[["record_id", *qis]].itertuples(index=False)
    }
    for rid, node in new_class.items():
        if rid in old_class:
            a, b = root(node), root(old_class[rid])
            if a != b:
                parent[a] = b
    alone: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}
    values_new = dict(zip(mine["record_id"], mine[sensitive].astype(str), strict=True))
    values_old = (
        dict(zip(theirs["record_id"], theirs[sensitive].astype(str), strict=True))
        if sensitive in theirs.columns
        else {rid: str(rid) for rid in theirs["record_id"]}
    )
    for rid, node in new_class.items():
        if rid not in old_class:
            alone.setdefault(root(node), {}).setdefault("joined", []).append(values_new[rid])
    for rid, node in old_class.items():
        if rid not in new_class:
            alone.setdefault(root(node), {}).setdefault("left", []).append(values_old[rid])
    for groups in alone.values():
        for what, values in groups.items():
            if len(values) < k or len(set(values)) < l_required:
                return (
                    f"a region both files cover holds {len(values)} child(ren) who {what} "
                    f"between them with {len(set(values))} distinct {sensitive} (required "
                    f"none, or {k} with {l_required})"
                )
    return None


def check_intersections(
    frame: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    k: int,
    l_required: int,
    earlier: Sequence[EarlierRelease],
) -> CheckOutcome:
    """Against each earlier release: the children both hold, grouped by their class in each,
    are at least min(k) per group with at least min(l) distinct sensitive values; and in every
    region both files' classes cover (classes joined by a child both hold, transitively) the
    children only one file holds are none or at least min(k) with min(l) distinct values, so
    subtracting one file from the other reveals no child. Read from the two files and the
    tokens alone (not from the guard that suppressed records), regions by a union-find of its
    own."""
    problems: list[str] = []
    smallest: dict[str, int] = {}
    for old in earlier:
        mine = frame[[*quasi_identifiers, sensitive]].assign(record_id=old.tokens[frame.index])
        k_req, l_req = min(k, old.k), min(l_required, old.l)
        difference = _difference_problem(
            mine, old.records, quasi_identifiers, sensitive, k_req, l_req
        )
        if difference:
            problems.append(f"{old.release_id}: {difference}")
        theirs = old.records[["record_id", *quasi_identifiers]].rename(
            columns={q: f"earlier:{q}" for q in quasi_identifiers}
        )
        both = mine.merge(theirs, on="record_id", how="inner")
        if both.empty:
            smallest[old.release_id] = 0
            continue
        keys = [*quasi_identifiers, *(f"earlier:{q}" for q in quasi_identifiers)]
        groups = both.groupby(keys, dropna=False)[sensitive]
        size, distinct = int(groups.size().min()), int(groups.nunique().min())
        smallest[old.release_id] = size
        if size < k_req or distinct < l_req:
            problems.append(
                f"{old.release_id}: smallest joint class {size} (required {k_req}), "
                f"fewest distinct {sensitive} {distinct} (required {l_req})"
            )
    detail = "; ".join(problems) or (
        f"no joint class below k or l with {len(earlier)} earlier release(s)"
        if earlier
        else "no earlier release of this population to combine with"
    )
    return CheckOutcome("intersection", not problems, detail, {"smallest_joint_class": smallest})
