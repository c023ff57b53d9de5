"""The dense profiled deviance of small linear mixed models (models/dense_lmm.py): its value
against the marginal likelihood written out, its gradient against central differences, the
search's handling of variances at 0, and the fit against the engine's own fit (the lme4
reference fixtures check it against R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_stats.models import fit_mixed
from alliance_stats.models.dense_lmm import DenseLMM


def _design(rng, n=150, clients=12, sites=4):
    """A correlated three-term block per client and an uncorrelated two-term block per site."""
    client, site = rng.integers(0, clients, n), rng.integers(0, sites, n)
    client[:clients], site[:sites] = np.arange(clients), np.arange(sites)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    Z1 = np.zeros((n, 3 * clients))
    for t, col in enumerate((np.ones(n), x1, x2)):
        Z1[np.arange(n), 3 * client + t] = col
    Z2 = np.zeros((n, 2 * sites))
    Z2[np.arange(n), 2 * site], Z2[np.arange(n), 2 * site + 1] = 1.0, x1
    y = 1 + 0.4 * x1 + rng.normal(size=clients)[client] + rng.normal(0.5, size=clients)[client] * x1
    y = y + rng.normal(size=sites)[site] + rng.normal(size=n)
    X = np.column_stack([np.ones(n), x1, x2])
    terms = [(clients, 3, True), (sites, 2, False)]
    return y, X, np.hstack([Z1, Z2]), terms


def _marginal_deviance(lmm: DenseLMM, theta, REML: bool) -> float:
    """The criterion from ``V = I + Z Lambda Lambda' Z'`` (no penalised least squares)."""
    lam = lmm.relative_factor(theta)
    ZL = lmm.Z @ lam
    V = np.eye(lmm.n) + ZL @ ZL.T
    Vi = np.linalg.inv(V)
    M = lmm.X.T @ Vi @ lmm.X
    beta = np.linalg.solve(M, lmm.X.T @ Vi @ lmm.y)
    e = lmm.y - lmm.X @ beta
    dof = lmm.n - lmm.p if REML else lmm.n
    dev = np.linalg.slogdet(V)[1] + dof * (1 + np.log(2 * np.pi * float(e @ Vi @ e) / dof))
    return dev + (np.linalg.slogdet(M)[1] if REML else 0.0)


@pytest.mark.parametrize("REML", [True, False])
def test_deviance_and_gradient(REML):
    rng = np.random.default_rng(11)
    y, X, Z, terms = _design(rng)
    lmm = DenseLMM(y, X, Z, terms, REML=REML)
    assert lmm.n_theta == 6 + 2
    theta = np.array([1.1, 0.2, 0.7, -0.3, 0.1, 0.5, 0.8, 0.4])
    assert lmm(theta) == pytest.approx(_marginal_deviance(lmm, theta, REML), rel=1e-10)
    value, grad = lmm.value_and_gradient(theta)
    assert value == pytest.approx(lmm(theta), rel=1e-14)
    h = 1e-5
    central = [(lmm(theta + h * e) - lmm(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-6)
    # flipping the sign of a column of a term's factor leaves the deviance unchanged
    flipped = theta.copy()
    flipped[lmm.columns[0]] *= -1
    assert lmm(flipped) == pytest.approx(lmm(theta), rel=1e-12)


def test_terms_must_describe_z():
    y, X, Z, terms = _design(np.random.default_rng(1))
    with pytest.raises(ValueError, match="random effects"):
        DenseLMM(y, X, Z[:, :-1], terms, REML=True)


def _slope_frame(rng, slope_sd: float, n_groups=15, per=8) -> pd.DataFrame:
    g = np.repeat(np.arange(n_groups), per)
    x = np.tile(np.arange(per, dtype=float), n_groups)
    y = 2 + 0.3 * x + rng.normal(size=n_groups)[g] + slope_sd * rng.normal(size=n_groups)[g] * x
    return pd.DataFrame({"y": y + rng.normal(size=len(g)), "x": x, "g": g.astype(str)})


def test_a_search_that_lands_on_zero_is_restarted():
    """From lme4's start (theta = 1), a one-parameter model's first quasi-Newton step lands
    exactly on 0, where the gradient vanishes: the probe off 0 finds the interior optimum."""
    df = _slope_frame(np.random.default_rng(3), slope_sd=0.3)
    res = fit_mixed("y ~ x + (0 + x | g)", df)
    g = df["g"].astype(int).to_numpy()
    Z = np.zeros((len(df), g.max() + 1))
    Z[np.arange(len(df)), g] = df["x"]
    X = np.column_stack([np.ones(len(df)), df["x"]])
    lmm = DenseLMM(df["y"], X, Z, [(g.max() + 1, 1, False)], REML=True)
    grid = np.linspace(0.0, 1.0, 2001)
    best = grid[np.argmin([lmm(np.array([t])) for t in grid])]
    assert lmm.fit().theta[0] == pytest.approx(best, abs=1e-3)
    assert res.theta[0] == pytest.approx(best, abs=1e-3)
    assert res.theta[0] > 0.05 and not res.singular


def test_a_variance_at_zero_is_exactly_zero():
    """No slope variance in the data: the SD is reported as exactly 0 (a singular fit), at a
    criterion no worse than the engine's."""
    df = _slope_frame(np.random.default_rng(9), slope_sd=0.0)
    res = fit_mixed("y ~ x + (1 + x | g)", df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = fit_mixed("y ~ x + (1 + x | g)", df, optimizer="L-BFGS-B")
    assert res.loglik >= engine.loglik - 1e-8
    assert 0 < engine.theta[2] < 1e-5  # the engine stops just off the boundary
    assert res.theta[2] == 0.0 and res.singular
    assert abs(res.varcorr["sdcor"].iloc[2]) == pytest.approx(1.0)  # correlation +-1


@pytest.mark.parametrize("REML", [True, False])
def test_fit_agrees_with_the_engine(REML):
    """Correlated random slopes: the own fit reaches the engine's optimum (or a better one),
    with the same fixed effects, SEs, variance components, random effects and predictions."""
    df = _slope_frame(np.random.default_rng(5), slope_sd=0.4)
    formula = "y ~ x + (1 + x | g)"
    own = fit_mixed(formula, df, REML=REML)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = fit_mixed(formula, df, REML=REML, optimizer="L-BFGS-B")
    assert own.loglik >= engine.loglik - 1e-6
    assert own.loglik == pytest.approx(engine.loglik, abs=1e-4)
    for col in ("estimate", "std_error"):
        np.testing.assert_allclose(own.coefficients[col], engine.coefficients[col], rtol=1e-3)
    np.testing.assert_allclose(own.varcorr["sdcor"], engine.varcorr["sdcor"], rtol=1e-3)
    re_own, re_engine = own.ranef(), engine.ranef()
    np.testing.assert_allclose(re_own["condval"], re_engine["condval"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(own.predict(df.head(10)), engine.predict(df.head(10)), atol=1e-3)


def test_large_designs_are_left_to_the_other_paths():
    """Too many random effects (or cells of Z) for dense algebra: no dense model is built."""
    from types import SimpleNamespace

    from scipy import sparse

    from alliance_stats.models import dense_lmm

    def matrices(n, levels):
        g = np.arange(n) % levels
        Z = sparse.csr_matrix((np.ones(n), (np.arange(n), g)), shape=(n, levels))
        struct = SimpleNamespace(n_levels=levels, n_terms=1, correlated=True, cov_type="us")
        return SimpleNamespace(
            random_structures=[struct], Z=Z, X=np.ones((n, 1)), y=np.arange(n, dtype=float),
            weights=None, offset=None,
        )  # fmt: skip

    assert DenseLMM.from_mixedlm(matrices(400, 40), REML=True) is not None
    assert DenseLMM.from_mixedlm(matrices(400, dense_lmm.MAX_RANDOM_EFFECTS + 1), True) is None
    rows = dense_lmm.MAX_DENSE_CELLS // 40 + 1
    assert DenseLMM.from_mixedlm(matrices(rows, 40), REML=True) is None


def test_an_outcome_the_fixed_effects_reproduce_is_refused():
    """No residual variation (y = x exactly): a clear error, not an infinite likelihood."""
    from alliance_stats.errors import ModelFitError

    df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "x": [1, 2, 3, 4, 5, 6], "g": list("aabbcc")})
    with pytest.raises(ModelFitError, match="reproduce 'y' exactly"):
        fit_mixed("y ~ x + (1 | g)", df)
