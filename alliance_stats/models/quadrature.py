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
from scipy import special

from alliance_stats.models.laplace import InterceptLaplace, deviance_residuals, working_parts


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

    def __call__(self, x: np.ndarray) -> float:
        lap = self.laplace
        x = np.asarray(x, dtype=float)
        dev, u, ok = lap.evaluate(x)
        if not (ok and np.isfinite(dev)):
            return np.inf
        theta, beta = float(x[0]), x[1:]
        g = lap.groups[0]
        n_groups = lap.n_levels[0]
        eta0 = lap.X @ beta + lap.offset
        W = lap.w * working_parts(eta0 + theta * u[g], lap.link)[2]
        a = 1.0 + theta**2 * np.bincount(g, weights=W, minlength=n_groups)
        # u at every point, per group (groups x points), and the rows' linear predictors
        at = u[:, None] + self.nodes[None, :] / np.sqrt(a)[:, None]
        eta = eta0[:, None] + theta * at[g]
        resid = deviance_residuals(lap.y[:, None], eta, lap.w[:, None], lap.link)
        d = np.zeros((n_groups, self.nagq))
        for k in range(self.nagq):
            d[:, k] = np.bincount(g, weights=resid[:, k], minlength=n_groups)
        expo = -0.5 * (d + at**2 - self.nodes[None, :] ** 2) + self.log_weights[None, :]
        total = np.sum(np.log(a)) - 2.0 * np.sum(special.logsumexp(expo, axis=1))
        return float(total) if np.isfinite(total) else np.inf

    def random_effects(self, x: np.ndarray) -> np.ndarray:
        """Conditional modes on the covariance scale (the points' centres)."""
        return self.laplace.random_effects(x)
