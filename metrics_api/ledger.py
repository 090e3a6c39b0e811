"""The disclosure ledger at query time: record what a role is served, refuse what no audit saw.

Each snapshot's protected family was audited at publish against everything earlier snapshots
had released of it (``audited_with`` in the snapshot's ``disclosure:<family>`` check). A role
that holds cells of several snapshots is therefore protected as long as one audit covered all of
them: the newest, normally, or an older one after CURRENT was moved back. If none did — the
publish ledger was lost and a snapshot was audited without the cells a role already had, a
snapshot copied in from another lake — the API refuses the answer (403, saying which snapshots
were never audited together) instead of letting the role combine them.

Every answered cell is recorded (:class:`lakehouse.disclosure_ledger.ServedCells`) with the
snapshot it came from, before the answer leaves: an answer that cannot be recorded is not given.
"""

from __future__ import annotations

from collections.abc import Iterable

from lakehouse.disclosure_ledger import LedgerError, ServedCells
from lakehouse.gold_snapshot import Snapshot
from metrics_api.errors import Forbidden, Unavailable

__all__ = ["DisclosureLedger", "audited_with"]


def audited_with(snapshot: Snapshot, family: str) -> frozenset[str]:
    """The snapshots whose released cells ``family`` of ``snapshot`` was audited against (the
    snapshot itself included)."""
    for check in snapshot.manifest.checks:
        if check.get("name") == f"disclosure:{family}":
            metadata = check.get("metadata") or {}
            before = metadata.get("audited_with", []) if isinstance(metadata, dict) else []
            return frozenset([snapshot.id, *map(str, before)])
    return frozenset([snapshot.id])


class DisclosureLedger:
    """What each role was served, and the check that a new answer joins an audited whole."""

    def __init__(self, cells: ServedCells) -> None:
        self.cells = cells
        #: (family, snapshot) -> what that snapshot's audit covered (published: immutable).
        self._coverage: dict[tuple[str, str], frozenset[str]] = {}

    def _covered(self, family: str, snapshot: Snapshot) -> frozenset[str]:
        key = (family, snapshot.id)
        if key not in self._coverage:
            self._coverage[key] = audited_with(snapshot, family)
            self.cells.remember_coverage(family, snapshot.id, self._coverage[key])
        return self._coverage[key]

    def check(self, role: str, snapshot: Snapshot, family: str) -> None:
        """A 403 unless every snapshot ``role`` holds cells of ``family`` from, and
        ``snapshot``, were audited together by one of them."""
        try:
            held = self.cells.snapshots(role, family)
            wanted = held | {snapshot.id}
            if wanted <= self._covered(family, snapshot):
                return
            for other in held:
                if wanted <= self.cells.coverage(family, other):
                    return
        except LedgerError as exc:
            raise Unavailable(f"the disclosure ledger cannot be read: {exc}") from exc
        missing = sorted(wanted - self._covered(family, snapshot))
        raise Forbidden(
            f"role {role!r} already holds cells of {family!r} from snapshot(s) "
            f"{', '.join(missing)}, which snapshot {snapshot.id} was not protected against; "
            "no audit ever saw them together, so this answer is not given"
        )

    def record(
        self, role: str, key_id: str, snapshot: Snapshot, family: str, cells: Iterable[int]
    ) -> None:
        try:
            self._covered(family, snapshot)
            self.cells.record(role, key_id, snapshot.id, family, cells)
        except LedgerError as exc:
            raise Unavailable(f"the disclosure ledger cannot be written: {exc}") from exc
