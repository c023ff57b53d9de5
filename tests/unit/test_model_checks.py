"""Models tell the truth about bad data (issue 13): non-identified variances, dependent
columns, separation and constant outcomes are errors or warnings in plain words, recorded in
``notes``, never a silent number."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_stats.errors import InputError, ModelWarning
from alliance_stats.models import fit_mixed
from alliance_stats.models.examples import sleepstudy


def _fit_quietly(*args, **kwargs):
    """Fit, returning the result, our warnings and whatever reached stdout."""
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        res = fit_mixed(*args, **kwargs)
    ours = [str(w.message) for w in caught if issubclass(w.category, ModelWarning)]
    return res, ours, out.getvalue()


def test_one_row_per_group_is_not_identified():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"y": rng.normal(size=30), "client": [f"c{i}" for i in range(30)]})
    with pytest.raises(InputError, match=r"exactly one row .* not identified"):
        fit_mixed("y ~ 1 + (1 | client)", d)
    d["y01"] = (d["y"] > 0).astype(int)
    with pytest.raises(InputError, match="0/1 outcome's own variation"):
        fit_mixed("y01 ~ 1 + (1 | client)", d, family="binomial")


def test_random_slope_with_as_many_effects_as_rows():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"y": rng.normal(size=40), "x": rng.normal(size=40),
                      "client": [f"c{i // 2}" for i in range(40)]})  # fmt: skip
    with pytest.raises(InputError, match=r"\(1 \+ x \| client\) number 40 .* not identified"):
        fit_mixed("y ~ x + (x | client)", d)


def test_constant_gaussian_outcome():
    d = sleepstudy().assign(Reaction=250.0)
    with pytest.raises(InputError, match="'Reaction' is 250 in every one of the 180"):
        fit_mixed("Reaction ~ Days + (1 | Subject)", d)


@pytest.mark.parametrize(
    ("formula", "dropped", "why"),
    [
        ("Reaction ~ Days + Days10 + (1 | Subject)", "Days10", "'Days10' = 10 x Days"),
        ("Reaction ~ Days10 + Days + (1 | Subject)", "Days", "'Days' = 0.1 x Days10"),
        ("Reaction ~ Days + site + (1 | Subject)", "site", "'site' is constant (3 in every"),
    ],
)
def test_dependent_columns_dropped_as_lme4_drops_them(formula, dropped, why):
    d = sleepstudy().assign(Days10=lambda x: 10 * x["Days"], site=3.0)
    res, warned, printed = _fit_quietly(formula, d)
    assert dropped not in res.coefficients.index
    assert len(res.coefficients) == 2
    note = [n for n in res.notes if "linearly dependent" in n]
    assert note and why in note[0] and dropped in note[0]
    assert warned and why in warned[0]
    assert printed == ""  # the engine's own print does not reach the user
    kept = res.coefficients.index[1]
    reference = fit_mixed(f"Reaction ~ {kept} + (1 | Subject)", d)
    assert res.loglik == pytest.approx(reference.loglik, abs=1e-8)


def test_separation_named():
    rng = np.random.default_rng(2)
    n_g, per = 20, 10
    z = rng.binomial(1, 0.2, size=n_g * per)
    x = rng.normal(size=n_g * per)
    y = np.where(z == 1, 0, (rng.uniform(size=len(x)) < 0.4)).astype(int)
    d = pd.DataFrame({"y": y, "x": x, "z": z, "g": np.repeat([f"g{i}" for i in range(n_g)], per)})
    res, warned, _ = _fit_quietly("y ~ x + z + (1 | g)", d, family="binomial")
    note = [n for n in res.notes if n.startswith("separation")]
    assert note and "every row with z = 1 has outcome 0" in note[0]
    assert "bias_reduction=True" in note[0] and warned
    assert not any("separation" in n and "'x'" in n for n in res.notes)
    br, warned, _ = _fit_quietly("y ~ x + z + (1 | g)", d, family="binomial",
                                 bias_reduction=True)  # fmt: skip
    assert any("keeps these estimates finite" in n for n in br.notes)
    assert abs(br.coefficients.loc["z", "estimate"]) < 6


def test_strategy_effects_under_separation_stay_finite_and_say_so():
    """A strategy used only by clients who never drop out: bias-reduced estimates stay finite,
    the fit converges, the separation is named, and no numpy warning leaks."""
    import alliance_stats as als

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = als.score(als.datasets.load("clinic"), "wai_sr", items="wai_{}")
        dropped = set(als.retention_outcomes(df).query("dropout_event == 1")["client"])
    use = (np.arange(len(df)) % 3 == 0).astype(int)
    df["naming_nonverbal"] = np.where(df["client"].isin(dropped), 0, use)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = als.strategy_effects(df, ["validation", "naming_nonverbal"],
                                  covariates=["wai_sr_total"], gee=False)  # fmt: skip
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    row = st.table.set_index(["strategy", "component"]).loc[("naming_nonverbal", "between")]
    assert np.isfinite(row["estimate"]) and np.isfinite(row["or_conf_low"])
    assert row["converged"] and st.model.bias_reduction
    assert any("separation" in n and "naming_nonverbal_between" in n for n in st.notes)
