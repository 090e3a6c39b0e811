"""Warehouse domain: the raw schema loaded from bronze."""
