"""Fuzz the readers at length (before a release): the fuzz suite of the tests, with more cases.

The generators and checks are those of ``tests/unit/fuzz_inputs.py`` (the CI test runs 200
cases with seed 13). This prints, per file kind: cases, tables read, and the failures found
(exceptions that are not alliance_stats errors, runs over 30 s, library warnings reaching the
user, rows or columns lost without a report, ids changed without a note, damaged files
accepted), then the slowest case and the peak resident memory of the process.

Run: python benchmarks/fuzz.py [--cases 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
from fuzz_inputs import KINDS, draw_table, failures, run_case

CHECKS = ("crash", "slow", "warned", "lost_rows", "lost_columns", "ids_changed", "accepted_bad")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows, examples, slowest = [], [], (0.0, "")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.cases):
            kind = KINDS[i % len(KINDS)]
            t0 = time.perf_counter()
            result = run_case(draw_table(rng), kind, Path(folder), rng)
            seconds = time.perf_counter() - t0
            slowest = max(slowest, (seconds, kind))
            rows.append({"kind": kind, "cases": 1, "read": result["read"],
                         **{c: bool(result[c]) for c in CHECKS}})  # fmt: skip
            examples += [(kind, f, result[f]) for f in failures(result)][:1]
    table = pd.DataFrame(rows).groupby("kind").sum().astype(int)
    print(table.to_string())
    print(f"total: {table.sum().to_dict()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - started:.0f} s; slowest case {slowest[0]:.2f} s "
          f"({slowest[1]}); peak RSS {peak:.0f} MB")  # fmt: skip
    for kind, check, text in examples[:5]:
        print(f"\n[{kind}] {check}: {text}")


if __name__ == "__main__":
    main()
