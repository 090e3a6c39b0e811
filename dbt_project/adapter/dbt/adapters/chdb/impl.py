"""The ClickHouse adapter, unchanged but for its connection manager and type name."""

from dbt.adapters.clickhouse.impl import ClickHouseAdapter

from dbt.adapters.chdb.connections import ChdbConnectionManager


class ChdbAdapter(ClickHouseAdapter):
    ConnectionManager = ChdbConnectionManager

    @classmethod
    def type(cls) -> str:
        return "chdb"
