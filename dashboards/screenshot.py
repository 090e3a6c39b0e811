"""Screenshot a Superset dashboard with headless Chromium, logged in, over the DevTools protocol.

Chromium's own ``--screenshot`` flag cannot log in, and Selenium/Playwright would add a
driver to the project; the DevTools protocol over one websocket (``websockets`` is already in
the project venv) is enough: log in over HTTP, hand the session cookie to the browser,
navigate, wait until every chart has rendered, capture.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1600,1400",
]

# Counts chart holders and those still loading; Superset shows a `.loading` spinner per chart.
_PROGRESS_JS = """JSON.stringify({
  charts: document.querySelectorAll('.dashboard-component-chart-holder').length,
  loading: document.querySelectorAll('.dashboard-component-chart-holder .loading').length,
  text: document.body ? document.body.innerText : ''
})"""


@dataclass
class Capture:
    png: Path
    charts: int
    text: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_cookie(base_url: str, user: str, password: str) -> str:
    """Superset's ``session`` cookie from the login form (CSRF is off in our config)."""
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as client:
        resp = client.post("/login/", data={"username": user, "password": password})
        cookie = resp.cookies.get("session") or client.cookies.get("session")
        if resp.status_code not in (302, 303) or not cookie:
            raise RuntimeError(f"login failed ({resp.status_code})")
        return cookie


class _Cdp:
    def __init__(self, ws_url: str) -> None:
        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=120))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    def close(self) -> None:
        self.ws.close()


def dashboard_screenshot(
    chromium: str,
    base_url: str,
    user: str,
    password: str,
    path: str,
    workdir: Path,
    timeout: float = 120,
) -> Capture:
    """Log in, open ``base_url + path``, wait for all charts, save ``workdir/dashboard.png``."""
    cookie = session_cookie(base_url, user, password)
    port = _free_port()
    proc = subprocess.Popen(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={workdir / 'chromium-profile'}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # chromium forks helpers; stop them all by process group
    )
    try:
        ws_url = None
        deadline = time.monotonic() + 30
        while ws_url is None and time.monotonic() < deadline:
            try:
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
                ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            except (httpx.HTTPError, StopIteration):
                time.sleep(0.5)
        if ws_url is None:
            raise RuntimeError("chromium DevTools endpoint did not come up")
        cdp = _Cdp(ws_url)
        try:
            cdp.call("Network.enable")
            cdp.call("Network.setCookie", name="session", value=cookie, url=base_url)
            cdp.call("Page.enable")
            cdp.call("Page.navigate", url=base_url + path)
            progress: dict[str, Any] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                time.sleep(2)
                res = cdp.call("Runtime.evaluate", expression=_PROGRESS_JS, returnByValue=True)
                progress = json.loads(res["result"]["value"])
                if progress["charts"] and not progress["loading"]:
                    break
            time.sleep(2)  # let the last ECharts animation finish
            shot = cdp.call("Page.captureScreenshot", format="png")
        finally:
            cdp.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    png = workdir / "dashboard.png"
    png.write_bytes(base64.b64decode(shot["data"]))
    return Capture(
        png=png, charts=int(progress.get("charts", 0)), text=str(progress.get("text", ""))
    )
