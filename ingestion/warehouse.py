"""Access to the warehouse: embedded chDB at a path, or a ClickHouse server by URL.

The chDB lock: the embedded engine lets one process open a data path, and a process may only
ever open one path. Every warehouse step therefore opens the engine inside ``session()``,
which first takes an exclusive ``flock`` on ``<path>.lock`` and closes the engine (releasing
chDB's own lock) before the flock is released. A second step, in this process or another (the
dbt subprocess, a second Dagster run), waits for the flock instead of failing inside chDB with
"Cannot lock file .../status". Readers (API, Superset, release builder) never open this path;
they read published gold snapshots.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class WarehouseBusyError(RuntimeError):
    """Another step held the embedded warehouse longer than we were willing to wait."""


@dataclass(frozen=True)
class WarehouseTarget:
    """``embedded`` (chDB at ``path``) or a ClickHouse server ``url``."""

    path: Path | None = None
    url: str | None = None

    @property
    def embedded(self) -> bool:
        return self.url is None

    @property
    def lock_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".lock")

    def describe(self) -> str:
        if self.embedded:
            return f"chDB at {self.path}"
        parsed = urlparse(str(self.url))
        return f"ClickHouse at {parsed.scheme}://{parsed.hostname}:{parsed.port}"


@contextmanager
def exclusive_lock(lock_path: Path, timeout_s: float = 3600.0) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusyError(
                        f"warehouse lock {lock_path} still held after {timeout_s:.0f}s"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _client(target: WarehouseTarget) -> Any:
    import clickhouse_connect

    if target.embedded:
        assert target.path is not None
        target.path.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(interface="chdb", path=str(target.path))
    parsed = urlparse(str(target.url))
    return clickhouse_connect.get_client(
        interface=parsed.scheme or "http",
        host=parsed.hostname or "localhost",
        port=parsed.port or 8123,
        username=parsed.username or "default",
        password=parsed.password or "",
    )


@contextmanager
def session(target: WarehouseTarget) -> Iterator[Any]:
    """A clickhouse-connect client, exclusive for the embedded engine, closed on exit."""
    if target.embedded:
        with exclusive_lock(target.lock_path):
            client = _client(target)
            try:
                yield client
            finally:
                client.close()
    else:
        client = _client(target)
        try:
            yield client
        finally:
            client.close()


@contextmanager
def reserved_for_subprocess(target: WarehouseTarget) -> Iterator[None]:
    """Hold the lock while a child process (dbt) opens the engine itself."""
    if target.embedded:
        with exclusive_lock(target.lock_path):
            yield
    else:
        yield
