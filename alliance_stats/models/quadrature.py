"""Adaptive Gauss-Hermite quadrature for a binomial model with one random intercept.

lme4's ``nAGQ > 1`` deviance, vectorised over rows and quadrature points. With ``u_j`` the
conditional mode of group ``j`` (spherical scale, found by
:class:`~alliance_stats.models.laplace.InterceptLaplace`), ``a_j = 1 + theta^2 sum_i W_i`` the
curvature of its penalised deviance there, and ``z_k``, ``w_k`` the Gauss-Hermite nodes and
weights for the standard normal density::

    -2 log L_j = log a_j - 2 log sum_k w_k exp(-(d_j(u_j + z_k / sqrt(a_j))
                                               + (u_j + z_k / sqrt(a_j))^2 - z_k^2) / 2)

where ``d_j(u)`` is the sum of group ``j``'s binomial deviance residuals with the intercept at
``theta u``. One point (``z = 0``, ``w = 1``) is the Laplace approximation.

Examples
--------
>>> import numpy as np
>>> from alliance_stats.models.laplace import InterceptLaplace
>>> y = np.array([0, 1, 0, 0, 1, 1, 0, 1.0])
>>> lap = InterceptLaplace(y, np.ones((8, 1)), [np.arange(8) // 2])
>>> x = np.array([0.9, 0.1])
>>> bool(abs(InterceptQuadrature(lap, 1)(x) - lap(x)) < 1e-9)
True
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import sparse, special

from alliance_stats.models.laplace import (
    CANONICAL,
    InterceptLaplace,
    deviance_residuals,
    observed_weights,
    weight_slope,
    working_parts,
)


class InterceptQuadrature:
    """The ``nagq``-point adaptive quadrature deviance of a one-intercept binomial model.

    Parameters
    ----------
    laplace : InterceptLaplace
        The model (one random-intercept factor); its conditional modes centre the points.
    nagq : int
        Number of quadrature points (1 = Laplace).

    Calling the object with ``x = (theta, beta)`` returns the deviance (``inf`` where the
    modes cannot be found).
    """

    def __init__(self, laplace: InterceptLaplace, nagq: int) -> None:
        if laplace.n_theta != 1:
            raise ValueError("adaptive quadrature needs exactly one random-intercept factor")
        self.laplace = laplace
        self.nagq = int(nagq)
        self.n_theta = 1
        z, w = hermegauss(self.nagq)
        self.nodes, self.log_weights = z, np.log(w / np.sqrt(2 * np.pi))
        g = laplace.groups[0]
        #: sums within groups (groups x rows), for matrices of row values
        self._sum = sparse.csr_matrix(
            (np.ones(len(g)), (g, np.arange(len(g)))), shape=(laplace.n_levels[0], len(g))
        )

    def __call__(self, x: np.ndarray) -> float:
        return self._evaluate(x, gradient=False)[0]

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The deviance and its gradient in ``x = (theta, beta)``, analytically.

        Differentiates through the points (``u_j + z_k / sqrt(a_j)``): the modes' derivative
        comes from the mode condition (as in
        :meth:`~alliance_stats.models.laplace.InterceptLaplace.value_and_gradient`), that of
        ``a_j`` from the working weights' slope at the mode; ``(inf, nan)`` where the modes
        are not found.

        Examples
        --------
        >>> from alliance_stats.models.laplace import InterceptLaplace
        >>> from alliance_stats.models.robust import numerical_gradient
        >>> y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1, 0.0])
        >>> X = np.c_[np.ones(10), np.arange(10) % 3]
        >>> q = InterceptQuadrature(InterceptLaplace(y, X, [np.arange(10) // 2]), 5)
        >>> x = np.array([1.1, -0.2, 0.3])
        >>> g = q.value_and_gradient(x)[1]
        >>> bool(np.allclose(g, numerical_gradient(q, x, np.ones(3, dtype=bool)), atol=1e-6))
        True
        """
        return self._evaluate(x, gradient=True)

    def _evaluate(self, x: np.ndarray, gradient: bool) -> tuple[float, np.ndarray | None]:
        lap = self.laplace
        x = np.asarray(x, dtype=float)
        dev, u, ok = lap.evaluate(x)
        if not (ok and np.isfinite(dev)):
            return np.inf, np.full(len(x), np.nan)
        theta, beta = float(x[0]), x[1:]
        g = lap.groups[0]
        m = lap.n_levels[0]
        y, w, link = lap.y, lap.w, lap.link
        eta0 = lap.X @ beta + lap.offset
        mu, factor, weight = working_parts(eta0 + theta * u[g], link)
        W = w * weight
        a = 1.0 + theta**2 * np.bincount(g, weights=W, minlength=m)
        # u at every point, per group (groups x points), and the rows' linear predictors
        s = 1.0 / np.sqrt(a)
        at = u[:, None] + self.nodes[None, :] * s[:, None]
        eta = eta0[:, None] + theta * at[g]
        resid = deviance_residuals(y[:, None], eta, w[:, None], link)
        d = self._sum @ resid
        expo = -0.5 * (d + at**2 - self.nodes[None, :] ** 2) + self.log_weights[None, :]
        lse = special.logsumexp(expo, axis=1)
        total = float(np.sum(np.log(a)) - 2.0 * np.sum(lse))
        if not np.isfinite(total):
            return np.inf, np.full(len(x), np.nan)
        if not gradient:
            return total, None
        mode = (eta0 + theta * u[g], mu, factor, weight)
        return total, self._gradient(theta, u, mode, eta, at, a, s, expo - lse[:, None])

    def _gradient(self, theta, u, mode, eta, at, a, s, log_pi) -> np.ndarray:
        lap = self.laplace
        X, y, w, link = lap.X, lap.y, lap.w, lap.link
        g, m = lap.groups[0], lap.n_levels[0]
        eta_mode, mu_mode, factor_m, weight_m = mode
        W = w * weight_m
        r_mode = w * (y - mu_mode) * factor_m
        W_obs = (
            W if link in CANONICAL else w * observed_weights(y, eta_mode, mu_mode, factor_m, link)
        )
        W_slope = w * weight_slope(eta_mode, link, mu_mode, factor_m, weight_m)
        a_obs = 1.0 + theta**2 * np.bincount(g, weights=W_obs, minlength=m)
        ztr = np.bincount(g, weights=r_mode, minlength=m)
        # the modes' derivatives (groups x parameters: theta, then beta)
        du = np.empty((m, len(X[0]) + 1))
        du[:, 0] = (ztr - theta * u * np.bincount(g, weights=W_obs, minlength=m)) / a_obs
        du[:, 1:] = -theta * (self._sum @ (X * W_obs[:, None])) / a_obs[:, None]
        # a_j's derivatives through the working weights at the mode
        deta0 = np.empty((len(y), du.shape[1]))
        deta0[:, 0] = u[g] + theta * du[g, 0]
        deta0[:, 1:] = X + theta * du[g, 1:]
        da = theta**2 * (self._sum @ (deta0 * W_slope[:, None]))
        da[:, 0] += 2.0 * theta * np.bincount(g, weights=W, minlength=m)
        ds = -0.5 * (s**3)[:, None] * da
        # the points' weights and the score at every point
        pi = np.exp(log_pi)
        mu_k, factor_k, _ = working_parts(eta, link)
        score = -2.0 * w[:, None] * (y[:, None] - mu_k) * factor_k  # d deviance / d eta
        rho = self._sum @ score  # groups x points
        c = pi * (theta * rho + 2.0 * at)
        c0, c1 = c.sum(axis=1), c @ self.nodes
        grad = np.sum(da / a[:, None], axis=0) + c0 @ du + c1 @ ds
        R = np.sum(pi[g] * score, axis=1)  # per row, over points
        grad[1:] += X.T @ R
        grad[0] += float(np.sum(pi * rho * at))
        return grad

    def random_effects(self, x: np.ndarray) -> np.ndarray:
        """Conditional modes on the covariance scale (the points' centres)."""
        return self.laplace.random_effects(x)
