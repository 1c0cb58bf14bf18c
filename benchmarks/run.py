"""Run every benchmark in one process and print ratios against the peers: ``python -m benchmarks.run``.

Pass names to run a subset: ``python -m benchmarks.run bands``.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bands", "smoothing", "pca", "analysis", "analysis2", "compress", "detect", "classify", "browser",
              "scale", "load", "upload", "load10"]


def main(names: list[str]) -> int:
    chosen = names or BENCHMARKS
    results = {}
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        results[name] = module.main()
    print("\nsummary: " + ", ".join(f"{n} {'ok' if ok else 'MISSED'}" for n, ok in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
