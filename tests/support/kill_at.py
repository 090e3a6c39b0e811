"""``python -m tests.support.kill_at POINT <merajut args>``: the real CLI, killed with SIGKILL
in the middle of one pipeline step.

Each point is where a crash hurts most: after some of the step's output is written and before
the step commits it. Nothing but the moment of death is changed; the process gets no chance to
clean up, exactly as with ``kill -9`` or a power cut.

- ``ingest``: the third table's bronze file is written, its state not yet saved;
- ``load``: two raw tables' batches are inserted, the others not;
- ``dbt``: dbt has reported 40 events; the dbt process itself lives on (an orphan);
- ``release``: the release's Parquet is staged, the rest not;
- ``publish``: the candidate snapshot is complete and renamed into place, its publish not
  yet recorded (CURRENT moves only when a data steward approves it, in another process).

One point does not kill: ``pause`` holds the run (and its pipeline lock) just before the
candidate is renamed into place until the file named by ``MERAJUT_TEST_RESUME`` exists, so a
test can meet a run in progress for as long as it needs, however slow the machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _after(calls: int, original: Callable[..., Any], before: bool = False) -> Callable[..., Any]:
    """``original``, but the process dies on its ``calls``-th call (before or after it runs)."""
    seen = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seen[0] += 1
        if before and seen[0] >= calls:
            _die()
        result = original(*args, **kwargs)
        if not before and seen[0] >= calls:
            _die()
        return result

    return wrapper


def _paused(original: Callable[..., Any], resume: Path) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        while not resume.exists():
            time.sleep(0.1)
        return original(*args, **kwargs)

    return wrapper


def arm(point: str) -> None:
    if point == "ingest":
        import ingestion.ingest as ingest

        ingest._commit = _after(3, ingest._commit, before=True)  # type: ignore[assignment]
    elif point == "load":
        import ingestion.raw_load as raw_load

        raw_load._insert = _after(3, raw_load._insert)  # type: ignore[assignment]
    elif point == "dbt":
        from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

        original = DbtCliInvocation.stream

        def stream(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            for n, event in enumerate(original(self, *args, **kwargs), start=1):
                if n >= 40:
                    _die()
                yield event

        DbtCliInvocation.stream = stream  # type: ignore[method-assign]
    elif point == "release":
        import lakehouse.research_release as release

        release.write_text_atomic = _after(1, release.write_text_atomic, before=True)  # type: ignore[assignment]
    elif point == "publish":
        import lakehouse.gold_snapshot as gold

        gold._move_into_place = _after(1, gold._move_into_place)  # type: ignore[assignment]
    elif point == "pause":
        import lakehouse.gold_snapshot as gold

        gold._move_into_place = _paused(
            gold._move_into_place, Path(os.environ["MERAJUT_TEST_RESUME"])
        )  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main() -> None:
    arm(sys.argv[1])
    from orchestration.cli import app

    app(args=sys.argv[2:], prog_name="merajut")


if __name__ == "__main__":
    main()
