"""Benchmarks (`make bench`): each module here has `run() -> None` and prints its own table."""
