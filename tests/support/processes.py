"""Waiting on what a child process says, not on the clock: on a slow CI machine a fixed
sleep sends a signal before the child has installed its handler, and the test flakes."""

from __future__ import annotations

import threading
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
