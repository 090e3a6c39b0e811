"""The API tests run with no ``MERAJUT_*`` variable of the developer's environment; their
fixtures are ``tests.support.api_fixtures`` (shared with the CLI tests)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(no_merajut_env: None) -> None:
    return None
