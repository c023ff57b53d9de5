"""Time the reference mixed models: alliance_stats vs statsmodels MixedLM vs lme4 (R).

Usage::

    python benchmarks/models.py [--repeats 3] [--large-clients 8000] [--r]

For every model in tests/reference/fixtures/lme4_*.json it fits the same rows with
``alliance_stats.models.fit_mixed`` (default engine mixedlm, including the optimum checks and
restarts) and, where the model is expressible there, with statsmodels ``MixedLM``, and prints
the median of ``--repeats`` runs next to the median lme4 time the R script recorded on this
machine (tests/reference/R/lme4_models.R).  The large case simulates a study with
``alliance_stats.simulate.simulate_study`` and builds discrete-time person-period rows (the
rule in lme4_models.R) with client and therapist random intercepts; with ``--r`` the same rows
are written to a temporary CSV and timed with lme4::glmer in R as well.
"""

from __future__ import annotations

import argparse
import json
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reference"))

import test_lme4_models as ref  # noqa: E402

from alliance_stats.models import fit_mixed  # noqa: E402

# statsmodels formulations of the reference models it can express
STATSMODELS = {
    "sleepstudy_reml": dict(formula="Reaction ~ Days", groups="Subject", re_formula="~Days"),
    "sleepstudy_ml": dict(
        formula="Reaction ~ Days", groups="Subject", re_formula="~Days", reml=False
    ),
    "clinic_wai_nested": dict(
        formula="wai_total ~ session",
        groups="therapist",
        re_formula="1",
        vc_formula={"client": "0 + C(client)"},
    ),
}


def median_time(fun, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def statsmodels_fit(spec: dict, data: pd.DataFrame):
    import statsmodels.formula.api as smf

    spec = dict(spec)
    reml = spec.pop("reml", True)
    d = data.dropna(subset=["Reaction" if "Reaction" in data else "wai_total"])
    model = smf.mixedlm(data=d, **spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(reml=reml)


def person_period(sessions: pd.DataFrame) -> pd.DataFrame:
    """Person-period rows by the rule documented in tests/reference/R/lme4_models.R."""
    d = sessions.sort_values(["client", "session"]).reset_index(drop=True)
    last = d.groupby("client")["session"].transform("max") == d["session"]
    completed = d.loc[last].set_index("client")["attended"]
    d = d[d["attended"]].copy()
    last_att = d.groupby("client")["session"].transform("max") == d["session"]
    comp = d["client"].map(completed).astype(bool)
    d = d[~(last_att & comp)].copy()
    d["dropout"] = (last_att & ~comp).loc[d.index].astype("int64")
    wai = [f"wai_{i}" for i in range(1, 13)]
    d["wai_c"] = d[wai].mean(axis=1) - 3
    d = d.dropna(subset=["wai_c", "validation"])
    return d[["client", "therapist", "session", "dropout", "wai_c", "validation"]].reset_index(
        drop=True
    )


R_LARGE = r"""
suppressPackageStartupMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1])
f <- dropout ~ wai_c + validation + (1 | client) + (1 | therapist)
fit <- function() glmer(f, d, family = binomial, control = glmerControl(optimizer = "bobyqa"))
t <- replicate(as.integer(commandArgs(TRUE)[2]), system.time(fit())[["elapsed"]])
m <- fit()
cat(median(t), as.numeric(logLik(m)), "\n")
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--large-clients", type=int, default=8000)
    ap.add_argument("--r", action="store_true", help="also time lme4 on the large case")
    args = ap.parse_args(argv)
    rows = []
    for path in sorted((ROOT / "tests" / "reference" / "fixtures").glob("lme4_*.json")):
        name = path.stem.removeprefix("lme4_")
        fx = ref.fixture(name)
        data = ref.load_data(fx["data"])
        kw = dict(family=fx["family"], REML=bool(fx["REML"]), nagq=int(fx["nAGQ"]))
        ours = median_time(lambda: fit_mixed(fx["formula"], data, **kw), args.repeats)  # noqa: B023
        sm = np.nan
        if name in STATSMODELS:
            sm = median_time(lambda: statsmodels_fit(STATSMODELS[name], data), args.repeats)  # noqa: B023
        lme4 = fx["lme4"].get("time_median_s", np.nan)  # some fixtures record no timing
        rows.append(
            dict(
                model=name,
                n=fit_mixed(fx["formula"], data, **kw).nobs,
                ours_s=ours,
                statsmodels_s=sm,
                lme4_s=lme4,
                glmmTMB_s=fx.get("glmmTMB", {}).get("time_median_s", np.nan),
            )
        )
    # large case
    from alliance_stats.simulate import simulate_study

    n_t = max(2, args.large_clients // 40)
    sim = simulate_study(
        n_therapists=n_t, clients_per_therapist=40, max_sessions=20, seed=7, planned_sessions_min=8
    )
    pp = person_period(sim.sessions)
    formula = "dropout ~ wai_c + validation + (1 | client) + (1 | therapist)"
    ours = median_time(lambda: fit_mixed(formula, pp, family="binomial"), args.repeats)
    quick = median_time(
        lambda: fit_mixed(formula, pp, family="binomial", restarts=False), args.repeats
    )
    lme4 = np.nan
    if args.r and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "pp.csv"
            pp.to_csv(csv, index=False)
            script = Path(tmp) / "large.R"
            script.write_text(R_LARGE)
            out = subprocess.run(
                ["Rscript", str(script), str(csv), str(args.repeats)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode == 0:
                lme4 = float(out.stdout.split()[0])
            else:
                print("R failed:", out.stderr[-500:], file=sys.stderr)
    rows.append(
        dict(
            model=f"large_dropout ({len(pp)} rows)",
            n=len(pp),
            ours_s=ours,
            statsmodels_s=np.nan,
            lme4_s=lme4,
            glmmTMB_s=np.nan,
        )
    )
    rows.append(
        dict(
            model="large_dropout, restarts=False",
            n=len(pp),
            ours_s=quick,
            statsmodels_s=np.nan,
            lme4_s=lme4,
            glmmTMB_s=np.nan,
        )
    )
    tab = pd.DataFrame(rows)
    tab["lme4_over_ours"] = tab["lme4_s"] / tab["ours_s"]
    tab["statsmodels_over_ours"] = tab["statsmodels_s"] / tab["ours_s"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(tab.round(3).to_string(index=False))
    print(
        "\nmedian of",
        args.repeats,
        "runs; lme4/glmmTMB times from the R fixtures (same "
        "machine); NaN = not expressible in statsmodels MixedLM / not timed",
    )
    print(json.dumps({"repeats": args.repeats}))


if __name__ == "__main__":
    main()
