"""The random-intercept linear algebra (models/intercepts.py) and the analytic gradient of the
Laplace deviance (InterceptLaplace.value_and_gradient), against dense matrices and central
differences."""

from __future__ import annotations

import numpy as np
import pytest

from alliance_stats.models import robust
from alliance_stats.models.intercepts import InterceptSystem
from alliance_stats.models.laplace import (
    InterceptLaplace,
    NegativeBinomial,
    count_log_likelihood,
    deviance_residuals,
)


def _groups(rng, n, levels, nested=False):
    groups = [rng.integers(0, n_lev, n) for n_lev in levels]
    for g, n_lev in zip(groups, levels):
        g[:n_lev] = np.arange(n_lev)  # every level present
    if nested:  # clients (the first factor) inside therapists (the second)
        groups[1] = groups[0] % levels[1]
    return groups


CASES = [([25], False), ([30, 6], False), ([30, 6], True), ([40, 9, 4], False)]


@pytest.mark.parametrize("levels,nested", CASES)
@pytest.mark.parametrize("dense", [True, False])
def test_factor_matches_dense_matrices(levels, nested, dense):
    rng = np.random.default_rng(len(levels))
    system = InterceptSystem(_groups(rng, 300, levels, nested), dense=dense)
    assert system.dense == (dense and len(levels) > 1)
    theta = rng.uniform(0.3, 1.5, len(levels))
    W = rng.uniform(0.05, 0.25, 300)
    A = np.eye(system.q) + system.dense_zwz(theta, W)
    f = system.factor(theta, W)
    assert f.logdet == pytest.approx(np.linalg.slogdet(A)[1], rel=1e-12)
    r = rng.normal(size=system.q)
    np.testing.assert_allclose(f.solve_theta_order(r), np.linalg.solve(A, r), rtol=1e-10)
    R = rng.normal(size=(system.q, 3))
    np.testing.assert_allclose(f.solve_theta_order(R), np.linalg.solve(A, R), rtol=1e-10)
    Ainv = np.linalg.inv(A)
    traces = [
        np.trace(
            Ainv[system.starts[k] : system.starts[k + 1]][
                :, system.starts[k] : system.starts[k + 1]
            ]
        )
        for k in range(len(levels))
    ]
    np.testing.assert_allclose(f.inverse_traces(), traces, rtol=1e-10)
    # the same weights object a second time: the cached counts give the same factor
    assert system.factor(theta, W).logdet == f.logdet
    W2 = W * 2.0
    assert system.factor(theta, W2).logdet == pytest.approx(
        np.linalg.slogdet(np.eye(system.q) + system.dense_zwz(theta, W2))[1], rel=1e-12
    )
    cols = [system.starts[k] + g for k, g in enumerate(system.groups)]
    G = f.row_entries()
    for k in range(len(levels)):
        for m in range(len(levels)):
            np.testing.assert_allclose(G[:, k, m], Ainv[cols[k], cols[m]], rtol=1e-10)


def test_sparse_pattern_used_for_large_schur_blocks():
    """Many levels on both sides (thousands of students x a thousand lecturers): the pairs
    of the off-diagonal block's entries, not a dense block."""
    rng = np.random.default_rng(3)
    system = InterceptSystem(_groups(rng, 20_000, [4000, 1000]))
    assert not system.dense


def _laplace(levels, link, rng, proportions=False, nested=False):
    n = 400
    groups = _groups(rng, n, levels, nested)
    X = np.c_[np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)]
    eta = -0.8 + 0.5 * X[:, 1] + sum(rng.normal(size=k)[g] for g, k in zip(groups, levels))
    p = 1 / (1 + np.exp(-eta))
    if link == "negbin":  # negative binomial counts, size 1.5
        link = NegativeBinomial(1.5)
        mu = np.exp(eta)
        y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu)).astype(float)
        w = np.full(n, 2.0) if proportions else None
    elif link == "log":  # Poisson counts
        y, w = rng.poisson(np.exp(eta)).astype(float), (np.full(n, 2.0) if proportions else None)
    elif proportions:
        y, w = rng.binomial(4, p) / 4, np.full(n, 4.0)
    else:
        y, w = (rng.random(n) < p).astype(float), None
    return InterceptLaplace(y, X, groups, weights=w, link=link, tol=1e-13)


def _richardson(f, x, i, h=1e-3):
    e = np.zeros(len(x))
    e[i] = h
    d1 = (f(x + e) - f(x - e)) / (2 * h)
    d2 = (f(x + e / 2) - f(x - e / 2)) / h
    return (4 * d2 - d1) / 3


