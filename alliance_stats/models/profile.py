"""Profile-likelihood intervals of the variance parameters (and ICCs) of mixed models.

lme4's ``confint(m, method = "profile")`` profiles every standard deviation on the ML
deviance (also for REML fits): at a trial value of one SD, the deviance is minimised over all
other parameters, and each end of the interval is where it has risen by the chi-squared(1)
quantile above the minimum. Here:

- linear models (any blocks of random terms, correlated or not): every SD, correlation and
  the residual SD, in lme4's parametrisation (``log`` SDs, ``atanh`` correlations,
  ``log sigma``; :class:`BlockParameters`), from our own one-factor or random-intercept
  penalised least squares where they apply (cross-checked), else the engine's.
- binomial and Poisson models with random intercepts (Laplace, or adaptive quadrature with one
  factor): the SD ``theta_k`` with the other SDs and the fixed effects re-optimised by
  bounded L-BFGS-B with the analytic gradient
  (:class:`~alliance_stats.models.laplace.InterceptLaplace`,
  :class:`~alliance_stats.models.quadrature.InterceptQuadrature`);
- jointly with the fixed effects (:func:`joint_glmm_intervals`), binomial and Poisson models
  with random slopes whose random terms share one grouping factor (every SD and correlation,
  on :class:`~alliance_stats.models.one_factor.BlockLaplace`: the engine's PIRLS diverges at
  SDs such a profile visits) and negative binomial models (the SDs with the size held at its
  estimate, as lme4's profile of a ``glmer.nb`` fit holds it). lme4's full profile of the
  two random-slope references, the clinic dropout ``(1 + wai_c | therapist)`` and
  Contraception ``(urban | district)``, stops with "profiling detected new, lower deviance";
  its profile of the variance parameters alone and glmmTMB's are the comparisons.
- the ICC of each factor and the adjusted ICC of all of them (linear and binomial models
  with random intercepts; ``icc()``'s definitions, latent scale for binomial ones), functions
  of the SDs: at a trial ICC the factor's SD follows from the others (the adjusted ICC: the
  SDs' total follows, their shares are free), which are re-optimised with the fixed effects
  (and ``sigma`` profiled out).

Other structures (GLMMs with random slopes on several grouping factors, or with slopes and
quadrature) profile the fixed effects only; :meth:`MixedResult.bootstrap` covers their variance
parameters.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from alliance_stats.models import robust
from alliance_stats.models.engines import theta_cells
from alliance_stats.models.laplace import InterceptLaplace
from alliance_stats.models.lmm import InterceptLMM
from alliance_stats.models.one_factor import BlockLaplace, BlockLMM
from alliance_stats.models.quadrature import InterceptQuadrature


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


def _block_cells(q: int) -> list[tuple[int, int]]:
    """The cells of a ``q``-term block's SD / correlation matrix in lme4's profile order
    (column-major lower triangle: SD 1, its correlations with 2, 3, ..., SD 2, ...)."""
    return [(i, j) for j in range(q) for i in range(j, q)]


class BlockParameters:
    """The random-effect blocks in lme4's profile parameters: per block, in
    :func:`_block_cells` order, ``log`` SDs on the diagonal and ``atanh`` correlations below it
    (an uncorrelated block: its SDs only), and back to the engine's theta (a correlated
    block's Cholesky factor in :func:`~alliance_stats.models.engines.theta_cells` order).

    ``blocks``: per random term in theta order, ``(group, terms, correlated)``.

    Examples
    --------
    >>> bp = BlockParameters([("g", ["(Intercept)", "x"], True)])
    >>> bp.labels
    ['sd_(Intercept)|g', 'cor_(Intercept).x|g', 'sd_x|g']
    >>> theta = np.array([2.0, 0.6, 0.8])  # Cholesky factor [[2, 0], [0.6, 0.8]]
    >>> z = bp.from_theta(theta)
    >>> round(float(np.tanh(z[1])), 4)  # the correlation 0.6 / sqrt(0.6^2 + 0.8^2)
    0.6
    >>> np.round(bp.to_theta(z)[0], 12).tolist()
    [2.0, 0.6, 0.8]
    """

    def __init__(self, blocks) -> None:
        self.layout = [
            (len(terms), correlated and len(terms) > 1) for _, terms, correlated in blocks
        ]
        self.labels, self.kinds = [], []
        for (group, terms, _), (q, corr) in zip(blocks, self.layout):
            cells = _block_cells(q) if corr else [(i, i) for i in range(q)]
            for i, j in cells:
                if i == j:
                    self.labels.append(f"sd_{terms[i]}|{group}")
                    self.kinds.append("sd")
                else:
                    self.labels.append(f"cor_{terms[j]}.{terms[i]}|{group}")
                    self.kinds.append("cor")

    def to_theta(self, z: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, float]:
        """Theta (relative to ``scale``, a linear model's sigma) at profile parameters ``z``,
        and how far the correlations are from positive definite (0 where they are): a block
        that is not is replaced by its nearest one (eigenvalues raised to ``1e-8``, unit
        diagonal), so that an inner minimisation meets a penalty instead of a wall."""
        out, k, violation = [], 0, 0.0
        for q, corr in self.layout:
            if not corr:
                out.append(np.exp(z[k : k + q]) / scale)
                k += q
                continue
            cells = _block_cells(q)
            R = np.eye(q)
            sds = np.empty(q)
            for (i, j), v in zip(cells, z[k : k + len(cells)]):
                if i == j:
                    sds[i] = np.exp(v) / scale
                else:
                    R[i, j] = R[j, i] = np.tanh(v)
            k += len(cells)
            vals, vecs = np.linalg.eigh(R)
            if vals[0] < 1e-8:
                violation += float(np.sum(np.maximum(1e-8 - vals, 0.0)))
                R = (vecs * np.maximum(vals, 1e-8)) @ vecs.T
                d = np.sqrt(np.diag(R))
                R = R / np.outer(d, d)
            L = np.linalg.cholesky(R) * sds[:, None]
            out.append(np.array([L[i, j] for i, j in theta_cells(q)]))
        return np.concatenate(out), violation

    def from_theta(self, theta: np.ndarray, scale: float = 1.0, floor: float = 1e-8):
        """The profile parameters of ``theta`` (SDs below ``floor`` raised to it)."""
        out, k = [], 0
        for q, corr in self.layout:
            if not corr:
                out += list(np.log(np.maximum(np.asarray(theta[k : k + q]) * scale, floor)))
                k += q
                continue
            cells = _block_cells(q)
            L = np.zeros((q, q))
            for (i, j), v in zip(theta_cells(q), theta[k : k + len(cells)]):
                L[i, j] = v
            k += len(cells)
            cov = (L @ L.T) * scale**2
            sds = np.sqrt(np.diag(cov))
            for i, j in cells:
                if i == j:
                    out.append(np.log(max(sds[i], floor)))
                else:
                    rho = cov[i, j] / max(sds[i] * sds[j], 1e-300)
                    out.append(np.arctanh(np.clip(rho, -0.999999, 0.999999)))
        return np.array(out)


#: deviance added per unit of a block's distance from positive definite (:meth:`to_theta`)
_PENALTY = 1e6
#: L-BFGS-B settings of the inner minimisations (finite-difference gradient)
_SMOOTH = {"ftol": 1e-14, "gtol": 1e-9, "eps": 1e-7, "maxiter": 500}


def _profile_rows(
    deviance,
    z0: np.ndarray,
    labels,
    kinds,
    crit: float,
    units=None,
    search: bool = True,
    only=None,
    gradient=None,
) -> list[tuple]:
    """Profile every labelled parameter (the first ``len(labels)`` of ``z``; ``kinds``:
    ``"sd"`` and ``"sigma"`` (``z`` their log), ``"cor"`` (``atanh``) or ``"fixed"`` (``z``
    the value in ``units``, one per label: a standard error, say)) of ``deviance(z)``: the
    optimum from ``z0`` (with ``search``, Nelder-Mead first; then L-BFGS-B), then at each
    trial value the other parameters re-optimised by L-BFGS-B (with ``gradient``,
    ``z -> (deviance, its gradient)``, analytically; else by finite differences). Rows
    ``(label, kind, estimate, low, high)``, of the kinds in ``only`` (None: all)."""
    if search:
        nm = {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000, "maxfev": 8000}
        z0 = optimize.minimize(deviance, z0, method="Nelder-Mead", options=nm).x
    jac = gradient is not None
    found = optimize.minimize(
        gradient if jac else deviance, z0, jac=jac, method="L-BFGS-B", options=_SMOOTH
    )
    z_hat, best = found.x, float(found.fun)

    def profile(j, value_to_z):
        others = [i for i in range(len(z_hat)) if i != j]
        solved = {float(z_hat[j]): z_hat[others]}  # trial value -> the others' optimum

        def at(v):
            zj = value_to_z(v)

            def f(w):
                z = np.empty(len(z_hat))
                z[j], z[others] = zj, w
                if not jac:
                    return deviance(z)
                value, grad = gradient(z)
                return value, grad[others]

            # from the optimum at the nearest trial value so far
            start = solved[min(solved, key=lambda t: abs(t - zj))]
            found = optimize.minimize(f, start, jac=jac, method="L-BFGS-B", options=_SMOOTH)
            if np.isfinite(found.fun):
                solved[float(zj)] = found.x
            return float(found.fun) - best

        return at

    rows = []
    for j, (label, kind) in enumerate(zip(labels, kinds)):
        if only is not None and kind not in only:
            continue
        if kind == "cor":
            est = float(np.tanh(z_hat[j]))
            at = profile(j, lambda v: np.arctanh(np.clip(v, -1 + 1e-9, 1 - 1e-9)))
            low, high = _bounded_interval(at, est, crit, (-1.0, 1.0), 1e-6, 1e-8)
        elif kind == "fixed":
            unit = float(units[j])
            est = float(z_hat[j] * unit)
            at = profile(j, lambda v, unit=unit: v / unit)
            low, high = (_end(at, est, step * unit, crit) for step in (-1.0, 1.0))
        else:
            est = float(np.exp(z_hat[j]))
            at = profile(j, lambda v, est=est: np.log(max(v, 1e-10 * est)))
            low, high = _interval(at, est, crit, zero=kind == "sd")
        rows.append((label, kind, est, low, high))
    return rows


def _end(profile, estimate: float, step: float, crit: float) -> float:
    """The end of an unbounded parameter's interval in the direction of ``step``: bracketed
    by doubling the step from ``estimate`` (an infinite end where 12 doublings do not reach
    ``crit``)."""
    near = estimate
    for _ in range(12):
        far = estimate + step
        if profile(far) >= crit:
            return optimize.brentq(lambda v: profile(v) - crit, *sorted((near, far)), xtol=1e-9)
        near, step = far, step * 2.0
    return float(np.copysign(np.inf, step))


def _deviance_parts(matrices, theta0: np.ndarray):
    """``theta -> (ldL2, pwrss)`` of a linear model from the fastest exact source: our own
    one-factor (:class:`~alliance_stats.models.one_factor.BlockLMM`) or random-intercept
    (:class:`~alliance_stats.models.lmm.InterceptLMM`) computation where it applies and agrees
    with the engine's at ``theta0``, else the engine's penalised least squares."""
    from alliance_stats.models.engines import lmm_deviance_parts

    def engine(theta):
        return lmm_deviance_parts(theta, matrices)

    reference = engine(theta0)
    for own in (BlockLMM.from_mixedlm(matrices), InterceptLMM.from_mixedlm(matrices, False)):
        if own is not None and np.allclose(own.deviance_parts(theta0), reference, rtol=1e-9):
            return own.deviance_parts
    return engine


def _linear_blocks(matrices, blocks, theta0: np.ndarray, crit: float) -> list[tuple]:
    """Every SD, correlation and the residual SD of a linear model profiled on the ML
    deviance, parametrised as lme4's profile is (``log`` SDs, ``atanh`` correlations,
    ``log sigma``; :class:`BlockParameters`)."""
    n = matrices.n_obs
    bp = BlockParameters(blocks)
    parts = _deviance_parts(matrices, theta0)

    def deviance(z) -> float:
        sigma = np.exp(z[0])
        theta, violation = bp.to_theta(z[1:], sigma)
        try:
            ld, pwrss = parts(theta)
        except (ValueError, np.linalg.LinAlgError):
            return np.inf
        return ld + n * np.log(2 * np.pi * sigma**2) + pwrss / sigma**2 + _PENALTY * violation

    # the ML optimum, from the fit's theta (a REML fit's is close), in these parameters
    sigma0 = np.sqrt(parts(theta0)[1] / n)
    z0 = np.r_[np.log(sigma0), bp.from_theta(theta0, sigma0)]
    rows = _profile_rows(deviance, z0, ["sigma", *bp.labels], ["sigma", *bp.kinds], crit)
    return rows[1:] + rows[:1]  # lme4's order: the blocks' SDs and correlations, then sigma


def joint_glmm(family: str, nagq: int, blocks) -> bool:
    """Whether a model's fixed effects and variance parameters are profiled together on our
    own deviance (:func:`joint_glmm_intervals`): a negative binomial model (the engine's
    profile fails on them), or a binomial or Poisson one (Laplace) with random slopes."""
    if family == "negative_binomial":
        return True
    slopes = any(len(terms) > 1 for _, terms, _ in blocks)
    return family in ("binomial", "poisson") and nagq == 1 and slopes


def _own_laplace(raw, link, blocks):
    """Our own Laplace deviance of a GLMM (``link``: a link name or a
    :class:`~alliance_stats.models.laplace.NegativeBinomial`): random slopes on one grouping
    factor :class:`~alliance_stats.models.one_factor.BlockLaplace`, random intercepts
    :class:`~alliance_stats.models.laplace.InterceptLaplace`; ``None`` where neither applies
    or it disagrees with the engine's deviance at the optimum."""
    from alliance_stats.models.engines import glmm_deviance

    slopes = any(len(terms) > 1 for _, terms, _ in blocks)
    kind = BlockLaplace if slopes else InterceptLaplace
    own = kind.from_mixedlm(raw.matrices, link)
    if own is None:
        return None
    x = np.r_[np.asarray(raw.theta, dtype=float), np.asarray(raw.beta, dtype=float)]
    engine = glmm_deviance(raw.matrices, raw.family)(x)
    return own if abs(own(x) - engine) < 1e-6 else None


