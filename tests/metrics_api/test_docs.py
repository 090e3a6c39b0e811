"""The interactive documentation works without internet access: Swagger UI's files come from
the API itself, and headless Chromium, refused every host but loopback, renders every
operation of the API's own OpenAPI document."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess

import httpx
from fastapi.testclient import TestClient

from lakehouse.settings import Settings
from tests.support.api_server import free_port, start_api

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_docs_page_loads_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404  # ReDoc would come from a CDN


def test_swagger_ui_renders_every_operation_offline(settings: Settings) -> None:
    assert CHROMIUM is not None, "chromium is required: `make test` installs it"
    port = free_port()
    server = start_api(settings, port)
    try:
        document = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        summaries = [op["summary"] for path in document["paths"].values() for op in path.values()]
        dom = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                # Offline but for the API: any other host fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=20000", "--dump-dom", f"http://127.0.0.1:{port}/docs",
            ],
            capture_output=True, text=True, timeout=180, check=True,
        ).stdout  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert 'class="swagger-ui' in dom, dom[:2000]
    missing = [s for s in summaries if s not in dom]
    assert not missing, missing
