"""Time the power analysis: one replicate of the default design vs one lme4 fit, and a full run.

Usage::

    python benchmarks/power.py [--replicates 20] [--full 500] [--n-jobs 2] [--write-data]

1. Per replicate: simulate the default design (``alliance_stats.power.Design()``), build the
   person-period rows of the dropout hazard model (alliance_stats.engagement: baseline spline,
   running within/between splits, therapist intercept) and fit it
   (``fit_mixed(..., restarts=False)``), as
   ``power_analysis`` does; the median over ``--replicates`` replicates is printed next to the
   time of ONE ``lme4::glmer`` fit of the same model on the same rows (replicate 0), read from
   tests/reference/fixtures/power_lme4_timing.json (written by
   tests/reference/R/power_lme4_timing.R). simr refits the model with lme4 for every replicate,
   so the lme4 time is a lower bound on simr's cost per replicate.
2. Full run: ``power_analysis(n_sims=--full, n_jobs=--n-jobs)`` of the default design, wall time.

``--write-data`` (re)writes the rows of replicate 0 that the R script fits
(tests/reference/fixtures/power_hazard_pp.csv); then run the R script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "reference" / "fixtures"
DATA = FIXTURES / "power_hazard_pp.csv"
R_FIXTURE = FIXTURES / "power_lme4_timing.json"


def replicate_rows(i: int, seed: int = 1, n_sims: int = 500):
    """Rows and formula of replicate ``i`` of the default design (as power_analysis builds)."""
    from alliance_stats.engagement import CATALOGUE, engagement_rows
    from alliance_stats.power import Design, Effect
    from alliance_stats.scoring import score
    from alliance_stats.simulate import simulate_study

    child = np.random.SeedSequence(seed).spawn(n_sims)[i]
    eff, design = Effect(), Design()
    sim = simulate_study(seed=child, **design.simulation_arguments(eff.strategy, eff.hazard_log_or))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = score(sim.sessions, "wai_sr", items="wai_{}")
        rows, terms, _ = engagement_rows(data, "dropout_hazard", [eff.strategy],
                                         list(design.covariates))  # fmt: skip
    return rows, terms, CATALOGUE["dropout_hazard"].formula(terms)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=20)
    ap.add_argument("--full", type=int, default=500, help="replicates of the full run (0 = skip)")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--write-data", action="store_true")
    args = ap.parse_args(argv)

    from alliance_stats import power as pw
    from alliance_stats.power.replicates import run_replicate

    if args.write_data:
        rows, terms, _ = replicate_rows(0)
        cols = ["client", "therapist", "dropout_event", *terms]
        rows[cols].to_csv(DATA, index=False, float_format="%.17g")
        print(f"wrote {DATA} ({len(rows)} rows); now run tests/reference/R/power_lme4_timing.R")

    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        usable = cores
    print(f"cores: os.cpu_count() = {cores}, usable by this process = {usable}")

    # 1. per replicate (simulate + prepare + fit), serial, in this process
    design, effect = pw.Design(), pw.Effect()
    seeds = np.random.SeedSequence(1).spawn(500)
    run_replicate(((0, "warm-up", 0), "mixed", design, effect, 0.05, seeds[0]))
    times, fit_times = [], []
    for i in range(args.replicates):
        t0 = time.perf_counter()
        rec = run_replicate(((0, effect.label, i), "mixed", design, effect, 0.05, seeds[i]))
        times.append(time.perf_counter() - t0)
    per_rep = statistics.median(times)
    # the fit alone on the rows lme4 fitted
    from alliance_stats.models import fit_mixed

    rows0, _, formula = replicate_rows(0)
    for _ in range(3):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_mixed(formula, rows0, family="binomial", restarts=False)
        fit_times.append(time.perf_counter() - t0)
    fit0 = statistics.median(fit_times)
    print(
        f"per replicate (simulate + person-period + fit), median of {args.replicates}: "
        f"{per_rep:.3f} s (min {min(times):.3f}, max {max(times):.3f}); last record "
        f"converged={rec['converged']}"
    )
    print(
        f"fit_mixed alone on replicate 0 ({len(rows0)} rows): {fit0:.3f} s, "
        f"logLik {res.loglik:.3f}, converged={res.converged}"
    )
    if R_FIXTURE.exists():
        fx = json.loads(R_FIXTURE.read_text())
        lme4 = fx["lme4"]["time_median_s"]
        print(
            f"lme4::glmer, one fit of the same model on the same rows: {lme4:.3f} s "
            f"(logLik {fx['lme4']['loglik']:.3f}; R {fx['versions']['R']}, "
            f"lme4 {fx['versions']['lme4']})"
        )
        print(f"ratio lme4 fit / alliance_stats replicate: {lme4 / per_rep:.2f}x")
        print(f"ratio lme4 fit / alliance_stats fit:       {lme4 / fit0:.2f}x")
    else:
        print(f"no lme4 timing: run Rscript tests/reference/R/power_lme4_timing.R ({R_FIXTURE})")

    # 2. full run
    if args.full:
        t0 = time.perf_counter()
        full = pw.power_analysis(n_sims=args.full, n_jobs=args.n_jobs, progress=False)
        wall = time.perf_counter() - t0
        row = full.table.iloc[0]
        print(
            f"power_analysis(n_sims={args.full}, n_jobs={args.n_jobs}) of the default design: "
            f"{wall:.1f} s wall ({wall / 60:.2f} min; {wall / args.full:.3f} s per replicate); "
            f"backend {full.backend}"
        )
        print(
            f"  power {row['power']:.3f} [{row['power_conf_low']:.3f}, "
            f"{row['power_conf_high']:.3f}], bias {row['bias']:.3f}, coverage "
            f"{row['coverage']:.3f}, warnings {row['warning_share']:.3f}, failed "
            f"{row['failed_share']:.3f}"
        )
        print(
            "  expected on k free cores: about k x faster than serial (replicates are "
            "independent; loky start-up about 1 s per worker)"
        )


if __name__ == "__main__":
    main()