def joint_glmm_intervals(
    raw,
    link,
    blocks,
    fixed_names: list[str],
    se: np.ndarray,
    conf_level: float,
    variances: bool = True,
) -> list[tuple] | None:
    """Profile intervals of a model for :func:`joint_glmm` (``link``: ``"log"`` for Poisson,
    a :class:`~alliance_stats.models.laplace.NegativeBinomial` of the fitted size): every
    fixed effect (kind ``"fixed"``, named by ``fixed_names``, the engine's order) and, with
    ``variances``, every SD and correlation (lme4's parameters, :class:`BlockParameters`),
    profiled on our Laplace deviance (:func:`_own_laplace`) with the others re-optimised by
    L-BFGS-B with its analytic gradient (the fixed effects in units of their standard errors
    ``se``; a negative binomial size held at its estimate, as lme4's profile of a
    ``glmer.nb`` fit holds it). Rows ``(term, kind, estimate, conf_low, conf_high)``, the
    variance parameters first; ``None`` where no deviance of ours applies."""
    own = _own_laplace(raw, link, blocks)
    if own is None:
        return None
    theta, beta = np.asarray(raw.theta, dtype=float), np.asarray(raw.beta, dtype=float)
    crit = float(stats.chi2.ppf(conf_level, 1))
    bp = BlockParameters(blocks)
    n_block = len(bp.labels)
    se = np.asarray(se, dtype=float)

    def deviance(z) -> float:
        theta, violation = bp.to_theta(z[:n_block])
        return own(np.r_[theta, z[n_block:] * se]) + _PENALTY * violation

    def gradient(z) -> tuple[float, np.ndarray]:
        theta, violation = bp.to_theta(z[:n_block])
        value, grad = own.value_and_gradient(np.r_[theta, z[n_block:] * se])
        if not np.isfinite(value):
            return np.inf, np.zeros(len(z))
        # the block parameters' chain rule through to_theta (cheap: central differences)
        out = np.empty(len(z))
        for k in range(n_block):
            e = np.zeros(n_block)
            e[k] = 1e-6
            (tp, vp), (tm, vm) = bp.to_theta(z[:n_block] + e), bp.to_theta(z[:n_block] - e)
            dtheta = (tp - tm) / 2e-6
            out[k] = grad[: len(theta)] @ dtheta + _PENALTY * (vp - vm) / 2e-6
        out[n_block:] = grad[len(theta) :] * se
        return value + _PENALTY * violation, out

    z0 = np.r_[bp.from_theta(theta), beta / se]
    labels = [*bp.labels, *fixed_names]
    kinds = [*bp.kinds, *["fixed"] * len(fixed_names)]
    units = np.r_[np.ones(n_block), se]
    only = None if variances else {"fixed"}
    with np.errstate(all="ignore"):
        return _profile_rows(
            deviance, z0, labels, kinds, crit, units, search=False, only=only, gradient=gradient
        )


