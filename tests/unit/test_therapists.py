"""therapist_effects / TherapistEffects: numbers against lme4 (tests/reference/R/lme4_ranef.R),
recovery on simulated data, input errors and the result-object conventions."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from html_cells import shows_row

import alliance_stats as als
from alliance_stats.errors import InputError
from alliance_stats.models import fit_mixed
from alliance_stats.therapists import TABLE_COLUMNS, TherapistEffects, therapist_effects

FIXTURES = Path(__file__).parents[1] / "reference" / "fixtures"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"ranef_lme4_{name}.json").read_text())


@cache
def _clinic_attended() -> pd.DataFrame:
    df = als.datasets.load("clinic")
    wai = [f"wai_{i}" for i in range(1, 13)]
    df["wai_total"] = df[wai].sum(axis=1, min_count=12)
    return df


def _lme4_therapist(fx: dict) -> tuple[pd.DataFrame, float]:
    re = pd.DataFrame(fx["ranef"])
    re = re[(re["grpvar"] == "therapist") & (re["term"] == "(Intercept)")]
    vc = pd.DataFrame(fx["varcorr"])
    ints = vc[(vc["var1"] == "(Intercept)") & vc["var2"].isna()]
    var_t = float(ints.loc[ints["grp"] == "therapist", "vcov"].iloc[0])
    if fx["family"] == "binomial":
        total = ints["vcov"].sum() + np.pi**2 / 3
    else:
        total = ints["vcov"].sum() + float(vc.loc[vc["grp"] == "Residual", "vcov"].iloc[0])
    return re.reset_index(drop=True), var_t / total


@cache
def _default_effects() -> TherapistEffects:
    return therapist_effects(_clinic_attended(), outcome="wai_total")


def test_default_linear_model_matches_lme4():
    """outcome='wai_total' fits lme4's wai_total ~ session + (1|therapist) + (1|client) on
    the attended rows; modes, SDs and ICC agree with lme4."""
    te = _default_effects()
    fx = _fixture("clinic_wai_default")
    ref, icc = _lme4_therapist(fx)
    assert te.formula == fx["formula"]
    assert te.table["therapist"].tolist() == ref["grp"].tolist()
    np.testing.assert_allclose(te.table["estimate"], ref["condval"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(te.table["std_error"], ref["condsd"], rtol=1e-3)
    assert te.icc == pytest.approx(icc, rel=1e-4)
    assert te.icc_definition.startswith("var_therapist / (")
    assert list(te.table.columns) == list(TABLE_COLUMNS)
    # counts: attended rows with a complete WAI and distinct clients per therapist
    used = _clinic_attended()
    used = used[used["attended"] & used["wai_total"].notna()]
    n = used.groupby("therapist").size()
    assert te.table.set_index("therapist")["n_sessions"].astype(int).to_dict() == n.to_dict()
    assert int(te.table["n_clients"].sum()) == used["client"].nunique()
    top = te.table.loc[te.table["rank"] == 1, "estimate"].iloc[0]
    assert top == te.table["estimate"].max()


def test_from_fitted_result_with_random_slopes_matches_lme4():
    fx = _fixture("clinic_wai_slope")
    d = _clinic_attended()
    res = fit_mixed(fx["formula"], d[d["attended"]])
    te = therapist_effects(res)
    ref, icc = _lme4_therapist(fx)
    np.testing.assert_allclose(te.table["estimate"], ref["condval"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(te.table["std_error"], ref["condsd"], rtol=1e-3)
    assert te.icc == pytest.approx(icc, rel=1e-3)
    assert te.model is res


def test_logistic_icc_uses_latent_scale():
    fx = _fixture("clinic_dropout")
    pp = pd.read_csv(FIXTURES / "lme4_clinic_dropout_pp.csv")
    te = therapist_effects(fit_mixed(fx["formula"], pp, family="binomial"))
    assert "pi^2/3" in te.icc_definition
    ref, icc = _lme4_therapist(fx)
    # the likelihood is flat along the therapist SD (see tests/reference/R/lme4_ranef.R)
    assert te.icc == pytest.approx(icc, rel=1e-4)
    np.testing.assert_allclose(te.table["estimate"], ref["condval"], atol=2e-4)
    assert not any("estimated at 0" in n for n in te.notes)  # an interior therapist SD


def test_dropout_outcome_fits_hazard_on_person_period_rows():
    sim = als.simulate_study(n_therapists=10, clients_per_therapist=8, max_sessions=8, seed=2)
    te = therapist_effects(sim.sessions, outcome="dropout_event")
    assert te.family == "binomial"
    assert te.formula == "dropout_event ~ period + (1 | therapist)"
    assert therapist_effects(sim.sessions, outcome="dropout").formula == te.formula
    assert te.model.nobs == len(als.person_period(sim.sessions))
    assert "pi^2/3" in te.icc_definition


def test_simulated_therapist_share_recovered():
    """Client-level outcome with a true therapist share of 0.2 (simulate_study)."""
    sim = als.simulate_study(
        n_therapists=50,
        clients_per_therapist=10,
        max_sessions=6,
        seed=1,
        therapist_share_outcome=0.2,
    )
    clients = sim.sessions.drop_duplicates("client")
    te = therapist_effects(clients, formula="outcome ~ 1 + (1 | therapist)")
    assert te.icc == pytest.approx(0.2, abs=0.08)
    assert te.icc == pytest.approx(sim.truth["realised"]["therapist_share_outcome"], abs=0.03)
    assert len(te.table) == 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "outcome="),
        ({"outcome": "wai_total", "therapist": "clinician"}, "no therapist column"),
        ({"outcome": "nope"}, "lacks the column"),
        ({"outcome": "wai_total", "family": "poisson"}, "family must be"),
        ({"outcome": "dropout", "family": "gaussian"}, "family='binomial'"),
    ],
)
def test_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        therapist_effects(_clinic_attended(), **kwargs)


def test_input_errors_other():
    with pytest.raises(InputError, match="MixedResult or a session table"):
        therapist_effects([1, 2, 3], outcome="x")
    one = _clinic_attended().assign(therapist="T1")
    with pytest.raises(InputError, match="at least 2"):
        therapist_effects(one, outcome="wai_total")
    res = fit_mixed("Reaction ~ Days + (1 | Subject)", _sleep())
    with pytest.raises(InputError, match="no random intercept for therapist"):
        therapist_effects(res)
    with pytest.raises(InputError, match="used as is"):
        therapist_effects(res, formula="y ~ 1 + (1 | therapist)")


def _sleep() -> pd.DataFrame:
    d = pd.read_csv(FIXTURES / "lme4_sleepstudy.csv")
    d["Subject"] = d["Subject"].astype(str)
    return d


def test_result_conventions():
    import matplotlib

    matplotlib.use("Agg")
    te = _default_effects()
    assert "\n" not in repr(te) and repr(te).startswith("TherapistEffects(gaussian")
    assert "therapist share (ICC)" in te.summary()
    row = te.to_frame().iloc[0]
    shown = [f"{row[c]:.3f}" for c in ("estimate", "std_error", "conf_low", "conf_high")]
    assert shows_row(te._repr_html_(), row["therapist"], *shown, str(row["n_clients"]))
    frame = te.to_frame()
    frame.loc[0, "estimate"] = 99.0
    assert te.table.loc[0, "estimate"] != 99.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        te.icc = 0.5  # type: ignore[misc]
    ax = te.plot()
    assert ax.get_ylabel().startswith("therapist effect")
    zero = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0.0, 0.0]]
    assert len(zero) == 1  # the horizontal reference line at 0
    import matplotlib.pyplot as plt

    plt.close("all")
