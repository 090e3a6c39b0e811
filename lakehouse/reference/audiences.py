"""Who sees what: the audiences (API roles) and their small-cell thresholds.

A count below an audience's threshold is never shown to it (and neither is any cell that would
give such a count away). The thresholds are the roadmap's defaults; the metric catalog may only
raise them for a metric. dbt reads them from the ``audience_thresholds`` seed, written from here.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "AUDIENCE_THRESHOLDS",
    "NATIONAL_ONLY_AUDIENCES",
    "PERTURBED_AUDIENCES",
    "PREVIEW_AUDIENCES",
    "ROLES",
    "STAKEHOLDER_AUDIENCES",
    "Role",
    "audience_thresholds",
]

Role = Literal["government", "business", "researcher", "community", "media", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

AUDIENCE_THRESHOLDS: dict[str, int] = {
    "government": 5,
    "business": 10,
    "community": 11,
    "media": 11,
    "researcher": 5,
    "admin": 1,  # <= 1: no suppression (the data protection officer)
}
#: Audiences that see national statistics only: no province breakdown, filter or key scope.
NATIONAL_ONLY_AUDIENCES = frozenset({"media"})
#: Audiences served cell-key perturbed counts (anonymization.cell_key): the public ones, whose
#: answers are shared widely and compared from one snapshot to the next. The catalog may
#: perturb another suppressed audience too, never stop perturbing one of these.
PERTURBED_AUDIENCES = frozenset({"community", "media"})
#: Audiences that may preview a candidate snapshot before a data steward approves it (with
#: an explicit snapshot id, audited): the ministry's and the data protection officer's keys,
#: who review what is about to go out. Every other audience, the public ones above all, is
#: served approved snapshots only (CURRENT): a number nobody signed off never reaches them.
PREVIEW_AUDIENCES = frozenset({"government", "admin"})
#: Audiences of the stakeholder dashboards (Superset): never the admin's unsuppressed marts.
STAKEHOLDER_AUDIENCES = frozenset({"government", "business", "community", "media"})

if set(AUDIENCE_THRESHOLDS) != set(ROLES):  # pragma: no cover - a broken edit of this file
    raise RuntimeError("every role needs a threshold")


def audience_thresholds() -> dict[str, int]:
    """Minimum publishable count per audience (a copy; threshold <= 1 means no suppression)."""
    return dict(AUDIENCE_THRESHOLDS)
