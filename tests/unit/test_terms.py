"""Function-call terms of lme4 formulas (models/terms.py): labels, values and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance_stats.errors import InputError
from alliance_stats.models import fit_mixed
from alliance_stats.models.formula import parse_formula
from alliance_stats.models.terms import deparse, expand_terms


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(4)
    n = 120
    g = np.repeat(np.arange(12), 10)
    age = np.tile([8.0, 9.5, 11.0, 12.5, 14.0], 24)
    sex = np.where(g % 2 == 0, "female", "male")
    y = 20 + 0.6 * age + (sex == "male") * 1.5 + rng.normal(0, 1, 12)[g] + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "age": age, "sex": sex, "g": [f"g{i}" for i in g]})


@pytest.mark.parametrize(
    "text,label",
    [
        ("I(age^2)", "I(age^2)"),
        ("I(age*age)", "I(age * age)"),
        ("I( age - 8 )", "I(age - 8)"),
        ("I(-age/2)", "I(-age/2)"),
        ("poly(age,3)", "poly(age, 3)"),
        ("relevel(sex,ref='male')", 'relevel(sex, ref = "male")'),
        ("log(age + 1)", "log(age + 1)"),
    ],
)
def test_labels_are_rs_deparse(text, label):
    assert deparse(text) == label


def test_values_are_computed_on_the_model_rows(rows):
    ex = expand_terms(
        parse_formula("y ~ I(age^2) + scale(age) + factor(age) + poly(age, 2) + (1 | g)"),
        rows,
        {},
    )
    d = ex.data
    np.testing.assert_allclose(d["I(age^2)"], rows["age"] ** 2)
    np.testing.assert_allclose(d["scale(age)"], (rows.age - rows.age.mean()) / rows.age.std())
    assert ex.factor_levels["factor(age)"] == ["8", "9.5", "11", "12.5", "14"]
    P = d[["poly(age, 2)1", "poly(age, 2)2"]].to_numpy()
    np.testing.assert_allclose(P.T @ P, np.eye(2), atol=1e-12)  # orthonormal, as R's poly
    np.testing.assert_allclose(P.sum(axis=0), 0.0, atol=1e-12)
    assert "I(age^2)" not in rows.columns  # the input is not changed


def test_relevel_sets_the_reference_level(rows):
    plain = fit_mixed("y ~ sex + (1 | g)", rows)
    flipped = fit_mixed('y ~ relevel(sex, ref = "male") + (1 | g)', rows)
    assert list(flipped.coefficients.index) == ["(Intercept)", 'relevel(sex, ref = "male")female']
    assert flipped.coefficients["estimate"].iloc[1] == pytest.approx(
        -plain.coefficients["estimate"].iloc[1], rel=1e-6
    )


@pytest.mark.parametrize(
    "formula,match",
    [
        ('y ~ relevel(sex, ref = "other") + (1 | g)', "'other' is not a level of sex"),
        ("y ~ log(age - 10) + (1 | g)", r"log\(age - 10\) is not finite in model row"),
        ("y ~ scale(age * 0) + (1 | g)", "of a constant has no spread"),
        ("y ~ poly(age, 2):sex + (1 | g)", "only stand as a term of its own"),
        ("y ~ I(sex * 2) + (1 | g)", "'sex' in 'sex \\* 2' is not numeric"),
        ("y ~ age + (1 + log(age) | g)", "uses a function call"),
        ("y ~ age + (sex || g)", r"lme4 expands it to \(1 \| g\) \+ \(0 \+ sex \| g\)"),
        ("y ~ C(sex) + (1 | g)", 'relevel\\(x, ref = "level"\\) sets the reference level'),
        ("y ~ poly(age, 7) + (1 | g)", "needs more than 7 distinct values"),
    ],
)
def test_refusals_say_what_to_write(rows, formula, match):
    with pytest.raises(InputError, match=match):
        fit_mixed(formula, rows)


def test_reml_for_a_binomial_model_is_said_not_silently_dropped(rows):
    d = rows.assign(high=(rows["y"] > rows["y"].median()).astype(int))
    said = fit_mixed("high ~ age + (1 | g)", d, family="binomial", REML=True)
    assert any("REML=True does not apply to the binomial family" in n for n in said.notes)
    quiet = fit_mixed("high ~ age + (1 | g)", d, family="binomial")
    assert not any("REML" in n for n in quiet.notes)
    assert quiet.loglik == pytest.approx(said.loglik, abs=1e-9)


@pytest.fixture(scope="module")
def counts(rows):
    rng = np.random.default_rng(9)
    utter = rng.integers(20, 80, len(rows))
    rate = np.exp(-2.5 + 0.05 * (rows["age"] - 11))
    return rows.assign(utterances=utter, sustain=rng.poisson(rate * utter))


@pytest.mark.parametrize(
    "formula,family,kwargs,match",
    [
        ("y ~ age + (1 | g)", "poisson", {}, "needs a count outcome"),
        ("sustain ~ age + offset(log(utterances)):sex + (1 | g)", "poisson", {}, "a term of"),
        ("cbind(sustain, utterances) ~ age + (1 | g)", "gaussian", {}, "family='binomial'"),
        ("cbind(sustain, utterancez) ~ age + (1 | g)", "binomial", {}, "did you mean"),
        ("sustain ~ age + (1 | g)", "poisson", {"weights": "nope"}, "not a column"),
        ("sustain ~ age + (1 | g)", "poisson", {"weights": [1.0, 2.0]}, "one number per row"),
        ("sustain ~ age + (1 | g)", "poisson", {"link": "cloglog"}, "log link only"),
    ],
)
def test_family_refusals(counts, formula, family, kwargs, match):
    with pytest.raises(InputError, match=match):
        fit_mixed(formula, counts, family=family, **kwargs)


def test_negative_weights_refused_naming_the_row(counts):
    w = np.ones(len(counts))
    w[5] = -1.0
    with pytest.raises(InputError, match="model row 5 has -1"):
        fit_mixed("sustain ~ age + (1 | g)", counts, family="poisson", weights=w)


def test_poisson_with_utterance_offset_recovers_the_rate(counts):
    res = fit_mixed(
        "sustain ~ I(age - 11) + offset(log(utterances)) + (1 | g)", counts, family="poisson"
    )
    est = res.coefficients["estimate"]
    assert est["(Intercept)"] == pytest.approx(-2.5, abs=0.25)
    assert list(res.coefficients.columns[-3:]) == ["rate_ratio", "rr_conf_low", "rr_conf_high"]
    assert res.family == "poisson" and res.link == "log"


def test_linear_offset_shifts_the_slope_by_one(rows):
    """An offset has coefficient 1: with offset(age) the age slope drops by exactly 1."""
    plain = fit_mixed("y ~ age + (1 | g)", rows)
    shifted = fit_mixed("y ~ age + offset(age) + (1 | g)", rows)
    assert shifted.coefficients.loc["age", "estimate"] == pytest.approx(
        plain.coefficients.loc["age", "estimate"] - 1.0, abs=1e-6
    )
    assert shifted.loglik == pytest.approx(plain.loglik, abs=1e-6)


def test_two_level_text_outcome_coded_as_lme4_codes_a_factor(rows):
    d = rows.assign(high=np.where(rows["y"] > rows["y"].median(), "yes", "no"))
    coded = d.assign(high=(d["high"] == "yes").astype(int))
    text = fit_mixed("high ~ age + (1 | g)", d, family="binomial")
    numeric = fit_mixed("high ~ age + (1 | g)", coded, family="binomial")
    assert text.loglik == pytest.approx(numeric.loglik, abs=1e-9)
    assert "outcome 'high' coded 1 = 'yes', 0 = 'no'" in " ".join(text.notes)
    flipped = fit_mixed("high ~ age + (1 | g)", d, family="binomial", success="no")
    assert flipped.coefficients.loc["age", "estimate"] == pytest.approx(
        -text.coefficients.loc["age", "estimate"], rel=1e-5
    )


@pytest.mark.parametrize(
    "outcome,family,success,match",
    [
        (["a", "b", "c"], "binomial", None, "has 3 values"),
        (["a", "b", "c"], "binomial", "z", "success='z' is not a value"),
        ([0, 1, 1], "binomial", "1", "is numeric"),
        ([0.5, 1.5, 2.5], "gaussian", "1", "family='binomial' only"),
    ],
)
def test_outcome_coding_refusals(rows, outcome, family, success, match):
    d = rows.assign(out=np.resize(np.asarray(outcome, dtype=object), len(rows)))
    if family == "gaussian" or isinstance(outcome[0], int):
        d["out"] = d["out"].astype(float)
    with pytest.raises(InputError, match=match):
        fit_mixed("out ~ age + (1 | g)", d, family=family, success=success)


def test_dependent_function_call_term_dropped_as_lme4_drops_it(rows):
    """I(age * 2) after age duplicates it: lme4 drops the later column, and so do we (the
    engine, left alone, would drop age)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_mixed("y ~ age + I(age*2) + (1 | g)", rows)
    assert list(res.coefficients.index) == ["(Intercept)", "age"]
    note = next(n for n in res.notes if "linearly dependent" in n)
    assert "dropped: I(age * 2)" in note and "engine dropped" not in note


