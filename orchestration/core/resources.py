"""The one Dagster resource every domain shares: the lakehouse's settings and privacy tools.

Settings are read from ``MERAJUT_*`` when a run starts (never at import), so the code location
loads with no environment; in production a run without the pipeline's keys fails, naming the
missing variable, when its first step builds the tokenizer, before anything is extracted.
"""

from __future__ import annotations

import contextlib
from functools import cached_property

import dagster as dg
from pydantic import PrivateAttr

from anonymization.redaction import Redactor
from anonymization.tokens import Tokenizer
from anonymization.vault import TokenVault
from ingestion.contracts import TableContract, load_contracts
from ingestion.validation import RowCheckWorker
from lakehouse.locks import exclusive_lock
from lakehouse.settings import Settings, get_settings


class LakehouseResource(dg.ConfigurableResource):
    """Settings, contracts and the keyed privacy tools, built once per run.

    A run holds the pipeline lock of its home for as long as it executes (a run started by
    ``merajut`` already holds it; one the daemon launched waits for it), so two runs never
    ingest or publish into the same lake at once. Sensors use the resource without a run and
    take no lock.
    """

    _settings: Settings | None = PrivateAttr(default=None)
    _held: contextlib.ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.dagster_run is None:
            return
        stack = contextlib.ExitStack()
        stack.enter_context(
            exclusive_lock(
                self.settings.pipeline_lock,
                guards="the pipeline of this lake",
                purpose=f"dagster run {context.dagster_run.run_id}",
            )
        )
        self._held = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

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
    def row_checker(self) -> RowCheckWorker:
        """Ingestion's second process (``ingestion.validation.RowCheckWorker``), kept for every
        table of the run."""
        return RowCheckWorker()

    @cached_property
    def vault(self) -> TokenVault:
        layout = self.settings.layout
        return TokenVault(layout.vault, self.settings.keys.vault_key, layout.vault_audit_log)
