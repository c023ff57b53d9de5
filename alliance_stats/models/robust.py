"""Make sure a binomial fit is at the best optimum, and give Hessian-based standard errors.

The engine's answer is a starting point, not the result. :func:`best_optimum` evaluates
the Laplace / adaptive-quadrature deviance as a function of all parameters
(variance parameters ``theta`` followed by fixed effects ``beta``, lme4's ordering), then

1. polishes the engine's optimum with bounded L-BFGS-B (at a converged optimum this stops
   after its first gradient: the cheap gradient check),
2. restarts only from starts that can reach another peak (the known trap: a variance at 0
   with a better interior peak, or the reverse), one variance parameter at a time: an
   interior start for a variance at or near 0, a start near 0 and a larger one for an
   interior variance; one optimizer (bounded L-BFGS-B, 2-point gradient) with an
   evaluation cap; a restart that beats the best is polished,
3. keeps the parameters with the lowest deviance, and records every start, its deviance and
   its evaluation count (``fit_mixed`` puts them in ``notes``).

:func:`curvature` reports lme4's convergence criterion (the gradient scaled by the inverse
Hessian) from one set of central differences (:func:`gradient_and_hessian`, ``1 + 2k +
k(k-1)`` evaluations for ``k`` free parameters; mixedlm exposes no analytic gradient of the
Laplace deviance), and :func:`hessian_vcov` the covariance matrix of the fixed effects from
that Hessian over ``(theta, beta)``, as lme4's default ``vcov(m)`` does for GLMMs. scipy's
RuntimeWarnings from finite differences next to infeasible points are silenced here.

Examples
--------
>>> f = lambda x: float((x[0] - 1.0) ** 2 + 4 * (x[1] + 2.0) ** 2)
>>> res = best_optimum(f, np.array([3.0, 0.0]), [(0.0, None), (None, None)], n_theta=1)
>>> np.round(res.x, 4).tolist(), res.improved
([1.0, -2.0], True)
"""

from __future__ import annotations

import time
import warnings
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


def _minimize(
    f: Objective,
    x0: np.ndarray,
    bounds,
    method: str,
    max_evals: int | None = None,
    jac: str = "3-point",
) -> tuple[np.ndarray, float, int, bool]:
    """Minimize ``f`` from ``x0``; returns ``(x, f(x), evaluations, converged)``.

    ``max_evals`` caps the objective evaluations, the finite-difference gradient's included
    (scipy counts those in ``nfev``).
    """
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    x0 = np.clip(x0, lo, hi)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # finite differences next to an infeasible point give inf - inf: scipy warns
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "L-BFGS-B":
            r = optimize.minimize(
                f,
                x0,
                method="L-BFGS-B",
                bounds=bounds,
                jac=jac,
                options={
                    "maxiter": 500,
                    "maxfun": max_evals or 15000,
                    "ftol": 1e-13,
                    "gtol": 1e-7,
                },
            )
            return np.asarray(r.x, dtype=float), float(r.fun), int(r.nfev), bool(r.success)

        def g(x):
            return f(np.clip(x, lo, hi)) + 1e3 * float(np.sum((x - np.clip(x, lo, hi)) ** 2))

        r = optimize.minimize(
            g,
            x0,
            method="Nelder-Mead",
            options={
                "maxiter": 150 * len(x0),
                "maxfev": max_evals,
                "xatol": 1e-6,
                "fatol": 1e-8,
                "adaptive": True,
            },
        )
    x = np.clip(r.x, lo, hi)
    return np.asarray(x, dtype=float), f(x), int(r.nfev) + 1, bool(r.success)


#: below this a variance parameter (a Cholesky diagonal of theta) counts as "at zero"
AT_ZERO = 1e-3
#: interior starting value for a variance parameter at zero (an SD of 1 on the model scale:
#: a typical client or therapist SD on the logit scale)
INTERIOR_START = 1.0


