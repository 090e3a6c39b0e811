"""The API tests run with no ``MERAJUT_*`` variable of the developer's environment; their
fixtures are ``tests.support.api_fixtures`` (shared with the CLI tests).

Here, ``settings`` points the API at a copy of the packaged catalog whose limits no test
reaches: the other tests send many queries per key within seconds, and what they check
(numbers, suppression, audit) must not depend on the request limits. ``test_limits.py`` writes
the limits it tests; ``test_catalog.py`` checks the packaged ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.reference.audiences import ROLES
from lakehouse.settings import Settings
from tests.metrics_api.catalogs import UNREACHED, with_catalog, write_catalog


@pytest.fixture(autouse=True)
def _isolated(no_merajut_env: None) -> None:
    return None


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    limits: dict[str, tuple[int | None, int | None]] = {
        r: (None, None) if r == "admin" else (UNREACHED, UNREACHED) for r in ROLES
    }
    return with_catalog(settings, write_catalog(tmp_path / "catalog.yml", limits))
