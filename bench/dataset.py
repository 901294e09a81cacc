"""Builds (once) the shared demo data set of N contacts that the other benchmarks read."""

import argparse

from bench.common import ensure_dataset


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dataset", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    url = ensure_dataset(args.contacts)
    print(f"data set of {args.contacts:,} contacts ready at {url}")
    return 0
