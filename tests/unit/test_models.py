"""Unit tests for alliance_stats.models: argument errors, result API, compare, robust helpers."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from html_cells import shows_row

from alliance_stats.errors import InputError
from alliance_stats.models import MixedResult, compare, fit_mixed, robust
from alliance_stats.models.engines import lme4_term_name
from alliance_stats.models.examples import fitted_example, sleepstudy
from alliance_stats.models.formula import parse_formula


@pytest.fixture(scope="module")
def sleep():
    return sleepstudy()


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(3)
    n_g, n_per = 40, 15
    g = np.repeat([f"g{i:02d}" for i in range(n_g)], n_per)
    x = rng.normal(size=n_g * n_per)
    grp = np.repeat(["a", "b", "c"], n_g * n_per // 3)
    b = np.repeat(rng.normal(scale=0.8, size=n_g), n_per)
    eta = -0.3 + 0.7 * x + b + np.where(grp == "b", 0.5, 0.0)
    y = (rng.uniform(size=len(x)) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "grp": grp, "g": g})


# ---------------------------------------------------------------- argument errors
@pytest.mark.parametrize(
    ("formula", "family", "match"),
    [
        ("Reaction ~ Dayz + (Days | Subject)", "gaussian", "'Dayz'.*did you mean 'Days'"),
        ("Reaction ~ Days + (Days | Subjekt)", "gaussian", "Subjekt"),
        ("Reaction ~ Days + (Days | Subject", "gaussian", "unbalanced parentheses"),
        ("Reaction ~ Days + + (1 | Subject)", "gaussian", "empty term"),
        ("Reaction Days + (1 | Subject)", "gaussian", "exactly one '~'"),
        ("Reaction ~ Days", "gaussian", "no random effect"),
        ("Reaction ~ Days + 1 | Subject", "gaussian", "bar outside parentheses"),
        ("Reaction ~ lg(Days) + (1 | Subject)", "gaussian", "function 'lg"),
        ("Reaction ~ Days + (1 | Subject)", "gamma", "family must be one of"),
        ("Reaction ~ Days + (1 | Subject)", "binomial", "0/1"),
    ],
)
def test_bad_arguments_raise_input_error(sleep, formula, family, match):
    with pytest.raises(InputError, match=match):
        fit_mixed(formula, sleep, family=family)


def test_grouping_factor_with_one_level(sleep):
    d = sleep.assign(site="only")
    with pytest.raises(InputError, match="grouping factor 'site' has 1 level"):
        fit_mixed("Reaction ~ Days + (1 | site)", d)


def test_all_missing_predictor(sleep):
    d = sleep.assign(z=np.nan)
    with pytest.raises(InputError, match="column 'z'.*no non-missing"):
        fit_mixed("Reaction ~ Days + z + (1 | Subject)", d)


def test_text_outcome_binomial(binary):
    """A yes/no outcome is coded as lme4 codes a two-level factor, and notes say so."""
    d = binary.assign(y=np.where(binary["y"] == 1, "yes", "no"))
    res = fit_mixed("y ~ x + (1 | g)", d, family="binomial")
    assert res.loglik == pytest.approx(fit_mixed("y ~ x + (1 | g)", binary, "binomial").loglik)
    assert any("coded 1 = 'yes', 0 = 'no'" in n for n in res.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"REML": "yes"}, "REML"),
        ({"nagq": 0}, "nagq"),
        ({"engine": "lme4"}, "engine"),
        ({"conf_level": 95}, "conf_level"),
        ({"se": "robust"}, "se must be"),
        ({"nagq": 5}, "family='binomial' only"),
    ],
)
def test_bad_options(sleep, kwargs, match):
    with pytest.raises(InputError, match=match):
        fit_mixed("Reaction ~ Days + (1 | Subject)", sleep, **kwargs)


def test_agq_needs_single_intercept(binary):
    with pytest.raises(InputError, match="one random intercept"):
        fit_mixed("y ~ x + (1 + x | g)", binary, family="binomial", nagq=5)


def test_data_must_be_frame():
    with pytest.raises(InputError, match="DataFrame"):
        fit_mixed("y ~ x + (1 | g)", {"y": [1]})


# ---------------------------------------------------------------- formula + names
def test_parse_formula_parts():
    f = parse_formula("y ~ x * z + log(w) + (1 + x || g) + (1 | a/b)")
    assert f.fixed_variables == ("x", "z", "w")
    assert [t.correlated for t in f.random] == [False, True]
    assert f.grouping_factors == ("g", "a", "b")


def test_lme4_term_names():
    levels = {"btype": ["curse", "scold", "shout"], "Gender": ["F", "M"]}
    assert lme4_term_name("btype.2", levels) == "btypeshout"
    assert lme4_term_name("Gender.1:Anger", levels) == "GenderM:Anger"
    assert lme4_term_name("x.1", levels) == "x.1"


# ---------------------------------------------------------------- result API
def test_result_is_frozen_and_repr_one_line():
    res = fitted_example()
    assert isinstance(res, MixedResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.loglik = 0.0
    assert "\n" not in repr(res)
    days = res.coefficients.loc["Days"]
    shown = (f"{days[c]:.3f}" for c in ("estimate", "std_error", "conf_low", "conf_high"))
    assert shows_row(res._repr_html_(), "Days", *shown)
    assert "Fixed effects" in res.summary()
    assert res.to_frame()["term"].tolist() == ["(Intercept)", "Days"]


def test_result_fields():
    res = fitted_example()
    assert list(res.coefficients.columns) == [
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert list(res.varcorr.columns) == ["grp", "var1", "var2", "vcov", "sdcor"]
    assert res.n_groups == {"Subject": 18}
    assert res.nobs == 180 and res.converged and not res.singular
    np.testing.assert_allclose(res.aic, -2 * res.loglik + 2 * 6)


def test_icc_and_r2():
    res = fitted_example()
    icc = res.icc()
    np.testing.assert_allclose(icc["icc"].iloc[0], 612.09 / (612.09 + 654.94), rtol=1e-3)
    r2 = res.r2()
    assert 0 < r2["r2_marginal"].iloc[0] < r2["r2_conditional"].iloc[0] < 1


def test_predict_new_levels_and_population():
    res = fitted_example()
    new = pd.DataFrame({"Days": [0.0, 0.0], "Subject": ["308", "brand-new"]})
    p = res.predict(new)
    fixed = res.coefficients.loc["(Intercept)", "estimate"]
    assert p.iloc[1] == pytest.approx(fixed)
    assert p.iloc[0] != pytest.approx(fixed)
    p0 = res.predict(new, re_form="~0")
    np.testing.assert_allclose(p0, fixed)
    with pytest.raises(InputError, match="re_form"):
        res.predict(new, re_form="~(1|Subject)")


def test_binomial_result(binary):
    res = fit_mixed("y ~ x + grp + (1 | g)", binary, family="binomial")
    cols = list(res.coefficients.columns)
    assert cols[-3:] == ["odds_ratio", "or_conf_low", "or_conf_high"]
    assert list(res.coefficients.index) == ["(Intercept)", "x", "grpb", "grpc"]
    np.testing.assert_allclose(res.coefficients["odds_ratio"], np.exp(res.coefficients["estimate"]))
    assert res.se_method == "hessian"
    assert any("optimum" in n for n in res.notes)
    pr = res.predict(binary.head(3))
    assert ((pr > 0) & (pr < 1)).all()
    model = fit_mixed(
        "y ~ x + grp + (1 | g)", binary, family="binomial", se="model", restarts=False
    )
    assert model.se_method == "model"
    np.testing.assert_allclose(
        model.coefficients["std_error"], res.coefficients["std_error"], rtol=0.1
    )


def test_missing_rows_dropped_and_noted(sleep):
    d = sleep.copy()
    d.loc[:4, "Reaction"] = np.nan
    res = fit_mixed("Reaction ~ Days + (1 | Subject)", d)
    assert res.nobs == 175
    assert any("5 row(s)" in n for n in res.notes)


# ---------------------------------------------------------------- compare
def test_compare_boundary_note(sleep):
    small = fit_mixed("Reaction ~ Days + (1 | Subject)", sleep, REML=False)
    big = fit_mixed("Reaction ~ Days + (Days | Subject)", sleep, REML=False)
    tab = compare(big, small)
    assert tab["n_par"].tolist() == [4, 6]
    assert tab["df"].iloc[1] == 2
    assert "boundary" in tab["note"].iloc[1]
    assert tab["p_boundary"].iloc[1] < tab["p_value"].iloc[1]


def test_compare_rejects_reml_with_different_fixed(sleep):
    a = fit_mixed("Reaction ~ 1 + (1 | Subject)", sleep)
    b = fit_mixed("Reaction ~ Days + (1 | Subject)", sleep)
    with pytest.raises(InputError, match="REML=False"):
        compare(a, b)
    with pytest.raises(InputError, match="at least two"):
        compare(a)


# ---------------------------------------------------------------- robust helpers
def test_best_optimum_escapes_boundary_peak():
    # two peaks in theta: a boundary one at 0 (f=1) and a better interior one at 2 (f=0)
    def f(x):
        t = x[0]
        return float(min(1.0 + t**2, (t - 2.0) ** 2) + (x[1] - 1.0) ** 2)

    res = robust.best_optimum(f, np.array([0.0, 1.0]), [(0.0, None), (None, None)], n_theta=1)
    assert res.improved
    np.testing.assert_allclose(res.x, [2.0, 1.0], atol=1e-4)


def test_hessian_vcov_quadratic():
    A = np.array([[4.0, 1.0], [1.0, 2.0]])

    def f(x):
        return float(x @ A @ x)

    c = robust.curvature(f, np.array([0.0, 0.0]), [(None, None), (None, None)], n_theta=0)
    np.testing.assert_allclose(robust.hessian_vcov(c, 0), np.linalg.inv(A), rtol=1e-5)
    assert c.scaled_gradient < 1e-8


def _two_peaks(x):
    # a local optimum at t = 1.5 (f = 0) and a better one at t = 0 (f = -1); b follows t
    t, b = x
    return float(min((t - 1.5) ** 2, -1.0 + 10.0 * t**2) + (b - t) ** 2)


def test_profile_scan_follows_the_other_parameters_and_flags_a_better_value():
    x = np.array([1.5, 1.5])
    bounds = [(0.0, None), (None, None)]
    curv = robust.curvature(_two_peaks, x, bounds, 1)
    scan = robust.profile_scan(_two_peaks, x, 0.0, bounds, 0, curv, "g SD")
    # along the quadratic approximation's profile b moves with t (db/dt = 1): at t = 0, b = 0
    assert scan.values[0] == 0.0
    assert scan.deviances[0] == pytest.approx(-1.0, abs=1e-6)
    assert scan.starts and scan.starts[0] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert "below the optimum" in scan.why
    res = robust.best_optimum(_two_peaks, x, bounds, n_theta=1, labels=["g SD"])
    assert res.improved and res.deviance == pytest.approx(-1.0, abs=1e-8)
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-4)
    assert res.curvature is None  # moved: the caller recomputes the curvature


def test_profile_scan_costs_a_grid_and_no_restart_where_one_peak():
    calls = []

    def f(x):
        calls.append(1)
        return float((x[0] - 1.0) ** 2 + 3 * (x[1] - x[0]) ** 2 + (x[2] + 2) ** 2)

    res = robust.best_optimum(
        f, np.array([1.0, 1.0, -2.0]), [(0.0, None)] + [(None, None)] * 2, 1, labels=["g SD"]
    )
    kinds = [a["method"] for a in res.attempts[2:]]
    assert kinds == ["profile scan"]  # no restart
    scan = res.attempts[2]["scan"]
    assert len(scan.values) == len(robust.theta_grid(1.0)) + 1 and not scan.starts
    assert res.curvature is not None and res.curvature.positive_definite
    # the old safeguard's two capped restarts alone allowed 2 * 25 * 4 evaluations
    assert len(calls) < 100


def test_profile_scan_restarts_at_a_second_dip_and_keeps_the_better_optimum():
    def f(x):
        t = x[0]
        return float(min((t - 1.0) ** 2, 0.5 + 5 * (t - 3.0) ** 2) + x[1] ** 2)

    res = robust.best_optimum(f, np.array([1.0, 0.0]), [(0.0, None), (None, None)], 1)
    scan = res.attempts[2]["scan"]
    assert scan.starts and "at 3" in scan.why
    assert [a["method"] for a in res.attempts[3:]] == [
        "L-BFGS-B (2-point gradient, cap 75 evaluations)"
    ]
    assert res.attempts[3]["deviance"] == pytest.approx(0.5, abs=1e-6)  # the other peak
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-6)  # not better: the first kept


@pytest.mark.parametrize(
    "wall, expected",
    [(1.2, True), (2.2, False)],
    ids=["optimum-at-the-wall", "rise-then-wall"],
)
def test_profile_scan_wall_only_where_the_deviance_falls_into_it(wall, expected):
    def f(x):
        t = x[0]
        return float((t - 2.0) ** 2 if wall == 1.2 else (t - 1.0) ** 2) if t <= wall else np.inf

    x0 = np.array([min(wall, 1.0)])
    res = robust.best_optimum(f, x0, [(0.0, None)], 1)
    scan = res.attempts[2]["scan"]
    assert scan.not_finite > 0
    assert scan.wall is expected


def test_theta_grid():
    assert robust.theta_grid(0.0).tolist() == list(robust.SCAN_FROM_ZERO)
    assert robust.theta_grid(0.3).tolist()[-2:] == [1.3, 2.3]  # beyond 3 x 0.3: +1, +2
    assert robust.theta_grid(2.0).tolist() == [2.0 * f for f in robust.SCAN_FACTORS]


def test_gradient_and_hessian_cheaper_and_exact_on_quadratic():
    A = np.array([[4.0, 1.0, 0.5], [1.0, 2.0, 0.2], [0.5, 0.2, 3.0]])
    calls = []

    def f(x):
        calls.append(1)
        return float(x @ A @ x + x[0])

    g, H, n = robust.gradient_and_hessian(f, np.array([0.3, -0.2, 0.1]), np.ones(3, bool))
    np.testing.assert_allclose(H, 2 * A, rtol=1e-6)
    np.testing.assert_allclose(g, 2 * A @ np.array([0.3, -0.2, 0.1]) + [1, 0, 0], rtol=1e-6)
    assert n == len(calls) == 1 + 2 * 3 + 3 * 2


def test_binomial_fit_no_runtime_warnings_and_notes(binary):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = fit_mixed("y ~ x + grp + (1 | g)", binary, family="binomial")
    check = next(n for n in res.notes if "fitted with our own Laplace deviance" in n)
    assert "analytic gradient" in check
    assert "g SD scanned over" in check and "no restart" in check


def test_ranef_layout(sleep):
    res = fit_mixed("Reaction ~ Days + (Days | Subject)", sleep, conf_level=0.9)
    re = res.ranef()
    assert re.columns.tolist() == [
        "grpvar",
        "term",
        "grp",
        "condval",
        "condsd",
        "conf_low",
        "conf_high",
    ]
    assert len(re) == 2 * 18
    assert re["term"].unique().tolist() == ["(Intercept)", "Days"]
    z = 1.6448536269514722
    np.testing.assert_allclose(re["conf_high"] - re["condval"], z * re["condsd"])
    plain = res.ranef(condvar=False)
    assert plain.columns.tolist() == re.columns.tolist()
    assert plain["condsd"].isna().all()
    np.testing.assert_allclose(plain["condval"], re["condval"])
    with pytest.raises(InputError, match="condvar"):
        res.ranef(condvar="yes")


def test_ranef_binomial(binary):
    res = fit_mixed("y ~ x + (1 | g)", binary, family="binomial")
    re = res.ranef()
    assert len(re) == 40 and (re["condsd"] > 0).all()
    assert re["grpvar"].unique().tolist() == ["g"]


# ---------------------------------------------------------------- own Laplace deviance
@pytest.fixture(scope="module")
def crossed():
    """Person-period-like rows: rare events, many clients crossed with / nested in therapists."""
    rng = np.random.default_rng(11)
    n_c, per = 90, 8
    client = np.repeat(np.arange(n_c), per)
    therapist = client % 9
    site = client % 5
    x = rng.normal(size=n_c * per)
    eta = -3 + 0.5 * x + np.repeat(rng.normal(scale=3, size=n_c), per)
    y = (rng.uniform(size=len(x)) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "client": [f"c{i:03d}" for i in client],
            "therapist": [f"t{i}" for i in therapist],
            "site": [f"s{i}" for i in site],
        }
    )


def _engine_objective(formula, data):
    import warnings

    import mixedlm as ml
    from mixedlm.estimation.joint_glmm import JointGLMMObjective
    from mixedlm.families.binomial import Binomial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the engine's own convergence words
        raw = ml.glmer(formula, data, family=Binomial())
    return raw, JointGLMMObjective(raw.matrices, raw.family, 1)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + (1 | client)",
        "y ~ x + (1 | therapist) + (1 | client)",
        "y ~ x + (1 | client) + (1 | site) + (1 | therapist)",
    ],
)
def test_own_laplace_agrees_with_engine(crossed, formula):
    """Where mixedlm's deviance is finite, ours equals it (to 1e-6; in practice ~1e-11)."""
    from alliance_stats.models.laplace import InterceptLaplace

    raw, eng = _engine_objective(formula, crossed)
    own = InterceptLaplace.from_mixedlm(raw.matrices)
    assert own is not None
    rng = np.random.default_rng(0)
    x0 = np.r_[raw.theta, raw.beta]
    n_finite = 0
    for i in range(8):
        x = x0 + rng.normal(scale=0.3, size=len(x0))
        x[: eng.n_theta] = rng.uniform(0.0 if i < 4 else 0.5, 1.2, size=eng.n_theta)
        d_eng, d_own = eng(x), own(x)
        assert np.isfinite(d_own)
        if np.isfinite(d_eng):
            n_finite += 1
            assert abs(d_eng - d_own) < 1e-6
            # conditional modes on the covariance scale, as the engine's
            _, _, u_eng, _ = eng.evaluate(x)
            np.testing.assert_allclose(own.random_effects(x), u_eng, atol=1e-5)
    assert n_finite >= 5


