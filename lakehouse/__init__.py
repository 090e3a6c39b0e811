"""The ground floor of the MerajutASA Lakehouse: what every other package stands on.

Settings (one tree), the lake's layout, the on-disk formats with one writer and one reader
each (gold snapshots, gold tables in the warehouse, research releases), ids, the warehouse
connection, the hash-chained audit log and reference data (regions, the NIK rule, audiences,
services). It imports none of the project's other packages (an import-linter contract in
``pyproject.toml`` keeps it so), which is what lets ingestion, the privacy layer, the API,
the dashboards and the orchestrator share one definition of each rule instead of copies.
"""
