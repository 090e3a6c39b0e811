"""Superset dashboards as code: the bundle, its provisioning, and the DuckDB catalog of gold."""
