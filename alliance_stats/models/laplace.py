"""Our own Laplace deviance for binomial models (logit or cloglog) with scalar random intercepts.

Used by :mod:`alliance_stats.models.fit` as the objective when the engine's cannot be
evaluated where the optimum lies. Known case (mixedlm 1.3.0): in discrete-time dropout
(person-period) models with at most one event per client, the client SD at the optimum can
be 5 or more on the logit scale; mixedlm's native PIRLS diverges beyond a client SD of about
3 (the conditional modes run off to |b| of several hundred; mixedlm's pure-Python PIRLS,
which halves steps on the penalised deviance, finds the mode at the same parameters, so the
native solver's step control is the likely cause) and its deviance is then infinite, an
artificial wall the optimizer stops at.

The deviance is lme4's Laplace approximation for ``nAGQ = 1`` as a function of
``(theta, beta)`` (lme4's stage-2 parameters; ``theta`` = the random-intercept SDs, as
there is no residual scale in a GLMM)::

    -2 log L(theta, beta) = sum_i d_i(y_i, mu_i) + |u|^2 + log det(L L')
    L L' = Lambda' Z' W Z Lambda + I,   Lambda = diag(theta_k for each level of factor k)

at the conditional mode ``u`` of the penalised deviance ``sum d_i + |u|^2`` (``d_i`` the
binomial deviance residuals, ``W = w mu'^2 / (mu (1 - mu))`` the working weights, ``mu (1 - mu)``
for the logit link), found by Fisher scoring (PIRLS; Newton's method for the canonical logit
link) with step-halving on the penalised deviance, which is strictly convex in ``u`` for both
links (their log-likelihoods are concave in the linear predictor), so the mode is always
reached. The sparse system is solved by :mod:`alliance_stats.models.intercepts` (the factor
with the most levels eliminated first, a dense Cholesky factor of the Schur complement over
the other factors' levels, e.g. therapists). :meth:`InterceptLaplace.value_and_gradient` gives
the deviance's gradient analytically, so that the optimiser needs no finite differences.

It agrees with mixedlm's deviance where both are finite (to about 1e-9; checked in
tests/unit/test_models.py).

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 0, 0, 1, 1, 0, 0.0])
>>> X = np.ones((8, 1))
>>> g = [np.array([0, 0, 1, 1, 2, 2, 3, 3])]
>>> obj = InterceptLaplace(y, X, g)
>>> bool(abs(obj(np.array([0.0, 0.0])) - 16 * np.log(2)) < 1e-9)  # theta = 0: a plain GLM
True
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
from scipy import sparse, special

from alliance_stats.models.intercepts import InterceptSystem, intercept_groups
from alliance_stats.models.robust import numerical_gradient

#: Log odds ratios beyond this are separation, not data: a bias-reduced fit does not start there
SEPARATED = 10.0
#: Largest Newton step of the bias-reduced fit in any fixed effect (log-odds units)
MAX_STEP = 3.0


def _expit(eta: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-eta))`` through ``tanh`` (half the time of ``scipy.special.expit``;
    absolute error below 1e-16, no overflow)."""
    return 0.5 * np.tanh(0.5 * eta) + 0.5


def _log_expit(eta: np.ndarray) -> np.ndarray:
    """``log(1 / (1 + exp(-eta)))``, stable (about 4x faster than ``-logaddexp(0, -eta)``)."""
    return np.minimum(eta, 0.0) - np.log1p(np.exp(-np.abs(eta)))


#: Links of binomial models, and all links of :class:`InterceptLaplace` (``"log"``: Poisson;
#: a :class:`NegativeBinomial` for the negative binomial family)
BINOMIAL_LINKS = ("logit", "cloglog")
LINKS = (*BINOMIAL_LINKS, "log")
#: canonical links: the observed information equals the working weights
CANONICAL = ("logit", "log")


