"""Each purpose's population at publish: its size, and the children who left or joined it.

The members are read from the warehouse in the publish's own session (the build the gate
checks), hashed at once (:mod:`lakehouse.populations`: no child id leaves this module), and
compared with the members recorded for the live snapshot. The counts go into the gold
manifest and the run summary; the hashed members into the restricted zone, for the next
publish to compare with.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lakehouse.gold_snapshot import PopulationEntry
from lakehouse.populations import compare_populations, members_frame
from lakehouse.reference.purposes import PURPOSES
from orchestration.core.served import DbtModel

__all__ = ["population_entries", "read_members"]


def read_members(client: Any, model: DbtModel, key: bytes) -> pd.DataFrame:
    """Every declared purpose's members (``purpose``, ``member``: keyed hashes) in ``model``,
    one purpose at a time (a population of a million children is a million ids)."""
    frames = []
    for purpose in PURPOSES:  # declared names: safe inside the SQL
        result = client.query(f"select child_id from {model.relation} where purpose = '{purpose}'")
        ids = result.result_columns[0] if result.result_columns else []
        frames.append(members_frame(key, [purpose] * len(ids), ids))
    return pd.concat(frames, ignore_index=True)


def population_entries(
    members: pd.DataFrame, before: pd.DataFrame | None, compared_with: str | None
) -> dict[str, PopulationEntry]:
    """The manifest's ``populations``: every declared purpose, its population now and how it
    moved since ``compared_with`` (the live snapshot, whose members are ``before``; None when
    there is nothing to compare with)."""
    changes = compare_populations(members, before, PURPOSES)
    return {
        name: PopulationEntry(
            population=purpose.population,
            requires_consent=purpose.requires_consent,
            legal_basis=purpose.legal_basis,
            audiences=list(purpose.audiences),
            children=changes[name].children,
            joined=changes[name].joined,
            left=changes[name].left,
            compared_with=compared_with if before is not None else None,
        )
        for name, purpose in PURPOSES.items()
    }
