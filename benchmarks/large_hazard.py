"""Large person-period models: fit time and peak memory of ``fit_mixed`` (simulated data).

Usage::

    python benchmarks/large_hazard.py [--rows 1000000] [--repeats 1] [--r]

Simulated (not real) person-period rows: clients nested in therapists (40 clients each),
up to 20 sessions, a logit hazard with a session trend, an alliance-like predictor (standard
normal), a 0/1 strategy code and therapist (SD 0.4) and client (SD 0.8) intercepts. Two
models, each fitted in a fresh process so that its peak resident memory is its own:

- dropout: ``event ~ period_c + wai_c + validation + (1 | therapist)`` on the rows at risk;
- attendance: ``attended ~ period_c + wai_c + validation + (1 | client) + (1 | therapist)`` on
  every scheduled row (about the same number).

It prints the median wall time of ``--repeats`` fits (safeguard on), the peak memory of the
process (data included) and, with ``--r``, lme4's time on the same rows (one fit).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = {
    "dropout": "event ~ period_c + wai_c + validation + (1 | therapist)",
    "attendance": "attended ~ period_c + wai_c + validation + (1 | client) + (1 | therapist)",
}


def simulate(n_rows: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated person-period rows, about ``n_rows`` of each: (dropout rows, attendance rows).

    The number of clients is set from a pilot so that the rows at risk number about
    ``n_rows`` (clients at risk for about 12 sessions on average)."""
    pilot = _simulate(max(80, n_rows // 10), n_rows, seed)[0]
    return _simulate(max(80, round(n_rows // 10 * n_rows / len(pilot))), n_rows, seed)


def _simulate(n_clients: int, n_rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_t = max(2, n_clients // 40)
    therapist = np.arange(n_clients) % n_t
    t_eff = rng.normal(0, 0.4, n_t)[therapist]
    c_eff = rng.normal(0, 0.8, n_clients)
    sessions = 20
    client = np.repeat(np.arange(n_clients), sessions)
    period = np.tile(np.arange(1, sessions + 1), n_clients)
    wai = rng.normal(size=len(client))
    validation = rng.integers(0, 2, len(client))
    eta = -2.6 - 0.03 * (period - 1) - 0.35 * wai - 0.3 * validation + t_eff[client]
    event = rng.random(len(client)) < 1 / (1 + np.exp(-eta))
    # rows at risk: up to and including the first event
    first = pd.Series(np.where(event, period, sessions + 1)).groupby(client).transform("min")
    at_risk = period <= first.to_numpy()
    eta_att = 1.5 - 0.4 * wai + 0.2 * validation + c_eff[client] + t_eff[client]
    attended = rng.random(len(client)) < 1 / (1 + np.exp(-eta_att))
    frame = pd.DataFrame(
        {
            "client": [f"c{i}" for i in client],
            "therapist": [f"t{i}" for i in therapist[client]],
            "period_c": period - 1,
            "wai_c": wai,
            "validation": validation,
            "event": event.astype(int),
            "attended": attended.astype(int),
        }
    )
    dropout = frame[at_risk].reset_index(drop=True)
    keep = n_rows / len(frame)
    attendance = frame[rng.random(len(frame)) < keep].reset_index(drop=True)
    return dropout, attendance


def child(model: str, n_rows: int, repeats: int) -> None:
    """Fit one model (in this process) and print JSON: time and peak memory."""
    from alliance_stats.models import fit_mixed

    dropout, attendance = simulate(n_rows)
    data = dropout if model == "dropout" else attendance
    times, res = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_mixed(MODELS[model], data, family="binomial")
        times.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            dict(
                model=model,
                rows=len(data),
                seconds=statistics.median(times),
                peak_mb=peak_mb,
                loglik=res.loglik,
                converged=res.converged,
            )
        )
    )


R_FIT = r"""
suppressPackageStartupMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1])
d$client <- factor(d$client); d$therapist <- factor(d$therapist)
f <- as.formula(commandArgs(TRUE)[2])
t <- system.time(m <- glmer(f, d, family = binomial, control = glmerControl(optimizer = "bobyqa")))
cat(t[["elapsed"]], as.numeric(logLik(m)), "\n")
"""


def lme4_time(model: str, n_rows: int) -> tuple[float, float]:
    dropout, attendance = simulate(n_rows)
    data = dropout if model == "dropout" else attendance
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "fit.R"
        data.to_csv(csv, index=False)
        script.write_text(R_FIT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), MODELS[model]],
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode != 0:
        print("R failed:", out.stderr[-500:], file=sys.stderr)
        return np.nan, np.nan
    seconds, loglik = out.stdout.split()
    return float(seconds), float(loglik)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--r", action="store_true", help="also time lme4 (one fit)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.rows, args.repeats)
        return
    for model in MODELS:
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                model,
                "--rows",
                str(args.rows),
                "--repeats",
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            print(f"{model} failed:", run.stderr[-1500:])
            continue
        out = json.loads(run.stdout.strip().splitlines()[-1])
        line = (
            f"{model}: {out['rows']:,} rows, {out['seconds']:.1f} s, peak {out['peak_mb']:,.0f} MB"
            f", loglik {out['loglik']:.3f}, converged {out['converged']}"
        )
        if args.r and shutil.which("Rscript"):
            secs, ll = lme4_time(model, args.rows)
            line += f"; lme4 {secs:.1f} s (loglik {ll:.3f}), lme4/ours {secs / out['seconds']:.1f}"
        print(line)


if __name__ == "__main__":
    main()
