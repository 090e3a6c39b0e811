"""Profile fields for ``type: chdb``: a data path instead of host/port."""

from dataclasses import dataclass

from dbt.adapters.clickhouse.credentials import ClickHouseCredentials


@dataclass
class ChdbCredentials(ClickHouseCredentials):
    # Directory of the embedded ClickHouse data. chDB lets one process open one path, and one
    # path be open in one process at a time, so dbt must run with threads: 1 and nothing else
    # may hold the path while dbt runs (see docs/architecture.md, "the chDB lock").
    path: str = ""
    # The warehouse lock (lakehouse.locks) the dbt process holds while it has the engine open, so
    # that no pipeline step opens the path meanwhile, even when the orchestrator that started dbt
    # was killed. Empty: no lock (a dbt run outside the lakehouse's orchestration).
    lock_path: str = ""
    # An embedded engine has no exchange-test race worth paying for on every connection.
    check_exchange: bool = False

    @property
    def type(self) -> str:
        return "chdb"

    @property
    def unique_field(self) -> str:
        return self.path

    def _connection_keys(self) -> tuple[str, ...]:
        return ("path", "lock_path", "schema", "retries", "custom_settings")