@pytest.mark.parametrize("nagq", [3, 7, 25])
def test_own_quadrature_agrees_with_engine(binary, nagq):
    """Our vectorised adaptive quadrature deviance equals mixedlm's nAGQ deviance."""
    import mixedlm as ml
    from mixedlm.estimation.joint_glmm import JointGLMMObjective
    from mixedlm.families.binomial import Binomial

    from alliance_stats.models.laplace import InterceptLaplace
    from alliance_stats.models.quadrature import InterceptQuadrature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        raw = ml.glmer("y ~ x + grp + (1 | g)", binary, family=Binomial(), nAGQ=nagq)
    engine = JointGLMMObjective(raw.matrices, raw.family, nagq)
    own = InterceptQuadrature(InterceptLaplace.from_mixedlm(raw.matrices), nagq)
    rng = np.random.default_rng(nagq)
    x0 = np.r_[raw.theta, raw.beta]
    for _ in range(5):
        x = x0 + rng.normal(scale=0.2, size=len(x0))
        x[0] = rng.uniform(0.2, 2.0)
        assert own(x) == pytest.approx(engine(x), abs=1e-7)


def test_quadrature_fit_at_least_the_engines(binary):
    """nagq = 9: our own quadrature fit, cross-checked with the engine's deviance, reaches at
    least the engine's own optimum."""
    from alliance_stats.models import fit

    ours = fit_mixed("y ~ x + grp + (1 | g)", binary, family="binomial", nagq=9)
    note = next(n for n in ours.notes if "fitted with our own adaptive quadrature" in n)
    assert "9 points" in note and "the engine's deviance agrees there" in note
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit, "fit_own_laplace", lambda *a, **k: None)
        engine = fit_mixed("y ~ x + grp + (1 | g)", binary, family="binomial", nagq=9)
    assert not any("our own adaptive quadrature" in n for n in engine.notes)
    assert ours.loglik >= engine.loglik - 1e-6


