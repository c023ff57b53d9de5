"""Make sure a binomial fit is at the best optimum, and give Hessian-based standard errors.

The engine's answer is a starting point, not the result. :func:`best_optimum` evaluates
the Laplace / adaptive-quadrature deviance as a function of all parameters
(variance parameters ``theta`` followed by fixed effects ``beta``, lme4's ordering), then

1. polishes the engine's optimum with a bounded quasi-Newton optimizer,
2. restarts from other values of ``theta`` (interior values for any variance that sits
   at zero, the engine's values halved and doubled) and with another optimizer
   (Nelder-Mead, then quasi-Newton again),
3. keeps the parameters with the lowest deviance, and reports what it did.

:func:`gradient_check` reports lme4's convergence criterion (the gradient scaled by
the inverse Hessian) and :func:`hessian_vcov` the covariance matrix of the fixed effects
from the numerical Hessian of the deviance over ``(theta, beta)``, as lme4's default
``vcov(m)`` does for GLMMs.

Examples
--------
>>> f = lambda x: float((x[0] - 1.0) ** 2 + 4 * (x[1] + 2.0) ** 2)
>>> res = best_optimum(f, np.array([3.0, 0.0]), [(0.0, None), (None, None)], n_theta=1)
>>> np.round(res.x, 4).tolist(), res.improved
([1.0, -2.0], True)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

Objective = Callable[[np.ndarray], float]


@dataclass
class OptimumSearch:
    """Outcome of :func:`best_optimum`: best parameters and every attempt."""

    x: np.ndarray
    deviance: float
    start_deviance: float
    improved: bool
    attempts: list[dict] = field(default_factory=list)


def _safe(f: Objective) -> Objective:
    def g(x: np.ndarray) -> float:
        try:
            v = float(f(np.asarray(x, dtype=float)))
        except (RuntimeError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            return np.inf
        return v if np.isfinite(v) else np.inf

    return g


def _minimize(f: Objective, x0: np.ndarray, bounds, method: str) -> tuple[np.ndarray, float]:
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    x0 = np.clip(x0, lo, hi)
    if method == "L-BFGS-B":
        r = optimize.minimize(
            f,
            x0,
            method="L-BFGS-B",
            bounds=bounds,
            jac="3-point",
            options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7},
        )
    else:

        def g(x):
            return f(np.clip(x, lo, hi)) + 1e3 * float(np.sum((x - np.clip(x, lo, hi)) ** 2))

        r = optimize.minimize(
            g,
            x0,
            method="Nelder-Mead",
            options={"maxiter": 150 * len(x0), "xatol": 1e-6, "fatol": 1e-8, "adaptive": True},
        )
        r.x = np.clip(r.x, lo, hi)
        r.fun = f(r.x)
    return np.asarray(r.x, dtype=float), float(r.fun)


def theta_starts(theta: np.ndarray, diagonal: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Other starting values of the variance parameters worth trying.

    ``diagonal`` marks the entries of ``theta`` that are Cholesky diagonals (>= 0).
    """
    starts: list[tuple[str, np.ndarray]] = []
    at_zero = diagonal & (np.abs(theta) < 1e-3)
    for value in (0.5, 1.5):
        if at_zero.any():
            t = theta.copy()
            t[at_zero] = value
            starts.append((f"interior start {value} for variance(s) at zero", t))
    t = np.where(diagonal, np.maximum(theta, 0.05) * 1.5, theta)
    starts.append(("theta x 1.5", t))
    t = np.where(diagonal, np.maximum(theta, 0.05) * 0.5, theta * 0.5)
    starts.append(("theta halved", t))
    return starts


