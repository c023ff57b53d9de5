"""Make sure a binomial fit is at the best optimum, and give Hessian-based standard errors.

The engine's answer is a starting point, not the result. :func:`best_optimum` evaluates
the Laplace / adaptive-quadrature deviance as a function of all parameters
(variance parameters ``theta`` followed by fixed effects ``beta``, lme4's ordering), then

1. polishes the engine's optimum with bounded L-BFGS-B (at a converged optimum this stops
   after its first gradient: the cheap gradient check),
2. scans each variance parameter over a coarse grid (:func:`profile_scan`, 6 to 10 deviance
   evaluations each, the other parameters following the quadratic approximation's profile)
   and restarts bounded L-BFGS-B (2-point gradient, evaluation cap) only from a value the
   scan flags: a lower deviance, a second dip, a grid end still falling (the known trap: a
   variance at 0 with a better interior peak, or the reverse); a restart that beats the best
   is polished,
3. keeps the parameters with the lowest deviance, and records every start, its deviance and
   its evaluation count (``fit_mixed`` puts them in ``notes``).

:func:`curvature` reports lme4's convergence criterion (the gradient scaled by the inverse
Hessian) from one set of central differences (:func:`gradient_and_hessian`, ``1 + 2k +
k(k-1)`` evaluations for ``k`` free parameters; mixedlm exposes no analytic gradient of the
Laplace deviance), or of an analytic gradient where the objective has one
(:func:`hessian_from_gradient`, ``1 + k`` gradients), and :func:`hessian_vcov` the
covariance matrix of the fixed effects from that Hessian over ``(theta, beta)``, as lme4's
default ``vcov(m)`` does for GLMMs. scipy's RuntimeWarnings from finite differences next to
infeasible points are silenced here.

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
#: ``x -> (f(x), gradient)``: an objective with its analytic gradient
WithGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class OptimumSearch:
    """Outcome of :func:`best_optimum`: best parameters and every attempt."""

    x: np.ndarray
    deviance: float
    start_deviance: float
    improved: bool
    attempts: list[dict] = field(default_factory=list)
    #: curvature at ``x`` when the search computed it there (``None``: the caller computes it)
    curvature: Curvature | None = None


def in_scaled(f: Objective, scale: np.ndarray) -> Objective:
    """``f`` as a function of ``z = x * scale`` (an optimiser works better on scaled
    parameters where the curvatures differ by orders of magnitude)."""
    return lambda z: f(np.asarray(z, dtype=float) / scale)


def gradient_in_scaled(fg: WithGradient, scale: np.ndarray) -> WithGradient:
    """``fg`` as a function of ``z = x * scale``, its gradient in ``z``.

    Examples
    --------
    >>> fg = lambda x: (float(x[0] ** 2), np.array([2 * x[0]]))
    >>> gradient_in_scaled(fg, np.array([2.0]))(np.array([4.0]))[1].tolist()  # x = 2
    [2.0]
    """

    def scaled(z):
        value, grad = fg(np.asarray(z, dtype=float) / scale)
        return value, grad / scale

    return scaled


def _safe(f: Objective) -> Objective:
    def g(x: np.ndarray) -> float:
        try:
            v = float(f(np.asarray(x, dtype=float)))
        except (RuntimeError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            return np.inf
        return v if np.isfinite(v) else np.inf

    return g


def safe_gradient(fg: WithGradient) -> WithGradient:
    """``fg`` with failures (and infinite values) as ``(inf, zeros)``: L-BFGS-B then backtracks."""

    def g(x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            v, grad = fg(np.asarray(x, dtype=float))
        except (RuntimeError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            return np.inf, np.zeros(len(x))
        if not (np.isfinite(v) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros(len(x))
        return float(v), np.asarray(grad, dtype=float)

    return g


def _minimize(
    f: Objective,
    x0: np.ndarray,
    bounds,
    method: str,
    max_evals: int | None = None,
    jac: str = "3-point",
    fg: WithGradient | None = None,
) -> tuple[np.ndarray, float, int, bool]:
    """Minimize ``f`` from ``x0``; returns ``(x, f(x), evaluations, converged)``.

    ``max_evals`` caps the objective evaluations, the finite-difference gradient's included
    (scipy counts those in ``nfev``). With ``fg`` (L-BFGS-B only) the analytic gradient is
    used instead of finite differences, and an evaluation is one call of ``fg``.
    """
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    x0 = np.clip(x0, lo, hi)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # finite differences next to an infeasible point give inf - inf: scipy warns
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "L-BFGS-B":
            r = optimize.minimize(
                f if fg is None else fg,
                x0,
                method="L-BFGS-B",
                bounds=bounds,
                jac=jac if fg is None else True,
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
#: values of an interior variance parameter scanned, as multiples of its value at the optimum
SCAN_FACTORS = (0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0)
#: values scanned for a variance parameter at zero (SDs on the model scale: a typical client
#: or therapist SD on the logit scale is 0.3 to 2)
SCAN_FROM_ZERO = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def theta_grid(value: float) -> np.ndarray:
    """The values of one variance parameter at which :func:`profile_scan` looks for another peak.

    A parameter at (or near) zero: :data:`SCAN_FROM_ZERO`, the interior a boundary optimum can
    hide. An interior one: :data:`SCAN_FACTORS` times its value, from 0 (the boundary peak) to
    three times it, and ``value + 1``, ``value + 2`` where those lie beyond.

    Examples
    --------
    >>> theta_grid(0.0).tolist()
    [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]
    >>> theta_grid(1.0).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0]
    """
    v = float(value)
    if abs(v) < AT_ZERO:
        return np.array(SCAN_FROM_ZERO)
    grid = {f * v for f in SCAN_FACTORS} | {w for w in (v + 1.0, v + 2.0) if w > 3.0 * v}
    return np.array(sorted(grid))


@dataclass
class ProfileScan:
    """One variance parameter moved over :func:`theta_grid`, the others following it.

    ``values``/``deviances`` include the optimum's own value; ``starts`` are the points
    (all parameters) from which a restart is warranted, best first, and ``why`` says why.
    """

    label: str
    values: np.ndarray
    deviances: np.ndarray
    starts: list[np.ndarray]
    why: str
    evaluations: int

    #: the deviance falls towards values where it is infinite (or is infinite right next to
    #: the optimum): the objective cannot show what lies beyond, so it cannot vouch here
    wall: bool = False

    @property
    def not_finite(self) -> int:
        return int(np.sum(~np.isfinite(self.deviances)))


def _follower(x: np.ndarray, i: int, curv: Curvature | None) -> np.ndarray:
    """How the other parameters move per unit of parameter ``i`` along the quadratic
    approximation's profile (``-H_rr^-1 H_ri``; zeros where the Hessian does not say)."""
    d = np.zeros(len(x))
    if curv is None or not curv.free[i] or not np.all(np.isfinite(curv.hessian)):
        return d
    idx = np.flatnonzero(curv.free)
    a = int(np.flatnonzero(idx == i)[0])
    rest = [b for b in range(len(idx)) if b != a]
    if not rest:
        return d
    H = curv.hessian
    try:
        d[idx[rest]] = -np.linalg.solve(H[np.ix_(rest, rest)], H[rest, a])
    except np.linalg.LinAlgError:
        return np.zeros(len(x))
    return d if np.all(np.isfinite(d)) else np.zeros(len(x))


