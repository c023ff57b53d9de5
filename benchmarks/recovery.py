"""Recovery of planted effects by the default engagement models (SIMULATED data).

For each scenario of alliance_stats.recovery.SCENARIOS, simulate the default design
(30 therapists x 10 clients x 16 planned sessions), fit the catalogue model and print, per
term with a known truth: bias, empirical SE, mean model SE, 95% CI coverage and rejection
rate, with Monte Carlo SEs, and the Holm family-wise error over the null strategy terms.

Run: python benchmarks/recovery.py [--reps 500] [--jobs 2] [--scenario NAME ...] [--csv DIR]
                                  [--markdown]   (also print the README's table rows)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from alliance_stats.recovery import SCENARIOS, recovery_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scenario", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--csv", default=None, help="also write each scenario's replicates")
    parser.add_argument("--markdown", action="store_true", help="also print markdown rows")
    args = parser.parse_args()
    for name in args.scenario:
        t0 = time.perf_counter()
        res = recovery_study(name, args.reps, seed=args.seed, n_jobs=args.jobs)
        print(res.summary())
        if args.markdown:
            print(markdown_rows(res))
        print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
        if args.csv:
            out = Path(args.csv)
            out.mkdir(parents=True, exist_ok=True)
            res.replicates.to_csv(out / f"recovery_{name}.csv", index=False)


def markdown_rows(res) -> str:
    """One markdown table row per term: truth, bias (MC SE), SEs, coverage, rejection rate."""
    out = []
    for r in res.table.itertuples(index=False):
        out.append(
            f"| {res.scenario.name} | {r.term} | {r.truth:+.2f} | "
            f"{r.bias:+.3f} ({r.bias_mc_se:.3f}) | {r.empirical_se:.3f} | "
            f"{r.mean_model_se:.3f} | {100 * r.coverage:.1f} "
            f"({100 * r.coverage_mc_se:.1f}) | {100 * r.rejection_rate:.1f} "
            f"({100 * r.rejection_mc_se:.1f}) |"
        )
    out.append(
        f"| {res.scenario.name} | Holm family-wise error, null strategy terms | | | | | | "
        f"{100 * res.family_wise_error:.1f} |"
    )
    return "\n".join(out)


if __name__ == "__main__":
    main()
