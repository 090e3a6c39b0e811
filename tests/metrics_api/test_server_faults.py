"""A real API server killed under load: every answer it gave has its audit record on disk.

The record is appended (and fsync'd) before the response is sent, so a server that dies at any
moment may lose a request it had not answered yet, never the record of one it answered.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from lakehouse.audit_log import HashChainedLog, verify_log
from lakehouse.settings import Settings
from tests.support.api_fixtures import PEPPER
from tests.support.pipeline import MERAJUT, REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_mid_load_no_answered_request_lacks_its_record(
    settings: Settings, keys: dict[str, str], tmp_path: Path, workers: int
) -> None:
    """One server process, and two (each with its own group commit, one chain extended
    under the file's lock): killed with every process at once, mid-load."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERAJUT_")}
    env.update(
        MERAJUT_HOME=str(settings.home),
        MERAJUT_LAKE_ROOT=str(settings.lake_root),
        MERAJUT_API_KEY_PEPPER=PEPPER,
        # The fixture's catalog: limits this load (8 clients, one key) never reaches.
        MERAJUT_API_CATALOG_PATH=str(settings.api.catalog_path),
    )
    server = subprocess.Popen(
        [MERAJUT, "api", "serve", "--port", str(port), "--workers", str(workers)], env=env,
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, "the API did not start"
        time.sleep(0.2)

    answered = [0] * 8
    stop = threading.Event()

    def client(slot: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": keys["government"]}) as http:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = http.get(
                        "/v1/metrics/placements",
                        params={"dimensions": "province", "to": f"2030-01-{1 + n % 28:02d}"},
                        timeout=10,
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    answered[slot] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    while sum(answered) < 200:
        time.sleep(0.05)
        assert server.poll() is None
    os.killpg(server.pid, signal.SIGKILL)  # the server and every worker it started
    server.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    records = HashChainedLog(settings.api_audit_log).records()
    ok = sum(1 for r in records if r["outcome"] == "ok")
    assert sum(answered) >= 200
    assert ok >= sum(answered), (ok, sum(answered))
    assert verify_log(settings.api_audit_log)[0]  # the chain survived the kill
