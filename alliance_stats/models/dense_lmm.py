"""Linear mixed models with few random effects, solved densely: any random structure lme4's
``lmer`` takes here (intercepts and slopes, correlated or not, nested or crossed factors),
when the random effects number at most :data:`MAX_RANDOM_EFFECTS`.

Everything that does not depend on the variance parameters (``Z'Z``, ``Z'X``, ``Z'y``,
``X'X``, ``X'y``) is computed once; one evaluation of the profiled deviance and its gradient
is then a handful of ``q x q`` products and one Cholesky factor, a few tens of microseconds
on the reference models, where the engine's sparse evaluation costs about a millisecond.

The gradient in the relative covariance parameters ``theta`` (lme4's, ``b = Lambda u``) is
analytic: with ``A = Lambda' Z'Z Lambda + I`` and ``E_c`` the cells of ``Lambda`` that
``theta_c`` fills,

- ``d log det A = 2 sum_{(r, s) in c} (A^-1 Lambda' Z'Z)_{s r}``,
- ``d r2 = -2 sum_{(r, s) in c} (Z' res)_r u_s`` (``r2`` the penalised residual sum of squares
  at its minimum over ``beta`` and ``u``: only its explicit dependence counts),
- REML: ``d log det M = -2 sum_{(r, s) in c} (H Lambda)_{r s}``, ``H = Z'Q M^-1 Q'Z``,
  ``Q = V^-1 X`` with ``V = I + Z Lambda Lambda' Z'`` and ``M = X' V^-1 X``.

Examples
--------
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(8), 6)
>>> x = np.tile(np.arange(6.0), 8)
>>> y = 1 + 0.3 * x + rng.normal(size=8)[g] + 0.2 * rng.normal(size=8)[g] * x
>>> y = y + rng.normal(scale=0.5, size=48)
>>> Z = np.zeros((48, 16)); Z[np.arange(48), 2 * g] = 1.0; Z[np.arange(48), 2 * g + 1] = x
>>> lmm = DenseLMM(y, np.c_[np.ones(48), x], Z, [(8, 2, True)], REML=True)
>>> sol = lmm.fit()
>>> sol.converged, len(sol.theta)
(True, 3)
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from alliance_stats.models.engines import theta_cells
from alliance_stats.models.lmm import LMMSolution, linear_response, minimise_deviance

#: the most random effects (columns of ``Z``) fitted densely: one ``q x q`` Cholesky factor
#: per evaluation costs about what the engine's sparse one does at this size
MAX_RANDOM_EFFECTS = 100
#: the most cells of the dense ``Z`` (rows x random effects; 40 MB)
MAX_DENSE_CELLS = 5_000_000


class DenseLMM:
    """Profiled deviance (REML criterion) of a linear mixed model, with its gradient.

    Parameters
    ----------
    y : array
        The outcome (an offset already subtracted).
    X : 2-D array
        The fixed-effects design, of full column rank.
    Z : 2-D array
        The random-effects design, columns as the engine orders them: term by term, and
        within a term level by level with the term's columns together.
    terms : list of (n_levels, n_columns, correlated)
        Per random term in theta order. A correlated term's theta fills its lower Cholesky
        factor row by row (lme4's order); an uncorrelated one its diagonal.
    REML : bool
        The REML criterion (lme4's default) or the ML deviance.
    """

    def __init__(self, y, X, Z, terms, REML: bool) -> None:
        self.y = np.asarray(y, dtype=float)
        self.X = np.asarray(X, dtype=float)
        self.Z = np.asarray(Z, dtype=float)
        self.REML = bool(REML)
        self.n, self.p = self.X.shape
        self.q = self.Z.shape[1]
        rows, cols, index, diagonal = [], [], [], []
        #: per column of a term's factor, its theta positions (diagonal first)
        self.columns: list[np.ndarray] = []
        start, k = 0, 0
        for n_levels, width, correlated in terms:
            cells = (
                theta_cells(width) if correlated and width > 1 else [(i, i) for i in range(width)]
            )
            column_of = {}
            for i, j in cells:
                rows.append(start + np.arange(n_levels) * width + i)
                cols.append(start + np.arange(n_levels) * width + j)
                index.append(np.full(n_levels, k))
                diagonal.append(i == j)
                column_of.setdefault(j, []).append((i != j, k))
                k += 1
            self.columns += [np.array([pos for _, pos in sorted(c)]) for c in column_of.values()]
            start += n_levels * width
        if start != self.q:
            raise ValueError(f"the terms describe {start} random effects, Z has {self.q}")
        self.n_theta = k
        self._rows, self._cols = np.concatenate(rows), np.concatenate(cols)
        self._index = np.concatenate(index)
        #: which theta sit on a diagonal of Lambda (at least 0)
        self.diagonal = np.array(diagonal)
        self._zz = self.Z.T @ self.Z
        self._zx = self.Z.T @ self.X
        self._zy = self.Z.T @ self.y
        self._xtx, self._xty = self.X.T @ self.X, self.X.T @ self.y
        self._eye = np.eye(self.q)

    @classmethod
    def from_mixedlm(cls, matrices, REML: bool) -> DenseLMM | None:
        """Build from the engine's model matrices; ``None`` with prior weights, more than
        :data:`MAX_RANDOM_EFFECTS` random effects (or :data:`MAX_DENSE_CELLS` cells of
        ``Z``) or a covariance structure other than lme4's (unstructured or diagonal)."""
        structs = matrices.random_structures
        y = linear_response(matrices)
        n, q = matrices.Z.shape
        if not structs or y is None or q > MAX_RANDOM_EFFECTS or n * q > MAX_DENSE_CELLS:
            return None
        if any(getattr(s, "cov_type", "us") not in ("us", "diag") for s in structs):
            return None
        terms = [(int(s.n_levels), int(s.n_terms), bool(s.correlated)) for s in structs]
        return cls(y, matrices.X, matrices.Z.toarray(), terms, REML)

    def relative_factor(self, theta: np.ndarray) -> np.ndarray:
        """``Lambda`` (``q x q``) at ``theta``."""
        lam = np.zeros((self.q, self.q))
        lam[self._rows, self._cols] = np.asarray(theta, dtype=float)[self._index]
        return lam

    def _parts(self, theta: np.ndarray) -> dict:
        """The penalised least squares solution at ``theta`` and what the gradient reuses."""
        lam = self.relative_factor(theta)
        lt_zz = lam.T @ self._zz
        chol = _cholesky(lt_zz @ lam + self._eye)
        lt_zx, lt_zy = lam.T @ self._zx, lam.T @ self._zy
        ax = _solve(chol, lt_zx)  # A^-1 Lambda' Z'X
        ay = _solve(chol, lt_zy)
        mchol = _cholesky(self._xtx - lt_zx.T @ ax)
        beta = _solve(mchol, self._xty - lt_zx.T @ ay)
        u = ay - ax @ beta
        b = lam @ u
        res = self.y - self.X @ beta - self.Z @ b
        r2 = float(res @ res + u @ u)
        dof = self.n - self.p if self.REML else self.n
        logdet = _logdet(chol)
        dev = logdet + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
        if self.REML:
            dev += _logdet(mchol)
        return dict(
            lam=lam, lt_zz=lt_zz, chol=chol, mchol=mchol, ax=ax, beta=beta, u=u, b=b, r2=r2,
            dof=dof, logdet=logdet, dev=float(dev),
        )  # fmt: skip

    def __call__(self, theta) -> float:
        """The deviance (REML criterion) at ``theta``."""
        return self._parts(np.asarray(theta, dtype=float))["dev"]

    def _cell_sums(self, values: np.ndarray) -> np.ndarray:
        """Per theta ``c``, the sum of ``values`` (one per cell of ``Lambda``) over its cells."""
        return np.bincount(self._index, weights=values, minlength=self.n_theta)

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """The deviance and its gradient in ``theta``."""
        s = self._parts(np.asarray(theta, dtype=float))
        rows, cols = self._rows, self._cols
        a_inv_lt_zz = _solve(s["chol"], s["lt_zz"])  # A^-1 Lambda' Z'Z
        g_logdet = 2.0 * self._cell_sums(a_inv_lt_zz[cols, rows])
        zt_res = self._zy - self._zx @ s["beta"] - self._zz @ s["b"]
        g_r2 = -2.0 * self._cell_sums(zt_res[rows] * s["u"][cols])
        grad = g_logdet + s["dof"] * g_r2 / s["r2"]
        if self.REML:
            zq = self._zx - self._zz @ (s["lam"] @ s["ax"])  # Z' V^-1 X
            h_rows = zq[rows] @ _solve(s["mchol"], zq.T)  # rows of H = Z'Q M^-1 Q'Z
            lam_cols = s["lam"][:, cols]
            grad -= 2.0 * self._cell_sums(np.einsum("ct,tc->c", h_rows, lam_cols))
        return s["dev"], grad

    def deviance_parts(self, theta) -> tuple[float, float]:
        """``(log det A, penalised residual sum of squares)`` at ``theta`` (lme4's ``ldL2``
        and ``pwrss``)."""
        s = self._parts(np.asarray(theta, dtype=float))
        return s["logdet"], s["r2"]

    def solution(self, theta) -> LMMSolution:
        """The fixed effects, random effects and ``sigma`` at ``theta``."""
        theta = np.asarray(theta, dtype=float)
        s = self._parts(theta)
        M_inv = _solve(s["mchol"], np.eye(self.p))
        sigma = float(np.sqrt(s["r2"] / s["dof"]))
        return LMMSolution(theta, s["dev"], s["beta"], s["u"], s["r2"], sigma, M_inv, s["b"])

    def start(self) -> np.ndarray:
        """lme4's starting values: 1 on the diagonal of every term's factor, 0 off it."""
        return np.where(self.diagonal, 1.0, 0.0)

    def fit(self, start=None, maxiter: int = 500) -> LMMSolution:
        """Minimise the deviance by L-BFGS-B with the analytic gradient
        (:func:`~alliance_stats.models.lmm.minimise_deviance`: diagonal theta at least 0, as
        lme4 bounds them), from ``start`` (default :meth:`start`)."""
        x0 = self.start() if start is None else np.asarray(start, dtype=float)
        theta, _, converged, evaluations = minimise_deviance(
            self.value_and_gradient, x0, self.columns, maxiter
        )
        out = self.solution(theta)
        out.converged, out.evaluations = converged, evaluations
        return out


def _cholesky(A: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a positive definite ``A`` (LAPACK directly: scipy's
    wrappers cost more than the factorisation at this size)."""
    chol, info = lapack.dpotrf(A, lower=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix not positive definite (LAPACK info {info})")
    return chol


def _solve(chol: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A^-1 B`` from ``A``'s lower Cholesky factor."""
    out, info = lapack.dpotrs(chol, B, lower=1)
    if info != 0:  # pragma: no cover (only for malformed arguments)
        raise ValueError(f"LAPACK dpotrs failed (info {info})")
    return out


def _logdet(chol: np.ndarray) -> float:
    """``log det A`` from ``A``'s Cholesky factor."""
    return 2.0 * float(np.sum(np.log(np.diagonal(chol))))
