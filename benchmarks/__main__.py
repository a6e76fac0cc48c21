"""Run the benchmarks: `python -m benchmarks [ingestion|boards|flags|telemetry ...] [--rows N] [--people N]`."""

import argparse
import importlib
import sys

SUITES = ["ingestion", "boards", "flags", "telemetry"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("suites", nargs="*", default=None, help=f"which to run (default: all of {SUITES})")
    parser.add_argument("--rows", type=int, default=1_000_000, help="ingestion: rows per generated file")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    for name in args.suites or SUITES:
        try:
            suite = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError:
            print(f"(no {name} benchmark yet)")
            continue
        suite.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
