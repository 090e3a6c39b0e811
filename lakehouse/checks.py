"""The outcome of one check on something about to be published.

Gold snapshot manifests and research release manifests both list their checks in this shape,
so the API, the summary and a reviewer read one format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CheckOutcome", "all_passed"]


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    detail: str
    metadata: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metadata"] = dict(self.metadata or {})
        return out


def all_passed(outcomes: Sequence[CheckOutcome]) -> bool:
    """True only if there is at least one check and every one passed (no checks: not passed)."""
    return bool(outcomes) and all(o.passed for o in outcomes)
