"""Ingestion: source contracts, extraction, validation and quarantine, pseudonymization before
anything is written, bronze, the raw load, and the synthetic sources the demo and tests use."""