def best_optimum(
    objective: Objective,
    x0: np.ndarray,
    bounds: list[tuple[float | None, float | None]],
    n_theta: int,
    restarts: bool = True,
    tol: float = 1e-7,
) -> OptimumSearch:
    """Polish ``x0`` and restart from other variance values; keep the lowest deviance."""
    f = _safe(objective)
    x0 = np.asarray(x0, dtype=float)
    f0 = f(x0)
    attempts = [{"start": "engine optimum", "method": "-", "deviance": f0}]
    best_x, best_f = x0.copy(), f0
    x, fx = _minimize(f, x0, bounds, "L-BFGS-B")
    attempts.append({"start": "engine optimum", "method": "L-BFGS-B", "deviance": fx})
    if fx < best_f:
        best_x, best_f = x, fx
    if restarts:
        diagonal = np.array([b[0] is not None for b in bounds[:n_theta]], dtype=bool)
        for label, theta in theta_starts(best_x[:n_theta], diagonal):
            t0 = time.perf_counter()
            start = np.r_[theta, best_x[n_theta:]]
            if not np.isfinite(f(start)):
                attempts.append(
                    {
                        "start": label,
                        "method": "skipped: deviance not finite there",
                        "deviance": np.inf,
                        "seconds": 0.0,
                    }
                )
                continue
            x, fx = _minimize(f, start, bounds, "Nelder-Mead")
            x, fx = _minimize(f, x, bounds, "L-BFGS-B")
            attempts.append(
                {
                    "start": label,
                    "method": "Nelder-Mead+L-BFGS-B",
                    "deviance": fx,
                    "seconds": time.perf_counter() - t0,
                }
            )
            if fx < best_f - tol:
                best_x, best_f = x, fx
    return OptimumSearch(best_x, best_f, f0, bool(best_f < f0 - 1e-6), attempts)


def _step(x: np.ndarray, rel: float) -> np.ndarray:
    return rel * np.maximum(np.abs(x), 1e-1)


def numerical_gradient(f: Objective, x: np.ndarray, free: np.ndarray, rel=1e-5) -> np.ndarray:
    """Central-difference gradient over the ``free`` parameters (others 0)."""
    g = np.zeros(len(x))
    h = _step(x, rel)
    for i in np.flatnonzero(free):
        e = np.zeros(len(x))
        e[i] = h[i]
        g[i] = (f(x + e) - f(x - e)) / (2 * h[i])
    return g


def numerical_hessian(f: Objective, x: np.ndarray, free: np.ndarray, rel=1e-3) -> np.ndarray:
    """Central-difference Hessian over the ``free`` parameters."""
    idx = np.flatnonzero(free)
    h = _step(x, rel)
    k = len(idx)
    H = np.zeros((k, k))
    f0 = f(x)
    for a, i in enumerate(idx):
        ei = np.zeros(len(x))
        ei[i] = h[i]
        H[a, a] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for b in range(a):
            j = idx[b]
            ej = np.zeros(len(x))
            ej[j] = h[j]
            H[a, b] = H[b, a] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def free_parameters(x: np.ndarray, bounds, n_theta: int) -> np.ndarray:
    """Parameters not sitting on a lower bound (a variance at zero is not 'free')."""
    free = np.ones(len(x), dtype=bool)
    for i in range(n_theta):
        lo = bounds[i][0]
        if lo is not None and x[i] - lo < 1e-6:
            free[i] = False
    return free


@dataclass
class Curvature:
    """Gradient, Hessian and lme4's scaled-gradient convergence measure at an optimum."""

    gradient: np.ndarray
    hessian: np.ndarray
    free: np.ndarray
    scaled_gradient: float
    positive_definite: bool


def curvature(f: Objective, x: np.ndarray, bounds, n_theta: int) -> Curvature:
    """Gradient and Hessian of the deviance at ``x`` over the free parameters."""
    f = _safe(f)
    free = free_parameters(x, bounds, n_theta)
    g = numerical_gradient(f, x, free)
    H = numerical_hessian(f, x, free)
    gi = g[free]
    try:
        eig = np.linalg.eigvalsh(H)
        pd_ok = bool(np.all(eig > 0))
        scaled = float(np.max(np.abs(np.linalg.solve(H, gi)))) if len(gi) else 0.0
    except np.linalg.LinAlgError:
        pd_ok, scaled = False, np.inf
    return Curvature(g, H, free, scaled, pd_ok)


def hessian_vcov(c: Curvature, n_theta: int) -> np.ndarray | None:
    """Covariance of the fixed effects: ``2 * inv(H)`` (deviance = -2 log-likelihood)."""
    if not c.positive_definite:
        return None
    cov = 2.0 * np.linalg.inv(c.hessian)
    n_free_theta = int(c.free[:n_theta].sum())
    return cov[n_free_theta:, n_free_theta:]
