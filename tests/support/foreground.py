"""``python -m tests.support.foreground CMD ARGS...``: run CMD with SIGINT and SIGTERM at their
defaults, as a shell starts a foreground job.

A test suite started in the background (``cmd &`` in a script, ``nohup``) runs with SIGINT
ignored, and every child inherits that: a child Python then installs no KeyboardInterrupt
handler, so a test that sends Ctrl-C to it tests the launcher, not the program. The signal
tests start their children through this module; it replaces itself with CMD (same pid).
"""

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__":
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    os.execvp(sys.argv[1], sys.argv[1:])
