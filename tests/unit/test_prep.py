"""Tests for alliance_stats.prep: decompose, add_lags, retention_outcomes, person_period."""

import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_stats import datasets
from alliance_stats.errors import DataWarning, InputError
from alliance_stats.prep import add_lags, decompose, person_period, retention_outcomes

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "reference" / "fixtures"


def _table(rows):
    return pd.DataFrame(rows, columns=["client", "therapist", "session", "attended", "x"])


# ------------------------------------------------------------------ decompose


def test_decompose_recovers_opposite_within_and_between_signs():
    """y rises with within-client x but falls with between-client x."""
    rng = np.random.default_rng(7)
    n_c, n_s = 80, 8
    xbar = rng.normal(0, 2, n_c)
    rows = []
    for i in range(n_c):
        dev = rng.normal(0, 1, n_s)
        x = xbar[i] + dev
        y = -1.0 * xbar[i] + 1.0 * dev + rng.normal(0, 0.3, n_s)
        for t in range(n_s):
            rows.append((f"c{i}", "t", t + 1, True, x[t], y[t]))
    df = pd.DataFrame(rows, columns=["client", "therapist", "session", "attended", "x", "y"])
    out = decompose(df, "x")
    X = np.column_stack([np.ones(len(out)), out["x_cm"], out["x_cwc"]])
    b = np.linalg.lstsq(X, out["y"].to_numpy(), rcond=None)[0]
    assert b[1] < -0.7 and b[2] > 0.7  # between negative, within positive
    pooled = np.polyfit(df["x"], df["y"], 1)[0]
    assert pooled < 0  # a single pooled slope gets the within effect's sign wrong
    assert abs(pooled - b[2]) > 1


def test_decompose_means_use_available_attended_values_only():
    df = _table(
        [
            ("a", "t", 1, True, 2.0),
            ("a", "t", 2, False, 100.0),  # a value on a missed session is not used
            ("a", "t", 3, True, np.nan),
            ("a", "t", 4, True, 4.0),
        ]
    )
    with pytest.warns(DataWarning, match="fewer than 3"):
        out = decompose(df, "x")
    assert out["x_cm"].tolist() == [3.0] * 4
    assert out["x_n"].tolist() == [2.0] * 4
    np.testing.assert_array_equal(out["x_cwc"], [-1.0, np.nan, np.nan, 1.0])
    assert "x_cwc" not in df.columns  # input untouched


def test_decompose_warning_threshold_is_a_parameter():
    df = _table([("a", "t", s, True, float(s)) for s in (1, 2, 3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decompose(df, "x", min_sessions=3)
    with pytest.warns(DataWarning, match="1 of 1"):
        decompose(df, "x", min_sessions=4)


def test_decompose_detrend_matches_per_client_ols_residuals():
    rng = np.random.default_rng(1)
    rows = []
    for c, slope in (("a", 1.0), ("b", -0.5)):
        for s in range(1, 9):
            rows.append((c, "t", s, s != 4, 10 + slope * s + rng.normal()))
    df = _table(rows)
    out = decompose(df, "x", detrend=True, min_sessions=2)
    for _, g in out.groupby("client"):
        use = g[g["attended"]]
        b, a = np.polyfit(use["session"], use["x"], 1)
        resid = use["x"] - (a + b * use["session"])
        np.testing.assert_allclose(use["x_cwc"], resid, atol=1e-10)
        np.testing.assert_allclose(use["x_cm"], use["x"].mean())
        np.testing.assert_allclose(g["x_slope"], b)
        assert np.isnan(g.loc[~g["attended"], "x_cwc"]).all()


def test_decompose_grand_mean_centred_between_part():
    df = _table([("a", "t", 1, True, 1.0), ("a", "t", 2, True, 3.0), ("b", "t", 1, True, 6.0)])
    out = decompose(df, "x", grand_mean_centre=True, min_sessions=1)
    # person means 2 and 6 (clients weighted equally): grand mean 4
    assert out["x_cm_gmc"].tolist() == [-2.0, -2.0, 2.0]


def test_decompose_keeps_row_order_and_index():
    df = _table([("b", "t", 2, True, 5.0), ("a", "t", 1, True, 1.0), ("b", "t", 1, True, 3.0)])
    df.index = [10, 20, 30]
    out = decompose(df, "x", min_sessions=1)
    assert list(out.index) == [10, 20, 30]
    assert out["x_cwc"].tolist() == [1.0, 0.0, -1.0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"columns": "nope"}, "nope"),
        ({"columns": "label"}, "numeric"),
        ({"columns": "x", "client": "nobody"}, "nobody"),
        ({"columns": "x", "min_sessions": 0}, "min_sessions"),
        ({"columns": "x", "detrend": "yes"}, "detrend"),
        ({"columns": []}, "columns"),
        ({"columns": "x", "attended": "gone"}, "gone"),
    ],
)
def test_decompose_rejects_bad_arguments(kwargs, match):
    df = _table([("a", "t", 1, True, 1.0)]).assign(label="txt")
    with pytest.raises(InputError, match=match):
        decompose(df, **kwargs)


