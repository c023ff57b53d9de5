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
