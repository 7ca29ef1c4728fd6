"""The bulk_admin benchmark: ``python bench/benchmark.py`` (see docs/performance.md)."""
