"""Benchmarks (not timed tests): results go to docs/benchmarks.md."""
