"""One embedded warehouse for the tests that run in the pytest process (a pytest plugin).

chDB lets a process open one data path in its lifetime, so every in-process test shares this
session's path (each test in databases of its own) and nothing else in the pytest process may
open another. Tests of whole pipeline runs use child processes instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse.warehouse import WarehouseTarget, connect

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def chdb_target(tmp_path_factory: pytest.TempPathFactory) -> WarehouseTarget:
    return WarehouseTarget(path=tmp_path_factory.mktemp("warehouse") / "chdb")


@pytest.fixture(scope="session")
def chdb_client(chdb_target: WarehouseTarget) -> Iterator[Any]:
    """Held open for the session: the engine stays up while tests open more clients on it."""
    client = connect(chdb_target)
    yield client
    client.close()


@pytest.fixture
def chdb_database(chdb_client: Any) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"test_{next(_databases)}"
    chdb_client.command(f"create database {name}")
    yield name
    chdb_client.command(f"drop database if exists {name}")
