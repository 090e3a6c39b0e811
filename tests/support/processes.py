"""Waiting on what a child process says, not on the clock: on a slow CI machine a fixed
sleep sends a signal before the child has installed its handler, and the test flakes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO


def read_until(stream: IO[str] | None, text: str, timeout: float) -> str:
    """Everything ``stream`` gave up to and including the first line holding ``text``;
    fails the test, with what was said, when that line does not come within ``timeout``."""
    assert stream is not None, "the process was started without a pipe for this stream"
    said: list[str] = []
    seen = threading.Event()

    def read() -> None:
        for line in stream:
            said.append(line)
            if text in line:
                seen.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert seen.wait(timeout), f"never said {text!r} in {timeout:.0f} s: " + "".join(said)
    return "".join(said)


def process_state(pid: int) -> str:
    """What the kernel says of a process that did not do what a test expected: its state,
    threads and signal masks (blocked, ignored, caught), for the failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        return f"pid {pid}: {exc}"
    wanted = ("State", "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
    lines = [line for line in status.splitlines() if line.split(":")[0] in wanted]
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            blocked = next(
                line for line in (task / "status").read_text().splitlines()
                if line.startswith("SigBlk")
            )  # fmt: skip
            lines.append(f"thread {task.name}: {blocked}, wchan {(task / 'wchan').read_text()}")
        except (OSError, StopIteration):
            continue
    return f"pid {pid}: " + "; ".join(lines)
