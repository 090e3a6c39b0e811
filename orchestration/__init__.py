"""The orchestrator: the Dagster code location (definitions.py assembles the domains), the
runner and the ``merajut`` CLI."""
