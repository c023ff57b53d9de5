"""The own profiled deviance of random-intercept linear models (models/lmm.py): its value
against a dense computation, its gradient against central differences, and the fit against
the engine's own fit of the same model (the lme4 reference fixtures check it against R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_stats.models import fit_mixed
from alliance_stats.models.lmm import InterceptLMM


def _data(rng, n=240, levels=(30, 6), nested=False):
    groups = [rng.integers(0, k, n) for k in levels]
    for g, k in zip(groups, levels):
        g[:k] = np.arange(k)
    if nested:
        groups[1] = groups[0] % levels[1]
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + sum(rng.normal(0, 0.8, k)[g] for g, k in zip(groups, levels))
    y = y + rng.normal(size=n)
    return y, np.column_stack([np.ones(n), x]), groups


def _dense_deviance(y, X, groups, theta, REML):
    """The REML / ML criterion from the marginal covariance ``V = I + Z Lambda^2 Z'``."""
    n, p = X.shape
    V = np.eye(n)
    for g, t in zip(groups, theta):
        V += t**2 * (g[:, None] == g[None, :])
    Vi = np.linalg.inv(V)
    M = X.T @ Vi @ X
    beta = np.linalg.solve(M, X.T @ Vi @ y)
    e = y - X @ beta
    r2 = float(e @ Vi @ e)
    dof = n - p if REML else n
    dev = np.linalg.slogdet(V)[1] + dof * (1 + np.log(2 * np.pi * r2 / dof))
    return dev + (np.linalg.slogdet(M)[1] if REML else 0.0), beta


@pytest.mark.parametrize("REML", [True, False])
@pytest.mark.parametrize(
    "levels,nested", [((25,), False), ((30, 6), False), ((30, 6), True), ((24, 8, 3), False)]
)
def test_deviance_and_gradient(levels, nested, REML):
    rng = np.random.default_rng(len(levels) + nested)
    y, X, groups = _data(rng, levels=levels, nested=nested)
    lmm = InterceptLMM(y, X, groups, REML=REML)
    theta = rng.uniform(0.3, 1.4, len(levels))
    dev, beta = _dense_deviance(y, X, groups, theta, REML)
    assert lmm(theta) == pytest.approx(dev, rel=1e-10)
    np.testing.assert_allclose(lmm.solution(theta).beta, beta, rtol=1e-9)
    value, grad = lmm.value_and_gradient(theta)
    h = 1e-6
    central = [(lmm(theta + h * e) - lmm(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, central, rtol=1e-5, atol=1e-5)
    # at a zero variance the gradient is 0 in that direction (the deviance is even in theta)
    theta[0] = 0.0
    _, grad0 = lmm.value_and_gradient(theta)
    assert grad0[0] == 0.0
    step = np.zeros(len(theta))
    step[0] = 1e-4
    near, far = ((lmm(theta + s) - lmm(theta)) / s[0] for s in (step, 10 * step))
    assert abs(near) < abs(far) / 5  # the one-sided slope vanishes with the step


def _frame(rng, n=600):
    # (more than dense_lmm.MAX_RANDOM_EFFECTS random effects: InterceptLMM fits it)
    y, X, (client, therapist) = _data(rng, n=n, levels=(110, 8))
    return pd.DataFrame(
        {"y": y, "x": X[:, 1], "client": client.astype(str), "therapist": therapist.astype(str)}
    )


@pytest.mark.parametrize("REML", [True, False])
def test_fit_agrees_with_the_engine(REML):
    """Crossed intercepts: the own fit reaches the engine's optimum (or a better one), with
    the same fixed effects, SEs, random effects and predictions."""
    df = _frame(np.random.default_rng(5))
    formula = "y ~ x + (1 | client) + (1 | therapist)"
    own = fit_mixed(formula, df, REML=REML)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = fit_mixed(formula, df, REML=REML, optimizer="L-BFGS-B")
    assert own.loglik >= engine.loglik - 1e-6
    assert own.loglik == pytest.approx(engine.loglik, abs=1e-4)
    np.testing.assert_allclose(
        own.coefficients["estimate"], engine.coefficients["estimate"], rtol=1e-4
    )
    np.testing.assert_allclose(
        own.coefficients["std_error"], engine.coefficients["std_error"], rtol=1e-3
    )
    np.testing.assert_allclose(own.varcorr["sdcor"], engine.varcorr["sdcor"], rtol=1e-3)
    re_own, re_engine = own.ranef(), engine.ranef()
    np.testing.assert_allclose(re_own["condval"], re_engine["condval"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(own.predict(df.head(10)), engine.predict(df.head(10)), atol=1e-3)


def test_offset_and_fallbacks():
    """An offset is subtracted from the outcome."""
    rng = np.random.default_rng(8)
    df = _frame(rng)
    df["off"] = rng.normal(size=len(df))
    shifted = df.assign(y=df["y"] - df["off"])
    with_offset = fit_mixed("y ~ x + offset(off) + (1 | client)", df)
    subtracted = fit_mixed("y ~ x + (1 | client)", shifted)
    assert with_offset.loglik == pytest.approx(subtracted.loglik, abs=1e-8)
    y, X, groups = _data(rng)
    assert InterceptLMM(y, X, groups).fit().converged


def test_moment_start_is_off_the_boundary():
    rng = np.random.default_rng(2)
    y, X, groups = _data(rng)
    start = InterceptLMM(y, X, [groups[0]]).moment_start()
    assert start.shape == (1,) and start[0] >= 0.1
    y_flat = X @ [1.0, 0.5] + rng.normal(size=len(y))  # no group variance at all
    assert InterceptLMM(y_flat, X, [groups[0]]).moment_start()[0] == pytest.approx(0.1)
