"""The publish gate: checks that must all pass before a gold snapshot is published.

The privacy checks themselves are :mod:`anonymization.output_checks` (re-derived from the data
about to be published); this module adds the ones that only the pipeline can answer — did the
last dbt build run its tests, and did they all pass; does every output state a declared purpose
and population, and is every audience served only outputs made for its own purpose — and the
gate is the set of both. The same
outcomes back the Dagster asset checks (visible in the UI) and the publish step, which refuses
to move CURRENT unless every one passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakehouse.checks import CheckOutcome
from lakehouse.gold_snapshot import MartOrigin
from lakehouse.reference.purposes import PURPOSES, purpose_of
from metrics_api.catalog import Catalog

__all__ = ["check_dbt_build", "check_purposes"]


def check_dbt_build(summary: Mapping[str, Any] | None) -> CheckOutcome:
    if summary is None:
        return CheckOutcome("dbt_build", False, "no dbt build has run")
    if summary.get("finished") is not True:
        return CheckOutcome("dbt_build", False, "the last dbt build did not finish")
    failed = list(summary.get("tests_failed", [])) + list(summary.get("models_failed", []))
    tests_run = int(summary.get("tests_run", 0))
    passed = not failed and tests_run > 0
    detail = (
        f"{tests_run} dbt tests passed, {summary.get('models_built', 0)} models built"
        if passed
        else f"dbt failures: {failed[:10]}"
        if failed
        else "dbt build ran no tests"
    )
    return CheckOutcome(
        "dbt_build", passed, detail, {"invocation_id": summary.get("invocation_id")}
    )


#: The audience of marts the API serves through the catalog (its rules, not the mart's, decide).
API_AUDIENCE = "metrics_api"


def check_purposes(
    catalog: Catalog,
    origins: Mapping[str, MartOrigin],
    family_purposes: Mapping[str, str],
) -> CheckOutcome:
    """Consent by purpose, re-checked on what is about to be published: every output names a
    declared purpose and that purpose's population; every role it is published for is served
    for that purpose; every protected family comes from a mart of its roles' purpose
    (``family_purposes``: family -> the purpose of its roles); and every role the catalog
    answers from a mart directly gets a mart of its own purpose."""
    problems: list[str] = []
    for name, origin in sorted(origins.items()):
        declared = PURPOSES.get(origin.purpose or "")
        if declared is None:
            problems.append(f"{name} declares no known purpose ({origin.purpose!r})")
            continue
        if origin.population != declared.population:
            problems.append(
                f"{name}: population {origin.population!r} is not the {declared.name} "
                f"purpose's ({declared.population})"
            )
        others = [
            r for r in origin.audience if r != API_AUDIENCE and purpose_of(r).name != declared.name
        ]
        if others:
            problems.append(
                f"{name} is made for {declared.name} but published for {', '.join(others)}"
            )
    for family, purpose in sorted(family_purposes.items()):
        recorded = origins.get(family)
        if recorded is not None and recorded.purpose != purpose:
            problems.append(f"{family} serves {purpose} roles from a {recorded.purpose} mart")
    for metric in catalog.metrics.values():
        for role in metric.audiences:
            rule = metric.rule_for(role)
            assert rule is not None
            source = origins.get(rule.source)
            if source is not None and source.purpose != rule.purpose:
                problems.append(
                    f"{metric.name} answers {role} ({rule.purpose}) from {rule.source}, "
                    f"a {source.purpose} mart"
                )
    purposes = sorted({o.purpose for o in origins.values() if o.purpose})
    return CheckOutcome(
        "purposes",
        not problems and bool(origins),
        "; ".join(problems[:10])
        if problems
        else f"{len(origins)} outputs name their purpose and population ({', '.join(purposes)})",
        {"problems": len(problems)},
    )
