"""Profile-likelihood intervals of the variance parameters (and ICCs) of mixed models.

lme4's ``confint(m, method = "profile")`` profiles every standard deviation on the ML
deviance (also for REML fits): at a trial value of one SD, the deviance is minimised over all
other parameters, and each end of the interval is where it has risen by the chi-squared(1)
quantile above the minimum. Here:

- linear models (random terms of one or two terms, correlated or not): every SD,
  correlation and the residual SD, in lme4's parametrisation (``log`` SDs, ``atanh``
  correlations, ``log sigma``), from the engine's penalised least squares.
- binomial and Poisson models with random intercepts (Laplace): the SD ``theta_k`` with the
  other SDs and the fixed effects re-optimised by bounded L-BFGS-B with the analytic gradient
  (:class:`~alliance_stats.models.laplace.InterceptLaplace`);
- the ICC of each factor (linear and binomial models; ``icc()``'s definition, latent scale
  for binomial ones), a function of the SDs: at a trial ICC the factor's SD follows from the
  others, which are re-optimised with the fixed effects (and ``sigma`` profiled out).

Other structures (blocks of three or more correlated terms, GLMMs with random slopes, adaptive
quadrature, the negative binomial) return no rows; :meth:`MixedResult.bootstrap` covers them.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from alliance_stats.models import robust
from alliance_stats.models.laplace import InterceptLaplace
from alliance_stats.models.lmm import InterceptLMM


def _interval(profile, estimate: float, crit: float, zero: bool = True) -> tuple[float, float]:
    """The ends where ``profile(s)`` (0 at ``estimate``) reaches ``crit``. With ``zero`` (a
    random-effect SD) the lower end is 0 where the profile stays below ``crit`` down to a zero
    SD; otherwise (the residual SD) it is bracketed by halving."""
    if zero and (estimate <= 0 or profile(0.0) < crit):
        low = 0.0
    else:
        bottom = 0.0 if zero else estimate / 2
        while not zero and profile(bottom) < crit and bottom > 1e-8 * estimate:
            bottom /= 2
        low = optimize.brentq(lambda s: profile(s) - crit, bottom, estimate, xtol=1e-9)
    top = max(estimate, 1e-3) * 2.0
    for _ in range(12):
        if profile(top) >= crit:
            break
        top *= 2.0
    else:
        return low, np.inf
    high = optimize.brentq(lambda s: profile(s) - crit, max(estimate, 1e-12), top, xtol=1e-9)
    return low, high


def _linear_iccs(matrices, labels: list[str], crit: float) -> list[tuple]:
    """ICC intervals of a linear model with random intercepts only: functions of theta alone,
    profiled over sigma (the profiled ML deviance of
    :class:`~alliance_stats.models.lmm.InterceptLMM`)."""
    lmm = InterceptLMM.from_mixedlm(matrices, REML=False)
    if lmm is None:
        return []
    theta = lmm.fit().theta
    return icc_rows(lmm.value_and_gradient, theta, lmm.n_theta, 1.0, lmm(theta), labels, crit)


def _block_theta(sds: np.ndarray, rho: float | None) -> np.ndarray:
    """The relative Cholesky parameters of one block (lme4's column-major lower triangle)
    from relative SDs and, for two correlated terms, their correlation."""
    if rho is None:
        return sds
    a, b = sds
    return np.array([a, b * rho, b * np.sqrt(max(1.0 - rho**2, 0.0))])


def _linear_blocks(matrices, blocks, theta0: np.ndarray, crit: float) -> list[tuple]:
    """Random slopes (blocks of one or two terms, correlated or not): every SD, correlation
    and the residual SD profiled on the ML deviance, parametrised as lme4's profile is
    (``log`` SDs, ``atanh`` correlations, ``log sigma``), the others re-optimised by
    L-BFGS-B (finite-difference gradient) at each trial value."""
    from alliance_stats.models.engines import lmm_deviance_parts

    n = matrices.n_obs
    layout = []  # per block: (n_terms, correlated and two terms)
    for _, terms, correlated in blocks:
        layout.append((len(terms), correlated and len(terms) == 2))

    def theta_of(z):
        sigma = np.exp(z[0])
        out, k = [], 1
        for q, corr in layout:
            sds = np.exp(z[k : k + q]) / sigma
            k += q
            rho = None
            if corr:
                rho = float(np.tanh(z[k]))
                k += 1
            out.append(_block_theta(sds, rho))
        return np.concatenate(out), sigma

    def deviance(z) -> float:
        theta, sigma = theta_of(z)
        try:
            ld, pwrss = lmm_deviance_parts(theta, matrices)
        except (ValueError, np.linalg.LinAlgError):
            return np.inf
        return ld + n * np.log(2 * np.pi * sigma**2) + pwrss / sigma**2

    # the ML optimum, from the fit's theta (a REML fit's is close), in these parameters
    ld, pwrss = lmm_deviance_parts(theta0, matrices)
    sigma0 = np.sqrt(pwrss / n)
    z0, k = [np.log(sigma0)], 0
    labels, kinds = ["sigma"], ["sigma"]
    order: list[list[int]] = []  # lme4's order: per term SD1, correlation, SD2
    for (group, terms, _), (q, corr) in zip(blocks, layout):
        width = q * (q + 1) // 2 if corr else q
        block = theta0[k : k + width]
        k += width
        if corr:
            L = np.array([[block[0], 0.0], [block[1], block[2]]])
            cov = L @ L.T
            sds = np.sqrt(np.diag(cov))
            rho = cov[1, 0] / max(sds[0] * sds[1], 1e-300)
        else:
            sds, rho = block, None
        z0 += list(np.log(np.maximum(sds * sigma0, 1e-8)))
        labels += [f"sd_{t}|{group}" for t in terms]
        kinds += ["sd"] * q
        if corr:
            z0.append(np.arctanh(np.clip(rho, -0.999999, 0.999999)))
            labels.append(f"cor_{terms[0]}.{terms[1]}|{group}")
            kinds.append("cor")
            order.append([len(labels) - 3, len(labels) - 1, len(labels) - 2])
        else:
            order.append(list(range(len(labels) - q, len(labels))))
    nm = {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000, "maxfev": 8000}
    smooth = {"ftol": 1e-14, "gtol": 1e-9, "eps": 1e-7, "maxiter": 500}
    found = optimize.minimize(deviance, np.array(z0), method="Nelder-Mead", options=nm)
    found = optimize.minimize(deviance, found.x, method="L-BFGS-B", options=smooth)
    z_hat, best = found.x, float(found.fun)

    def profile(j, value_to_z):
        others = [i for i in range(len(z_hat)) if i != j]

        def at(v):
            zj = value_to_z(v)

            def f(w):
                z = np.empty(len(z_hat))
                z[j], z[others] = zj, w
                return deviance(z)

            found = optimize.minimize(f, z_hat[others], method="L-BFGS-B", options=smooth)
            return float(found.fun) - best

        return at

    rows = []
    for j, (label, kind) in enumerate(zip(labels, kinds)):
        if kind == "cor":
            est = float(np.tanh(z_hat[j]))
            at = profile(j, lambda v: np.arctanh(np.clip(v, -1 + 1e-9, 1 - 1e-9)))
            edge = 1 - 1e-6
            low = (
                -1.0
                if at(-edge) < crit
                else optimize.brentq(lambda v, at=at: at(v) - crit, -edge, est, xtol=1e-8)
            )
            high = (
                1.0
                if at(edge) < crit
                else optimize.brentq(lambda v, at=at: at(v) - crit, est, edge, xtol=1e-8)
            )
        else:
            est = float(np.exp(z_hat[j]))
            at = profile(j, lambda v, est=est: np.log(max(v, 1e-10 * est)))
            low, high = _interval(at, est, crit, zero=kind == "sd")
        rows.append((label, kind, est, low, high))
    # lme4's order: each term's SD, correlation, SD, then sigma
    return [rows[i] for block in order for i in block] + rows[:1]


def _glmm(matrices, link: str, labels: list[str], x_hat: np.ndarray, crit: float) -> list:
    own = InterceptLaplace.from_mixedlm(matrices, link)
    if own is None:
        return []
    K = own.n_theta
    best = own(x_hat)
    scale = own.parameter_scale(x_hat)
    if scale is None or not np.isfinite(best):
        return []
    fg = robust.gradient_in_scaled(own.value_and_gradient, scale)

    def sd_profile(k):
        def at(s):
            bounds = [(0.0, None)] * K + [(None, None)] * (len(x_hat) - K)
            bounds[k] = (s * scale[k], s * scale[k])
            z0 = x_hat * scale
            z0[k] = s * scale[k]
            found = optimize.minimize(
                fg,
                z0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 500},
            )
            return float(found.fun) - best

        return at

    rows = [
        (labels[k], "sd", float(x_hat[k]), *_interval(sd_profile(k), float(x_hat[k]), crit))
        for k in range(K)
    ]
    if link == "log":  # (no ICC for counts without a choice of the mean)
        return rows
    resid = np.pi**2 / (6.0 if link == "cloglog" else 3.0)
    return rows + icc_rows(own.value_and_gradient, x_hat, K, resid, best, labels, crit)


def _icc_profile(fg, x_hat: np.ndarray, K: int, k: int, resid: float, best: float):
    """The profile of the ICC of factor ``k``, ``theta_k^2 / (sum theta^2 + resid)``: at a
    trial ICC ``c``, ``theta_k`` follows from the other SDs and the deviance is minimised over
    them and the fixed effects (L-BFGS-B, the analytic gradient through the chain rule)."""
    free = [i for i in range(len(x_hat)) if i != k]
    bounds = [(0.0, None) if i < K else (None, None) for i in free]

    def at(c: float) -> float:
        def f(z):
            x = np.empty(len(x_hat))
            x[free] = z
            others = float(np.sum(np.delete(x[:K], k) ** 2))
            x[k] = np.sqrt(c * (others + resid) / (1.0 - c))
            value, grad = fg(x)
            gz = grad[free].copy()
            for j, i in enumerate(free):
                if i < K and x[k] > 0:
                    gz[j] += grad[k] * c * x[i] / ((1.0 - c) * x[k])
            return value, gz

        if not free:  # one SD, nothing else to re-optimise (a linear model's profiled sigma)
            value = f(np.empty(0))[0]
            return float(value) - best if np.isfinite(value) else np.inf
        found = optimize.minimize(
            f,
            x_hat[free],
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 1000},
        )
        return float(found.fun) - best if np.isfinite(found.fun) else np.inf

    return at


def icc_rows(fg, x_hat, K, resid, best, labels, crit) -> list[tuple]:
    """ICC intervals of every factor (and the adjusted ICC where there is one factor: the
    same number), ends in (0, 1)."""
    rows = []
    theta2 = x_hat[:K] ** 2
    for k in range(K):
        est = float(theta2[k] / (theta2.sum() + resid))
        at = _icc_profile(fg, x_hat, K, k, resid, best)
        edge = 1e-9
        low = (
            0.0
            if at(edge) < crit
            else optimize.brentq(lambda c, at=at: at(c) - crit, edge, est, xtol=1e-10)
        )
        high = (
            1.0
            if at(1 - edge) < crit
            else optimize.brentq(lambda c, at=at: at(c) - crit, est, 1 - edge, xtol=1e-10)
        )
        group = labels[k].split("|", 1)[1]
        rows.append((f"icc|{group}", "icc", est, low, high))
    if K == 1:
        rows.append(("icc|adjusted", "icc", *rows[0][2:]))
    return rows


def variance_intervals(raw, family: str, link: str, nagq: int, blocks, conf_level: float):
    """Rows ``(parameter, kind, estimate, conf_low, conf_high)`` for the SDs, correlations,
    residual SD and ICCs that are profiled for this structure (``blocks``: per random term in
    theta order, ``(group, terms, correlated)``); empty where none is."""
    with np.errstate(all="ignore"):  # trial points far out give inf deviances, not warnings
        return _variance_intervals(raw, family, link, nagq, blocks, conf_level)


def _variance_intervals(raw, family, link, nagq, blocks, conf_level):
    crit = float(stats.chi2.ppf(conf_level, 1))
    m = raw.matrices
    labels = [f"sd_{terms[0]}|{group}" for group, terms, _ in blocks]
    intercepts = all(s.n_terms == 1 for s in m.random_structures)
    if family == "gaussian":
        if not all(len(t) <= 2 or not c for _, t, c in blocks):
            return []
        rows = _linear_blocks(m, blocks, np.asarray(raw.theta, dtype=float), crit)
        return rows + (_linear_iccs(m, labels, crit) if intercepts else [])
    if not intercepts:
        return []
    if family in ("binomial", "poisson") and nagq == 1:
        x_hat = np.r_[np.asarray(raw.theta, dtype=float), np.asarray(raw.beta, dtype=float)]
        return _glmm(m, "log" if family == "poisson" else link, labels, x_hat, crit)
    return []
