"""A real API server (``merajut api serve``) on a free port, for tests that need one: over
loopback, in its own session so that a test can kill it with every worker it started."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from lakehouse.settings import Settings
from tests.support.api_fixtures import PEPPER
from tests.support.pipeline import MERAJUT, REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(settings: Settings, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """The server of the test lake ``settings`` describes, once ``/health`` answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERAJUT_")}
    env.update(
        MERAJUT_HOME=str(settings.home),
        MERAJUT_LAKE_ROOT=str(settings.lake_root),
        MERAJUT_API_KEY_PEPPER=PEPPER,
    )
    if settings.api.catalog_path is not None:
        env["MERAJUT_API_CATALOG_PATH"] = str(Path(settings.api.catalog_path))
    server = subprocess.Popen(
        [MERAJUT, "api", "serve", "--port", str(port), "--workers", str(workers)], env=env,
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "the API did not start"
        time.sleep(0.2)
