"""Exclusive locks that die with their holder: one pipeline run at a time, one opener of chDB.

A lock is an ``flock`` on a file, so the kernel releases it when the holding process ends, however
it ends (``kill -9`` included): a crash can never leave a lock behind that stops the next run.
The file says who holds it (pid, what, since when), so a process that has to wait can say what it
waits for. Waiting polls, so Ctrl-C (KeyboardInterrupt) and SIGTERM stop it at once.

Locks are re-entrant within one process (the CLI holds the run lock while the Dagster resource of
the same run asks for it again); two processes, or two unrelated holders in one process through
different paths, exclude each other.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Holder", "LockBusy", "exclusive_lock", "holder_of"]

POLL_S = 0.2
REPORT_EVERY_S = 30.0


class LockBusy(RuntimeError):
    """The lock is held by another process and the caller would not (or no longer) wait."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    pid: int
    what: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.what}) since {self.since}"


def holder_of(lock_path: Path) -> Holder | None:
    """Who wrote the lock file last (the current holder while it is held)."""
    try:
        fields = dict(
            line.split("=", 1)
            for line in lock_path.read_text(encoding="utf-8").splitlines()
            if "=" in line
        )
        return Holder(int(fields["pid"]), fields.get("what", "?"), fields.get("since", "?"))
    except (OSError, KeyError, ValueError):
        return None


_held: dict[Path, int] = {}  # lock path -> depth, for re-entrance within this process
_held_guard = threading.Lock()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def exclusive_lock(
    lock_path: Path,
    *,
    guards: str,
    purpose: str,
    wait: bool = True,
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] = _say,
) -> Iterator[None]:
    """Hold ``lock_path`` exclusively; ``guards`` names what the lock protects ("the embedded
    warehouse"), ``purpose`` what this holder does with it (recorded for whoever has to wait).
    ``wait=False`` raises :class:`LockBusy` at once when another process holds it; otherwise
    this waits, saying who holds it through ``on_wait`` at the start and every 30 s, until it is
    free or ``timeout_s`` has passed."""
    key = lock_path.resolve()
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentrant = True
        else:
            reentrant = False
    if reentrant:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        reported = -REPORT_EVERY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = holder_of(lock_path)
                who = holder.describe() if holder else "another process"
                waited = time.monotonic() - started
                if not wait or (timeout_s is not None and waited > timeout_s):
                    raise LockBusy(f"{guards} is held by {who}", holder) from None
                if waited - reported >= REPORT_EVERY_S:
                    on_wait(f"waiting for {guards}, held by {who} (Ctrl-C to stop waiting)")
                    reported = waited
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.write(fd, f"pid={os.getpid()}\nwhat={purpose}\nsince={since}\n".encode())
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
