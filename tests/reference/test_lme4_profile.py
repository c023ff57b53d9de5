"""Profile-likelihood intervals of the fixed effects against lme4's
confint(method = "profile") (tests/reference/R/lme4_profile.R).

Acceptance (issue 15): profile intervals within 1e-3 of lme4's: the fixed effects, SDs and
correlations (.sig01 ..., .sigma) of every model here (a random slope with its correlation in
sleepstudy; crossed intercepts; binomial and Poisson intercepts). Where lme4's spline
interpolation of its profile misses (three correlated terms; the correlations of random-slope
GLMMs, whose full lme4 profile fails and whose fixed effects glmmTMB gives), the ends are
checked where they are defined, by an independent profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_lme4_models import load_data

from alliance_stats.models import fit_mixed

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = json.loads((FIXTURES / "confint_profile.json").read_text())
#: models whose SDs (and correlations) are profiled too: all of these
VARIANCES_PROFILED = (
    "sleepstudy_reml",
    "sleepstudy_ml",
    "penicillin",
    "cbpp_trials",
    "mmmec_poisson",
    "cbpp_agq",
    "mmmec_negbin",
    "grouseticks_negbin",
)
MODELS = {
    "sleepstudy_reml": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", {}),
    "sleepstudy_ml": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", {"REML": False}),
    "penicillin": ("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin", {}),
    "cbpp_trials": (
        "prop ~ period + (1 | herd)",
        "cbpp",
        dict(family="binomial", weights="size"),
    ),
    "mmmec_poisson": (
        "deaths ~ uvb + offset(log(expected)) + (1 | region)",
        "mmmec",
        dict(family="poisson"),
    ),
    "cbpp_agq": (
        "prop ~ period + (1 | herd)",
        "cbpp",
        dict(family="binomial", weights="size", nagq=25),
    ),
    "mmmec_negbin": (
        "deaths ~ uvb + offset(log(expected)) + (1 | region)",
        "mmmec",
        dict(family="negative_binomial"),
    ),
    "grouseticks_negbin": (
        "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)",
        "grouseticks_counts",
        dict(family="negative_binomial"),
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_fixed_effect_profile_intervals_match_lme4(name):
    formula, data, kwargs = MODELS[name]
    res = fit_mixed(formula, load_data(data), **kwargs)
    ours = res.profile_intervals().set_index("term")
    ref = FIXTURE[name]
    expected = {
        p: (lo, hi)
        for p, lo, hi in zip(ref["parameter"], ref["conf_low"], ref["conf_high"])
        if not p.startswith(".sig")
    }
    fixed = ours[ours["kind"] == "fixed"]
    assert list(fixed.index) == list(expected)
    # the SDs of random-intercept models, in lme4's order (.sig01, ... then .sigma)
    sds = ours[ours["kind"].isin(["sd", "cor", "sigma"])]
    iccs = ours[ours["kind"] == "icc"]
    if name in VARIANCES_PROFILED and res.family == "binomial":  # ICCs: icc()'s numbers
        ref_icc = res.icc().set_index("group")["icc"]
        for term, row in iccs.iterrows():
            assert row["estimate"] == pytest.approx(ref_icc[term.split("|")[1]], rel=1e-6)
            assert 0 <= row["conf_low"] < row["estimate"] < row["conf_high"] <= 1
    lme4_sds = [p for p in ref["parameter"] if p.startswith(".sig")]
    if name in VARIANCES_PROFILED:
        assert ours.attrs["variances"] == "profiled" and len(sds) == len(lme4_sds)
        for (term, row), p in zip(sds.iterrows(), lme4_sds):
            i = ref["parameter"].index(p)
            assert row["conf_low"] == pytest.approx(ref["conf_low"][i], abs=1e-3), term
            assert row["conf_high"] == pytest.approx(ref["conf_high"][i], abs=1e-3), term
    else:
        assert sds.empty and "bootstrap" in ours.attrs["variances"]
    for term, (lo, hi) in expected.items():
        assert ours.loc[term, "conf_low"] == pytest.approx(lo, abs=1e-3)
        assert ours.loc[term, "conf_high"] == pytest.approx(hi, abs=1e-3)
    est = ours["estimate"]
    assert ((ours["conf_low"] < est) & (est < ours["conf_high"])).all()
    assert (fixed["estimate"] == res.coefficients["estimate"].reindex(fixed.index)).all()
    assert ours.attrs["conf_level"] == 0.95


def test_a_narrower_level_gives_narrower_intervals():
    formula, data, kwargs = MODELS["penicillin"]
    res = fit_mixed(formula, load_data(data), **kwargs)
    wide = res.profile_intervals(variances=False)
    narrow = res.profile_intervals(conf_level=0.8, variances=False)
    assert (narrow["conf_high"] - narrow["conf_low"] < wide["conf_high"] - wide["conf_low"]).all()


@pytest.mark.slow
def test_three_correlated_terms_match_lme4_and_their_own_profile():
    """sleepstudy with (Days + Days2 | Subject): every end within 2.5e-3 of lme4's. lme4
    places the ends by interpolating a spline through its profile points, and misses by up to
    about 2e-3 (the correlations, Days2's SD), so each of our ends is also checked where it is
    defined:
    the ML deviance, written here from the marginal normal likelihood (not the engine) and
    minimised over every other parameter by Nelder-Mead, has risen by the chi-squared
    quantile there, and no less closely than at lme4's end."""
    from scipy import optimize, stats

    data = load_data("sleepstudy")
    data["Days2"] = (data["Days"] - 4.5) ** 2 / 10
    res = fit_mixed("Reaction ~ Days + Days2 + (Days + Days2 | Subject)", data, REML=False)
    ours = res.profile_intervals()
    ref = FIXTURE["sleepstudy_quad"]
    variances = ours[ours["kind"] != "fixed"]
    lme4_sds = [p for p in ref["parameter"] if p.startswith(".sig")]
    assert len(variances) == len(lme4_sds) == 7

    groups = [g for _, g in data.groupby("Subject", sort=True)]
    X = np.stack([np.c_[np.ones(len(g)), g["Days"], g["Days2"]] for g in groups])
    y = np.stack([g["Reaction"].to_numpy(float) for g in groups])
    n = y.size
    cells = [(0, 0), (1, 0), (2, 0), (1, 1), (2, 1), (2, 2)]  # lme4's .sig01 ... .sig06

    def deviance(z):  # z: log sigma, then log SDs / atanh correlations in lme4's order
        sd, R = np.empty(3), np.eye(3)
        for (i, j), v in zip(cells, z[1:]):
            if i == j:
                sd[i] = np.exp(v)
            else:
                R[i, j] = R[j, i] = np.tanh(v)
        if np.linalg.eigvalsh(R)[0] <= 0:
            return np.inf
        V = X @ (R * np.outer(sd, sd)) @ X.transpose(0, 2, 1) + np.exp(2 * z[0]) * np.eye(10)
        Vi = np.linalg.inv(V)
        beta = np.linalg.solve(
            np.einsum("gia,gij,gjb->ab", X, Vi, X), np.einsum("gia,gij,gj->a", X, Vi, y)
        )
        r = y - X @ beta
        quad = np.einsum("gi,gij,gj->", r, Vi, r)
        return float(np.linalg.slogdet(V)[1].sum() + quad + n * np.log(2 * np.pi))

    vc = res.varcorr  # rows: the three SDs, the three correlations, the residual SD
    block = vc["sdcor"].to_numpy()[[0, 3, 4, 1, 5, 2]]  # in lme4's order
    is_sd = vc["var2"].isna().to_numpy()[[0, 3, 4, 1, 5, 2]]
    block = [np.log(v) if sd else np.arctanh(v) for v, sd in zip(block, is_sd)]
    z_hat = np.r_[np.log(vc["sdcor"].iloc[6]), block]
    nm = {"xatol": 1e-9, "fatol": 1e-11, "maxfev": 40000}
    best = optimize.minimize(deviance, z_hat, method="Nelder-Mead", options=nm).fun
    assert best == pytest.approx(res.deviance, abs=1e-6)
    crit = stats.chi2.ppf(0.95, 1)

    def rise(j, value):  # j: index in z (0 sigma, then the block in lme4's order)
        others = [i for i in range(len(z_hat)) if i != j]

        def f(w):
            z = np.empty(len(z_hat))
            z[j], z[others] = value, w
            return deviance(z)

        return optimize.minimize(f, z_hat[others], method="Nelder-Mead", options=nm).fun - best

    for k, ((_, row), p) in enumerate(zip(variances.iterrows(), lme4_sds)):
        i, j = ref["parameter"].index(p), (k + 1) % 7  # sigma is z[0]
        to_z = np.arctanh if row["kind"] == "cor" else np.log
        for ours_end, lme4_end in (
            (row["conf_low"], ref["conf_low"][i]),
            (row["conf_high"], ref["conf_high"][i]),
        ):
            assert ours_end == pytest.approx(lme4_end, abs=2.5e-3), p
            ours_miss = abs(rise(j, to_z(ours_end)) - crit)
            assert ours_miss < 2e-3, p
            assert ours_miss <= abs(rise(j, to_z(lme4_end)) - crit) + 1e-4, p


SLOPES = {
    "clinic_dropout_slope": (
        "dropout ~ wai_c + validation + (1 + wai_c | therapist)",
        "clinic_dropout_pp",
    ),
    "contraception_slope": (
        "use01 ~ age + age2 + urban + livch + (urban | district)",
        "contraception",
    ),
}


def engine_rise(formula: str, rows, res):
    """``rise(k, value)``: the engine's Laplace deviance (mixedlm's, fitted here from the
    rows), with parameter ``k`` (0 .. 2: SD, correlation, SD of the block, in lme4's order;
    then the fixed effects) held at ``value`` and every other minimised by Nelder-Mead,
    minus its minimum: a check of our profile that shares neither its deviance nor its
    optimiser."""
    import mixedlm as ml
    from mixedlm.estimation.joint_glmm import JointGLMMObjective
    from scipy import optimize

    from alliance_stats.models.engines import engine_family

    m = ml.glmer(formula, rows, family=engine_family("binomial", "logit"))
    engine = JointGLMMObjective(m.matrices, m.family, 1)
    se = res.coefficients["std_error"].to_numpy()
    vc = res.varcorr
    z_hat = np.r_[
        np.log(vc["sdcor"].iloc[0]),
        np.arctanh(vc["sdcor"].iloc[2]),
        np.log(vc["sdcor"].iloc[1]),
        res.coefficients["estimate"].to_numpy() / se,
    ]

    def deviance(z):
        sd1, rho, sd2 = np.exp(z[0]), np.tanh(z[1]), np.exp(z[2])
        theta = [sd1, sd2 * rho, sd2 * np.sqrt(1 - rho**2)]
        return engine(np.r_[theta, z[3:] * se])

    nm = {"xatol": 1e-9, "fatol": 1e-11, "maxfev": 40000, "adaptive": True}

    def minimum(f, start):
        for _ in range(2):  # a restart of Nelder-Mead from its own end
            start = optimize.minimize(f, start, method="Nelder-Mead", options=nm).x
        return float(f(start))

    best = minimum(deviance, z_hat)

    def rise(k, value):
        others = [i for i in range(len(z_hat)) if i != k]
        z_k = np.arctanh(value) if k == 1 else np.log(value) if k < 3 else value / se[k - 3]

        def f(w):
            z = np.empty(len(z_hat))
            z[k], z[others] = z_k, w
            return deviance(z)

        return minimum(f, z_hat[others]) - best

    return rise


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOPES))
def test_random_slope_glmm_intervals_match_lme4_and_glmmtmb(name):
    """Binomial models with a correlated random slope: lme4's full profile stops ("profiling
    detected new, lower deviance"), so the SDs and the correlation are compared with lme4's
    variance-only profile and glmmTMB's, the fixed effects with glmmTMB's. Both interpolate a
    spline through their profile points (lme4 warns its spline for the correlation is bad);
    the three of our ends furthest (beyond 1e-4) from a reference are checked where they are
    defined: the deviance has risen by the chi-squared quantile there (an independent
    Nelder-Mead profile of the engine's deviance), and no less closely than at the
    reference's end."""
    from scipy import stats

    formula, data = SLOPES[name]
    rows = load_data(data)
    res = fit_mixed(formula, rows, family="binomial")
    ours = res.profile_intervals()
    ref, tmb = FIXTURE[name], FIXTURE[name]["glmmTMB"]
    assert list(ours["kind"]) == ["sd", "cor", "sd"] + ["fixed"] * len(res.coefficients)
    assert ours.attrs["variances"] == "profiled"
    # (k, our row, [(reference end, tolerance), ...]) per end
    checks = []
    for k, p in enumerate([".sig01", ".sig02", ".sig03"]):
        i = ref["parameter"].index(p)
        ends = [(ref["conf_low"][i], ref["conf_high"][i])]
        if p in tmb["parameter"]:
            t = tmb["parameter"].index(p)
            ends.append((tmb["conf_low"][t], tmb["conf_high"][t]))
        checks.append((k, ours.iloc[k], ends, 5e-3 if p == ".sig02" else 1e-3))
    for k, term in enumerate(res.coefficients.index, start=3):
        t = tmb["parameter"].index(term)
        checks.append((k, ours.iloc[k], [(tmb["conf_low"][t], tmb["conf_high"][t])], 1e-3))
    apart = []  # (distance, k, our end, the reference's end, term)
    for k, row, ends, tol in checks:
        for side, mine in ((0, row["conf_low"]), (1, row["conf_high"])):
            for reference in (e[side] for e in ends):
                assert mine == pytest.approx(reference, abs=tol), (row["term"], side)
                if abs(mine - reference) > 1e-4 and abs(reference) < 1 - 1e-9:
                    apart.append((abs(mine - reference), k, mine, reference, row["term"]))
    # the three ends furthest from a reference, checked where they are defined
    rise, crit = engine_rise(formula, rows, res), stats.chi2.ppf(0.95, 1)
    for _, k, mine, reference, term in sorted(apart, reverse=True)[:3]:
        miss = abs(rise(k, mine) - crit)
        assert miss < 1e-4, term
        assert miss <= abs(rise(k, reference) - crit), term


