"""The engagement models against lme4 (tests/reference/R/engagement_models.R).

R builds the rows itself from the bundled clinic data (WAI-SR scoring, person-period rows,
running within/between splits, next-session outcome, splines::ns baseline), so these tests
check the row construction as well as the fits: the same rows, the same log-likelihood, and
the same strategy and alliance coefficients (invariant to how the spline is parametrised).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import alliance_stats as als
from alliance_stats.engagement import CATALOGUE, engagement_rows

FIXTURES = Path(__file__).parent / "fixtures"
STRATEGIES = ["validation", "feedback_checkin", "offering_choices", "explaining_rationale"]


@pytest.fixture(scope="module")
def clinic():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return als.score(als.datasets.load("clinic"), "wai_sr", items="wai_{}")


@pytest.mark.parametrize("model", ["dropout_hazard", "next_session_attendance"])
def test_engagement_model_matches_lme4(clinic, model):
    fx = json.loads((FIXTURES / f"engagement_{model}.json").read_text())
    tol = fx["tolerance"]
    assert clinic["wai_sr_total"].where(clinic["attended"]).sum() == pytest.approx(
        fx["wai_sr_total_sum"], rel=1e-12
    )
    rows, terms, info = engagement_rows(clinic, model, STRATEGIES, ["wai_sr_total"],
                                        baseline_df=4)  # fmt: skip
    spec = CATALOGUE[model]
    res = als.fit_mixed(spec.formula(terms), rows, family="binomial")
    assert res.nobs == fx["nobs"]
    assert res.converged and not res.singular and not fx["singular"]
    assert res.loglik == pytest.approx(fx["loglik"], abs=tol["loglik_abs"])
    coefs = res.coefficients
    for row in fx["fixef"]:
        assert coefs.loc[row["term"], "estimate"] == pytest.approx(
            row["estimate"], abs=tol["fixef_abs"]
        ), row["term"]
        assert coefs.loc[row["term"], "std_error"] == pytest.approx(
            row["std_error"], rel=tol["se_rel"]
        ), row["term"]
    sd = res.varcorr.set_index("grp")["sdcor"]
    for row in fx["varcorr"]:
        assert sd[row["grp"]] == pytest.approx(row["sdcor"], abs=tol["sd_abs"]), row["grp"]


def test_spline_baseline_spans_r_ns_space():
    """Our orthonormalised basis plus an intercept spans the space of R's splines::ns."""
    from alliance_stats.engagement import baseline_basis

    fx = json.loads((FIXTURES / "engagement_ns_basis.json").read_text())
    period = np.asarray(fx["period"], dtype=float)
    ref = np.column_stack([np.ones(period.size), np.asarray(fx["basis"], dtype=float)])
    ours = np.column_stack([np.ones(period.size), baseline_basis(period, 4).to_numpy()])
    for a, b in ((ours, ref), (ref, ours)):
        fitted = a @ np.linalg.lstsq(a, b, rcond=None)[0]
        tol = float(np.ravel(fx["tolerance"])[0])
        assert np.abs(fitted - b).max() < tol * max(1.0, np.abs(b).max())


@pytest.mark.parametrize("se", ["auto", "model", "hessian"])
def test_bias_reduced_dropout_hazard_matches_r(clinic, se):
    """The catalogue's default estimator against the same estimator written in R with lme4's
    Laplace deviance function (variances at glmer's ML, Firth-penalised fixed effects)."""
    fx = json.loads((FIXTURES / "engagement_dropout_hazard.json").read_text())
    ref = fx["bias_reduced"]
    tol = ref["tolerance"]
    rows, terms, _ = engagement_rows(clinic, "dropout_hazard", STRATEGIES, ["wai_sr_total"],
                                     baseline_df=4)  # fmt: skip
    spec = CATALOGUE["dropout_hazard"]
    assert spec.bias_reduction
    res = als.fit_mixed(spec.formula(terms), rows, **spec.fit_options(), se=se)
    assert res.bias_reduction and res.converged and not res.singular
    assert "bias-reduced" in res.estimator
    assert res.loglik == pytest.approx(ref["loglik"], abs=tol["loglik_abs"])
    ml = {r["term"]: r["estimate"] for r in fx["fixef"]}
    # auto/hessian: the unpenalised deviance's Hessian at the bias-reduced estimates;
    # model: the inverse information there (brglm2's)
    column = "se_model" if se == "model" else "se_hessian"
    assert res.se_method == ("model" if se == "model" else "hessian")
    for row in ref["fixef"]:
        got = res.coefficients.loc[row["term"]]
        assert got["estimate"] == pytest.approx(row["estimate"], abs=tol["fixef_abs"]), row
        assert got["std_error"] == pytest.approx(row[column], rel=tol["se_rel"]), row
    # the penalty moves the estimates, towards 0 on balance
    moved = [abs(r["estimate"]) - abs(ml[r["term"]]) for r in ref["fixef"]]
    assert np.mean(moved) < 0 and max(abs(m) for m in moved) > 1e-3


@pytest.mark.parametrize("bias_reduction", [False, True])
def test_cloglog_dropout_hazard_matches_lme4(clinic, bias_reduction):
    """The cloglog option of the dropout hazard against glmer(binomial(link = "cloglog")),
    by ML and bias-reduced (the R side written with lme4's deviance function)."""
    fx = json.loads((FIXTURES / "engagement_dropout_hazard_cloglog.json").read_text())
    assert fx["link"] == "cloglog"
    rows, terms, _ = engagement_rows(clinic, "dropout_hazard", STRATEGIES, ["wai_sr_total"],
                                     baseline_df=4)  # fmt: skip
    spec = CATALOGUE["dropout_hazard"]
    options = {**spec.fit_options("cloglog"), "bias_reduction": bias_reduction}
    res = als.fit_mixed(spec.formula(terms), rows, **options)
    assert res.link == "cloglog" and res.converged and not res.singular
    own = next(n for n in res.notes if "fitted with our own Laplace deviance" in n)
    assert "the engine's deviance agrees there" in own  # the cross-check held
    assert "hazard_ratio" in res.coefficients and "odds_ratio" not in res.coefficients
    ref = fx["bias_reduced"] if bias_reduction else fx
    tol = ref["tolerance"]
    # glmer's cloglog logLik() is about 1e-4 off its own deviance function: compare with the
    # optimum polished by that function (tests/reference/R/engagement_models.R, refine())
    loglik = ref["loglik"] if bias_reduction else fx["loglik_polished"]
    assert res.loglik == pytest.approx(loglik, abs=tol["loglik_abs"])
    assert res.theta[0] == pytest.approx(fx["theta_polished"], abs=1e-4)
    for row in ref["fixef"]:
        got = res.coefficients.loc[row["term"]]
        se = row["se_hessian"] if bias_reduction else row["std_error"]
        assert got["estimate"] == pytest.approx(row["estimate"], abs=tol["fixef_abs"]), row
        assert got["std_error"] == pytest.approx(se, rel=tol["se_rel"]), row
