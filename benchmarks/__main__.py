"""``python -m benchmarks`` (``make bench``): every area's benchmark, one after the other.

Each area's module prints its own table, with the peer tool measured in the same run and the
ratio between the two. Numbers are for the machine they ran on; compare ratios, not seconds.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._peer import reason_of


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}")
        return 2
    return run_all(wanted, lambda name: importlib.import_module(f"benchmarks.{name}"))


def run_all(names: list[str], load: Callable[[str], Any]) -> int:
    """Run each benchmark module's ``main()``; one that fails is reported and the rest still run.

    Returns 1 when any failed (after running them all), else 0.
    """
    failed: dict[str, str] = {}
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        started = time.perf_counter()
        try:
            load(name).main()
        except Exception as exc:  # one benchmark's failure does not stop the others
            failed[name] = reason_of(exc)
            print(f"benchmarks.{name} FAILED: {failed[name]}", flush=True)
        print(f"(benchmarks.{name} took {time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print("\nfailed: " + "; ".join(f"{n} ({why})" for n, why in failed.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
