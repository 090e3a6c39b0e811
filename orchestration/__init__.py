"""Dagster code location of the lakehouse: per-domain definitions assembled in definitions.py."""
