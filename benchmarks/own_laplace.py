"""Random-intercept binomial models: our own Laplace fit against the engine's.

For every binomial reference model with one random intercept
(tests/reference/fixtures/lme4_*.json), and the clinic dropout hazard with both links, this
fits the same rows with ``fit_mixed`` twice: with our own fit first for every link (our
Laplace deviance and its analytic gradient, then the optimum check) and with it off for
every link (the engine's fit, then the same check). ``fit_mixed`` uses our own fit
by default for the links in ``alliance_stats.models.fit.OWN_FIRST_LINKS``, where it wins.
Runs alternate A and B; it prints the median seconds of each, their ratio (engine / own;
above 1 means ours is faster) and the log-likelihood difference (own - engine; positive
means ours found a higher optimum).

Run: python benchmarks/own_laplace.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reference"))

import test_lme4_models as ref  # noqa: E402

import alliance_stats as als  # noqa: E402
from alliance_stats.engagement import CATALOGUE, engagement_rows  # noqa: E402
from alliance_stats.models.formula import parse_formula  # noqa: E402


def cases():
    """(name, formula, data, fit_mixed options) of the models compared."""
    for path in sorted((ROOT / "tests" / "reference" / "fixtures").glob("lme4_*.json")):
        fx = json.loads(path.read_text())
        if fx.get("family") != "binomial" or int(fx.get("nAGQ", 1)) != 1:
            continue
        random = parse_formula(fx["formula"]).random
        if len(random) != 1 or random[0].expr.strip() != "1" or random[0].nested:
            continue
        options = {"family": "binomial", "weights": fx.get("weights")}
        yield path.stem[5:], fx["formula"], ref.load_data(fx["data"]), options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clinic = als.score(als.datasets.load("clinic"), "wai_sr", items="wai_{}")
    strategies = ["validation", "feedback_checkin", "offering_choices", "explaining_rationale"]
    rows, terms, _ = engagement_rows(
        clinic, "dropout_hazard", strategies, ["wai_sr_total"], baseline_df=4
    )
    spec = CATALOGUE["dropout_hazard"]
    for link in ("logit", "cloglog"):
        options = {**spec.fit_options(link), "bias_reduction": False}
        yield f"clinic dropout hazard ({link})", spec.formula(terms), rows, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'model':<36} {'rows':>6} {'own s':>7} {'engine s':>9} {'ratio':>6} {'dLL':>9}")
    for name, formula, data, options in cases():
        times = {"own": [], "engine": []}
        loglik = {}
        for _ in range(args.repeats):
            for path in ("own", "engine"):
                links = () if path == "engine" else ("logit", "cloglog")
                with mock.patch("alliance_stats.models.fit.OWN_FIRST_LINKS", links):
                    t0 = time.perf_counter()
                    res = als.fit_mixed(formula, data, **options)
                    times[path].append(time.perf_counter() - t0)
                loglik[path] = res.loglik
        own, engine = (statistics.median(times[p]) for p in ("own", "engine"))
        print(f"{name:<36} {len(data):>6} {own:>7.2f} {engine:>9.2f} {engine / own:>6.2f} "
              f"{loglik['own'] - loglik['engine']:>9.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
