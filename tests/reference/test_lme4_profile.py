"""Profile-likelihood intervals of the fixed effects against lme4's
confint(method = "profile") (tests/reference/R/lme4_profile.R).

Acceptance (issue 15): profile intervals within 1e-3 of lme4's: the fixed effects, SDs and
correlations (.sig01 ..., .sigma) of every model here (a random slope with its correlation in
sleepstudy; crossed intercepts; binomial and Poisson intercepts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_lme4_models import load_data

from alliance_stats.models import fit_mixed

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "confint_profile.json").read_text())
#: models whose SDs (and correlations) are profiled too: all of these
VARIANCES_PROFILED = (
    "sleepstudy_reml",
    "sleepstudy_ml",
    "penicillin",
    "cbpp_trials",
    "mmmec_poisson",
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
    if name in VARIANCES_PROFILED and res.family != "poisson":  # ICCs: icc()'s numbers
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