def test_own_laplace_finite_at_large_sd(crossed):
    """A client SD of 8: ours finds the mode (step-halving) whatever the start."""
    from alliance_stats.models.laplace import InterceptLaplace

    raw, eng = _engine_objective("y ~ x + (1 | therapist) + (1 | client)", crossed)
    own = InterceptLaplace.from_mixedlm(raw.matrices)
    client = [s.grouping_factor for s in raw.matrices.random_structures].index("client")
    x = np.r_[raw.theta, raw.beta - np.r_[3.0, 0.0]]
    x[client] = 8.0
    d1 = own(x)
    own.u[:] = 0.0  # cold start gives the same value
    assert np.isfinite(d1) and abs(own(x) - d1) < 1e-8


def test_own_laplace_only_for_random_intercepts(binary):
    from alliance_stats.models.laplace import InterceptLaplace

    raw, _ = _engine_objective("y ~ x + (1 + x | g)", binary)
    assert InterceptLaplace.from_mixedlm(raw.matrices) is None


def test_fallback_objective_used_where_engine_deviance_infinite(crossed, monkeypatch):
    """An engine whose deviance is infinite beyond a client SD of 1.5 (as mixedlm's PIRLS
    beyond ~3 on dropout data): the fit is finished with our Laplace deviance and says so."""
    from mixedlm.estimation.joint_glmm import JointGLMMObjective

    formula = "y ~ x + (1 | therapist) + (1 | client)"
    free = fit_mixed(formula, crossed, family="binomial")
    client_sd = free.varcorr.set_index("grp").loc["client", "sdcor"]
    assert client_sd > 2
    call = JointGLMMObjective.__call__

    def walled(self, x):
        return np.inf if x[1] > 1.5 else call(self, x)

    monkeypatch.setattr(JointGLMMObjective, "__call__", walled)
    monkeypatch.setattr(
        "alliance_stats.models.fit.fit_mixedlm",
        _capped_engine_fit(1.4),
    )
    # the engine's path: as where our own first fit declines or disagrees with the engine
    monkeypatch.setattr("alliance_stats.models.fit.fit_own_laplace", lambda *a, **k: None)
    res = fit_mixed(formula, crossed, family="binomial")
    assert any("our own Laplace deviance" in n for n in res.notes)
    assert any("improved" in n for n in res.notes)
    assert res.loglik == pytest.approx(free.loglik, abs=1e-4)
    assert res.converged and res.se_method == "hessian"
    np.testing.assert_allclose(
        res.coefficients["estimate"], free.coefficients["estimate"], atol=1e-3
    )


