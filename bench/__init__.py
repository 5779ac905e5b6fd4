"""Benchmarks for publisher: ``python -m bench`` (see bench/README.md)."""
