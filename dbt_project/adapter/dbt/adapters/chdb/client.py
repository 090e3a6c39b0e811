"""clickhouse-connect's chDB client behind dbt-clickhouse's client wrapper.

Before the engine is opened, the process takes the warehouse lock named in the profile and keeps
it until it exits (the kernel releases it then, however dbt ends). The orchestrator does not hold
the lock for dbt: if it is killed while dbt runs, dbt still holds the lock until it has closed
the engine, and the next run's steps wait for it instead of failing inside chDB.
"""

import contextlib
import os
from pathlib import Path
from typing import Any, ClassVar

import clickhouse_connect
from dbt.adapters.clickhouse.httpclient import ChHttpClient
from dbt.adapters.clickhouse.logger import logger
from dbt_common.exceptions import DbtRuntimeError


class ChdbClient(ChHttpClient):
    #: Locks held for the life of this process (one per lock path).
    _locks: ClassVar[dict[str, contextlib.ExitStack]] = {}

    @classmethod
    def _hold_lock(cls, lock_path: str) -> None:
        if not lock_path or lock_path in cls._locks:
            return
        # The lakehouse's own lock, so waiters on either side say who holds it. dbt-chdb runs
        # inside the lakehouse's environment; the import is here to keep loading the plugin cheap.
        from lakehouse.locks import exclusive_lock

        stack = contextlib.ExitStack()
        stack.enter_context(
            exclusive_lock(
                Path(lock_path),
                guards="the embedded warehouse",
                purpose=f"dbt (pid {os.getpid()})",
                on_wait=logger.info,
            )
        )
        cls._locks[lock_path] = stack

    def _create_client(self, credentials: Any) -> Any:
        if not credentials.path:
            raise DbtRuntimeError("profile type 'chdb' needs 'path': the chDB data directory")
        self._hold_lock(credentials.lock_path)
        # session_id is an HTTP-session concept; the embedded engine keeps one session anyway.
        settings = {k: v for k, v in self._conn_settings.items() if k != "session_id"}
        try:
            return clickhouse_connect.get_client(
                interface="chdb", path=credentials.path, settings=settings
            )
        except Exception as ex:  # the engine's own message names the lock problem
            raise DbtRuntimeError(
                f"cannot open chDB at {credentials.path!r}: {ex}. Another process probably "
                "holds this path (chDB allows one process per data path)."
            ) from ex

    def close(self) -> None:
        # Closing releases the engine's file lock so the next step may open the path.
        self._client.close()
