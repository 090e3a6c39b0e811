"""Transformation domain: the dbt project as assets."""
