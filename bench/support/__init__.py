"""Shared set-up of the benchmarks (not a benchmark itself: `make bench` runs bench/*.py)."""
