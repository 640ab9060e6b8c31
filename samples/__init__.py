"""Tooling, not runtime: the deterministic sample league generator (tests, demo, benchmarks)."""