def _glmm(matrices, link: str, labels, x_hat: np.ndarray, crit: float, nagq: int) -> list:
    """SDs and ICCs of a binomial or Poisson model with random intercepts, on our Laplace
    deviance (``nagq`` 1) or adaptive quadrature (one factor)."""
    laplace = InterceptLaplace.from_mixedlm(matrices, link)
    if laplace is None or (nagq > 1 and laplace.n_theta != 1):
        return []
    own = laplace if nagq == 1 else InterceptQuadrature(laplace, nagq)
    K = own.n_theta
    best = own(x_hat)
    scale = laplace.parameter_scale(x_hat)
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
    fg = robust.safe_gradient(fg)  # far out (an ICC near 1) the mode may not be found

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


def _adjusted_icc_profile(fg, x_hat: np.ndarray, K: int, resid: float, best: float):
    """The profile of the adjusted ICC ``sum theta^2 / (sum theta^2 + resid)`` of ``K >= 2``
    factors: at a trial value ``c`` the variances' total is ``c resid / (1 - c)`` and their
    shares ``softmax(a)`` (``a_K = 0``) are re-optimised with the fixed effects (L-BFGS-B, the
    analytic gradient through the chain rule)."""
    fg = robust.safe_gradient(fg)  # far out (an ICC near 1) the mode may not be found
    floor = np.log(1e-12)
    a_hat = np.maximum(np.log(np.maximum(x_hat[:K] ** 2, 1e-300)), floor)
    start = np.r_[a_hat[: K - 1] - a_hat[K - 1], x_hat[K:]]

    def at(c: float) -> float:
        total = c * resid / (1.0 - c)

        def f(z):
            a = np.r_[z[: K - 1], 0.0]
            share = np.exp(a - a.max())
            share /= share.sum()
            theta = np.sqrt(total * share)
            value, grad = fg(np.r_[theta, z[K - 1 :]])
            if not np.isfinite(value):
                return np.inf, np.zeros(len(z))
            half = 0.5 * theta * grad[:K]  # d/da_m theta_k = theta_k (delta_km - share_m) / 2
            g_a = half - share * half.sum()
            return value, np.r_[g_a[: K - 1], grad[K:]]

        found = optimize.minimize(
            f,
            start,
            jac=True,
            method="L-BFGS-B",
            options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 1000},
        )
        return float(found.fun) - best if np.isfinite(found.fun) else np.inf

    return at