def profile_scan(
    f: Objective,
    x: np.ndarray,
    fx: float,
    bounds,
    i: int,
    curv: Curvature | None,
    label: str,
    tol: float = 1e-7,
) -> ProfileScan:
    """Scan variance parameter ``i`` over :func:`theta_grid` for signs of another peak.

    At each value the other parameters follow the profile of the quadratic approximation at
    the optimum ``x`` (from ``curv``'s Hessian), so every deviance is an upper bound of the
    profile deviance there. A restart is warranted from a value whose deviance is below the
    optimum's (a better peak, certainly) and from a local minimum of the scan away from the
    optimum, or an end of the grid still falling (a second peak is plausible there). Values
    where the deviance is not finite are counted (``not_finite``).
    """
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    follow = _follower(x, i, curv)
    grid = theta_grid(x[i])
    grid = np.clip(grid, lo[i], hi[i])
    points = []
    for t in grid:
        p = np.clip(x + follow * (t - x[i]), lo, hi)
        p[i] = t
        points.append(p)
    devs = np.array([f(p) for p in points])
    values = np.r_[grid, x[i]]
    order = np.argsort(values, kind="stable")
    values, all_devs = values[order], np.r_[devs, fx][order]
    pts = [(points + [x])[k] for k in order]
    opt = int(np.flatnonzero(order == len(grid))[0])
    d = np.where(np.isfinite(all_devs), all_devs, np.inf)
    cands, whys = [], []
    for k in range(len(d)):
        if k == opt or not np.isfinite(d[k]):
            continue
        left = d[k - 1] if k > 0 else np.inf
        right = d[k + 1] if k + 1 < len(d) else np.inf
        if d[k] < fx - tol:
            cands.append(k)
            whys.append(f"deviance {d[k]:.4f} at {values[k]:.3g}, below the optimum's")
        elif d[k] <= left and d[k] <= right:
            cands.append(k)
            where = (
                "falling at the end of the grid"
                if right == np.inf or left == np.inf
                else "a second dip"
            )
            whys.append(f"{where} at {values[k]:.3g} (deviance {d[k]:.4f})")
    ranked = sorted(range(len(cands)), key=lambda j: d[cands[j]])
    wall = _falls_into_wall(d, opt)
    return ProfileScan(
        label=label,
        values=values,
        deviances=all_devs,
        starts=[pts[cands[j]] for j in ranked],
        why="; ".join(whys[j] for j in ranked),
        evaluations=len(grid),
        wall=wall,
    )


