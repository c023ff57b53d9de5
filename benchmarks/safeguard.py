"""Does the optimum safeguard of binomial fits find what an exhaustive restart search finds?

Usage::

    python benchmarks/safeguard.py [--datasets 15] [--seed 1]

Simulated person-period dropout data (simulated, not real: one row per client and attended
session, at most one event per client, a session trend) in four regimes: a therapist SD near
0 (the boundary), a large client SD with one event per client (the known second-peak trap),
moderate SDs, and few clients per therapist. Each dataset is fitted with
``fit_mixed(..., family="binomial")`` (the safeguard on) and, independently, searched
exhaustively: bounded L-BFGS-B on :class:`alliance_stats.models.laplace.InterceptLaplace`
(the same Laplace deviance) from every combination of random-intercept SDs in
{0.05, 0.5, 1, 2, 4, 8} (one factor; {0.05, 1, 4} for each of two) with the GLM's fixed
effects. It prints, per regime, the median fit
time and how often the exhaustive search found a deviance lower than the fit's by more than
1e-4 (a miss). Run it with ``PYTHONPATH`` pointing at another checkout to compare versions.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from alliance_stats.models import fit_mixed
from alliance_stats.models.laplace import InterceptLaplace

REGIMES = {
    # name: (therapists, clients per therapist, therapist SD, client SD, base logit)
    "boundary therapist SD": (12, 15, 0.05, 1.0, -2.5),
    "large client SD": (10, 15, 0.4, 4.0, -1.0),
    "moderate SDs": (15, 12, 0.6, 1.2, -2.0),
    "few clients": (20, 4, 1.0, 1.5, -2.0),
}
#: SD starts of the exhaustive search: every value for one factor, every pair of the coarser
#: set for two
SD_STARTS = {1: (0.05, 0.5, 1.0, 2.0, 4.0, 8.0), 2: (0.05, 1.0, 4.0)}


def simulate(rng: np.random.Generator, n_t, per, sd_t, sd_c, base, max_sessions=12):
    """Person-period rows (simulated): dropout hazard with a session trend and one predictor."""
    rows = []
    t_eff = rng.normal(0, sd_t, n_t)
    for t in range(n_t):
        for c in range(per):
            c_eff = rng.normal(0, sd_c)
            for s in range(1, max_sessions + 1):
                x = rng.normal()
                eta = base + t_eff[t] + c_eff - 0.1 * s + 0.4 * x
                y = int(rng.uniform() < 1 / (1 + np.exp(-eta)))
                rows.append((f"T{t}", f"T{t}C{c}", s, x, y))
                if y:
                    break
    return pd.DataFrame(rows, columns=["therapist", "client", "session", "x", "dropout"])


def exhaustive(d: pd.DataFrame, factors: list[str]) -> float:
    """Lowest Laplace deviance from every combination of SD starts."""
    X = np.c_[np.ones(len(d)), d["session"].to_numpy(float), d["x"].to_numpy(float)]
    groups = [pd.factorize(d[f], sort=True)[0] for f in factors]
    obj = InterceptLaplace(d["dropout"].to_numpy(float), X, groups)
    beta = obj.glm_start()
    best = np.inf
    bounds = [(0.0, 50.0)] * len(factors) + [(None, None)] * X.shape[1]
    for sds in itertools.product(SD_STARTS[len(factors)], repeat=len(factors)):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            r = optimize.minimize(obj, np.r_[sds, beta], method="L-BFGS-B", bounds=bounds)
        best = min(best, float(r.fun))
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=15, help="per regime")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    models = {
        "(1 | therapist)": ["therapist"],
        "(1 | therapist) + (1 | client)": ["therapist", "client"],
    }
    print("simulated data; 'miss' = exhaustive search found a deviance lower by > 1e-4")
    print(f"{'regime':24s} {'random terms':32s} {'fits':>5s} {'median s':>9s} {'misses':>7s}")
    for regime, spec in REGIMES.items():
        datasets = [simulate(rng, *spec) for _ in range(args.datasets)]
        for terms, factors in models.items():
            times, misses, failed = [], 0, 0
            for d in datasets:
                formula = f"dropout ~ session + x + {terms}"
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = fit_mixed(formula, d, family="binomial")
                except Exception:  # counted and reported: a benchmark
                    failed += 1
                    continue
                times.append(time.perf_counter() - t0)
                if exhaustive(d, factors) < res.deviance - 1e-4:
                    misses += 1
            med = statistics.median(times) if times else float("nan")
            extra = f" ({failed} failed)" if failed else ""
            print(f"{regime:24s} {terms:32s} {len(times):5d} {med:9.3f} {misses:7d}{extra}")


if __name__ == "__main__":
    main()
