"""Tests of alliance_stats.simulate: determinism, structure, calibration, parameter checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats import schema
from alliance_stats.errors import InputError
from alliance_stats.simulate import (
    SRS_ITEMS,
    STRATEGIES,
    WAI_SR_ITEMS,
    SimulatedStudy,
    StudyParameters,
    simulate_study,
)

RATING_COLUMNS = [*WAI_SR_ITEMS, *SRS_ITEMS, "resistance", "resistance_type", *STRATEGIES]


@pytest.fixture(scope="module")
def study() -> SimulatedStudy:
    return simulate_study(seed=11)


def _alpha(items: pd.DataFrame) -> float:
    items = items.dropna()
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var().sum() / items.sum(axis=1).var())


def _anova_icc(values: np.ndarray, groups: np.ndarray) -> float:
    """ICC(1) from a one-way ANOVA (unbalanced n0), written independently of the package."""
    frame = pd.DataFrame({"y": values, "g": groups}).dropna()
    n, k = len(frame), frame["g"].nunique()
    stats = frame.groupby("g")["y"].agg(["size", "mean"])
    grand = frame["y"].mean()
    msb = (stats["size"] * (stats["mean"] - grand) ** 2).sum() / (k - 1)
    msw = ((frame["y"] - frame["g"].map(stats["mean"])) ** 2).sum() / (n - k)
    n0 = (n - (stats["size"] ** 2).sum() / n) / (k - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_frame():
    a = simulate_study(n_therapists=6, clients_per_therapist=5, seed=5)
    b = simulate_study(n_therapists=6, clients_per_therapist=5, seed=5)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)
    pd.testing.assert_frame_equal(a.truth["ruptures"], b.truth["ruptures"])


def test_different_seed_different_frame():
    a = simulate_study(n_therapists=6, clients_per_therapist=5, seed=5)
    b = simulate_study(n_therapists=6, clients_per_therapist=5, seed=6)
    assert not a.sessions.equals(b.sessions)


def test_seed_sequence_accepted():
    a = simulate_study(n_therapists=3, clients_per_therapist=2, seed=np.random.SeedSequence(9))
    b = simulate_study(n_therapists=3, clients_per_therapist=2, seed=9)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)


# --------------------------------------------------------------------------- structure


def test_canonical_dtypes_and_order(study):
    df = study.sessions
    assert list(df.columns[:5]) == list(schema.FIXED_COLUMNS)
    assert df["client"].dtype == "str" and df["therapist"].dtype == "str"
    assert df["session"].dtype == np.int64
    assert df["date"].dtype == "datetime64[ns]"
    assert df["attended"].dtype == bool
    for col in ("resistance_type", "gender"):
        assert df[col].dtype == "str", col
    numeric = [c for c in df.columns[5:] if c not in ("resistance_type", "gender")]
    for col in numeric:
        assert df[col].dtype == np.float64, col
    pd.testing.assert_frame_equal(df, schema.canonical_order(df))


def test_one_row_per_client_session_consecutive(study):
    df = study.sessions
    assert not df.duplicated(["client", "session"]).any()
    expected = df.groupby("client", sort=False).cumcount() + 1
    assert (df["session"].to_numpy() == expected.to_numpy()).all()
    assert df.groupby("client")["therapist"].nunique().max() == 1
    assert df.groupby("client")["date"].apply(lambda d: d.is_monotonic_increasing).all()
    assert df.loc[df["session"] == 1, "attended"].all()


def test_non_attended_rows_have_no_ratings(study):
    df = study.sessions
    missed = df.loc[~df["attended"], RATING_COLUMNS]
    assert len(missed) > 0
    assert missed.isna().all().all()
    attended = df.loc[df["attended"], RATING_COLUMNS]
    assert attended.notna().all().all()  # default item_missing_rate is 0
    for col in ("age", "gender", "reactance", "outcome"):
        assert df[col].notna().all()
        assert (df.groupby("client")[col].nunique() == 1).all(), col


def test_dropouts_end_with_one_missed_row(study):
    df = study.sessions
    truth = study.truth["clients"].set_index("client")
    last = df.groupby("client", sort=False).tail(1).set_index("client")
    dropped = truth.loc[last.index, "dropped_out"]
    assert (~last.loc[dropped, "attended"]).all()
    assert last.loc[~dropped, "attended"].all()
    # completers attend their planned last session (or, after missing it, one make-up
    # session); dropouts' final row is last attended + 1
    planned = truth.loc[last.index, "planned_sessions"]
    extra = last.loc[~dropped, "session"] - planned[~dropped]
    assert extra.isin([0, 1]).all() and (extra == 1).any()
    made_up = extra.index[extra == 1]
    second_last = df[df["client"].isin(made_up)].groupby("client").nth(-2)
    assert (~second_last["attended"]).all()  # the make-up follows a missed last session
    stop = truth.loc[last.index, "last_attended_session"]
    assert (last.loc[dropped, "session"] == stop[dropped] + 1).all()
    # no two missed sessions in a row; a no-show is followed by a return
    for _, g in df.groupby("client"):
        att = g["attended"].to_numpy()
        assert not (~att[:-1] & ~att[1:]).any()
    assert truth["dropped_out"].mean() == pytest.approx(study.truth["realised"]["dropout_share"])


def test_item_ranges(study):
    df = study.sessions[study.sessions["attended"]]
    wai = df[list(WAI_SR_ITEMS)]
    assert set(np.unique(wai.to_numpy())) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    srs = df[list(SRS_ITEMS)].to_numpy()
    assert srs.min() >= 0 and srs.max() <= 10
    np.testing.assert_allclose(srs * 10, np.round(srs * 10), atol=1e-9)
    total = srs.sum(axis=1)
    assert 32 <= total.mean() <= 37  # ceiling-heavy, mid-30s
    assert (srs == 10).mean() > 0.05
    assert 3.6 <= wai.to_numpy().mean() <= 4.3
    assert set(df["resistance_type"]) <= {"none", "fear", "ambivalence", "stigma"}
    assert (df["resistance"] >= 0).all()
    assert set(np.unique(df[list(STRATEGIES)].to_numpy())) <= {0.0, 1.0}


def test_internal_consistency(study):
    df = study.sessions[study.sessions["attended"]]
    assert 0.85 <= _alpha(df[list(WAI_SR_ITEMS)]) <= 0.93
    assert 0.85 <= _alpha(df[list(SRS_ITEMS)]) <= 0.96


def test_strategies_respond_to_resistance(study):
    df = study.sessions[study.sessions["attended"]]
    resistant = df["resistance_type"] != "none"
    use = df.groupby(resistant)[["validation", "slowed_pacing", "offering_choices"]].mean()
    assert (use.loc[True] > use.loc[False] + 0.05).all()
    assert df.loc[resistant, "resistance"].mean() > 2 * df.loc[~resistant, "resistance"].mean()


def test_resistance_lowers_alliance(study):
    df = study.sessions[study.sessions["attended"]]
    wai = df[list(WAI_SR_ITEMS)].mean(axis=1)
    within = wai - wai.groupby(df["client"]).transform("mean")
    resistant = df["resistance_type"] != "none"
    assert within[resistant].mean() < within[~resistant].mean() - 0.05


def test_ruptures_table(study):
    rup = study.truth["ruptures"]
    assert len(rup) > 0
    assert {"client", "start_session", "depth_sd", "repaired", "repair_sessions"} <= set(rup)
    assert (rup["depth_sd"] >= 1).all()
    assert rup.loc[rup["repaired"], "repair_sessions"].between(1, 3).all()
    assert rup.loc[~rup["repaired"], "repair_sessions"].isna().all()
    assert 0 < (~rup["repaired"]).mean() < 0.5


def test_planned_sessions_vary_and_item_missingness():
    s = simulate_study(
        n_therapists=10, max_sessions=20, planned_sessions_min=8, item_missing_rate=0.02, seed=3
    )
    planned = s.truth["clients"]["planned_sessions"]
    assert planned.min() >= 8 and planned.max() <= 20 and planned.nunique() > 5
    att = s.sessions[s.sessions["attended"]]
    share = att[list(WAI_SR_ITEMS)].isna().to_numpy().mean()
    assert 0.01 < share < 0.03


def test_result_object(study):
    assert "SIMULATED" in repr(study) and "\n" not in repr(study)
    assert "SIMULATED" in study.summary()
    assert "SIMULATED" in study._repr_html_()
    frame = study.to_frame()
    frame.loc[0, "age"] = -1
    assert study.sessions.loc[0, "age"] != -1
    assert isinstance(study.parameters, StudyParameters)
    truth = study.truth
    assert truth["simulated"] is True
    assert set(truth["strategy_dropout_log_or"]) == set(STRATEGIES)
    assert truth["strategy_dropout_log_or"]["validation"] == pytest.approx(-0.30)
    assert sum(v != 0 for v in truth["strategy_dropout_log_or"].values()) == 2
    for key in ("dropout_share", "therapist_share_outcome", "alliance_outcome_r_wai"):
        assert np.isfinite(truth["realised"][key])


# --------------------------------------------------------------------------- calibration


def test_recovery_over_50_seeds():
    """Calibration targets (DOMAIN.md) recovered from the generated data over 50 seeds.

    Per-seed SDs at the default design (300 clients) are about 0.026 (dropout share),
    0.035 (therapist ICC) and 0.051 (alliance-outcome r), so the SEs of the 50-seed
    means are about 0.0037, 0.0050 and 0.0073. The tolerances are about 3 SE (dropout
    adds ~0.004 for the fixed calibration pseudo-population), so a shift of the mean
    by a fraction of a per-seed SD fails the test.
    """
    drop, icc, r = [], [], []
    for seed in range(50):
        df = simulate_study(seed=1000 + seed).sessions
        clients = df.groupby("client").agg(
            therapist=("therapist", "first"),
            outcome=("outcome", "first"),
            completed=("attended", "last"),
        )
        drop.append(1 - clients["completed"].mean())
        icc.append(_anova_icc(clients["outcome"].to_numpy(), clients["therapist"].to_numpy()))
        att = df[df["attended"]]
        wai_mean = att[list(WAI_SR_ITEMS)].mean(axis=1).groupby(att["client"]).mean()
        r.append(np.corrcoef(wai_mean.loc[clients.index], clients["outcome"])[0, 1])
    assert np.mean(drop) == pytest.approx(0.197, abs=0.015)
    assert np.mean(icc) == pytest.approx(0.05, abs=0.016)
    assert np.mean(r) == pytest.approx(0.28, abs=0.022)
    # the spread across seeds is plausible for 300 clients (not degenerate)
    assert 0.01 < np.std(drop) < 0.05
    assert 0.02 < np.std(r) < 0.09


def test_dropout_share_parameter_moves_dropout():
    shares = [
        simulate_study(n_therapists=60, seed=s, dropout_share=0.4).truth["realised"][
            "dropout_share"
        ]
        for s in range(5)
    ]
    assert np.mean(shares) == pytest.approx(0.4, abs=0.04)


def test_default_speed():
    import time

    simulate_study(seed=99)  # warm the calibration cache
    start = time.perf_counter()
    simulate_study(seed=100)
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------- parameter checks


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"dropout_share": 1.5}, "dropout_share"),
        ({"client_alliance_var": -1}, "client_alliance_var"),
        ({"no_show_rate": "often"}, "no_show_rate"),
        ({"n_therapists": 1}, "n_therapists"),
        ({"max_sessions": 2.5}, "max_sessions"),
        ({"seed": -3}, "seed"),
        ({"planned_sessions_min": 30}, "planned_sessions_min"),
        ({"strategy_dropout_log_or": {"hugging": 0.1}}, "strategy_dropout_log_or"),
        ({"strategy_use": {"validation": 1.2}}, "strategy_use"),
        ({"resistance_type_probs": {"fear": 0.5}}, "resistance_type_probs"),
        ({"bogus_parameter": 1}, "bogus_parameter"),
        ({"params": {"dropout_share": 0.2}}, "params"),
    ],
)
def test_bad_parameters_raise_input_error(kwargs, name):
    with pytest.raises(InputError, match=name):
        simulate_study(**{"n_therapists": 3, "clients_per_therapist": 2, **kwargs})


def test_range_is_in_message():
    with pytest.raises(InputError, match=r"between 0\.0 and 0\.95"):
        StudyParameters(dropout_share=-0.1)


def test_params_object_and_overrides():
    p = StudyParameters(dropout_share=0.3, strategy_dropout_log_or={"offering_choices": -0.4})
    assert p.strategy_dropout_log_or["validation"] == 0.0
    assert p.strategy_use["validation"] == pytest.approx(0.40)
    with pytest.raises(TypeError):
        p.strategy_dropout_log_or["validation"] = 1.0  # read-only
    s = simulate_study(n_therapists=4, clients_per_therapist=3, params=p, no_show_rate=0.0)
    assert s.parameters.dropout_share == 0.3 and s.parameters.no_show_rate == 0.0
    assert s.truth["strategy_dropout_log_or"]["offering_choices"] == -0.4
    assert "no_show_rate" in StudyParameters.describe()["name"].tolist()


def test_truth_estimands_are_the_generating_coefficients():
    from alliance_stats.simulate import estimands

    p = StudyParameters(strategy_dropout_log_or={"validation": -0.4},
                        strategy_dropout_between_log_or={"validation": -0.2},
                        client_dropout_var=0.3)  # fmt: skip
    e = estimands(p)
    hazard, attendance = e["dropout_hazard"], e["next_session_attendance"]
    assert hazard["validation_within"] == -0.4 and hazard["validation_between"] == -0.2
    assert hazard["feedback_checkin_within"] == 0.0  # unlisted strategies are null
    assert hazard["client_variance"] == 0.3 and hazard["wai_sr_total_within"] == -0.07
    assert attendance["validation_within"] == 0.25 and attendance["client_variance"] == 0.5
    study = simulate_study(n_therapists=3, clients_per_therapist=2, max_sessions=4, params=p)
    assert study.truth["estimands"] == e
    with pytest.raises(InputError, match="StudyParameters"):
        estimands({"dropout_share": 0.2})


def test_no_dropout_when_dropout_share_is_zero():
    study = simulate_study(n_therapists=4, clients_per_therapist=5, max_sessions=6, seed=2,
                           dropout_share=0.0)  # fmt: skip
    assert study.truth["realised"]["dropout_share"] == 0.0
    last = study.sessions.groupby("client").tail(1)
    assert last["attended"].all()  # every course ends attended (a make-up after a missed end)


def test_no_show_rate_and_its_client_variance():
    """About no_show_rate of a staying client's next sessions are missed, more for some clients."""
    study = simulate_study(n_therapists=30, clients_per_therapist=10, seed=4, dropout_share=0.0)
    rows = als.retention_outcomes(study.sessions)
    rows = rows[rows["attended_next"].notna()]
    missed = 1 - rows["attended_next"]
    assert missed.mean() == pytest.approx(0.08, abs=0.02)
    per_client = missed.groupby(rows["client"]).mean()
    # binomial spread alone would give an SD near sqrt(.08 * .92 / 14) = .07
    assert per_client.std() > 0.09