def _factors_data():
    from alliance_stats.models.examples import sleepstudy

    d = sleepstudy()
    rng = np.random.default_rng(1)
    d["a"] = np.where(rng.random(len(d)) < 0.5, "x", "y")
    d["b"] = np.where(rng.random(len(d)) < 0.5, "p", "q")
    return d


@pytest.mark.parametrize(
    "formula",
    [
        "Reaction ~ I(Days^2) + factor(a) + (1 | Subject)",
        "Reaction ~ poly(Days, 2) + (1 | Subject)",
        "Reaction ~ scale(Days) + log(Days + 1) + (1 | Subject)",
        'Reaction ~ relevel(a, ref = "y") + (1 | Subject)',
    ],
)
def test_predict_newdata_rebuilds_function_call_columns(formula):
    """New rows get the call columns from the model rows' centre, scale and polynomial
    basis (R's predict): predictions on a subset equal the fitted model's at those rows."""
    from alliance_stats.models import fit_mixed

    d = _factors_data()
    res = fit_mixed(formula, d)
    subset = d[d["Days"] >= 6].copy()  # another mean and spread than the model rows
    fitted = res.predict()
    np.testing.assert_allclose(res.predict(subset), fitted[subset.index], rtol=1e-10)
    population = res.predict(subset.drop(columns="Subject"), re_form="~0")
    assert population.notna().all()


@pytest.mark.parametrize(
    "formula,codes",
    [
        ("Reaction ~ 0 + a:b + (1 | Subject)", "a"),
        ("Reaction ~ a + a:b + (1 | Subject)", "a"),
        ("Reaction ~ a:Days + (1 | Subject)", "a"),
    ],
)
def test_interactions_lme4_codes_by_indicators_are_refused(formula, codes):
    from alliance_stats.models import fit_mixed

    with pytest.raises(InputError, match=f"codes the factor {codes} by one indicator") as err:
        fit_mixed(formula, _factors_data())
    assert " * " in str(err.value) and "0 + " in str(err.value)


@pytest.mark.parametrize(
    "formula,names",
    [
        ("Reaction ~ a*b + (1 | Subject)", ["(Intercept)", "ay", "bq", "ay:bq"]),
        ("Reaction ~ Days + a:Days + (1 | Subject)", ["(Intercept)", "Days", "ay:Days"]),
        ("Reaction ~ Days - 1 + a:Days + (1 | Subject)", ["Days", "ay:Days"]),
    ],
)
def test_interactions_coded_by_contrasts_fit(formula, names):
    from alliance_stats.models import fit_mixed

    assert list(fit_mixed(formula, _factors_data()).coefficients.index) == names
