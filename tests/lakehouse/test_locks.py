"""Locks die with their holder, say who holds them, stop waiting when told, and nest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lakehouse.locks import LockBusy, exclusive_lock, holder_of
from tests.support.processes import process_state, read_until

REPO = Path(__file__).resolve().parents[2]
HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lakehouse.locks import exclusive_lock
    with exclusive_lock(Path(sys.argv[1]), guards="the test resource", purpose="holding it"):
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(lock: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_a_killed_holder_never_blocks_the_next(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = _holder(lock, 60)
    found = holder_of(lock)
    assert found is not None and found.pid == holder.pid and found.what == "holding it"
    busy = rf"held by pid {holder.pid} \(holding it\)"
    with (
        pytest.raises(LockBusy, match=busy),
        exclusive_lock(lock, guards="the test resource", purpose="me", wait=False),
    ):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    started = time.monotonic()
    with exclusive_lock(lock, guards="the test resource", purpose="me", wait=False):
        assert holder_of(lock).pid == os.getpid()  # type: ignore[union-attr]
    assert time.monotonic() - started < 1


def test_a_waiter_says_whom_it_waits_for_and_gets_the_lock_when_free(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = _holder(lock, 1.5)
    said: list[str] = []
    with exclusive_lock(lock, guards="the test resource", purpose="me", on_wait=said.append):
        pass
    holder.wait(timeout=30)
    assert len(said) == 1 and f"pid {holder.pid} (holding it)" in said[0]
    assert "Ctrl-C" in said[0]


def test_waiting_has_a_bound(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = _holder(lock, 30)
    try:
        with (
            pytest.raises(LockBusy),
            exclusive_lock(lock, guards="x", purpose="me", timeout_s=0.5, on_wait=lambda _: None),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_waiting_process_stops_when_told_at_once(tmp_path: Path, sig: signal.Signals) -> None:
    lock = tmp_path / "run.lock"
    # The holder keeps the lock far longer than the waiter is given to stop, so stopping in
    # time can only be the signal's doing; the margin is for a loaded CI machine.
    holder = _holder(lock, 600)
    waiter = subprocess.Popen(
        # As a foreground job: a suite started in the background ignores SIGINT (see there).
        [
            sys.executable,
            "-m",
            "tests.support.foreground",
            sys.executable,
            "-c",
            HOLD,
            str(lock),
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        said = read_until(waiter.stderr, "waiting for the test resource", timeout=60)
        assert waiter.poll() is None  # waiting
        waiter.send_signal(sig)
        try:
            waiter.wait(timeout=60)
        except subprocess.TimeoutExpired:
            state = process_state(waiter.pid)
            waiter.kill()
            raise AssertionError(f"{sig.name} did not stop the waiter: {state}") from None
        assert waiter.stderr is not None
        said += waiter.stderr.read()
        if sig == signal.SIGINT:
            assert "KeyboardInterrupt" in said
        assert holder_of(lock).pid == holder.pid  # type: ignore[union-attr]  # the waiter took nothing
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_the_same_process_may_nest_it(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    with (
        exclusive_lock(lock, guards="x", purpose="outer"),
        exclusive_lock(lock, guards="x", purpose="inner", wait=False),
    ):
        assert holder_of(lock).what == "outer"  # type: ignore[union-attr]
    holder = _holder(lock, 0)  # released for other processes afterwards
    holder.wait(timeout=30)
