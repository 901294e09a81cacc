"""Benchmarks: `python -m bench <name> [options]` (or `make bench BENCH="<name> ..."`).

Each benchmark is a module of this package with a `main(argv)` function and a
docstring whose first line describes it. They run against PostgreSQL (see
bench/common.py) and print their figures; they are not tests.
"""
