"""The one Dagster resource every domain shares: the lakehouse's settings and privacy tools.

Settings are read from ``MERAJUT_*`` when a run starts (never at import), so the code location
loads with no environment; in production a run without the pipeline's keys fails, naming the
missing variable, when its first step builds the tokenizer, before anything is extracted.
"""

from __future__ import annotations

from functools import cached_property

import dagster as dg
from pydantic import PrivateAttr

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract, load_contracts
from lakehouse.settings import Settings, get_settings


class LakehouseResource(dg.ConfigurableResource):
    """Settings, contracts and the keyed privacy tools, built once per run."""

    _settings: Settings | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    @cached_property
    def contracts(self) -> dict[str, TableContract]:
        return load_contracts()

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.settings.keys.token_key)

    @cached_property
    def redactor(self) -> Redactor:
        return Redactor(self.tokenizer)

    @cached_property
    def vault(self) -> TokenVault:
        layout = self.settings.layout
        return TokenVault(layout.vault, self.settings.keys.vault_key, layout.vault_audit_log)
