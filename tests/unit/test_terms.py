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
        ("y ~ log(age - 10) + (1 | g)", r"log\(age - 10\) is not finite in row"),
        ("y ~ poly(age, 2):sex + (1 | g)", "only stand as a term of its own"),
        ("y ~ I(sex * 2) + (1 | g)", "'sex' in 'sex \\* 2' is not numeric"),
        ("y ~ age + (1 + log(age) | g)", "uses a function call"),
        ("y ~ age + (sex || g)", r"lme4 expands it to \(1 \| g\) \+ \(0 \+ sex \| g\)"),
        ("y ~ C(sex) + (1 | g)", 'relevel\\(x, ref = "level"\\) sets the reference level'),
        ("y ~ age + offset(age) + (1 | g)", "offset\\(\\) is not supported yet"),
        ("cbind(y, age) ~ sex + (1 | g)", "cbind\\(successes, failures\\) is not supported yet"),
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
