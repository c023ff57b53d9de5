"""Engagement models: running splits, outcome columns, catalogue rows, plan, look-ahead."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.engagement import (
    CATALOGUE,
    baseline_basis,
    choose_baseline_df,
    engagement_rows,
)
from alliance_stats.errors import AllianceStatsError, InputError
from alliance_stats.plan import AnalysisPlan, PlannedModel, fit_deviations


def _sessions():
    return pd.DataFrame(
        {
            "client": ["a"] * 5 + ["b"] * 3,
            "therapist": ["t1"] * 5 + ["t2"] * 3,
            "session": [1, 2, 3, 4, 5, 2, 3, 5],
            "attended": [True, True, False, True, True, True, True, False],
            "x": [1.0, 0.0, 1.0, np.nan, 1.0, 4.0, 2.0, 9.0],
        }
    )


def test_running_split_by_hand():
    df = _sessions()
    out = als.decompose_running(df, "x")
    # a: values 1, 0, (missed), NaN, 1 -> running means 1, .5, .5, .5, 2/3
    np.testing.assert_allclose(out["x_between"], [1, .5, .5, .5, 2 / 3, 4, 3, 3])  # fmt: skip
    np.testing.assert_allclose(
        out["x_within"],
        [0, -0.5, np.nan, np.nan, 1 / 3, 0, -1, np.nan],  # fmt: skip
    )
    assert out["x_n_so_far"].tolist() == [1, 2, 2, 2, 3, 1, 2, 2]
    assert df.equals(_sessions())  # input untouched


def test_running_split_lag_uses_session_numbers():
    out = als.decompose_running(_sessions(), "x", lag=1)
    # b: session 3 looks at session 2 (4.0); session 5 at session 4, which is not in the table
    np.testing.assert_allclose(out["x_between"].iloc[5:], [np.nan, 4.0, 3.0])
    np.testing.assert_allclose(out["x_within"].iloc[5:], [np.nan, 0.0, np.nan])


def test_running_split_row_order_does_not_matter():
    df = _sessions()
    shuffled = df.sample(frac=1.0, random_state=3)
    out = als.decompose_running(shuffled, "x").sort_index()
    pd.testing.assert_frame_equal(out, als.decompose_running(df, "x"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"columns": "nope"}, "not found"),
        ({"columns": "x", "lag": -1}, "lag"),
        ({"columns": "x", "lag": 1.5}, "lag"),
        ({"columns": "client"}, "numeric"),
    ],
)
def test_running_split_bad_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        als.decompose_running(_sessions(), **kwargs)


def test_outcome_columns_have_distinct_names_and_one_default():
    df = _sessions().drop(columns="x")
    out = als.retention_outcomes(df)
    assert out["retention_definition"].iloc[0] == als.prep.DEFAULT_DEFINITION
    # a: attended next? 1 (s2 came), 0 (s3 missed), NaN (missed row), 1, NaN (last row)
    np.testing.assert_allclose(out["attended_next"], [1, 0, np.nan, 1, np.nan, 1, 0, np.nan])
    # b dropped out after session 3 (last scheduled session missed); a completed
    np.testing.assert_allclose(out["dropout_event"], [0, 0, np.nan, 0, 0, 0, 1, np.nan])
    pp = als.person_period(df)
    assert pp["dropout_event"].tolist() == [0, 0, 0, 0, 1]
    assert pp["period"].tolist() == [1, 2, 3, 1, 2]


def test_baseline_df_follows_the_data():
    assert choose_baseline_df(np.arange(1, 4)) == 1
    assert choose_baseline_df(np.arange(1, 13)) == 3
    assert choose_baseline_df(np.arange(1, 41)) == 4
    assert choose_baseline_df(np.arange(1, 41), n_events=20) == 1


def test_baseline_bands_are_indicators():
    b = baseline_basis(np.array([1, 1, 2, 3, 4, 5, 6, 7]), 2, "bands")
    assert list(b.columns) == ["period_band2", "period_band3"]
    assert set(np.unique(b.to_numpy())) <= {0.0, 1.0}
    with pytest.raises(InputError, match="baseline"):
        baseline_basis(np.arange(5), 2, "steps")


@pytest.fixture(scope="module")
def study():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = als.simulate_study(n_therapists=12, clients_per_therapist=8, seed=11)
        return als.score(s.sessions, "wai_sr", items="wai_{}")


def test_rows_of_each_catalogue_model(study):
    pp, terms, info = engagement_rows(study, "dropout_hazard", ["validation"], ["wai_sr_total",
                                                                             "age"])  # fmt: skip
    assert pp["dropout_event"].isin([0, 1]).all()
    assert info["split"] == ["validation", "wai_sr_total"] and info["constant"] == ["age"]
    assert terms[-1] == "age" and "validation_within" in terms
    # between parts centred at their row mean, slopes unchanged
    assert abs(pp["validation_between"].mean()) < 1e-12
    att, _, _ = engagement_rows(study, "next_session_attendance", ["validation"])
    assert att["attended_next"].isin([0, 1]).all() and att["attended"].all()
    assert CATALOGUE["dropout_hazard"].random == ("therapist",)
    assert CATALOGUE["next_session_attendance"].random == ("therapist", "client")


def test_rows_reject_unknown_model_and_covariate(study):
    with pytest.raises(InputError, match="model must be one of"):
        engagement_rows(study, "hazard", ["validation"])
    with pytest.raises(InputError, match="covariate 'nope'"):
        engagement_rows(study, "dropout_hazard", ["validation"], ["nope"])


def test_plan_prints_every_field_and_checks_names():
    m = PlannedModel("m", "Purpose", "y ~ x + (1 | g)", outcome="y", multiplicity="Holm")
    text = str(AnalysisPlan((m,)))
    assert "formula: y ~ x + (1 | g)" in text and "multiplicity: Holm" in text
    assert AnalysisPlan((m,))["m"] is m
    with pytest.raises(AllianceStatsError, match="distinct"):
        AnalysisPlan((m, m))


def test_singular_and_unconverged_fits_are_deviations():
    class Fake:
        converged = False
        singular = True
        notes = ("scaled gradient at the optimum 3e-03 (lme4's check; < 1e-3 is converged)",)
        varcorr = pd.DataFrame({"grp": ["therapist"], "var1": ["(Intercept)"], "var2": [None],
                                "vcov": [0.0], "sdcor": [0.0]})  # fmt: skip

    devs = fit_deviations("Dropout", Fake())
    assert len(devs) == 2
    assert "did not converge" in devs[0].what and "gradient" in devs[0].reason
    assert "therapist variance was estimated at 0" in devs[1].what


@pytest.mark.slow
def test_look_ahead_is_gone():
    """Strategy use in sessions after the period at risk tracks dropout; before it, it does not.

    Validation has no effect on dropout, but is used far more from session 7 on, which only
    clients who stay reach. Full-course client means (look-ahead) then 'predict' dropout;
    the default model's running means of the past find nothing.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = als.simulate_study(
            n_therapists=40, clients_per_therapist=10, seed=5,
            strategy_dropout_log_or={}, strategy_dropout_between_log_or={},
        )  # fmt: skip
        df = s.sessions.copy()
        rng = np.random.default_rng(5)
        late = df["session"].to_numpy() >= 7
        use = rng.random(len(df)) < np.where(late, 0.9, 0.2)
        df["validation"] = np.where(df["attended"], use.astype(float), np.nan)
        st = als.strategy_effects(df, ["validation"], gee=False)
        pp = als.person_period(als.decompose(df, "validation"))
        naive = als.fit_mixed(
            "dropout_event ~ period + validation_cwc + validation_cm + (1 | therapist)",
            pp, family="binomial",
        )  # fmt: skip
    look_ahead = naive.coefficients.loc["validation_cm"]
    assert look_ahead["p_value"] < 0.001 and look_ahead["estimate"] < 0  # the artefact
    t = st.table.set_index("component")
    for part in ("within", "between"):
        assert t.loc[part, "conf_low"] < 0 < t.loc[part, "conf_high"], t.loc[part]
        assert t.loc[part, "p_value"] > 0.05
    assert t["converged"].all() and not t["singular"].any()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: engagement_rows("x.csv", "dropout_hazard", ["validation"]), "DataFrame"),
        (lambda d: engagement_rows(d, "dropout_hazard", "validation"), "list of column"),
        (lambda d: engagement_rows(d, "dropout_hazard", []), "at least one"),
        (lambda d: engagement_rows(d, "dropout_hazard", ["validation"], baseline="x"), "baseline"),
        (lambda d: engagement_rows(d, "dropout_hazard", ["validation"], baseline_df=0), ">= 1"),
        (lambda d: als.recovery_study("nope", 2), "scenario"),
        (lambda d: als.recovery_study(n_reps=1), "n_reps"),
        (lambda d: als.recovery_study(n_reps=2, strategies=["nope"]), "simulator strategies"),
        (lambda d: als.strategy_effects(d, ["validation"], codebook={}), "StrategyCodebook"),
    ],
)
def test_bad_arguments_name_the_problem(study, call, message):
    with pytest.raises(InputError, match=message):
        call(study)


def test_recovery_study_summarises_replicates():
    r = als.recovery_study(n_reps=2, design={"n_therapists": 10, "clients_per_therapist": 6},
                           strategies=["validation"])  # fmt: skip
    t = r.table.set_index("term")
    reps = r.replicates[r.replicates["term"] == "validation_within"]
    assert t.loc["validation_within", "n"] == 2
    assert t.loc["validation_within", "mean_estimate"] == pytest.approx(reps["estimate"].mean())
    assert t.loc["validation_within", "truth"] == -0.3
    assert "SIMULATED" in r.summary() and 0 <= r.family_wise_error <= 1
