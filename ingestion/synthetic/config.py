"""Generator configuration and the fixed vocabulary of the generated sources."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines the generated data: same config, same bytes.

    ``as_of`` is "today" for the generated world. Legitimate dates are strictly before it and
    legitimate timestamps before its midnight, so a validator comparing against either the
    date or its midnight never flags a legitimate row; only planted ``future_date`` defects
    lie after it.
    """

    children: int = 1000
    seed: int = 42
    defect_rate: float = 0.01
    as_of: dt.date = dt.date(2026, 11, 1)

    def __post_init__(self) -> None:
        if self.children < 1:
            raise ValueError("children must be at least 1")
        if not 0.0 <= self.defect_rate <= 0.2:
            # Above ~20% per code the "extra defective rows" would outnumber the real ones.
            raise ValueError("defect_rate must be between 0 and 0.2")
        if isinstance(self.as_of, dt.datetime) or not isinstance(self.as_of, dt.date):
            raise TypeError("as_of must be a datetime.date (not a datetime)")

    @property
    def institutions(self) -> int:
        """Roughly 40 children per institution, but never so few that provinces vanish."""
        return max(20, self.children // 40)

    def to_dict(self) -> dict[str, Any]:
        return {
            "children": self.children,
            "seed": self.seed,
            "defect_rate": self.defect_rate,
            "as_of": self.as_of.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        return cls(
            children=int(data["children"]),
            seed=int(data["seed"]),
            defect_rate=float(data["defect_rate"]),
            as_of=dt.date.fromisoformat(str(data["as_of"])),
        )