@pytest.mark.parametrize("link", ["logit", "cloglog", "log", "negbin"])
@pytest.mark.parametrize(
    "levels,proportions,nested,theta",
    [
        ([20], False, False, [0.9]),
        ([30, 6], False, True, [0.7, 1.2]),
        ([40, 9, 4], False, False, [0.6, 1.1, 0.4]),
        ([30, 6], True, False, [0.8, 0.5]),
        ([30, 6], False, False, [0.0, 0.6]),  # a variance at its boundary
    ],
)
def test_analytic_gradient_equals_central_differences(link, levels, proportions, nested, theta):
    rng = np.random.default_rng(7)
    obj = _laplace(levels, link, rng, proportions, nested)
    x = np.r_[theta, -0.7, 0.4, 0.1]
    dev, grad = obj.value_and_gradient(x)
    assert dev == pytest.approx(obj(x), abs=1e-9)
    numeric = np.array([_richardson(obj, x, i) for i in range(len(x))])
    np.testing.assert_allclose(grad, numeric, atol=1e-6 * (1 + np.abs(numeric).max()))


def test_gradient_search_reaches_the_finite_difference_optimum():
    """best_optimum with the analytic gradient ends where the finite-difference search does,
    in fewer deviance evaluations."""
    rng = np.random.default_rng(11)
    obj = _laplace([30, 6], "logit", rng, nested=True)
    x0 = np.r_[1.0, 1.0, obj.glm_start()]
    bounds = [(0.0, 50.0)] * 2 + [(None, None)] * 3
    plain = robust.best_optimum(obj, x0, bounds, 2, restarts=False)
    fast = robust.best_optimum(obj, x0, bounds, 2, restarts=False, gradient=obj.value_and_gradient)
    assert fast.deviance <= plain.deviance + 1e-7
    np.testing.assert_allclose(fast.x, plain.x, atol=2e-3)
    assert fast.attempts[1]["evaluations"] < plain.attempts[1]["evaluations"]
    curv = robust.curvature(obj, fast.x, bounds, 2, gradient=obj.value_and_gradient)
    numeric = robust.curvature(obj, fast.x, bounds, 2)
    np.testing.assert_allclose(curv.hessian, numeric.hessian, rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("link", ["logit", "cloglog", "log"])
@pytest.mark.parametrize("nagq,proportions", [(3, False), (11, False), (7, True)])
def test_quadrature_gradient_equals_central_differences(link, nagq, proportions):
    from alliance_stats.models.quadrature import InterceptQuadrature

    rng = np.random.default_rng(nagq)
    q = InterceptQuadrature(_laplace([40], link, rng, proportions), nagq)
    x = np.array([0.9, -0.6, 0.5, 0.2])
    dev, grad = q.value_and_gradient(x)
    assert dev == pytest.approx(q(x), abs=1e-9)
    numeric = np.array([_richardson(q, x, i) for i in range(len(x))])
    np.testing.assert_allclose(grad, numeric, atol=1e-6 * (1 + np.abs(numeric).max()))


def test_negative_binomial_likelihood_pieces():
    """The negative binomial log-likelihood against scipy's pmf, its deviance residuals
    against the saturated model, and a model with another size sharing the structure."""
    from scipy import stats

    rng = np.random.default_rng(4)
    y = rng.negative_binomial(2.0, 0.3, 50).astype(float)
    eta = rng.normal(1.0, 0.5, 50)
    w = np.ones(50)
    link = NegativeBinomial(2.0)
    mu = np.exp(eta)
    direct = stats.nbinom.logpmf(y, 2.0, 2.0 / (2.0 + mu)).sum()
    assert count_log_likelihood(y, eta, w, link) == pytest.approx(direct, rel=1e-12)
    saturated = stats.nbinom.logpmf(y, 2.0, 2.0 / (2.0 + y)).sum()
    assert np.sum(deviance_residuals(y, eta, w, link)) == pytest.approx(
        2 * (saturated - direct), rel=1e-10
    )
    with pytest.raises(ValueError, match="size"):
        NegativeBinomial(0.0)
    obj = _laplace([20], "log", rng)
    other = obj.with_link(NegativeBinomial(3.0))
    x = np.r_[0.5, -0.7, 0.4, 0.1]
    assert other.system is obj.system and other(x) != obj(x)
    assert obj.with_link("log")(x) == pytest.approx(obj(x), abs=1e-9)
