"""A killed pipeline leaves no worker behind, and whoever reads its output sees the end of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psutil

from lakehouse.layout import REPO_ROOT

PARENT = """
import sys, time
import psutil
from ingestion.contracts import load_contracts
from ingestion.validation import RowCheckWorker

worker = RowCheckWorker()
worker.start_table(load_contracts()["institutions.institutions"], {})
print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
time.sleep(600)
"""


def test_the_row_check_worker_ends_with_a_killed_parent() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    children = [int(p) for p in proc.stdout.readline().split()]
    assert children, "the worker (and its fork server) should be running"
    os.kill(proc.pid, signal.SIGKILL)
    # As subprocess.run does: read the output to its end first, reap the process after. The
    # killed parent is a zombie meanwhile, which the worker must take for dead.
    rest: list[str] = []
    reader = threading.Thread(target=lambda: rest.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "the run's stdout is still held open by an orphan"
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive = [
            pid
            for pid in children
            if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        ]
        if not alive:
            break
        time.sleep(0.2)
    assert not alive, f"orphans left: {alive}"