def test_decompose_rejects_non_dataframe():
    with pytest.raises(InputError, match="DataFrame"):
        decompose([1, 2], "x")


# ------------------------------------------------------------------ add_lags


def test_lags_never_skip_a_missed_session_nor_cross_clients():
    df = _table(
        [
            ("a", "t", 1, True, 1.0),
            ("a", "t", 2, False, np.nan),
            ("a", "t", 3, True, 3.0),
            ("a", "t", 5, True, 5.0),  # session 4 absent from the table
            ("b", "t", 1, True, 10.0),
            ("b", "t", 2, True, 20.0),
        ]
    )
    out = add_lags(df, "x", lag=[1, 2], lead=1)
    np.testing.assert_array_equal(out["x_lag1"], [np.nan, 1.0, np.nan, np.nan, np.nan, 10.0])
    np.testing.assert_array_equal(out["x_lag2"], [np.nan, np.nan, 1.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(out["x_lead1"], [np.nan, 3.0, np.nan, np.nan, 20.0, np.nan])


def test_lags_match_by_session_number_not_row_position():
    df = _table([("a", "t", 3, True, 3.0), ("a", "t", 1, True, 1.0), ("a", "t", 2, True, 2.0)])
    out = add_lags(df, ["x", "session"])
    np.testing.assert_array_equal(out["x_lag1"], [2.0, np.nan, 1.0])
    np.testing.assert_array_equal(out["session_lag1"], [2.0, np.nan, 1.0])


def test_lags_ignore_values_on_missed_sessions():
    df = _table([("a", "t", 1, False, 9.0), ("a", "t", 2, True, 2.0)])
    assert np.isnan(add_lags(df, "x")["x_lag1"].iloc[1])
    assert add_lags(df, "x", attended=None)["x_lag1"].iloc[1] == 9.0


def test_lags_on_clinic_data_never_cross_clients():
    df = datasets.load("clinic")
    out = add_lags(df, "age")
    first = out.groupby("client").head(1)
    assert first["age_lag1"].isna().all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lag": -1}, "lead="),
        ({"lag": 0}, ">= 1"),
        ({"lag": 1.5}, "whole number"),
        ({"lead": 0}, "lead"),
        ({"columns": "missing_col"}, "missing_col"),
        ({"session": "nope"}, "nope"),
        ({"session": "therapist"}, "session numbers"),
        ({"client": ["client"]}, "one column"),
    ],
)
def test_add_lags_rejects_bad_arguments(kwargs, match):
    df = _table([("a", "t", 1, True, 1.0), ("a", "t", 2, True, 2.0)])
    args = {"columns": "x"} | kwargs
    with pytest.raises(InputError, match=match):
        add_lags(df, **args)


def test_add_lags_rejects_duplicate_sessions():
    df = _table([("a", "t", 1, True, 1.0), ("a", "t", 1, True, 2.0)])
    with pytest.raises(InputError, match="repeat"):
        add_lags(df, "x")


# ------------------------------------------------------------------ retention outcomes


@pytest.fixture
def courses():
    # a: completer with a no-show; b: dropout (last scheduled session missed); c: 2 sessions
    return _table(
        [
            ("a", "t", 1, True, 1.0),
            ("a", "t", 2, False, np.nan),
            ("a", "t", 3, True, 1.0),
            ("a", "t", 4, True, 1.0),
            ("b", "t", 1, True, 1.0),
            ("b", "t", 2, True, 1.0),
            ("b", "t", 3, False, np.nan),
            ("c", "t", 1, True, 1.0),
            ("c", "t", 2, True, 1.0),
        ]
    )


