"""dbt adapter plugin that runs dbt-clickhouse against embedded chDB.

dbt-clickhouse already speaks the ClickHouse dialect and owns every macro we need; the only
thing missing for the embedded warehouse is a client that opens a chDB data path instead of an
HTTP endpoint. clickhouse-connect (>= 1.12) provides exactly that with ``interface='chdb'``,
so this plugin swaps the client and inherits everything else (``dependencies=['clickhouse']``).
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.chdb.connections import ChdbConnectionManager  # noqa: F401
from dbt.adapters.chdb.credentials import ChdbCredentials
from dbt.adapters.chdb.impl import ChdbAdapter
from dbt.include import chdb

Plugin = AdapterPlugin(
    adapter=ChdbAdapter,  # type: ignore[arg-type]
    credentials=ChdbCredentials,
    include_path=chdb.PACKAGE_PATH,
    dependencies=["clickhouse"],
)
