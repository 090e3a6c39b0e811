"""The release's human-readable report: what protects it, how risky it is, what it costs.

``privacy_report.json`` is for machines; a researcher deciding whether a file answers their
question, and a data protection officer signing it off, read ``report.html``: the tier and its
access, each criterion with the value achieved, the distribution of re-identification risk over
the records (a plot), the utility per attribute (how much each column was generalised, its
values before and after) and the meaning of every generalised value. One self-contained file
(inline SVG, no scripts, no external assets) so it opens offline and cannot leak a request.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from anonymization.hierarchies import SET_SEPARATOR
from lakehouse.reference.regions import ISLAND_GROUPS, province_by_code, regency_by_code

__all__ = ["render_report", "value_meanings"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1b1b1b;
line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f2f2f2}.ok{color:#0a6b2d}.no{color:#a3120f}
.num{text-align:right;font-variant-numeric:tabular-nums}small{color:#555}
"""


def value_meanings(released: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """What each released value of the generalised columns stands for."""
    provinces, regencies = province_by_code(), regency_by_code()
    out: dict[str, dict[str, str]] = {}
    for column in columns:
        meanings: dict[str, str] = {}
        for value in sorted(released[column].astype(str).unique()):
            meanings[value] = _meaning(column, value, provinces, regencies)
        out[column] = meanings
    return out


def _meaning(column: str, value: str, provinces: Mapping[str, Any],
             regencies: Mapping[str, Any]) -> str:  # fmt: skip
    if value == "*":
        return "withheld: any value"
    if SET_SEPARATOR in value:  # local recoding's set of siblings
        return "one of: " + "; ".join(
            _meaning(column, member, provinces, regencies) for member in value.split(SET_SEPARATOR)
        )
    if column == "regency_code":
        if value in regencies:
            return f"regency/city {value}: {regencies[value].name}"
        if value in provinces:
            return f"province {value}: {provinces[value].name} (the regency not shown)"
        if value in set(ISLAND_GROUPS.values()):
            return f"island group {value} (province and regency not shown)"
    if column == "age_years":
        if "-" in value:
            low, high = value.split("-")
            return f"aged {int(low)} to {int(high)} years"
        return f"aged {value} years"
    if column == "admission_year" and "-" in value:
        return f"admitted to care between {value.replace('-', ' and ')}"
    if column == "admission_year":
        return f"admitted to care in {value}"
    if column == "disability" and value == "any_disability":
        return "has a disability (which one not shown)"
    return value


def _protection(report: Mapping[str, Any]) -> str:
    """What protects a release that states it in words (the enclave: its query rules); empty
    for a file, whose criteria say it."""
    items = "".join(f"<li>{html.escape(str(p))}</li>" for p in report.get("protection", []))
    return f"\n<h2>Protection</h2>\n<ul>{items}</ul>" if items else ""


def _criteria_rows(criteria: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for c in criteria:
        params = ", ".join(f"{k}={v}" for k, v in c["parameters"].items() if k != "sensitive")
        achieved = ", ".join(f"{k} {v}" for k, v in c["achieved"].items())
        mark = '<span class="ok">holds</span>' if c["holds"] else '<span class="no">not met</span>'
        rows.append(
            f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(params)}</td>"
            f"<td>{'enforced' if c.get('enforced') else 'measured'}</td>"
            f"<td>{html.escape(achieved)}</td><td>{mark}</td></tr>"
        )
    return "".join(rows)


def _risk_plot(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> str:
    """Histogram of the prosecutor risk (1 / class size) over the records, as inline SVG."""
    if released.empty:
        return "<p>No records.</p>"
    sizes = released.groupby(list(quasi_identifiers), dropna=False)[quasi_identifiers[0]]
    risk = 1.0 / sizes.transform("size")
    edges = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.34, 0.5, 1.0001]
    labels = ["<1%", "1-2%", "2-5%", "5-10%", "10-20%", "20-33%", "33-50%", "50-100%"]
    counts = pd.cut(risk, edges, right=False, labels=labels).value_counts().reindex(labels)
    width, height, bar = 640, 220, 640 // len(labels)
    top = max(int(counts.max()), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
        'role="img" aria-label="records by re-identification risk">'
    ]
    for i, (label, count) in enumerate(counts.items()):
        h = int(height * int(count) / top)
        x = i * bar + 4
        parts.append(
            f'<rect x="{x}" y="{height - h}" width="{bar - 8}" height="{h}" fill="#3a6ea5">'
            f"<title>{label}: {int(count)} records</title></rect>"
            f'<text x="{x + (bar - 8) / 2}" y="{height + 16}" font-size="12" '
            f'text-anchor="middle">{html.escape(str(label))}</text>'
            f'<text x="{x + (bar - 8) / 2}" y="{max(height - h - 4, 12)}" font-size="11" '
            f'text-anchor="middle">{int(count)}</text>'
        )
    parts.append(
        f'<text x="{width / 2}" y="{height + 36}" font-size="12" text-anchor="middle">'
        "prosecutor risk of a record (1 / its class size)</text></svg>"
    )
    return "".join(parts)


def _utility_rows(
    original: pd.DataFrame,
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    utility: Mapping[str, Any],
) -> str:
    lm = utility.get("loss_metric", {}).get("per_attribute", {})
    nue = utility.get("non_uniform_entropy", {}).get("normalised_per_attribute", {})
    rows = []
    for column in quasi_identifiers:
        before = original[column].astype(str)
        after = released[column].astype(str)
        kept = float((after.isin(set(before))).mean()) if len(after) else 0.0
        withheld = float((after == "*").mean()) if len(after) else 0.0
        rows.append(
            f"<tr><td>{html.escape(column)}</td><td class='num'>{before.nunique()}</td>"
            f"<td class='num'>{after.nunique()}</td><td class='num'>{kept:.0%}</td>"
            f"<td class='num'>{withheld:.0%}</td><td class='num'>{_num(lm.get(column))}</td>"
            f"<td class='num'>{_num(nue.get(column))}</td></tr>"
        )
    return "".join(rows)


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def _utility_summary(utility: Mapping[str, Any]) -> str:
    if not utility:
        return ""
    model = utility.get("model") or {}
    return (
        f"<p>Equivalence classes: {utility.get('equivalence_classes', 'n/a')}; average class "
        f"size / k: {_num(utility.get('average_class_size'))}; discernibility: "
        f"{utility.get('discernibility', 'n/a')}; non-uniform entropy (0 = nothing lost, "
        f"1 = all): {_num(utility.get('non_uniform_entropy', {}).get('normalised'))}. "
        "A naive Bayes model predicting the sensitive attribute from the quasi-identifiers is "
        f"right {_num(model.get('released'))} of the time on this file, "
        f"{_num(model.get('original'))} on the data as collected, "
        f"{_num(model.get('majority'))} by always guessing the most frequent value.</p>"
    )


def render_report(
    report: Mapping[str, Any],
    released: pd.DataFrame,
    original: pd.DataFrame,
    dictionary: Mapping[str, Mapping[str, Any]],
    tier_title: str,
    tier_description: str,
) -> str:
    """The report as one HTML document."""
    qis = list(report.get("quasi_identifiers", []))
    esc = html.escape
    risk = report.get("risk", {})
    prosecutor = risk.get("prosecutor") or {}
    transformation = report.get("transformation", {})
    meanings = "".join(
        f"<tr><td>{esc(col)}</td><td>{esc(value)}</td><td>{esc(meaning)}</td></tr>"
        for col, entry in dictionary.items()
        for value, meaning in entry.get("values", {}).items()
    )
    columns = "".join(
        f"<tr><td>{esc(col)}</td><td>{esc(str(entry.get('description', '')))}</td></tr>"
        for col, entry in dictionary.items()
    )
    intersections = report.get("intersections", {})
    combined = "".join(
        f"<tr><td>{esc(r['earlier_release'])}</td><td class='num'>{r['shared_records']}</td>"
        f"<td class='num'>{r['smallest_joint_class']}</td><td class='num'>{r['k_required']}</td>"
        f"<td class='num'>{r.get('leavers', 0)}</td><td class='num'>{r.get('joiners', 0)}</td>"
        f"<td class='num'>{r.get('smallest_difference', 0)}</td>"
        f"<td class='num'>{r['suppressed_for_it']}</td></tr>"
        for r in intersections.get("earlier_releases", [])
    )
    journalist = risk.get("journalist")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(str(report.get("release_id", "")))} — {esc(tier_title)}</title>
