"""What every worker process of the pipeline does first: end when the process it works for ends.

Worker pools are fork-server children (``multiprocessing`` forkserver). When the pipeline is
killed (SIGKILL, a power cut of the parent alone), nothing tells its workers: each holds
copies of both ends of its own task pipes, so it never reads end-of-file, and it keeps the
run's stdout and stderr open, so whoever waits for the run's output waits for ever (found by
``tests/end_to_end/test_faults.py`` with chunked ingestion). A thread in each worker watches the
parent's process id and ends the worker when that process is gone.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["exit_with_parent"]

#: How often a worker looks for its parent (seconds): an orphan lingers at most this long.
POLL_SECONDS = 0.5


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs. A killed parent stays a zombie until whoever started it
    reaps it, and that caller may first wait for the output our worker holds open: a zombie
    counts as gone, or the two would wait for each other."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone (or the pid is another user's now)
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc here: the signal test is all there is
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def exit_with_parent(parent_pid: int) -> None:
    """In a worker: end this process (``os._exit``, no clean-up: it holds no state of its own
    worth saving) as soon as ``parent_pid`` no longer runs."""

    def watch() -> None:
        while _alive(parent_pid):
            time.sleep(POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
