"""Superset dashboards as code (walking skeleton part 2, issue #3)."""