<style>{_STYLE}</style></head><body>
<h1>Research release {esc(str(report.get("release_id", "")))}</h1>
<p><strong>{esc(tier_title)}</strong> ({esc(str(report.get("access", "")))}). {
        esc(tier_description)
    }</p>
<p>Population: {esc(str(report.get("population", "")))}. Records released:
{report.get("released_rows", 0)} of {report.get("input_rows", 0)}
({report.get("suppressed_rows", 0)} suppressed,
{report.get("excluded_incomplete_rows", 0)} incomplete and left out).
Record ids: {esc(str(report.get("record_id", "")))}.</p>{_protection(report)}

<h2>Criteria</h2>
<table><tr><th>criterion</th><th>parameters</th><th></th><th>achieved</th><th></th></tr>
{_criteria_rows(report.get("criteria", []))}</table>

<h2>Re-identification risk</h2>
<p>Prosecutor model (the attacker knows the child is in the file): highest
{prosecutor.get("highest", "n/a")}, average {prosecutor.get("average", "n/a")}.
Marketer model (every record tried): {risk.get("marketer", "n/a")}.
Journalist model (the attacker holds a population register):
{
        esc(str(journalist))
        if journalist is not None
        else esc(str(risk.get("journalist_note", "n/a")))
    }.</p>
{_risk_plot(released, qis) if qis else ""}

