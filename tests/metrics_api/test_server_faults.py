"""A real API server killed under load: every answer it gave has its audit record on disk.

The record is appended (and fsync'd) before the response is sent, so a server that dies at any
moment may lose a request it had not answered yet, never the record of one it answered.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from lakehouse.audit_log import HashChainedLog, verify_log
from lakehouse.settings import Settings
from tests.support.api_server import free_port, start_api


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_mid_load_no_answered_request_lacks_its_record(
    settings: Settings, keys: dict[str, str], tmp_path: Path, workers: int
) -> None:
    """One server process, and two (each with its own group commit, one chain extended
    under the file's lock): killed with every process at once, mid-load."""
    port = free_port()
    # The fixture's catalog: limits this load (8 clients, one key) never reaches.
    server = start_api(settings, port, workers)
    base = f"http://127.0.0.1:{port}"

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
