"""strategy_effects: recovery of planted effects, multiplicity, moderation, bad arguments."""

import warnings

import numpy as np
import pytest

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
    return als.datasets.load("teaching")


@pytest.fixture(scope="module")
def teaching_result(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return strategy_effects(
            teaching, ["validation", "offering_choices"], covariates=["resistance"]
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
    assert t.loc[0, "estimate"] == coefs.loc["validation_cwc", "estimate"]
    assert t["gee_odds_ratio"].notna().all()
    assert "Holm" in " ".join(teaching_result.notes)


def test_teaching_truth_is_recovered_in_direction(teaching, teaching_result):
    truth = als.datasets.truth("teaching")["strategy_dropout_log_or"]["validation"]
    row = teaching_result.table.iloc[0]
    assert truth < 0 and row["estimate"] < 0 and row["or_conf_high"] < 1


def test_bh_adjustment_and_display(teaching):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = strategy_effects(teaching, ["validation"], adjust="bh", gee=False)
    assert st.adjust == "bh"
    assert st.table["gee_odds_ratio"].isna().all()
    assert "StrategyResult" in repr(st) and "<table" in st._repr_html_()
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
    log OR -1.0 on the dropout hazard for two strategies, 0 for three. With Holm over 10
    terms the family-wise error rate is at most 5%, so over 20 seeds x 6 null terms we
    expect about 0-3 false positives; more than 6 would be very unlikely (p < .01).
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
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = strategy_effects(
                study.sessions, list(EFFECTS), covariates=["resistance"], gee=False
            )
        t = st.table.set_index(["strategy", "component"])
        for s in NON_NULL:
            row = t.loc[(s, "within")]
            hits[s] += bool(row["significant"] and row["estimate"] < 0)
        false_positives += int(t.loc[NULL, "significant"].sum())
    assert all(n >= 15 for n in hits.values()), hits
    assert false_positives <= 6, false_positives
