"""Metrics REST API over published gold snapshots (walking skeleton part 2, issue #3)."""