def test_next_session(courses):
    out = retention_outcomes(courses, "next_session")
    np.testing.assert_array_equal(
        out["returned"], [0.0, 1.0, 1.0, np.nan, 1.0, 0.0, np.nan, 1.0, np.nan]
    )
    np.testing.assert_array_equal(
        out["event"], [1.0, np.nan, 0.0, np.nan, 0.0, 1.0, np.nan, 0.0, np.nan]
    )
    assert out["dropout"].tolist() == [0.0] * 4 + [1.0] * 3 + [0.0] * 2
    assert set(out["retention_definition"]) == {"next_session"}


def test_dropout_before_n(courses):
    out = retention_outcomes(courses, "dropout_before_n", n=3)
    assert out["dropout"].tolist() == [0.0] * 4 + [1.0] * 3 + [1.0] * 2
    np.testing.assert_array_equal(out["event"], [0.0, np.nan, 0.0, 0.0, 0.0, 1.0, np.nan, 0.0, 1.0])


def test_unplanned_end_with_and_without_planned(courses):
    out = retention_outcomes(courses, "unplanned_end")
    assert out.groupby("client")["dropout"].first().tolist() == [0.0, 1.0, 0.0]
    planned = courses.assign(planned=courses["client"].map({"a": 4, "b": 3, "c": 4}))
    out = retention_outcomes(planned, "unplanned_end", planned_sessions="planned")
    assert out.groupby("client")["dropout"].first().tolist() == [0.0, 1.0, 1.0]


def test_retention_rows_in_any_order(courses):
    shuffled = courses.sample(frac=1, random_state=3)
    a = retention_outcomes(courses).sort_index()
    b = retention_outcomes(shuffled).sort_index()
    pd.testing.assert_frame_equal(a, b)


def test_clinic_dropout_matches_simulator_truth():
    df = datasets.load("clinic")
    truth = datasets.truth("clinic")["clients"].set_index("client")["dropped_out"]
    got = retention_outcomes(df, "unplanned_end").groupby("client")["dropout"].first()
    assert (got.astype(bool) == truth.reindex(got.index)).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"definition": "quit"}, "unknown definition"),
        ({"definition": "dropout_before_n"}, "needs n"),
        ({"definition": "dropout_before_n", "n": 0}, "needs n"),
        ({"definition": "next_session", "n": 3}, "only used"),
        ({"definition": "next_session", "planned_sessions": "p"}, "only used"),
        ({"definition": "unplanned_end", "planned_sessions": "p"}, "'p'"),
        ({"attended": "x"}, "True/False"),
    ],
)
def test_retention_outcomes_rejects_bad_arguments(courses, kwargs, match):
    with pytest.raises(InputError, match=match):
        retention_outcomes(courses, **kwargs)


def test_retention_rejects_varying_planned(courses):
    bad = courses.assign(planned=range(len(courses)))
    with pytest.raises(InputError, match="one planned number per client"):
        retention_outcomes(bad, "unplanned_end", planned_sessions="planned")


# ------------------------------------------------------------------ person_period


def test_person_period_rows(courses):
    pp = person_period(courses)
    got = pp[["client", "session", "period", "event"]].to_numpy().tolist()
    # a: completer, last session (the planned end) not at risk, no-show not at risk
    assert got == [["a", 1, 1, 0], ["a", 3, 2, 0], ["b", 1, 1, 0], ["b", 2, 2, 1], ["c", 1, 1, 0]]
    assert pp["event"].dtype == np.int64


def test_person_period_dropout_before_n(courses):
    pp = person_period(courses, "dropout_before_n", n=3)
    got = pp[["client", "period", "event"]].to_numpy().tolist()
    assert got == [["a", 1, 0], ["a", 2, 0], ["b", 1, 0], ["b", 2, 1], ["c", 1, 0], ["c", 2, 1]]


def test_person_period_planned(courses):
    planned = courses.assign(planned=courses["client"].map({"a": 4, "b": 3, "c": 4}))
    pp = person_period(planned, planned_sessions="planned")
    assert pp.groupby("client")["event"].sum().to_dict() == {"a": 0, "b": 1, "c": 1}
    assert (pp["session"] < pp["planned"]).all()


def test_person_period_matches_the_r_fixture_rows():
    """Same rows and events as tests/reference/R/lme4_models.R builds for lme4."""
    ref = pd.read_csv(FIXTURES / "lme4_clinic_dropout_pp.csv", dtype={"client": str})
    pp = person_period(datasets.load("clinic"))
    merged = pp.merge(ref, on=["client", "session"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["event"] == merged["dropout_y"]).all()


def test_person_period_rejects_next_session(courses):
    with pytest.raises(InputError, match="row-level"):
        person_period(courses, "next_session")