@pytest.mark.parametrize("bias_reduction", [False, True])
def test_hazard_model_where_the_engine_profile_fails(bias_reduction):
    """The default dropout hazard model on SIMULATED person-period rows: the engine's profile
    fails (its inner PIRLS does not converge along it), so our own Laplace deviance is
    profiled; the ends match the profile written out in R (glmer refits with the fixed effect
    as an offset, uniroot; tests/reference/R/lme4_profile_hazard.R). A bias-reduced fit has
    the same intervals: they come from the ML deviance."""
    fx = json.loads((FIXTURES / "confint_profile_hazard.json").read_text())
    data = pd.read_csv(FIXTURES / "teaching_dropout_pp.csv.gz", dtype={"therapist": str})
    formula = (
        "dropout_event ~ period_ns1 + validation_within + validation_between + (1 | therapist)"
    )
    res = fit_mixed(formula, data, family="binomial", bias_reduction=bias_reduction)
    ref = pd.DataFrame(fx["profile"]).set_index("term")
    ours = res.profile_intervals().set_index("term")
    np.testing.assert_allclose(
        ours.loc[ref.index, ["conf_low", "conf_high"]], ref[["conf_low", "conf_high"]], atol=1e-5
    )
    sd = ours.loc["sd_(Intercept)|therapist"]
    assert sd["conf_low"] < fx["theta"] < sd["conf_high"]  # around lme4's ML estimate