def _capped_engine_fit(theta_client: float):
    """fit_mixedlm, then the engine's answer replaced by one stopped at the wall."""
    from mixedlm.estimation.joint_glmm import JointGLMMObjective

    from alliance_stats.models import engines

    def fit(parsed, data, family, REML, nagq, factor_levels, optimizer=None, link="logit", *w):
        ef = engines.fit_mixedlm(
            parsed, data, family, REML, nagq, factor_levels, optimizer, link, *w
        )
        raw = ef.raw
        theta = np.asarray(raw.theta, dtype=float).copy()
        theta[1] = theta_client
        obj = JointGLMMObjective(raw.matrices, raw.family, 1)
        dev, beta, u, _ = JointGLMMObjective.evaluate(obj, np.r_[theta, raw.beta])
        raw = dataclasses.replace(raw, theta=theta, u=u, deviance=float(dev))
        return engines.translate(raw, parsed, family, factor_levels, ef.messages)

    return fit


def test_a_diverging_variance_stops_at_the_cap_and_says_so():
    """One dropout per client plus a time trend: the client variance has no finite optimum."""
    import warnings

    import alliance_stats as als
    from alliance_stats.models.fit import THETA_CAP

    df = als.score(als.datasets.load("clinic"), "wai_sr", items="wai_{}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp = als.decompose(als.person_period(df), "wai_sr_total", client="client")
    pp = pp.assign(period_c=pp["period"] - 1)
    res = als.fit_mixed(
        "event ~ period_c + wai_sr_total_cwc + wai_sr_total_cm + (1|therapist) + (1|client)",
        pp,
        family="binomial",
        restarts=False,
    )
    assert not res.converged
    client_sd = res.varcorr.set_index("grp").loc["client", "sdcor"]
    assert client_sd == pytest.approx(THETA_CAP, rel=0.01)
    assert any("no finite optimum" in n for n in res.notes)


def test_cloglog_own_fit_cross_checked_and_the_engine_refits_on_disagreement(binary, monkeypatch):
    """A cloglog model with one random intercept is fitted with our own Laplace deviance; where
    the engine's deviance disagrees with ours at that optimum, the engine's fit is reported."""
    from mixedlm.estimation.joint_glmm import JointGLMMObjective

    formula = "y ~ x + grp + (1 | g)"
    own = fit_mixed(formula, binary, family="binomial", link="cloglog")
    note = next(n for n in own.notes if "fitted with our own Laplace deviance" in n)
    assert "the engine's deviance agrees there" in note
    call = JointGLMMObjective.__call__
    monkeypatch.setattr(JointGLMMObjective, "__call__", lambda self, x: call(self, x) + 1.0)
    engine = fit_mixed(formula, binary, family="binomial", link="cloglog")
    assert not any("fitted with our own Laplace deviance" in n for n in engine.notes)
    assert any("optimum check" in n.lower() for n in engine.notes)