def theta_starts(
    theta: np.ndarray, diagonal: np.ndarray, labels: list[str] | None = None
) -> list[tuple[str, np.ndarray]]:
    """Starting values of ``theta`` from which another likelihood peak can be reached.

    One variance parameter is moved at a time (``diagonal`` marks the Cholesky diagonals,
    which are >= 0): a parameter at or near zero gets an interior start
    (:data:`INTERIOR_START`), the peak the boundary can hide; an interior one gets a start
    near zero (a tenth of its value, at most 0.1) and a larger one (twice its value, at least
    +1), the two directions in which another peak can lie. Off-diagonal (correlation)
    parameters keep their values.
    """
    labels = labels or [f"theta[{i}]" for i in range(len(theta))]
    starts: list[tuple[str, np.ndarray]] = []
    for i in np.flatnonzero(diagonal):
        v = float(theta[i])
        if abs(v) < AT_ZERO:
            cands = [(f"{labels[i]} at 0 -> interior start {INTERIOR_START:g}", INTERIOR_START)]
        else:
            near = min(0.1, v / 10)
            big = max(2 * v, v + 1)
            cands = [
                (f"{labels[i]} {v:.3g} -> near-0 start {near:.3g}", near),
                (f"{labels[i]} {v:.3g} -> larger start {big:.3g}", big),
            ]
        for label, value in cands:
            t = theta.copy()
            t[i] = value
            starts.append((label, t))
    return starts