@dataclass(frozen=True)
class NegativeBinomial:
    """The negative binomial family's log link with a fixed ``size`` (lme4's and MASS's
    ``theta``; variance ``mu + mu^2 / size``), passed where the other families pass a link
    name. The log link is not canonical here: Newton steps use the observed information.

    Examples
    --------
    >>> mu, factor, weight = working_parts(np.array([0.0]), NegativeBinomial(2.0))
    >>> float(mu[0]), round(float(factor[0]), 4), round(float(weight[0]), 4)
    (1.0, 0.6667, 0.6667)
    """

    size: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.size) and self.size > 0):
            raise ValueError(f"size must be positive and finite, got {self.size!r}")


def _is_negbin(link) -> bool:
    return isinstance(link, NegativeBinomial)


def count_log_likelihood(y: np.ndarray, eta: np.ndarray, w: np.ndarray, link) -> float:
    """The full log-likelihood of counts (Poisson for ``"log"``, else negative binomial),
    constants included (what lme4's ``logLik`` sums, through the family's ``aic``)."""
    if link == "log":
        return float(
            np.sum(w * (y * eta - np.exp(np.minimum(eta, 700.0)) - special.gammaln(y + 1)))
        )
    k = link.size
    log_mk = np.logaddexp(eta, np.log(k))  # log(mu + k)
    ll = (
        special.gammaln(y + k)
        - special.gammaln(k)
        - special.gammaln(y + 1)
        + k * (np.log(k) - log_mk)
        + y * (eta - log_mk)
    )
    return float(np.sum(w * ll))


def _log_means(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """``log mu`` and ``log(1 - mu)``, stable for large ``|eta|``."""
    if link == "logit":
        return _log_expit(eta), _log_expit(-eta)
    e = np.exp(np.minimum(eta, 700.0))
    return np.log(-np.expm1(-e)), -e


def working_parts(eta: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``mu``, the score factor ``mu' / V(mu)`` (the log-likelihood's derivative in ``eta`` is
    ``w (y - mu)`` times it) and the working weight ``mu'^2 / V(mu)``; ``V(mu) = mu (1 - mu)``
    (binomial) or ``mu`` (Poisson, ``link="log"``)."""
    if _is_negbin(link):
        mu = np.exp(np.minimum(eta, 700.0))
        factor = link.size / (mu + link.size)
        return mu, factor, mu * factor
    if link == "log":
        mu = np.exp(np.minimum(eta, 700.0))
        return mu, np.ones_like(mu), mu
    if link == "logit":
        mu = _expit(eta)
        return mu, np.ones_like(mu), mu * (1 - mu)
    e = np.exp(np.minimum(eta, 700.0))
    mu = -np.expm1(-e)
    factor = np.where(mu > 0, e / np.where(mu > 0, mu, 1.0), 1.0)  # e / mu -> 1 as eta -> -inf
    return mu, factor, factor * e * np.exp(-e)


def weight_slope(eta, link, mu, factor, weight) -> np.ndarray:
    """Derivative of the working weight ``mu'^2 / V(mu)`` in ``eta``."""
    if _is_negbin(link):  # d/deta k mu / (mu + k) = k^2 mu / (mu + k)^2
        return weight * factor
    if link == "log":
        return weight
    if link == "logit":
        return weight * (1.0 - 2.0 * mu)
    e = np.exp(np.minimum(eta, 700.0))
    return weight * (2.0 - e - (1.0 - mu) * factor)


def observed_weights(y, eta, mu, factor, link="cloglog") -> np.ndarray:
    """``-d/deta`` of the score ``(y - mu) mu' / V(mu)`` (the observed information per row)
    for the non-canonical links: cloglog, and the negative binomial's log link
    (``(y + k) k mu / (mu + k)^2``); the canonical links' equals their working weight."""
    if _is_negbin(link):
        return (y + link.size) * factor * mu / (mu + link.size)
    e = np.exp(np.minimum(eta, 700.0))
    return (1.0 - y) * e + y * (1.0 - mu) * factor * (factor - 1.0)


def deviance(y: np.ndarray, eta: np.ndarray, w: np.ndarray, link: str = "logit") -> float:
    """Sum of the deviance residuals (binomial, or Poisson for ``link="log"``), stable for
    large ``|eta|``."""
    if link == "logit" and _is_binary(y):
        # y log mu + (1 - y) log(1 - mu) = log expit(+-eta) for a 0/1 outcome (one log each)
        return float(-2.0 * np.dot(w, _log_expit(np.where(y > 0.5, 1.0, -1.0) * eta)))
    return float(np.sum(deviance_residuals(y, eta, w, link)))


def deviance_residuals(y: np.ndarray, eta: np.ndarray, w: np.ndarray, link: str) -> np.ndarray:
    """Deviance residuals (squared) elementwise, binomial or Poisson (``link="log"``), stable
    for large ``|eta|``; ``y``, ``eta`` and ``w`` broadcast (rows x quadrature points)."""
    if _is_negbin(link):
        k = link.size
        log_mk = np.logaddexp(eta, np.log(k))  # log(mu + k), stable
        return 2.0 * w * (special.xlogy(y, y) - y * eta - (y + k) * (np.log(y + k) - log_mk))
    if link == "log":
        return 2.0 * w * (special.xlogy(y, y) - y * eta - y + np.exp(np.minimum(eta, 700.0)))
    log_mu, log_1mu = _log_means(eta, link)
    sat = special.xlogy(y, y) + special.xlogy(1 - y, 1 - y)
    return 2.0 * w * (sat - y * log_mu - (1 - y) * log_1mu)


def halving_step(pen, u: np.ndarray, step: np.ndarray, f: float):
    """A Newton step of the penalised deviance ``pen(u) -> (value, eta)`` from ``u`` (value
    ``f``), halved until the value does not rise: ``(u_new, value, eta)``, or ``None`` when
    60 halvings do not get there.

    Examples
    --------
    >>> pen = lambda u: (float(np.sum((u - 1.0) ** 2)), u)
    >>> halving_step(pen, np.zeros(2), np.full(2, 4.0), 2.0)[0].tolist()  # 4 overshoots: 2
    [2.0, 2.0]
    """
    t = 1.0
    for _ in range(60):
        fn, eta = pen(u + t * step)
        if np.isfinite(fn) and fn <= f + 1e-14 * (1 + abs(f)):
            return u + t * step, fn, eta
        t *= 0.5
    return None


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.all((y == 0.0) | (y == 1.0)))


