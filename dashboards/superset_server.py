"""Start and stop a local Superset from ``.superset-venv`` (tests and single-machine users).

Superset lives in its own virtualenv (it pins sqlalchemy<2 and pandas<2.2), so this module
never imports it: it writes a ``superset_config.py``, runs the ``superset`` CLI of that venv
in child processes and talks to the server over HTTP only.

Usage (foreground, Ctrl-C stops it)::

    dashboards/install_superset.sh
    .venv/bin/python -m dashboards.superset_server --home .superset --port 8088

The admin password comes from ``SUPERSET_ADMIN_PASSWORD`` (default ``admin`` for a local,
127.0.0.1-only server); ``SUPERSET_SECRET_KEY`` is used when set, otherwise a key is generated
once and kept in ``<home>/secret_key`` so the metadata DB stays readable across restarts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from lakehouse.layout import REPO_ROOT
from lakehouse.secrets import is_placeholder

REPO = REPO_ROOT
DEFAULT_VENV = REPO / ".superset-venv"

CONFIG_TEMPLATE = """\
# Written by dashboards/superset_server.py; regenerated on every start.
SECRET_KEY = {secret_key!r}
SQLALCHEMY_DATABASE_URI = {metadata_uri!r}
# The API is used with a bearer token from /api/v1/security/login; CSRF only guards forms.
WTF_CSRF_ENABLED = False
# Local server on 127.0.0.1: no HTTPS to enforce, no login rate limit to trip tests.
TALISMAN_ENABLED = False
AUTH_RATE_LIMITED = False
RATELIMIT_ENABLED = False
FEATURE_FLAGS = {{
    # Dashboard filters/cross-filters as in the exported bundle; import needs nothing else.
    "DASHBOARD_NATIVE_FILTERS": True,
    "DASHBOARD_CROSS_FILTERS": True,
    "ENABLE_TEMPLATE_PROCESSING": False,
}}
# Results must reflect the CURRENT snapshot right after a publish.
DATA_CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
SQLLAB_CTAS_NO_LIMIT = True
"""


def _secret_key(home: Path) -> str:
    if key := os.environ.get("SUPERSET_SECRET_KEY"):
        if is_placeholder(key):
            raise ValueError("SUPERSET_SECRET_KEY is a placeholder; set a long random value")
        return key
    path = home / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@dataclass
class SupersetServer:
    """One Superset process with its config and SQLite metadata DB under ``home``."""

    home: Path
    port: int = 8088
    admin_user: str = "admin"
    admin_password: str = field(
        default_factory=lambda: os.environ.get("SUPERSET_ADMIN_PASSWORD", "admin")
    )
    venv: Path = DEFAULT_VENV
    extra_env: dict[str, str] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "superset.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
        env.update(
            SUPERSET_CONFIG_PATH=str(self.home / "superset_config.py"),
            FLASK_APP="superset",
            SUPERSET_HOME=str(self.home),
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "superset_config.py"
        config.write_text(
            CONFIG_TEMPLATE.format(
                secret_key=_secret_key(self.home),
                metadata_uri=f"sqlite:///{(self.home / 'superset.db').resolve()}",
            ),
            encoding="utf-8",
        )
        return config

    def _cli(self, *args: str, timeout: float = 900) -> None:
        with self.log_path.open("ab") as log:
            proc = subprocess.run(
                [str(self.venv / "bin" / "superset"), *args],
                env=self.env(),
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        if proc.returncode != 0:
            tail = self.log_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"superset {args[0]} failed ({proc.returncode}):\n{tail}")

    def setup(self) -> None:
        """Config, metadata DB migrations, admin user and roles/permissions (idempotent)."""
        if not (self.venv / "bin" / "superset").exists():
            raise FileNotFoundError(
                f"{self.venv} has no superset; run dashboards/install_superset.sh"
            )
        self.write_config()
        self._cli("db", "upgrade")
        # create-admin is a no-op (exit 0, "already exists") on a second run.
        self._cli(
            "fab",
            "create-admin",
            "--username",
            self.admin_user,
            "--firstname",
            "Merajut",
            "--lastname",
            "Admin",
            "--email",
            f"{self.admin_user}@localhost",
            "--password",
            self.admin_password,
        )
        self._cli("init")

    def start(self, timeout: float = 180) -> None:
        """Start ``superset run`` on 127.0.0.1 and wait until ``/health`` answers."""
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [
                str(self.venv / "bin" / "superset"),
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--with-threads",
            ],
            env=self.env(),
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"superset exited ({self._proc.returncode}):\n{tail}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise TimeoutError(f"superset not healthy after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        # Own session: the werkzeug reloader-less server has no children, but be thorough.
        os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=20)

    def __enter__(self) -> SupersetServer:
        self.setup()
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=REPO / ".superset", help="config + metadata DB"
    )
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args(argv)
    server = SupersetServer(home=args.home.resolve(), port=args.port, venv=args.venv)
    # Superset runs in its own session (so that stopping it takes every process it started):
    # a SIGTERM that killed only this wrapper would leave it on its port. Stop it first.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        print(f"setting up {server.home} and starting Superset on {server.url} ...", flush=True)
        server.setup()
        server.start()
        print(f"superset at {server.url} (user {server.admin_user}); log {server.log_path}")
        sys.stdout.flush()
        while server._proc is not None and server._proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
