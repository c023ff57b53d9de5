"""strategy_effects: recovery of planted effects, multiplicity, moderation, bad arguments."""

import warnings

import numpy as np
import pytest
from html_cells import shows_row

import alliance_stats as als
from alliance_stats.strategies import strategy_effects

EFFECTS = {
    "validation": -1.0,
    "offering_choices": -1.0,
    "feedback_checkin": 0.0,
    "open_questions": 0.0,
    "reflections": 0.0,
}
NON_NULL = [s for s, v in EFFECTS.items() if v != 0]
NULL = [s for s, v in EFFECTS.items() if v == 0]


@pytest.fixture(scope="module")
def teaching():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")


@pytest.fixture(scope="module")
def teaching_result(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return strategy_effects(
            teaching, ["validation", "offering_choices"], covariates=["wai_sr_total"]
        )


def test_table_has_within_and_between_rows_with_adjusted_p(teaching_result):
    t = teaching_result.table
    assert t[["strategy", "component"]].values.tolist() == [
        ["validation", "within"],
        ["validation", "between"],
        ["offering_choices", "within"],
        ["offering_choices", "between"],
    ]
    # Holm by hand: sorted p times (m - rank), cumulative max, capped at 1
    p = t["p_value"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    np.testing.assert_allclose(t["p_adjusted"].to_numpy()[order], holm)
    np.testing.assert_allclose(t["odds_ratio"], np.exp(t["estimate"]))
    coefs = teaching_result.model.coefficients
    assert t.loc[0, "estimate"] == coefs.loc["validation_within", "estimate"]
    assert t.loc[1, "estimate"] == coefs.loc["validation_between", "estimate"]
    assert t["gee_odds_ratio"].notna().all()
    # the GEE interval: 95% Wald on the log-odds scale from the robust SE, then exponentiated
    g = teaching_result.gee.loc[t["term"]]
    z = 1.959963984540054
    np.testing.assert_allclose(t["gee_or_conf_low"], np.exp(g["estimate"] - z * g["std_error"]))
    np.testing.assert_allclose(t["gee_or_conf_high"], np.exp(g["estimate"] + z * g["std_error"]))
    assert (
        (t["gee_or_conf_low"] < t["gee_odds_ratio"]) & (t["gee_odds_ratio"] < t["gee_or_conf_high"])
    ).all()
    assert "Holm" in " ".join(teaching_result.notes)
    n_fixed = int(teaching_result.model.coefficients.shape[0])
    assert any(n.startswith(f"Few events per parameter: 27 dropouts for {n_fixed} fixed")
               for n in teaching_result.notes)  # fmt: skip
    # per-row fit status, codebook labels, units and the per-10-points rescaling
    assert t["converged"].all() and not t["singular"].any()
    assert t["model"].eq("strategies").all()
    assert t.loc[0, "label"] == "Validation" and t.loc[2, "label"] == "Offering choices"
    between = t["component"] == "between"
    assert t.loc[between, "unit"].str.contains("share of sessions so far").all()
    np.testing.assert_allclose(t.loc[between, "or_per_10pp"],
                               np.exp(0.1 * t.loc[between, "estimate"]))  # fmt: skip
    assert t.loc[~between, "or_per_10pp"].isna().all()


def test_plan_is_recorded_before_fitting_and_deviations_are_empty(teaching_result):
    plan = teaching_result.plan
    (m,) = plan.models
    assert m.formula == teaching_result.model.formula
    assert "(1 | therapist)" in m.formula and "(1 | client)" not in m.formula
    assert "period_ns1" in m.formula and "Holm" in m.multiplicity
    assert teaching_result.deviations == ()
    assert "Deviations from the plan: none." in teaching_result.summary()


def test_teaching_truth_is_inside_the_interval(teaching_result):
    truth = als.datasets.truth("teaching")["estimands"]["dropout_hazard"]
    t = teaching_result.table.set_index("term")
    for term in ("validation_within", "validation_between", "offering_choices_within"):
        assert t.loc[term, "conf_low"] <= truth[term] <= t.loc[term, "conf_high"], term


def test_attendance_outcome_separate_models_and_old_spelling(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = strategy_effects(teaching, ["validation", "offering_choices"],
                              outcome="attended_next", separate=True, gee=False)  # fmt: skip
    assert st.outcome == "attended_next"
    assert st.table["model"].tolist() == ["strategy_validation"] * 2 + [
        "strategy_offering_choices"] * 2  # fmt: skip
    assert len(st.plan.models) == 2
    assert all("(1 | client)" in m.formula for m in st.plan.models)
    with pytest.warns(DeprecationWarning, match="dropout_event"):
        old = strategy_effects(teaching, ["validation"], outcome="event", gee=False)
    assert old.outcome == "dropout_event"


def test_bh_adjustment_and_display(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = strategy_effects(teaching, ["validation"], adjust="bh", gee=False)
    assert st.adjust == "bh"
    assert st.table["gee_odds_ratio"].isna().all()
    assert "StrategyResult" in repr(st)
    row = st.to_frame().iloc[0]
    shown = (f"{row[c]:.3f}" for c in ("estimate", "p_value", "p_adjusted", "odds_ratio"))
    assert shows_row(st._repr_html_(), "Validation", *shown)
    assert "Benjamini-Hochberg" in st.summary()


def test_moderation_by_resistance_type(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = strategy_effects(teaching, ["validation"], moderator="resistance_type", gee=False)
    levels = sorted(teaching["resistance_type"].dropna().unique())[1:]
    moderated = st.table[st.table["moderator_level"].notna()]
    assert sorted(moderated["moderator_level"]) == levels
    assert all(c.startswith("within x ") for c in moderated["component"])
    assert set(moderated["term"]) <= set(st.model.coefficients.index)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"strategies": []}, "non-empty list"),
        ({"strategies": "validation"}, "non-empty list"),
        ({"strategies": ["no_such"]}, "no_such"),
        ({"strategies": ["gender"]}, "must hold numbers"),
        ({"strategies": ["validation"], "adjust": "bonferroni"}, "adjust must be"),
        ({"strategies": ["validation"], "outcome": "alliance"}, "outcome must be"),
        ({"strategies": ["validation"], "outcome": "dropout"}, "inverse"),
        ({"strategies": ["validation"], "lag": -1}, "lag"),
        ({"strategies": ["validation", "validation"]}, "more than once"),
        ({"strategies": ["validation"], "covariates": ["validation"]}, "both as strategies"),
        ({"strategies": ["validation"], "baseline": "steps"}, "baseline"),
        ({"strategies": ["validation"], "alpha": 5}, "alpha"),
        ({"strategies": ["validation"], "covariates": ["nope"]}, "nope"),
        ({"strategies": ["validation"], "moderator": "nope"}, "nope"),
    ],
)
def test_bad_arguments_are_named(teaching, kwargs, needle):
    with pytest.raises(als.InputError, match=needle):
        strategy_effects(teaching, **kwargs)


def test_constant_strategy_is_rejected(teaching):
    with pytest.raises(als.InputError, match="single value"):
        strategy_effects(teaching.assign(validation=1.0), ["validation"])


@pytest.mark.slow
def test_planted_effects_are_recovered_over_20_seeds():
    """True non-null strategies significant and protective; nulls within the error rate.

    Design: 300 clients, up to 12 sessions, dropout near 45% (so there are enough events);
    within-client log OR -1.0 on the dropout hazard for two strategies, 0 for three (and 0
    for every between part). With Holm over 10 terms the family-wise error rate is at most
    5%, so over 20 seeds x 6 null terms we expect about 0-3 false positives; more than 6
    would be very unlikely (p < .01). The model adjusts for the WAI-SR rating, which drives
    dropout in the simulator.
    """
    hits = {s: 0 for s in NON_NULL}
    false_positives = 0
    for seed in range(20):
        study = als.simulate_study(
            n_therapists=30,
            clients_per_therapist=10,
            max_sessions=12,
            seed=seed,
            dropout_share=0.45,
            strategy_dropout_log_or=EFFECTS,
            strategy_dropout_between_log_or={},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = als.score(study.sessions, "wai_sr", items="wai_{}")
            st = strategy_effects(data, list(EFFECTS), covariates=["wai_sr_total"], gee=False)
        t = st.table.set_index(["strategy", "component"])
        for s in NON_NULL:
            row = t.loc[(s, "within")]
            hits[s] += bool(row["significant"] and row["estimate"] < 0)
        false_positives += int(t.loc[NULL, "significant"].sum())
    assert all(n >= 15 for n in hits.values()), hits
    assert false_positives <= 6, false_positives


def test_column_names_as_clinics_write_them():
    """ "Offered choices" and "Feedback check-in" (spaces, a hyphen) work: the same estimates
    as under formula names, the table in the user's names, a note saying how they entered."""
    data = als.score(als.datasets.load("clinic"), "wai_sr", items="wai_{}")
    plain = als.strategy_effects(data, ["offering_choices", "feedback_checkin"], gee=False)
    clinic = data.rename(
        columns={"offering_choices": "Offered choices", "feedback_checkin": "Feedback check-in"}
    )
    named = als.strategy_effects(clinic, ["Offered choices", "Feedback check-in"], gee=False)
    assert named.table["strategy"].unique().tolist() == ["Offered choices", "Feedback check-in"]
    np.testing.assert_allclose(named.table["estimate"], plain.table["estimate"], rtol=1e-10)
    assert "'Offered choices' as Offered_choices" in named.notes[-1]
    assert "Offered choices" in clinic.columns  # the user's table is not renamed