def _falls_into_wall(d: np.ndarray, opt: int) -> bool:
    """Walking out from the optimum ``opt`` on either side, is an infinite value reached
    right away, or after values that were still falling?"""
    for step in (-1, 1):
        prev_prev, prev, k = np.inf, d[opt], opt + step
        while 0 <= k < len(d) and np.isfinite(d[k]):
            prev_prev, prev, k = prev, d[k], k + step
        if 0 <= k < len(d) and (k == opt + step or prev < prev_prev):
            return True
    return False


def best_optimum(
    objective: Objective,
    x0: np.ndarray,
    bounds: list[tuple[float | None, float | None]],
    n_theta: int,
    restarts: bool = True,
    tol: float = 1e-7,
    labels: list[str] | None = None,
    max_evals: int | None = None,
    gradient: WithGradient | None = None,
    polish_evals: int | None = None,
) -> OptimumSearch:
    """Polish ``x0``, look for another peak along each variance parameter, restart only where
    one is plausible, keep the lowest deviance.

    1. Polish: bounded L-BFGS-B (3-point gradient) from ``x0``; at a converged optimum its
       first projected-gradient check stops it after one gradient (the cheap gradient check).
    2. Scan (``restarts=True``): the curvature at the polished optimum (:func:`curvature`,
       kept in the result for the caller's convergence check and standard errors), then
       :func:`profile_scan` of every variance parameter (6 to 10 deviance evaluations each).
    3. Restarts, only from the points a scan flags (a lower deviance, a second dip, a grid
       end still falling): bounded L-BFGS-B with a 2-point gradient and at most ``max_evals``
       evaluations (default ``25 * (n_parameters + 1)``); one that ends below the best is
       polished (3-point gradient, no cap) and kept if it is still better.

    ``gradient`` (``x -> (deviance, gradient)``, the same function as ``objective``) replaces
    the finite-difference gradients of every L-BFGS-B run and of the curvature;
    ``polish_evals`` caps the polish (a first, rough stage).

    ``attempts`` records every step (``start``, ``method``, ``deviance``, ``evaluations``;
    scans also ``scan``, their :class:`ProfileScan`).
    """
    f = _safe(objective)
    fg = None if gradient is None else safe_gradient(gradient)
    grad_text = "analytic gradient" if fg is not None else None
    x0 = np.asarray(x0, dtype=float)
    f0 = f(x0)
    attempts = [{"start": "engine optimum", "method": "-", "deviance": f0, "evaluations": 1}]
    best_x, best_f = x0.copy(), f0
    t0 = time.perf_counter()
    x, fx, nfev, ok = _minimize(f, x0, bounds, "L-BFGS-B", polish_evals, fg=fg)
    attempts.append(
        {
            "start": "engine optimum",
            "method": "polish: L-BFGS-B" + (f" ({grad_text})" if fg else ""),
            "deviance": fx,
            "evaluations": nfev,
            "converged": ok,
            "seconds": time.perf_counter() - t0,
        }
    )
    if fx < best_f:
        best_x, best_f = x, fx
    if not restarts:
        return OptimumSearch(best_x, best_f, f0, bool(best_f < f0 - 1e-6), attempts)
    labels = labels or [f"theta[{i}]" for i in range(n_theta)]
    polished, f_polished = best_x.copy(), best_f
    curv = curvature(f, polished, bounds, n_theta, gradient=fg)
    cap = max_evals or 25 * (len(x0) + 1)
    for i in (i for i in range(n_theta) if bounds[i][0] is not None):
        t0 = time.perf_counter()
        scan = profile_scan(f, polished, f_polished, bounds, i, curv, labels[i], tol)
        attempts.append(
            {
                "start": labels[i],
                "method": "profile scan",
                "deviance": float(np.min(scan.deviances)),
                "evaluations": scan.evaluations,
                "scan": scan,
                "seconds": time.perf_counter() - t0,
            }
        )
        for start in scan.starts[:2]:
            t0 = time.perf_counter()
            label = f"{labels[i]} {start[i]:.3g} (flagged by the scan)"
            x, fx, nfev, ok = _minimize(f, start, bounds, "L-BFGS-B", cap, "2-point", fg)
            method = f"L-BFGS-B ({grad_text or '2-point gradient'}, cap {cap} evaluations)"
            if not ok and nfev >= cap:
                label += ", stopped at the evaluation cap"
            if fx < best_f - tol:
                x, fx, n2, ok = _minimize(f, x, bounds, "L-BFGS-B", fg=fg)
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
    moved = not np.array_equal(best_x, polished)
    return OptimumSearch(
        best_x, best_f, f0, bool(best_f < f0 - 1e-6), attempts, None if moved else curv
    )


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


