"""clickhouse-connect's chDB client behind dbt-clickhouse's client wrapper."""

from typing import Any

import clickhouse_connect
from dbt.adapters.clickhouse.httpclient import ChHttpClient
from dbt_common.exceptions import DbtRuntimeError


class ChdbClient(ChHttpClient):
    def _create_client(self, credentials: Any) -> Any:
        if not credentials.path:
            raise DbtRuntimeError("profile type 'chdb' needs 'path': the chDB data directory")
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