class InterceptLaplace:
    """Laplace deviance of a binomial model with random intercepts ``(1 | g_1) + ...``.

    Parameters
    ----------
    y, X, weights, offset : arrays
        Response in [0, 1], fixed-effects design, prior weights, offset.
    groups : list of int arrays
        For each random-intercept factor, in ``theta`` order, the level index of every row.
    link : {"logit", "cloglog"}

    Calling the object with ``x = (theta, beta)`` returns the deviance (``inf`` only if the
    mode cannot be found). The last conditional mode is reused as the next start.
    """

    def __init__(
        self,
        y: np.ndarray,
        X: np.ndarray,
        groups: list[np.ndarray],
        weights: np.ndarray | None = None,
        offset: np.ndarray | None = None,
        tol: float = 1e-10,
        maxiter: int = 200,
        link: str = "logit",
    ) -> None:
        if link not in LINKS and not _is_negbin(link):
            raise ValueError(f"link must be one of {LINKS}, got {link!r}")
        self.link = link
        self.y = np.asarray(y, dtype=float)
        # a 0/1 outcome with the logit link: deviance = -2 sum w log expit(sign * eta)
        self._sign = (
            np.where(self.y > 0.5, 1.0, -1.0) if link == "logit" and _is_binary(self.y) else None
        )
        self.X = np.asarray(X, dtype=float)
        n = len(self.y)
        self.w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        self.offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
        self.system = InterceptSystem(groups)
        self.groups = self.system.groups
        self.n_levels = self.system.n_levels
        self.n_theta = self.system.n_factors
        self.q = self.system.q
        self.tol, self.maxiter = tol, maxiter
        self.u = np.zeros(self.q)
        self.last_iterations = 0
        #: the last mode found: (x, u, eta, working parts, factor of A there)
        self._mode = None
        self._last_gradient = None

    @functools.cached_property
    def Z(self) -> sparse.csr_matrix:
        """The random effects' indicator matrix (built when first needed)."""
        n = len(self.y)
        cols = np.concatenate([self.system.starts[k] + g for k, g in enumerate(self.groups)])
        rows = np.tile(np.arange(n), self.n_theta)
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, self.q))

    @functools.cached_property
    def Zt(self) -> sparse.csr_matrix:
        """``Z'`` in row-compressed form."""
        return self.Z.T.tocsr()

    @classmethod
    def from_mixedlm(cls, matrices, link: str = "logit") -> InterceptLaplace | None:
        """Build from mixedlm's model matrices; ``None`` unless every random term is a scalar
        intercept ``(1 | g)`` (indicator columns)."""
        structs = matrices.random_structures
        if not structs or any(s.n_terms != 1 for s in structs):
            return None
        groups = intercept_groups(matrices.Z, [s.n_levels for s in structs])
        if groups is None:
            return None
        y = np.asarray(matrices.y, dtype=float)
        if link in BINOMIAL_LINKS and np.any((y < 0) | (y > 1)):
            return None
        try:
            return cls(y, matrices.X, groups, matrices.weights, matrices.offset, link=link)
        except ValueError:
            return None

    def with_link(self, link) -> InterceptLaplace:
        """The same model with another link (a negative binomial size, say), sharing the
        data and the factored structure; the last conditional mode is its first start."""
        other = copy.copy(self)
        other.link = link
        other._sign = None
        other.u = self.u.copy()
        other._mode = other._last_gradient = None
        return other

    def _products(self, theta: np.ndarray, lam: np.ndarray):
        """Functions ``u -> Z Lambda u`` and ``v -> Lambda Z' v`` (vectors, by indexing)."""
        system = self.system
        return (lambda u: system.z_times(theta, u)), (lambda v: system.zt_times(theta, v))

    # ------------------------------------------------------------------ deviance
    def _deviance(self, eta: np.ndarray) -> float:
        if self._sign is not None:
            return float(-2.0 * np.dot(self.w, _log_expit(self._sign * eta)))
        return deviance(self.y, eta, self.w, self.link)

    def evaluate(self, x: np.ndarray, u0: np.ndarray | None = None):
        """Return ``(deviance, u, converged)`` at ``x = (theta, beta)``."""
        x = np.asarray(x, dtype=float)
        if u0 is None and self._mode is not None and np.array_equal(x, self._mode[0]):
            # the mode at this very point was found last (optimum checks, random effects and
            # curvature all start from the optimum)
            return self._mode[5], self._mode[1], True
        theta, beta = x[: self.n_theta], x[self.n_theta :]
        lam = self.system.lambdas(theta)
        z_times, zt_times = self._products(theta, lam)
        eta0 = self.X @ beta + self.offset
        y, w, link = self.y, self.w, self.link

        def pen(u):
            eta = eta0 + z_times(u)
            return self._deviance(eta) + float(u @ u), eta

        u = self.u.copy() if u0 is None else np.asarray(u0, dtype=float).copy()
        f, eta = pen(u)
        if not np.isfinite(f):
            u = np.zeros(self.q)
            f, eta = pen(u)
        converged, F = False, None
        for it in range(1, self.maxiter + 1):
            self.last_iterations = it
            mu, factor, weight = working_parts(eta, link)
            W = w * weight
            # Newton steps: the observed information (the working weights for the logit link)
            W_step = W if link in CANONICAL else w * observed_weights(y, eta, mu, factor, link)
            F = self.system.factor(theta, W_step)
            step = F.solve_theta_order(zt_times(w * (y - mu) * factor) - u)
            if np.max(np.abs(step), initial=0.0) < self.tol:
                # at the mode: the remaining step is below tol (Newton converges quadratically),
                # so u, eta and f = pen(u) stand
                converged = True
                break
            taken = halving_step(pen, u, step, f)
            if taken is None:
                break
            u, f, eta = taken
        if not converged:
            W = w * working_parts(eta, link)[2]
            return (
                self._deviance(eta) + float(u @ u) + self.system.factor(theta, W).logdet,
                u,
                False,
            )
        if link != "logit":
            F = self.system.factor(theta, W)
        dev = f + F.logdet
        if np.isfinite(dev):
            self.u = u
            self._mode = (x.copy(), u, eta, (mu, factor, weight), F, dev)
        return dev, u, converged

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The deviance at ``x = (theta, beta)`` and its gradient, analytically.

        With ``u`` the conditional mode, ``W`` the working weights there, ``G`` the entries
        of ``A^-1`` at each row's own levels (:meth:`Factor.row_entries`) and
        ``h_i = theta' G_i theta`` the row's leverage: the penalised part's derivative is taken
        at fixed ``u`` (``u`` minimises it), the log-determinant's through ``W`` and through the
        mode, whose derivative comes from differentiating the mode condition
        ``Lambda Z' r(eta) = u`` (``A_obs du = ...``, ``A_obs`` with the observed weights
        ``-dr/deta``; for the canonical logit link they are the working weights), and
        ``d log det A / d theta_k = 2 sum_i W_i (G_i theta)_k``. Returns ``(inf, nan)``
        where the mode is not found.

        Examples
        --------
        >>> y = np.array([0, 1, 0, 0, 1, 1, 0, 1.0])
        >>> X = np.c_[np.ones(8), np.arange(8) % 3]
        >>> obj = InterceptLaplace(y, X, [np.arange(8) // 2])
        >>> x = np.array([0.8, -0.2, 0.3])
        >>> _, g = obj.value_and_gradient(x)
        >>> num = numerical_gradient(obj, x, np.ones(3, dtype=bool))
        >>> bool(np.allclose(g, num, atol=1e-6))
        True
        """
        x = np.asarray(x, dtype=float)
        last = self._last_gradient
        if last is not None and np.array_equal(x, last[0]):
            return last[1], last[2].copy()
        dev, u, ok = self.evaluate(x)
        if not (ok and np.isfinite(dev)):
            return np.inf, np.full(len(x), np.nan)
        theta = x[: self.n_theta]
        system = self.system
        z_times, zt_times = self._products(theta, system.lambdas(theta))
        _, u, eta, (mu, factor, weight), F, _ = self._mode
        w = self.w
        W = w * weight
        r = w * (self.y - mu) * factor
        G = F.row_entries()
        Gt = G @ theta  # (G_i theta)_k
        v = (Gt @ theta) * w * weight_slope(eta, self.link, mu, factor, weight)
        if self.link in CANONICAL:
            W_obs, F_obs = W, F
        else:
            W_obs = w * observed_weights(self.y, eta, mu, factor, self.link)
            F_obs = system.factor(theta, W_obs)
        s = F_obs.solve_theta_order(zt_times(v))
        t = v - W_obs * z_times(s)
        grad = np.empty(len(x))
        grad[self.n_theta :] = self.X.T @ (t - 2.0 * r)
        for k, g in enumerate(self.groups):
            block = slice(system.starts[k], system.starts[k + 1])
            ztr = np.bincount(g, weights=r, minlength=self.n_levels[k])
            uk = u[block]
            grad[k] = (
                -2.0 * float(ztr @ uk)
                + 2.0 * float(W @ Gt[:, k])
                + float(t @ uk[g])
                + float(s[block] @ ztr)
            )
        self._last_gradient = (x.copy(), float(dev), grad.copy())
        return float(dev), grad

    def fixed_information(self, x: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Fisher information of the fixed effects at ``x = (theta, beta)``, given the variances.

        ``X' W X - X' W Z Lambda A^-1 Lambda Z' W X`` with ``A = Lambda Z' W Z Lambda + I`` and
        ``W`` the working weights at the conditional mode ``u`` (found when not given): the
        information of ``beta`` left once the random effects are integrated out (Laplace), i.e.
        ``X' V^-1 X`` of the linearised model. With every variance 0 it is the GLM's ``X' W X``.
        """
        x = np.asarray(x, dtype=float)
        if u is None:
            _, u, _ = self.evaluate(x)
        theta, beta = x[: self.n_theta], x[self.n_theta :]
        lam = self.system.lambdas(theta)
        eta = self.X @ beta + self.offset + self.Z @ (lam * u)
        W = self.w * working_parts(eta, self.link)[2]
        XW = self.X * W[:, None]
        C = lam[:, None] * np.asarray(self.Zt @ XW)
        return self.X.T @ XW - C.T @ self.system.factor(theta, W).solve_theta_order(C)

    def glm_start(self, maxiter: int = 50) -> np.ndarray:
        """The fixed effects of the model without random effects (IRLS), a starting value.

        Examples
        --------
        >>> y = np.array([0, 1, 0, 1, 1, 0, 1, 1.0])
        >>> X = np.c_[np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]]
        >>> (InterceptLaplace(y, X, [np.arange(8) // 2]).glm_start().round(3) + 0.0).tolist()
        [0.0, 1.099]
        """
        beta = np.zeros(self.X.shape[1])
        for _ in range(maxiter):
            eta = self.X @ beta + self.offset
            mu, factor, weight = working_parts(eta, self.link)
            W = self.w * weight
            score = self.X.T @ (self.w * (self.y - mu) * factor)
            try:
                step = np.linalg.solve(self.X.T @ (self.X * W[:, None]), score)
            except np.linalg.LinAlgError:
                break
            step *= min(1.0, MAX_STEP / max(float(np.max(np.abs(step), initial=0.0)), 1e-300))
            beta = beta + step
            if np.max(np.abs(step), initial=0.0) < 1e-8:
                break
        return beta

    def variance_scale(self, x: np.ndarray, step: float = 0.05) -> np.ndarray:
        """Scales that give the variance parameters roughly unit curvature at ``x``: the
        square root of the deviance's second derivative in each, from a forward difference
        of the analytic gradient (1 where it is not positive). With the fixed effects scaled
        by :meth:`parameter_scale`, L-BFGS-B then starts from a well-conditioned problem (an
        SD of a few hundred clients' intercepts can have a curvature in the thousands)."""
        x = np.asarray(x, dtype=float)
        _, g0 = self.value_and_gradient(x)
        out = np.ones(self.n_theta)
        for i in range(self.n_theta):
            e = np.zeros(len(x))
            e[i] = step
            _, g1 = self.value_and_gradient(x + e)
            h = (g1[i] - g0[i]) / step
            if np.isfinite(h) and h > 1e-8:
                out[i] = np.sqrt(h)
        return out

    def parameter_scale(self, x: np.ndarray) -> np.ndarray:
        """Scales that give the fixed effects unit curvature at ``x`` (variances: 1), or
        ``None`` where the information is not positive; an optimiser works on ``x * scale``
        (predictors on wide scales, such as raw alliance totals, otherwise stall it)."""
        info = np.diag(self.fixed_information(x))
        if not np.all(np.isfinite(info) & (info > 0)):
            return None
        return np.r_[np.ones(self.n_theta), np.sqrt(2 * info)]

    def __call__(self, x: np.ndarray) -> float:
        dev, _, ok = self.evaluate(x)
        return float(dev) if ok and np.isfinite(dev) else np.inf

    def random_effects(self, x: np.ndarray) -> np.ndarray:
        """Conditional modes on the covariance scale (``Lambda u``), mixedlm's ``raw.u``."""
        _, u, _ = self.evaluate(x)
        return np.repeat(np.asarray(x[: self.n_theta], dtype=float), self.n_levels) * u


class FirthPenalised:
    """Laplace deviance with a Firth-type bias-reducing penalty on the fixed effects.

    ``deviance(x) - log det I_beta(x)`` (:meth:`InterceptLaplace.fixed_information`): a
    Jeffreys-prior penalty on ``beta`` given the variances. For the logit link its minimum
    removes the leading O(1/n) bias of maximum-likelihood log odds ratios, which matters with
    few events (tens of dropouts); with every variance at 0 it is Firth's (1993) logistic
    regression (R's ``brglm2`` ``type = "AS_mean"``, ``logistf``). For the cloglog link it is
    the Jeffreys-penalised likelihood (``brglm2`` ``type = "MPL_Jeffreys"``), which reduces
    the bias but does not remove its leading term exactly (Kosmidis & Firth, 2009).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1, 0, 1, 1, 1.0])
    >>> X = np.c_[np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]]
    >>> pen = FirthPenalised(InterceptLaplace(y, X, [np.arange(8) // 2]))
    >>> bool(pen(np.r_[0.0, 0.0, 0.0]) > 0)
    True
    """

    def __init__(self, laplace: InterceptLaplace) -> None:
        self.laplace = laplace
        self.n_theta = laplace.n_theta

    def __call__(self, x: np.ndarray) -> float:
        dev, u, ok = self.laplace.evaluate(x)
        if not ok or not np.isfinite(dev):
            return np.inf
        sign, logdet = np.linalg.slogdet(self.laplace.fixed_information(x, u))
        return float(dev - logdet) if sign > 0 else np.inf

    def minimise(self, theta: np.ndarray, beta: np.ndarray, tol: float = 1e-7):
        """The fixed effects minimising the penalised deviance with the variances at ``theta``.

        Newton steps with the Hessian ``2 * I_beta`` (the expected Hessian of the deviance;
        the penalty's own curvature is O(1) smaller) and a central-difference gradient, steps
        capped at :data:`MAX_STEP` and halved until they lower it. Starts from ``beta`` (the ML
        estimate), or, under separation (an estimate beyond :data:`SEPARATED`), from whichever
        of it, it with the runaway estimates at 0, and all slopes at 0 has the lowest penalised
        deviance; a start where the gradient cannot be computed gives way to the next.
        Returns ``(beta, scaled gradient, evaluations)``; the scaled gradient is lme4's
        convergence measure (< 1e-3 is converged).
        """
        theta = np.asarray(theta, dtype=float)

        def penalised(b):
            return self(np.r_[theta, b])

        starts = [np.asarray(beta, dtype=float)]
        if (np.abs(starts[0]) > SEPARATED).any():
            wild = np.abs(starts[0]) > SEPARATED
            starts += [np.where(wild, 0.0, starts[0]), np.zeros_like(starts[0])]
        values = [penalised(b) for b in starts]
        n_evals, best = len(starts), (starts[0], np.inf)
        for i in (i for i in np.argsort(values) if np.isfinite(values[i])):
            b, scaled, used = self._newton(penalised, theta, starts[i], values[i], tol)
            n_evals += used
            if scaled < best[1]:
                best = (b, scaled)
            if scaled < 1e-3:
                break
        return best[0], best[1], n_evals

    def _newton(self, penalised, theta, beta, f, tol):
        free = np.ones(len(beta), dtype=bool)
        n_evals, scaled = 0, np.inf
        for _ in range(100):
            g = numerical_gradient(penalised, beta, free)
            n_evals += 2 * len(beta)
            try:
                info = self.laplace.fixed_information(np.r_[theta, beta])
                step = np.linalg.solve(2.0 * info, g)
            except np.linalg.LinAlgError:
                return beta, np.inf, n_evals
            if not np.all(np.isfinite(step)):
                return beta, np.inf, n_evals
            scaled = float(np.max(np.abs(step), initial=0.0))
            if scaled < tol:
                break
            if scaled > MAX_STEP:
                step *= MAX_STEP / scaled
            t = 1.0
            for _ in range(30):
                fn = penalised(beta - t * step)
                n_evals += 1
                if fn <= f:
                    break
                t *= 0.5
            else:
                break
            beta, f = beta - t * step, fn
        return beta, scaled, n_evals
