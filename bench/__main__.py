"""Run every benchmark module in this package (or the ones named on the command line).

With more than one module, each runs in a fresh interpreter of its own: a module's figures then do not depend on
what an earlier one left in the process (a larger heap, a warmer or fuller allocator: the manifest benchmark's
JSON step took 0.85-1.0 s after the others in one process, ~0.25 s on its own)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time


def main(names: list[str]) -> int:
    package = importlib.import_module("bench")
    modules = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    chosen = names or modules
    if len(chosen) > 1:
        runs = {name: subprocess.run([sys.executable, "-m", "bench", name], check=False) for name in chosen}
        failed = [name for name, done in runs.items() if done.returncode != 0]
        if failed:
            print(f"\nfailed: {', '.join(failed)}", flush=True)
        return 1 if failed else 0
    name = chosen[0]
    module = importlib.import_module(f"bench.{name}")
    print(f"\n=== bench.{name} ===", flush=True)
    started = time.perf_counter()
    module.run()
    print(f"(bench.{name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
