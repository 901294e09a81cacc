import importlib
import pkgutil
import sys

import bench

HELPERS = {"common"}
# Names that are not module names (`import` is a Python keyword): `python -m bench import`.
ALIASES = {"import": "imports"}


def available() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_") or info.name in HELPERS:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        found[info.name] = (module.__doc__ or "").strip().splitlines()[0]
    return found


def main(argv: list[str]) -> int:
    benches = available()
    if argv and argv[0] in ALIASES:
        argv = [ALIASES[argv[0]], *argv[1:]]
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in benches:
        print("usage: python -m bench <name> [options]   (python -m bench <name> --help for its options)\n")
        for name, summary in sorted(benches.items()):
            print(f"  {name:<10} {summary}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"bench.{argv[0]}")
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