<h2>Transformation and utility</h2>
<p>{esc(str(transformation.get("chosen", "none")))}: {esc(str(transformation.get("why", "")))}.
Information loss ({esc(str(report.get("information_loss", {}).get("metric", "")))}):
{report.get("information_loss", {}).get("value", "n/a")} (0 = as collected, 1 = all withheld).</p>
{_utility_summary(report.get("utility", {}))}
<table><tr><th>attribute</th><th>distinct values collected</th><th>distinct values released</th>
<th>records with the collected value</th><th>records withheld (*)</th><th>LM</th>
<th>non-uniform entropy</th></tr>
{_utility_rows(original, released, qis, report.get("utility", {})) if qis else ""}</table>

<h2>Combined with earlier releases</h2>
<p>{
        "No earlier release of this population."
        if not combined
        else "Children held by both files, grouped by their class in each: the smallest group. "
        "Children in one file only (left or joined between the two): in every region both "
        "files' classes cover, none or at least k of them, so subtracting one file from the "
        "other names no child's case type (the fewest in any region that has some)."
    }</p>
{
        ""
        if not combined
        else "<table><tr><th>earlier release</th><th>children in both</th><th>smallest joint class</th>"
        "<th>required</th><th>left since</th><th>joined since</th><th>fewest in a region</th>"
        "<th>suppressed for it</th></tr>" + combined + "</table>"
    }

<h2>Data dictionary</h2>
<table><tr><th>column</th><th>meaning</th></tr>{columns}</table>
<h2>Released values and what they stand for</h2>
<table><tr><th>column</th><th>value</th><th>meaning</th></tr>{meanings}</table>
<p><small>Built by the MerajutASA Lakehouse; the machine-readable version of this report is
privacy_report.json in the same release.</small></p>
</body></html>
"""
