"""The warehouse: embedded chDB in the lake, or a ClickHouse server, behind one ``connect()``.

``MERAJUT_WAREHOUSE`` is ``embedded`` (chDB at ``<lake>/warehouse/chdb``) or the URL of a
server, ``http(s)://user@host:port``; the server's password comes only from
``MERAJUT_WAREHOUSE_PASSWORD``, never from the URL (URLs end up in logs and manifests).

The chDB lock: the embedded engine lets one process open a data path, and a process may only
ever open one path. Whoever opens it holds an exclusive ``flock`` on ``<path>.lock`` first
(:mod:`lakehouse.locks`): pipeline steps inside :func:`session`, which closes the engine
(releasing chDB's own lock) before the flock is released, and the dbt subprocess through its
adapter plugin, for the life of that process. A second opener waits for the flock instead of
failing inside chDB with "Cannot lock file .../status", and says whom it waits for. The kernel
releases a flock when its holder dies, so a killed step never blocks the next run; a dbt process
orphaned by a killed orchestrator keeps the lock until it has finished with the engine. Readers
(API, Superset) never open this path; they read published gold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lakehouse.locks import exclusive_lock

__all__ = ["EMBEDDED", "WarehouseTarget", "connect", "session"]

#: The one spelling of the embedded warehouse in settings.
EMBEDDED = "embedded"
_DEFAULT_PORTS = {"http": 8123, "https": 8443}


def check_warehouse_setting(value: str) -> str:
    """``embedded`` or ``http(s)://[user@]host[:port]``; raises ValueError saying what is wrong."""
    if value == EMBEDDED:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.hostname:
        raise ValueError(
            f"MERAJUT_WAREHOUSE must be {EMBEDDED!r} or http(s)://user@host:port of a ClickHouse "
            f"server, not {value!r}"
        )
    if parsed.password is not None:
        raise ValueError(
            "MERAJUT_WAREHOUSE must not carry a password; set MERAJUT_WAREHOUSE_PASSWORD instead"
        )
    return value


@dataclass(frozen=True)
class WarehouseTarget:
    """Embedded chDB at ``path``, or a ClickHouse server at ``url`` (with its password)."""

    path: Path | None = None
    url: str | None = None
    password: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.path is None) == (self.url is None):
            raise ValueError("a warehouse target is either an embedded path or a server url")
        if self.url is not None:
            check_warehouse_setting(self.url)

    @classmethod
    def from_setting(cls, value: str, embedded_path: Path, password: str = "") -> WarehouseTarget:
        check_warehouse_setting(value)
        if value == EMBEDDED:
            return cls(path=embedded_path)
        return cls(url=value, password=password)

    @property
    def embedded(self) -> bool:
        return self.path is not None

    @property
    def lock_path(self) -> Path:
        if self.path is None:
            raise ValueError("a ClickHouse server has no local lock")
        return self.path.with_name(self.path.name + ".lock")

    @property
    def _parsed(self) -> Any:
        return urlparse(str(self.url))

    @property
    def scheme(self) -> str:
        return "chdb" if self.embedded else str(self._parsed.scheme)

    @property
    def host(self) -> str:
        return str(self._parsed.hostname)

    @property
    def port(self) -> int:
        return int(self._parsed.port or _DEFAULT_PORTS[self.scheme])

    @property
    def username(self) -> str:
        return str(self._parsed.username or "default")

    def describe(self) -> str:
        """Where the warehouse is, without credentials (safe for logs and manifests)."""
        if self.embedded:
            return f"chDB at {self.path}"
        return f"ClickHouse at {self.scheme}://{self.host}:{self.port}"

    def dbt_target(self) -> str:
        """The dbt profile target (``dbt_project/profiles.yml``) for this warehouse."""
        return "embedded" if self.embedded else "clickhouse"

    def dbt_profile_vars(self) -> dict[str, str]:
        """What ``profiles.yml`` reads with ``var()``: where the warehouse is, never a secret
        (dbt receives the password as ``MERAJUT_WAREHOUSE_PASSWORD`` in its environment)."""
        if self.embedded:
            return {"warehouse_path": str(self.path), "warehouse_lock": str(self.lock_path)}
        return {
            "clickhouse_host": self.host,
            "clickhouse_port": str(self.port),
            "clickhouse_user": self.username,
            "clickhouse_secure": "true" if self.scheme == "https" else "false",
        }


def connect(target: WarehouseTarget) -> Any:
    """A clickhouse-connect client: the embedded engine at its path, or the server over HTTP.

    For the embedded engine the caller must hold the lock (:func:`session` does); readers
    outside the pipeline read published gold instead.
    """
    import clickhouse_connect

    if target.embedded:
        assert target.path is not None
        target.path.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(interface="chdb", path=str(target.path))
    return clickhouse_connect.get_client(
        interface=target.scheme,
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
    )


@contextmanager
def session(target: WarehouseTarget, *, purpose: str = "a pipeline step") -> Iterator[Any]:
    """A client, exclusive for the embedded engine (its lock held while open), closed on exit."""
    if target.embedded:
        with exclusive_lock(target.lock_path, guards="the embedded warehouse", purpose=purpose):
            client = connect(target)
            try:
                yield client
            finally:
                client.close()
    else:
        client = connect(target)
        try:
            yield client
        finally:
            client.close()
