"""Profile intervals of the variance parameters and ICCs (models/profile.py): the ICC path
agrees with the SD path where the ICC is a monotone function of one SD, and the linear
model's ICC intervals cover the simulated truth at the nominal rate. (The SDs against lme4:
tests/reference/test_lme4_profile.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alliance_stats.models import fit_mixed
from alliance_stats.models.lmm import InterceptLMM
from alliance_stats.models.profile import icc_rows


def test_binomial_icc_interval_is_the_sd_interval_transformed():
    """One random intercept: ICC = s^2 / (s^2 + pi^2 / 3) is increasing in the SD s, so the
    two profiles (coded separately) must give the same interval through that map."""
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(30), 20)
    eta = -0.4 + rng.normal(0, 0.9, 30)[g]
    df = pd.DataFrame(
        {"y": (rng.random(len(g)) < 1 / (1 + np.exp(-eta))).astype(float), "g": g.astype(str)}
    )
    t = fit_mixed("y ~ 1 + (1 | g)", df, family="binomial").profile_intervals().set_index("term")
    sd, icc = t.loc["sd_(Intercept)|g"], t.loc["icc|g"]
    to_icc = lambda s: s**2 / (s**2 + np.pi**2 / 3)  # noqa: E731
    assert icc["estimate"] == pytest.approx(to_icc(sd["estimate"]), rel=1e-9)
    assert icc["conf_low"] == pytest.approx(to_icc(sd["conf_low"]), rel=1e-4)
    assert icc["conf_high"] == pytest.approx(to_icc(sd["conf_high"]), rel=1e-4)
    assert t.loc["icc|adjusted", "conf_low"] == icc["conf_low"]


@pytest.mark.slow
def test_linear_icc_interval_covers_the_truth():
    """100 simulated data sets (30 groups of 5, ICC 0.3): the 95% profile interval covers 0.3
    in 88% to 100% of them (the nominal 95% within three Monte Carlo SEs)."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(30), 5)
    X = np.ones((len(g), 1))
    crit = stats.chi2.ppf(0.95, 1)
    truth, hits = 0.3, 0
    for _ in range(100):
        y = rng.normal(0, np.sqrt(truth), 30)[g] + rng.normal(0, np.sqrt(1 - truth), len(g))
        lmm = InterceptLMM(y, X, [g], REML=False)
        theta = lmm.fit().theta
        (_, _, est, low, high), _ = icc_rows(
            lmm.value_and_gradient, theta, 1, 1.0, lmm(theta), ["sd_(Intercept)|g"], crit
        )
        assert low <= est <= high
        hits += low <= truth <= high
    assert 88 <= hits <= 100
