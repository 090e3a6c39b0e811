"""Provision Superset from the dashboards-as-code bundle in ``dashboards/assets``.

The YAML files are Superset's own export format, linked by fixed UUIDs, so importing them
again updates the same objects instead of creating copies. The only environment-specific
value, the database URI, is written ``{{ env.NAME }}`` in the files and substituted here,
because Superset's import does not template. Import goes through superset-api-client's
``dashboards.import_file`` (``/api/v1/dashboard/import/`` with ``overwrite=true``: the bundle is
a dashboard export, so its ``metadata.yaml`` says ``type: Dashboard``, which
``/api/v1/assets/import/`` rejects).

Usage::

    .venv/bin/python -m dashboards.provision --url http://127.0.0.1:8088 \\
        --user admin --password "$SUPERSET_ADMIN_PASSWORD"

Superset's own variables instead of flags: ``SUPERSET_URL``, ``SUPERSET_ADMIN_USER``,
``SUPERSET_ADMIN_PASSWORD``. Where Superset reads gold comes from the settings
(``MERAJUT_SUPERSET_DB_URI``, e.g. ``clickhousedb://...`` in production; by default the embedded
DuckDB catalog of ``MERAJUT_LAKE_ROOT``) and ``MERAJUT_SUPERSET_DB_PASSWORD``.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from dashboards.duckdb_catalog import superset_uri
from lakehouse.settings import get_settings

ASSETS = Path(__file__).resolve().parent / "assets"
BUNDLE_ROOT = "merajut_dashboards"
#: How often a provisioning run waiting for Superset says that it is still waiting.
SAY_EVERY_S = 15.0
_ENV_REF = re.compile(r"\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{{ env.NAME }}`` with ``values[NAME]``; a missing name is an error, not ''."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"bundle needs {name} (set it in the environment or via a flag)")
        return values[name]

    return _ENV_REF.sub(sub, text)


def build_bundle(values: Mapping[str, str], assets: Path = ASSETS) -> bytes:
    """The assets as a zip in Superset's import layout (one top-level folder)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(assets.rglob("*.yaml")):
            rel = path.relative_to(assets).as_posix()
            zf.writestr(f"{BUNDLE_ROOT}/{rel}", render(path.read_text(encoding="utf-8"), values))
    return buf.getvalue()


def _client(url: str, user: str, password: str) -> Any:
    """superset-api-client's client; over plain ``http://`` (loopback, the compose network) one
    that sends the bearer token itself: requests-oauthlib refuses tokens over http unless the
    process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` is set, and we do not edit the environment."""
    import requests
    from supersetapiclient.client import SupersetClient

    if not url.startswith("http://"):
        return SupersetClient(host=url, username=user, password=password)

    class PlainHttpClient(SupersetClient):
        @cached_property
        def session(self) -> requests.Session:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._token['access_token']}"
            session.headers.update(
                {"X-CSRFToken": f"{self.csrf_token(session)}", "Referer": f"{self.base_url}"}
            )
            return session

    return PlainHttpClient(host=url, username=user, password=password)


def import_bundle(url: str, user: str, password: str, bundle: bytes, db_password: str) -> None:
    """Log in and import the bundle with superset-api-client (0.6.0 works against Superset 6.1
    for login and ``import_file``; its database/chart creation does not, which is why the
    bundle — not API calls — defines the assets)."""
    client = _client(url, user, password)
    with tempfile.TemporaryDirectory(prefix="merajut-superset-") as tmp:
        path = Path(tmp) / "merajut_dashboards.zip"
        path.write_bytes(bundle)
        try:
            client.dashboards.import_file(
                str(path), overwrite=True, passwords={"merajut_gold": db_password}
            )
        except Exception as exc:  # the client raises its own HTTP error types
            raise RuntimeError(f"import failed: {exc}") from exc


def _silent(_: str) -> None:
    return None


def wait_until_healthy(
    client: httpx.Client, wait_s: float, say: Callable[[str], None] = _silent
) -> None:
    """Superset takes half a minute to start; a provisioning run started beside it (the
    README's commands, the compose job) waits for ``/health`` instead of failing, and says
    so every 15 s (a silent minute looks like a hang)."""
    started = time.monotonic()
    deadline = started + wait_s
    said = -SAY_EVERY_S
    while True:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        waited = time.monotonic() - started
        if time.monotonic() > deadline:
            raise SystemExit(f"Superset at {client.base_url} not healthy after {wait_s:.0f}s")
        if waited - said >= SAY_EVERY_S:
            say(
                f"waiting for Superset at {client.base_url} to answer /health "
                f"({waited:.0f} s of at most {wait_s:.0f} s)"
            )
            said = waited
        time.sleep(1)


def provision(
    url: str,
    user: str,
    password: str,
    db_uri: str,
    db_password: str = "",
    timeout: float = 300,
    wait_s: float = 180,
    say: Callable[[str], None] = _silent,
) -> None:
    """Import the whole bundle into the Superset at ``url`` (idempotent: fixed UUIDs)."""
    values = {**os.environ, "MERAJUT_SUPERSET_DB_URI": db_uri}
    bundle = build_bundle(values)
    with httpx.Client(base_url=url, timeout=timeout) as client:
        wait_until_healthy(client, wait_s, say)
    say(f"importing the dashboards bundle into {url}")
    import_bundle(url, user, password, bundle, db_password)


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env.get("SUPERSET_URL", "http://127.0.0.1:8088"))
    parser.add_argument("--user", default=env.get("SUPERSET_ADMIN_USER", "admin"))
    parser.add_argument("--password", default=env.get("SUPERSET_ADMIN_PASSWORD"))
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("--password or SUPERSET_ADMIN_PASSWORD is required")
    uri = settings.superset.db_uri or superset_uri(settings.layout.superset_catalog)
    db_password = settings.superset.db_password
    provision(
        args.url,
        args.user,
        args.password,
        uri,
        db_password.get_secret_value() if db_password is not None else "",
        say=lambda message: print(message, flush=True),
    )
    print(f"provisioned {ASSETS} into {args.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
