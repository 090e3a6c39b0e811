"""``python -m tests.support.frozen_ids <merajut args>``: the real CLI with the id clock pinned.

Snapshot, release and batch ids are UTC timestamps (``lakehouse.ids.utc_now``); a research
release's record ids and row order derive from its id. Pinning that one clock for one run makes
the run's published files reproducible byte for byte, which is what the behaviour-unchanged
test compares against hashes recorded before the ground-floor refactor. Nothing else is patched.
"""

from __future__ import annotations

import datetime as dt
import sys

import lakehouse.ids

FROZEN = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def main() -> None:
    lakehouse.ids.utc_now = lambda: FROZEN  # type: ignore[assignment]
    from orchestration.cli import app

    app(args=sys.argv[1:], prog_name="merajut")


if __name__ == "__main__":
    main()