def _bounded_interval(at, est, crit, bounds, edge, xtol) -> tuple[float, float]:
    """The ends in ``bounds`` (a correlation's -1..1, a proportion's 0..1) where the profile
    ``at`` reaches ``crit``: the bound itself where it stays below ``crit`` up to ``edge``
    from it."""
    lo, hi = bounds[0] + edge, bounds[1] - edge
    low = (
        bounds[0] if at(lo) < crit else optimize.brentq(lambda v: at(v) - crit, lo, est, xtol=xtol)
    )
    high = (
        bounds[1] if at(hi) < crit else optimize.brentq(lambda v: at(v) - crit, est, hi, xtol=xtol)
    )
    return low, high


def icc_rows(fg, x_hat, K, resid, best, labels, crit) -> list[tuple]:
    """ICC intervals of every factor and the adjusted ICC (all factors' variances; with one
    factor the same number), ends in (0, 1)."""
    rows = []
    theta2 = x_hat[:K] ** 2
    for k in range(K):
        est = float(theta2[k] / (theta2.sum() + resid))
        at = _icc_profile(fg, x_hat, K, k, resid, best)
        group = labels[k].split("|", 1)[1]
        rows.append(
            (f"icc|{group}", "icc", est, *_bounded_interval(at, est, crit, (0.0, 1.0), 1e-9, 1e-10))
        )
    if K == 1:
        rows.append(("icc|adjusted", "icc", *rows[0][2:]))
    else:
        est = float(theta2.sum() / (theta2.sum() + resid))
        at = _adjusted_icc_profile(fg, x_hat, K, resid, best)
        rows.append(
            ("icc|adjusted", "icc", est, *_bounded_interval(at, est, crit, (0.0, 1.0), 1e-9, 1e-10))
        )
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
        rows = _linear_blocks(m, blocks, np.asarray(raw.theta, dtype=float), crit)
        return rows + (_linear_iccs(m, labels, crit) if intercepts else [])
    if family in ("binomial", "poisson") and intercepts:
        x_hat = np.r_[np.asarray(raw.theta, dtype=float), np.asarray(raw.beta, dtype=float)]
        return _glmm(m, "log" if family == "poisson" else link, labels, x_hat, crit, nagq)
    return []
