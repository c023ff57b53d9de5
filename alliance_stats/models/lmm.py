"""The profiled (REML or ML) deviance of a linear model with random intercepts, and its gradient.

For ``y ~ X + (1 | g_1) + (1 | g_2) + ...`` (nested or crossed factors), lme4's penalised
least squares formulation: with relative standard deviations ``theta`` (``Lambda`` their
diagonal matrix over levels), ``A = Lambda Z'Z Lambda + I`` is factored by blocks
(:class:`~alliance_stats.models.intercepts.InterceptSystem`), the fixed effects and the
spherical random effects ``u`` solve the penalised normal equations, and ``sigma`` is
profiled out. The deviance is lme4's::

    ML:   log|A| + n (1 + log(2 pi r2 / n))
    REML: log|A| + log|M| + (n - p) (1 + log(2 pi r2 / (n - p)))

where ``r2 = |y - X beta - Z Lambda u|^2 + |u|^2`` and ``M = X' V^-1 X`` with
``V = I + Z Lambda^2 Z'``. Its gradient in ``theta`` is analytic:
``d log|A| / d theta_k = (2 / theta_k) (n_k - tr_k(A^-1))``,
``d r2 / d theta_k = -2 sum_k (Z' res)_j u_j`` (the envelope theorem) and
``d log|M| / d theta_k = -2 theta_k sum_k (Z' V^-1 X)_j M^-1 (Z' V^-1 X)_j'``, so a bounded
quasi-Newton search needs a dozen evaluations where a derivative-free one needs dozens.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(20), 5)
>>> y = 1.0 + rng.normal(size=20)[g] + rng.normal(size=100)
>>> lmm = InterceptLMM(y, np.ones((100, 1)), [g], REML=True)
>>> fit = lmm.fit()
>>> bool(fit.converged), round(float(fit.beta[0]), 2)
(True, 0.97)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from alliance_stats.models.intercepts import InterceptSystem, intercept_groups

#: theta below which a factor's variance counts as 0 (its gradient is 0 there: the deviance
#: is even in theta)
THETA_ZERO = 1e-10
#: a diagonal theta this close to 0 after the search is tried at 0 (lme4 reports a variance
#: at its bound as exactly 0) and probed at this value, in case 0 is no minimum
NEAR_ZERO = 1e-2


def minimise_deviance(
    value_and_gradient, x0: np.ndarray, columns: list[np.ndarray], maxiter: int = 500
) -> tuple[np.ndarray, float, bool, int]:
    """Minimise a profiled deviance over ``theta`` by L-BFGS-B with its gradient:
    ``(theta, deviance, converged, evaluations)``, each column of ``Lambda`` with a
    non-negative diagonal entry.

    ``columns`` lists, per column of a term's factor, the theta positions it holds, its
    diagonal entry first. The deviance depends on ``Lambda`` only through ``Lambda
    Lambda'``, so flipping the sign of a column changes nothing: the search runs without
    bounds and each column with a negative diagonal is flipped after it. The deviance is
    therefore even in a diagonal entry at 0 when the entries below it are 0, and its gradient
    0 there whatever the deviance does off it: a quasi-Newton search that lands on 0 (its
    first unit step from lme4's start of 1 does exactly that on a one-parameter model)
    stops there. So each diagonal entry that ends within :data:`NEAR_ZERO` of 0 is probed at
    0 and at ``NEAR_ZERO``: the search restarts from a probe that lowers the deviance, and a
    variance at its boundary is reported as exactly 0 (as lme4 reports it) where that does
    not raise the deviance.
    """
    options = {"ftol": 1e-12, "gtol": 1e-7, "maxiter": maxiter}
    x, dev, converged, evaluations = np.asarray(x0, dtype=float), np.inf, True, 0
    for _ in range(len(columns) + 1):
        found = optimize.minimize(
            value_and_gradient, x, jac=True, method="L-BFGS-B", options=options
        )
        evaluations += int(found.nfev)
        if found.fun >= dev:
            break
        theta, dev, converged = found.x.copy(), float(found.fun), bool(found.success)
        for col in columns:
            if theta[col[0]] < 0:
                theta[col] = -theta[col]
        tol = 1e-10 * max(1.0, abs(dev))
        restart = None
        for col in columns:
            if theta[col[0]] >= NEAR_ZERO:
                continue
            for value in (NEAR_ZERO, 0.0):
                trial = theta.copy()
                trial[col[0]] = value
                trial_dev = float(value_and_gradient(trial)[0])
                evaluations += 1
                if value > 0 and trial_dev < dev - tol:
                    restart = trial
                elif value == 0 and trial_dev <= dev + tol:
                    theta, dev = trial, min(dev, trial_dev)
        if restart is None:
            break
        x = restart
    return theta, dev, converged, evaluations


@dataclass
class LMMSolution:
    """The penalised least squares solution at one ``theta``."""

    theta: np.ndarray
    deviance: float
    beta: np.ndarray
    #: spherical random effects (theta order of ``Z``'s columns)
    u: np.ndarray
    #: penalised residual sum of squares
    r2: float
    sigma: float
    #: ``(X' V^-1 X)^-1``: times ``sigma^2`` the fixed effects' covariance
    M_inv: np.ndarray
    #: random effects on the outcome's scale, ``Lambda u`` (the conditional modes)
    b: np.ndarray
    converged: bool = True
    evaluations: int = 0


def linear_response(matrices) -> np.ndarray | None:
    """A linear model's outcome less its offset, from the engine's model matrices; ``None``
    with prior weights (our own linear computations take none)."""
    w = matrices.weights
    if w is not None and not np.allclose(w, 1.0):
        return None
    y = np.asarray(matrices.y, dtype=float)
    if matrices.offset is not None:
        y = y - np.asarray(matrices.offset, dtype=float)
    return y


class InterceptLMM:
    """Profiled deviance of ``y ~ X + (1 | g_1) + ...`` (lme4's ``lmer``, no prior weights).

    Parameters
    ----------
    y : array
        The outcome (an offset already subtracted).
    X : 2-D array
        The fixed-effects design, of full column rank.
    groups : list of int arrays
        The level (0, 1, ...) of every row, one array per random intercept, in theta order.
    REML : bool
        The REML criterion (lme4's default) or the ML deviance.
    """

    def __init__(self, y, X, groups: list[np.ndarray], REML: bool = True) -> None:
        self.y = np.asarray(y, dtype=float)
        self.X = np.asarray(X, dtype=float)
        self.n, self.p = self.X.shape
        self.REML = bool(REML)
        self.system = InterceptSystem(groups)
        self.n_theta = self.system.n_factors
        self._ones = np.ones(self.n)
        self._counts = np.array(self.system.n_levels, dtype=float)
        # Z'X, Z'y, X'X, X'y do not depend on theta
        unit = np.ones(self.n_theta)
        self._ztx = np.column_stack([self.system.zt_times(unit, c) for c in self.X.T])
        self._zty = self.system.zt_times(unit, self.y)
        self._xtx = self.X.T @ self.X
        self._xty = self.X.T @ self.y
        self._slices = [
            slice(self.system.starts[k], self.system.starts[k + 1]) for k in range(self.n_theta)
        ]

    @classmethod
    def from_mixedlm(cls, matrices, REML: bool) -> InterceptLMM | None:
        """Build from mixedlm's model matrices; ``None`` unless every random term is a scalar
        intercept ``(1 | g)`` and no prior weights are given."""
        structs = matrices.random_structures
        if not structs or any(s.n_terms != 1 for s in structs):
            return None
        groups = intercept_groups(matrices.Z, [s.n_levels for s in structs])
        y = linear_response(matrices)
        if groups is None or y is None:
            return None
        try:
            return cls(y, matrices.X, groups, REML=REML)
        except ValueError:
            return None

    def _parts(self, theta: np.ndarray):
        """Factor, solution and the pieces the gradient reuses, at ``theta``."""
        system = self.system
        lam = system.lambdas(theta)
        F = system.factor(theta, self._ones)
        ZX = lam[:, None] * self._ztx
        Zy = lam * self._zty
        AinvZX = F.solve_theta_order(ZX)
        AinvZy = F.solve_theta_order(Zy)
        M = self._xtx - ZX.T @ AinvZX
        chol = linalg.cho_factor(M, lower=True)
        beta = linalg.cho_solve(chol, self._xty - ZX.T @ AinvZy)
        u = AinvZy - AinvZX @ beta
        res = self.y - self.X @ beta - system.z_times(theta, u)
        r2 = float(res @ res + u @ u)
        n, p = self.n, self.p
        dof = n - p if self.REML else n
        dev = F.logdet + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
        logdet_M = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
        if self.REML:
            dev += logdet_M
        return F, chol, AinvZX, beta, u, res, r2, float(dev)

    def __call__(self, theta) -> float:
        """The deviance (REML criterion) at ``theta``."""
        return self._parts(np.asarray(theta, dtype=float))[-1]

    def deviance_parts(self, theta) -> tuple[float, float]:
        """``(log det A, penalised residual sum of squares)`` at ``theta`` (lme4's ``ldL2``
        and ``pwrss``; the ML deviance at ``sigma`` is ``ldL2 + n log(2 pi sigma^2) +
        pwrss / sigma^2``)."""
        F, *_, r2, _ = self._parts(np.asarray(theta, dtype=float))
        return float(F.logdet), r2

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """The deviance and its gradient in ``theta``."""
        theta = np.asarray(theta, dtype=float)
        F, chol, AinvZX, _, u, res, r2, dev = self._parts(theta)
        system = self.system
        unit = np.ones(self.n_theta)
        positive = np.abs(theta) > THETA_ZERO  # (the search runs over signed theta)
        safe = np.where(positive, theta, 1.0)
        g_logdet = np.where(positive, 2.0 / safe * (self._counts - F.inverse_traces()), 0.0)
        zt_res = system.zt_times(unit, res)
        g_r2 = np.array([-2.0 * float(zt_res[s] @ u[s]) for s in self._slices])
        dof = self.n - self.p if self.REML else self.n
        grad = g_logdet + dof * g_r2 / r2
        if self.REML:
            # Q = V^-1 X = X - Z Lambda A^-1 Lambda Z'X; d log|M| = -2 theta_k sum_k Q_j M^-1 Q_j'
            Q = self.X - np.column_stack([system.z_times(theta, c) for c in AinvZX.T])
            ztq = np.column_stack([system.zt_times(unit, c) for c in Q.T])
            quad = np.einsum("ij,ij->i", ztq, linalg.cho_solve(chol, ztq.T).T)
            grad += np.array(
                [-2.0 * theta[k] * float(np.sum(quad[s])) for k, s in enumerate(self._slices)]
            )
        return dev, grad

    def solution(self, theta) -> LMMSolution:
        """The fixed effects, random effects and ``sigma`` at ``theta``."""
        theta = np.asarray(theta, dtype=float)
        _, chol, _, beta, u, _, r2, dev = self._parts(theta)
        dof = self.n - self.p if self.REML else self.n
        M_inv = linalg.cho_solve(chol, np.eye(self.p))
        b = self.system.lambdas(theta) * u
        return LMMSolution(theta, dev, beta, u, r2, float(np.sqrt(r2 / dof)), M_inv, b)

    def moment_start(self) -> np.ndarray:
        """Starting values of ``theta`` from one-way ANOVA estimates on least-squares residuals,
        factor by factor (each at least 0.1: a start off the boundary)."""
        beta = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        e = self.y - self.X @ beta
        n = self.n
        start = np.empty(self.n_theta)
        for k, (g, n_k) in enumerate(zip(self.system.groups, self.system.n_levels)):
            size = np.bincount(g, minlength=n_k)
            means = np.bincount(g, weights=e, minlength=n_k) / np.maximum(size, 1)
            within = float(np.sum((e - means[g]) ** 2)) / max(n - n_k, 1)
            between = float(np.sum(size * means**2)) / max(n_k - 1, 1)
            n0 = (n - float(np.sum(size**2)) / n) / max(n_k - 1, 1)
            ratio = (between - within) / max(n0, 1.0) / within if within > 0 else 1.0
            start[k] = np.sqrt(max(ratio, 0.01))
        return start

    def fit(self, start=None, maxiter: int = 500) -> LMMSolution:
        """Minimise the deviance over ``theta >= 0`` by L-BFGS-B with the analytic gradient,
        from ``start`` (by default :meth:`moment_start`; lme4 starts at all ones, which takes
        about twice the evaluations to the same optimum on the reference models)."""
        x0 = self.moment_start() if start is None else np.asarray(start, dtype=float)
        columns = [np.array([k]) for k in range(self.n_theta)]
        theta, _, converged, evaluations = minimise_deviance(
            self.value_and_gradient, x0, columns, maxiter
        )
        out = self.solution(theta)
        out.converged, out.evaluations = converged, evaluations
        return out
