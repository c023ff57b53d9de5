"""Profile intervals of the variance parameters and ICCs (models/profile.py): the ICC path
agrees with the SD path where the ICC is a monotone function of one SD, and the linear
model's ICC intervals cover the simulated truth at the nominal rate. (The SDs against lme4:
tests/reference/test_lme4_profile.py.)"""

from __future__ import annotations

import warnings

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


def _crossed_rows(binary: bool) -> pd.DataFrame:
    """Simulated rows: 12 therapists crossed with 15 raters, 3 rows per pair."""
    rng = np.random.default_rng(21)
    t, r = np.meshgrid(np.arange(12), np.arange(15), indexing="ij")
    t, r = np.repeat(t.ravel(), 3), np.repeat(r.ravel(), 3)
    eta = 0.2 + rng.normal(0, 0.7, 12)[t] + rng.normal(0, 0.5, 15)[r]
    y = (rng.random(len(t)) < 1 / (1 + np.exp(-eta))) if binary else eta + rng.normal(size=len(t))
    return pd.DataFrame(
        {"y": y.astype(float), "t": [f"t{k}" for k in t], "r": [f"r{k}" for k in r]}
    )


@pytest.mark.parametrize("binary", [False, True])
def test_adjusted_icc_of_two_factors_is_where_the_deviance_rises(binary):
    """Two crossed intercepts: at each end of the adjusted ICC's interval (and of the first
    factor's ICC, along its own path), the ML deviance
    minimised over how the total variance is split between the factors (a grid and a bounded
    scalar search on the angle of (theta_1, theta_2), independent of the softmax shares and
    L-BFGS-B of the profile) and over the fixed effects has risen by the chi-squared
    quantile. The linear deviance is the engine's; the binomial one our Laplace deviance (the
    engine's PIRLS fails at the upper end's large variances; the two agree where it does
    not, tests/reference)."""
    import mixedlm as ml
    from scipy import optimize

    from alliance_stats.models.engines import engine_family, lmm_deviance_parts
    from alliance_stats.models.laplace import InterceptLaplace

    data = _crossed_rows(binary)
    formula = "y ~ 1 + (1 | t) + (1 | r)"
    family = "binomial" if binary else "gaussian"
    res = fit_mixed(formula, data, family=family, REML=False)
    table = res.profile_intervals().set_index("term")
    row, first = table.loc["icc|adjusted"], table.loc["icc|t"]
    assert row["conf_low"] < row["estimate"] < row["conf_high"]
    resid = np.pi**2 / 3 if binary else 1.0
    if binary:
        m = ml.glmer(formula, data, family=engine_family("binomial", "logit"))
        laplace = InterceptLaplace.from_mixedlm(m.matrices)

        def deviance(theta):  # minimised over the intercept
            found = optimize.minimize_scalar(lambda b: laplace(np.r_[theta, b]), (-2.0, 2.0))
            return found.fun
    else:
        m = ml.lmer(formula, data, REML=False)
        n = len(data)

        def deviance(theta):  # sigma and the intercept profiled out
            ld, pwrss = lmm_deviance_parts(np.asarray(theta), m.matrices)
            return ld + n * (1 + np.log(2 * np.pi * pwrss / n))

    def split_minimum(c):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (the engine far out: inf, not an answer)
            return _split_minimum(c)

    def _split_minimum(c):
        r = np.sqrt(c * resid / (1 - c))
        f = lambda phi: deviance(r * np.array([np.cos(phi), np.sin(phi)]))  # noqa: E731
        grid = np.linspace(0, np.pi / 2, 41)
        k = int(np.argmin([f(p) for p in grid]))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, 40)]
        return optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded").fun

    def first_minimum(c):  # the ICC of t at c: theta_t follows from theta_r
        def f(theta_r):
            return deviance(np.array([np.sqrt(c * (theta_r**2 + resid) / (1 - c)), theta_r]))

        grid = np.linspace(0, 3, 61)
        k = int(np.argmin([f(v) for v in grid]))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, 60)]
        return optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded").fun

    best = split_minimum(row["estimate"])
    crit = stats.chi2.ppf(0.95, 1)
    for end in (row["conf_low"], row["conf_high"]):
        assert split_minimum(end) - best == pytest.approx(crit, abs=2e-3)
    # the ICC of one factor of two: the same check on its own path
    with np.errstate(all="ignore"):
        for end in (first["conf_low"], first["conf_high"]):
            assert first_minimum(end) - best == pytest.approx(crit, abs=2e-3)
