"""Run every benchmark module (bench_*.py) in one process and write build/benchmarks.json."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from .harness import Report


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks [--quick] [--only core,cache_service]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller sizes (smoke run)")
    parser.add_argument("--only", default="", help="comma-separated module names without 'bench_' (default: all)")
    parser.add_argument("--out", default="build/benchmarks.json", help="where to write the JSON results")
    args = parser.parse_args(argv)
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    report = Report(quick=args.quick)
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    for name in names:
        if only and name.removeprefix("bench_") not in only:
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").run(report)
    report.write_json(Path(args.out))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
