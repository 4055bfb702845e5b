"""Run every benchmark module in this package (or the ones named on the command line)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time


def main(names: list[str]) -> int:
    package = importlib.import_module("bench")
    modules = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    for name in names or modules:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        module.run()
        print(f"(bench.{name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