def hessian_from_gradient(
    fg: WithGradient, x: np.ndarray, free: np.ndarray, rel: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, int]:
    """Gradient at ``x`` and the Hessian over the ``free`` parameters by forward differences
    of the analytic gradient (symmetrised; the step ``rel`` times each parameter's size keeps
    the truncation error near ``1e-5`` relative); returns ``(gradient, hessian, calls)``.

    Examples
    --------
    >>> fg = lambda x: (float(x[0] ** 2 * x[1]), np.array([2 * x[0] * x[1], x[0] ** 2]))
    >>> g, H, _ = hessian_from_gradient(fg, np.array([1.0, 2.0]), np.array([True, True]))
    >>> np.round(H, 4).tolist()
    [[4.0, 2.0], [2.0, 0.0]]
    """
    idx = np.flatnonzero(free)
    h = _step(x, rel)
    _, g = fg(x)
    g = np.where(free, g, 0.0)
    H = np.zeros((len(idx), len(idx)))
    for a, i in enumerate(idx):
        e = np.zeros(len(x))
        e[i] = h[i]
        H[:, a] = (fg(x + e)[1][idx] - g[idx]) / h[i]
    return g, (H + H.T) / 2, 1 + len(idx)


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


def curvature(
    f: Objective, x: np.ndarray, bounds, n_theta: int, gradient: WithGradient | None = None
) -> Curvature:
    """Gradient and Hessian of the deviance at ``x`` over the free parameters.

    With ``gradient`` (``x -> (f(x), gradient)``) the Hessian is the forward difference of
    the analytic gradient (``1 + k`` calls for ``k`` free parameters), else of ``f``
    (:func:`gradient_and_hessian`).
    """
    f = _safe(f)
    free = free_parameters(x, bounds, n_theta)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if gradient is None:
            g, H, n_evals = gradient_and_hessian(f, x, free)
        else:
            g, H, n_evals = hessian_from_gradient(safe_gradient(gradient), x, free)
    gi = g[free]
    try:
        eig = np.linalg.eigvalsh(H)
        pd_ok = bool(np.all(eig > 0))
        scaled = float(np.max(np.abs(np.linalg.solve(H, gi)))) if len(gi) else 0.0
    except np.linalg.LinAlgError:
        pd_ok, scaled = False, np.inf
    return Curvature(g, H, free, scaled, pd_ok, n_evals)


def rescaled(c: Curvature, scale: np.ndarray) -> Curvature:
    """The curvature of ``f(x)`` from that of ``g(z) = f(z / scale)`` at ``z = x * scale``.

    Examples
    --------
    >>> c = curvature(lambda z: float(z[0] ** 2), np.array([0.0]), [(None, None)], 0)
    >>> float(rescaled(c, np.array([3.0])).hessian[0, 0])  # f(x) = (3 x)^2
    18.0
    """
    s = np.asarray(scale, dtype=float)
    sf = s[c.free]
    g = c.gradient * s
    H = c.hessian * sf[:, None] * sf[None, :]
    try:
        scaled = float(np.max(np.abs(np.linalg.solve(H, g[c.free])))) if c.free.any() else 0.0
    except np.linalg.LinAlgError:
        scaled = np.inf
    return Curvature(g, H, c.free, scaled, c.positive_definite, c.evaluations)


def hessian_vcov(c: Curvature, n_theta: int) -> np.ndarray | None:
    """Covariance of the fixed effects: ``2 * inv(H)`` (deviance = -2 log-likelihood)."""
    if not c.positive_definite:
        return None
    cov = 2.0 * np.linalg.inv(c.hessian)
    n_free_theta = int(c.free[:n_theta].sum())
    return cov[n_free_theta:, n_free_theta:]