def best_optimum(
    objective: Objective,
    x0: np.ndarray,
    bounds: list[tuple[float | None, float | None]],
    n_theta: int,
    restarts: bool = True,
    tol: float = 1e-7,
    labels: list[str] | None = None,
    max_evals: int | None = None,
) -> OptimumSearch:
    """Polish ``x0``, restart from the variance values that can reach another peak, keep the
    lowest deviance.

    1. Polish: bounded L-BFGS-B (3-point gradient) from ``x0``; at a converged optimum its
       first projected-gradient check stops it after one gradient (the cheap gradient check).
    2. Restarts (``restarts=True``): from each start of :func:`theta_starts` (fixed effects at
       the current best), bounded L-BFGS-B with a 2-point gradient and at most ``max_evals``
       deviance evaluations (default ``25 * (n_parameters + 1)``).
    3. A restart that ends below the best deviance is polished (3-point gradient, no cap) and
       kept if it is still better.
    """
    f = _safe(objective)
    x0 = np.asarray(x0, dtype=float)
    f0 = f(x0)
    attempts = [{"start": "engine optimum", "method": "-", "deviance": f0, "evaluations": 1}]
    best_x, best_f = x0.copy(), f0
    t0 = time.perf_counter()
    x, fx, nfev, ok = _minimize(f, x0, bounds, "L-BFGS-B")
    attempts.append(
        {
            "start": "engine optimum",
            "method": "polish: L-BFGS-B",
            "deviance": fx,
            "evaluations": nfev,
            "converged": ok,
            "seconds": time.perf_counter() - t0,
        }
    )
    if fx < best_f:
        best_x, best_f = x, fx
    if restarts:
        cap = max_evals or 25 * (len(x0) + 1)
        diagonal = np.array([b[0] is not None for b in bounds[:n_theta]], dtype=bool)
        for label, theta in theta_starts(best_x[:n_theta], diagonal, labels):
            t0 = time.perf_counter()
            start = np.r_[theta, best_x[n_theta:]]
            n_pre = 1
            while not np.isfinite(f(start)) and n_pre < 4:
                # e.g. PIRLS fails at a large variance: move half-way back to the best
                theta = best_x[:n_theta] + (theta - best_x[:n_theta]) / 2
                start = np.r_[theta, best_x[n_theta:]]
                n_pre += 1
            if n_pre > 1:
                moved = np.flatnonzero(theta != best_x[:n_theta])
                label += f" (deviance not finite there; moved to {theta[moved][0]:.3g})"
            if not np.isfinite(f(start)):
                attempts.append(
                    {
                        "start": label,
                        "method": "skipped: deviance not finite",
                        "deviance": np.inf,
                        "evaluations": n_pre,
                        "seconds": time.perf_counter() - t0,
                    }
                )
                continue
            x, fx, nfev, ok = _minimize(f, start, bounds, "L-BFGS-B", cap, jac="2-point")
            nfev += n_pre
            method = f"L-BFGS-B (2-point gradient, cap {cap} evaluations)"
            if not ok and nfev >= cap:
                label += ", stopped at the evaluation cap"
            if fx < best_f - tol:
                x, fx, n2, ok = _minimize(f, x, bounds, "L-BFGS-B")
                nfev += n2
                method += " + polish"
            attempts.append(
                {
                    "start": label,
                    "method": method,
                    "deviance": fx,
                    "evaluations": nfev,
                    "converged": ok,
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


def gradient_and_hessian(
    f: Objective, x: np.ndarray, free: np.ndarray, rel=1e-3
) -> tuple[np.ndarray, np.ndarray, int]:
    """Central-difference gradient and Hessian over the ``free`` parameters, sharing points.

    Uses ``1 + 2k + k(k-1)`` evaluations for ``k`` free parameters (``numerical_gradient``
    plus ``numerical_hessian`` take ``2k + 1 + 2k^2``): the diagonal and the gradient share
    ``f(x -+ h_i e_i)``, and each off-diagonal entry takes the two diagonal points
    ``f(x + h_i e_i + h_j e_j)``, ``f(x - h_i e_i - h_j e_j)`` (second-order accurate, as the
    four-point formula). Returns ``(gradient, hessian, evaluations)``.
    """
    idx = np.flatnonzero(free)
    h = _step(x, rel)
    k = len(idx)
    g = np.zeros(len(x))
    H = np.zeros((k, k))
    f0 = f(x)
    plus, minus = np.zeros(k), np.zeros(k)
    for a, i in enumerate(idx):
        e = np.zeros(len(x))
        e[i] = h[i]
        plus[a], minus[a] = f(x + e), f(x - e)
        g[i] = (plus[a] - minus[a]) / (2 * h[i])
        H[a, a] = (plus[a] - 2 * f0 + minus[a]) / h[i] ** 2
    for a, i in enumerate(idx):
        for b in range(a):
            j = idx[b]
            e = np.zeros(len(x))
            e[i], e[j] = h[i], h[j]
            num = f(x + e) + f(x - e) - plus[a] - minus[a] - plus[b] - minus[b] + 2 * f0
            H[a, b] = H[b, a] = num / (2 * h[i] * h[j])
    return g, H, 1 + 2 * k + k * (k - 1)


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
    evaluations: int = 0


def curvature(f: Objective, x: np.ndarray, bounds, n_theta: int) -> Curvature:
    """Gradient and Hessian of the deviance at ``x`` over the free parameters."""
    f = _safe(f)
    free = free_parameters(x, bounds, n_theta)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        g, H, n_evals = gradient_and_hessian(f, x, free)
    gi = g[free]
    try:
        eig = np.linalg.eigvalsh(H)
        pd_ok = bool(np.all(eig > 0))
        scaled = float(np.max(np.abs(np.linalg.solve(H, gi)))) if len(gi) else 0.0
    except np.linalg.LinAlgError:
        pd_ok, scaled = False, np.inf
    return Curvature(g, H, free, scaled, pd_ok, n_evals)


def hessian_vcov(c: Curvature, n_theta: int) -> np.ndarray | None:
    """Covariance of the fixed effects: ``2 * inv(H)`` (deviance = -2 log-likelihood)."""
    if not c.positive_definite:
        return None
    cov = 2.0 * np.linalg.inv(c.hessian)
    n_free_theta = int(c.free[:n_theta].sum())
    return cov[n_free_theta:, n_free_theta:]
