"""Models whose random terms all share one grouping factor: random intercepts and slopes,
correlated or not, ``(1 + x | g)``, ``(x || g)``.

With one factor the random effects of different levels do not interact: the penalised
problem's matrix ``A = L' Z' W Z L + I`` is block diagonal, one ``q x q`` block per level
(``q`` the random terms), and everything is a batch of small dense solves.

- :class:`BlockLaplace`: the Laplace deviance of a binomial or Poisson model (lme4's
  ``nAGQ = 1``, ``dev(y, eta) + |u|^2 + log det A``), its mode found by batched Newton steps
  with step halving (the engine's PIRLS diverges on such models once an SD grows past a few
  units, which a profile has to visit), with its analytic gradient.
- :class:`BlockLMM`: the two parts of a linear model's ML deviance, ``log det A`` and the
  penalised residual sum of squares, from cross-products computed once.
"""

from __future__ import annotations

import numpy as np

from alliance_stats.models.engines import theta_cells
from alliance_stats.models.laplace import (
    CANONICAL,
    deviance,
    halving_step,
    observed_weights,
    weight_slope,
    working_parts,
)
from alliance_stats.models.lmm import linear_response


class OneFactor:
    """The random-effects design of a one-factor model: each row's random-effect covariates
    ``Zrows`` (n x q; an intercept's column is ones), its ``level`` (0 .. ``n_levels - 1``)
    and the ``layout`` (per random term in theta order: its number of columns, correlated
    or not)."""

    def __init__(self, Zrows, level, layout) -> None:
        self.Zrows = np.asarray(Zrows, dtype=float)
        self.level = np.asarray(level, dtype=np.intp)
        self.layout = list(layout)
        self.q = self.Zrows.shape[1]
        self.n_levels = int(self.level.max()) + 1
        self.n_theta = sum(q * (q + 1) // 2 if c else q for q, c in self.layout)
        self._pairs = [(a, b) for a in range(self.q) for b in range(a + 1)]
        # the products z_a z_b per row, for Z' W Z by level
        self._zz = np.stack([self.Zrows[:, a] * self.Zrows[:, b] for a, b in self._pairs], axis=1)

    @staticmethod
    def design(matrices):
        """``(Zrows, level, layout)`` from the engine's model matrices; ``None`` unless every
        random term has the same grouping factor."""
        structs = matrices.random_structures
        if not structs or len({s.grouping_factor for s in structs}) != 1:
            return None
        levels = [np.asarray(s.level_indices, dtype=np.intp) for s in structs]
        if any(not np.array_equal(levels[0], lv) for lv in levels[1:]):
            return None
        level = levels[0]
        Z = matrices.Z.tocsr()
        rows = np.arange(Z.shape[0])
        columns, offset = [], 0
        for s in structs:
            for t in range(s.n_terms):
                columns.append(np.asarray(Z[rows, offset + level * s.n_terms + t]).ravel())
            offset += s.n_levels * s.n_terms
        layout = [(s.n_terms, bool(s.correlated) and s.n_terms > 1) for s in structs]
        return np.column_stack(columns), level, layout

    def relative_factor(self, theta: np.ndarray) -> np.ndarray:
        """The ``q x q`` block of ``Lambda`` shared by every level (block diagonal over the
        random terms; a correlated term's lower Cholesky factor filled row by row)."""
        L = np.zeros((self.q, self.q))
        for k, (i, j) in enumerate(self._theta_cells()):
            L[i, j] = theta[k]
        return L

    def _theta_cells(self) -> list[tuple[int, int]]:
        """The cell of ``Lambda``'s block that each theta fills, in theta order."""
        cells, start = [], 0
        for q, correlated in self.layout:
            local = theta_cells(q) if correlated else [(i, i) for i in range(q)]
            cells += [(start + i, start + j) for i, j in local]
            start += q
        return cells

    def _by_level(self, values: np.ndarray) -> np.ndarray:
        """Per level, the sums of ``values`` (one column per entry)."""
        out = np.empty((self.n_levels, values.shape[1]))
        for c in range(values.shape[1]):
            out[:, c] = np.bincount(self.level, weights=values[:, c], minlength=self.n_levels)
        return out

    def _level_products(self, W: np.ndarray) -> np.ndarray:
        """Per level, ``sum_i W_i z_i z_i'`` (levels x q x q)."""
        sums = self._by_level(self._zz * W[:, None])
        M = np.empty((self.n_levels, self.q, self.q))
        for c, (a, b) in enumerate(self._pairs):
            M[:, a, b] = M[:, b, a] = sums[:, c]
        return M


class BlockLaplace(OneFactor):
    """The Laplace deviance at ``x = (theta, beta)`` (the engine's theta order).

    Parameters
    ----------
    y, X : arrays
        Response (a proportion in [0, 1] for ``"logit"``/``"cloglog"``, counts for ``"log"``)
        and the fixed-effects design.
    Zrows : (n, q) array
        Each row's random-effect covariates (an intercept's column is ones).
    level : int array
        Each row's level of the grouping factor (0 .. ``n_levels - 1``).
    layout : list of (int, bool)
        Per random term in theta order: its number of columns and whether correlated.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=60)
    >>> y = (rng.random(60) < 0.5).astype(float)
    >>> level = np.repeat(np.arange(6), 10)
    >>> obj = BlockLaplace(y, np.c_[np.ones(60), x], np.c_[np.ones(60), x], level, [(2, True)])
    >>> round(obj(np.zeros(5)), 6) == round(deviance(y, np.zeros(60), np.ones(60)), 6)
    True
    """

    def __init__(
        self,
        y,
        X,
        Zrows,
        level,
        layout,
        weights=None,
        offset=None,
        link: str = "logit",
        tol: float = 1e-10,
        maxiter: int = 200,
    ) -> None:
        super().__init__(Zrows, level, layout)
        self.y = np.asarray(y, dtype=float)
        self.X = np.asarray(X, dtype=float)
        n = len(self.y)
        self.w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        self.offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
        self.link, self.tol, self.maxiter = link, tol, maxiter
        self.u = np.zeros((self.n_levels, self.q))
        self._last = None  # (x, what evaluate returned there)

    @classmethod
    def from_mixedlm(cls, matrices, link: str = "logit") -> BlockLaplace | None:
        """Build from the engine's model matrices; ``None`` unless every random term has the
        same grouping factor (:meth:`OneFactor.design`)."""
        design = cls.design(matrices)
        if design is None:
            return None
        return cls(matrices.y, matrices.X, *design, matrices.weights, matrices.offset, link)

    def evaluate(self, x: np.ndarray):
        """``(deviance, u, eta, chol, L)`` at ``x``: the Laplace deviance, the conditional
        modes (levels x terms), the linear predictor, the per-level Cholesky factors of ``A``
        and ``Lambda``'s block; ``None`` where the mode is not found. The last mode is the
        next start."""
        x = np.asarray(x, dtype=float)
        if self._last is not None and np.array_equal(x, self._last[0]):
            return self._last[1]
        L = self.relative_factor(x[: self.n_theta])
        eta0 = self.X @ x[self.n_theta :] + self.offset
        y, w, link, Zr = self.y, self.w, self.link, self.Zrows

        def pen(u):
            eta = eta0 + np.einsum("ij,ij->i", Zr, (u @ L.T)[self.level])
            return deviance(y, eta, w, link) + float(np.sum(u * u)), eta

        u = self.u.copy()
        f, eta = pen(u)
        if not np.isfinite(f):
            u = np.zeros_like(u)
            f, eta = pen(u)
        for _ in range(self.maxiter):
            mu, factor, weight = working_parts(eta, link)
            chol = self._cholesky(L, w * weight)
            score = self._by_level(Zr * (w * (y - mu) * factor)[:, None]) @ L - u
            step = _solve(chol, score)
            if np.max(np.abs(step)) < self.tol:
                self.u = u
                logdet = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
                found = (f + logdet, u, eta, chol, L)
                self._last = (x.copy(), found)
                return found
            taken = halving_step(pen, u, step, f)
            if taken is None:
                return None
            u, f, eta = taken
        return None

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The deviance at ``x`` and its gradient, analytically (``(inf, nan)`` where the
        mode is not found).

        With ``r`` the score factor ``w (y - mu) mu' / V``, ``W`` the working weights,
        ``h_i = z_i' L A^-1 L' z_i`` and ``v_i = W'_i h_i`` (the log-determinant's derivative
        in ``eta_i``): the penalised part is differentiated at fixed ``u`` (it is minimal
        there), the log-determinant directly and through ``eta``, whose change through the
        mode comes from differentiating the mode condition ``L' Z' r = u`` (an adjoint solve
        ``s = A_obs^-1 L' Z' v``, ``A_obs`` with the observed weights). With
        ``t = v - W_obs (Z L s)``: ``d/dbeta = X' (t - 2 r)`` and, for the entry ``(a, b)`` of
        ``L``, ``sum_i (t_i - 2 r_i) z_ia u_b + r_i z_ia s_b + 2 sum_levels (M L A^-1)_ab``
        (``M = Z' W Z`` of the level).

        Examples
        --------
        >>> from alliance_stats.models.robust import numerical_gradient
        >>> rng = np.random.default_rng(2)
        >>> x1 = rng.normal(size=80)
        >>> y = (rng.random(80) < 0.4).astype(float)
        >>> obj = BlockLaplace(y, np.c_[np.ones(80), x1], np.c_[np.ones(80), x1],
        ...                    np.repeat(np.arange(8), 10), [(2, True)])
        >>> x = np.array([0.7, -0.3, 0.4, -0.2, 0.1])
        >>> _, g = obj.value_and_gradient(x)
        >>> bool(np.allclose(g, numerical_gradient(obj, x, np.ones(5, bool)), atol=1e-6))
        True
        """
        x = np.asarray(x, dtype=float)
        found = self.evaluate(x)
        if found is None or not np.isfinite(found[0]):
            return np.inf, np.full(len(x), np.nan)
        dev, u, eta, chol, L = found
        y, w, link, Zr, lv = self.y, self.w, self.link, self.Zrows, self.level
        mu, factor, weight = working_parts(eta, link)
        W = w * weight
        r = w * (y - mu) * factor
        # A^-1 per level and the leverages h_i = z_i' L A^-1 L' z_i
        inv = np.linalg.inv(chol)
        A_inv = np.swapaxes(inv, 1, 2) @ inv
        ZL = Zr @ L  # rows' z_i' L
        h = np.einsum("ia,iab,ib->i", ZL, A_inv[lv], ZL)
        v = h * w * weight_slope(eta, link, mu, factor, weight)
        if link in CANONICAL:
            W_obs, chol_obs = W, chol
        else:
            W_obs = w * observed_weights(y, eta, mu, factor, link)
            chol_obs = self._cholesky(L, W_obs)
        s = _solve(chol_obs, self._by_level(Zr * v[:, None]) @ L)
        t = v - W_obs * np.einsum("ia,ia->i", ZL, s[lv])
        grad = np.empty(len(x))
        grad[self.n_theta :] = self.X.T @ (t - 2.0 * r)
        # per level: sum_i (t_i - 2 r_i) z_i, sum_i r_i z_i, and M L A^-1
        zt = self._by_level(Zr * (t - 2.0 * r)[:, None])
        zr = self._by_level(Zr * r[:, None])
        M = self._level_products(W)
        MLA = M @ L @ A_inv
        for k, (a, b) in enumerate(self._theta_cells()):
            grad[k] = (
                float(zt[:, a] @ u[:, b])
                + float(zr[:, a] @ s[:, b])
                + 2.0 * float(np.sum(MLA[:, a, b]))
            )
        return dev, grad

    def _cholesky(self, L: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Per level, the lower Cholesky factor of ``L' (sum_i W_i z_i z_i') L + I``."""
        A = np.swapaxes(L, 0, 1) @ self._level_products(W) @ L + np.eye(self.q)
        return np.linalg.cholesky(A)

    def __call__(self, x: np.ndarray) -> float:
        try:
            found = self.evaluate(x)
        except np.linalg.LinAlgError:
            return np.inf
        return found[0] if found is not None and np.isfinite(found[0]) else np.inf


def _solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A s = b`` per level from ``A``'s batched lower Cholesky factors."""
    return np.linalg.solve(np.swapaxes(chol, 1, 2), np.linalg.solve(chol, b[:, :, None])).squeeze(
        -1
    )


class BlockLMM(OneFactor):
    """The parts of a linear model's ML deviance at relative covariance parameters ``theta``
    (:meth:`deviance_parts`; the deviance at ``sigma`` is ``ldL2 + n log(2 pi sigma^2) + pwrss /
    sigma^2``), from the cross-products ``Z_j' Z_j``, ``Z_j' X_j``, ``Z_j' y_j`` of every level
    and ``X' X``, ``X' y``, computed once. ``y``: the outcome less any offset; no prior
    weights.

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> x = np.tile(np.arange(5.0), 6)
    >>> level = np.repeat(np.arange(6), 5)
    >>> y = 2 + 0.5 * x + rng.normal(size=6)[level] + rng.normal(size=30)
    >>> lmm = BlockLMM(y, np.c_[np.ones(30), x], np.c_[np.ones(30), x], level, [(2, True)])
    >>> ld, pwrss = lmm.deviance_parts(np.zeros(3))  # no random effects: the OLS residual sum
    >>> beta = np.linalg.lstsq(np.c_[np.ones(30), x], y, rcond=None)[0]
    >>> bool(np.isclose(pwrss, np.sum((y - np.c_[np.ones(30), x] @ beta) ** 2))), ld
    (True, 0.0)
    """

    def __init__(self, y, X, Zrows, level, layout) -> None:
        super().__init__(Zrows, level, layout)
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        self.n_obs = len(y)
        self._zz_level = self._level_products(np.ones(self.n_obs))
        p = X.shape[1]
        zx = self._by_level(np.einsum("ia,ib->iab", self.Zrows, X).reshape(self.n_obs, -1))
        self._zx = zx.reshape(self.n_levels, self.q, p)
        self._zy = self._by_level(self.Zrows * y[:, None])
        self._xtx, self._xty = X.T @ X, X.T @ y
        self._y, self._X = y, X

    @classmethod
    def from_mixedlm(cls, matrices) -> BlockLMM | None:
        """Build from the engine's model matrices; ``None`` unless every random term has the
        same grouping factor (:meth:`OneFactor.design`) and there are no prior weights."""
        design, y = cls.design(matrices), linear_response(matrices)
        if design is None or y is None:
            return None
        return cls(y, matrices.X, *design)

    def deviance_parts(self, theta: np.ndarray) -> tuple[float, float]:
        """``(log det A, penalised residual sum of squares)`` at ``theta``: with
        ``A_j = L' Z_j' Z_j L + I`` per level, the fixed effects from the Schur complement
        ``X' X - sum_j X_j' Z_j L A_j^-1 L' Z_j' X_j``, the modes ``u_j`` from them, and the
        penalised sum of squares ``|y - X beta - Z L u|^2 + |u|^2``."""
        L = self.relative_factor(np.asarray(theta, dtype=float))
        Lt = L.T
        chol = np.linalg.cholesky(Lt @ self._zz_level @ L + np.eye(self.q))
        zx, zy = Lt @ self._zx, self._zy @ L  # L' Z_j' X_j, L' Z_j' y_j
        ax = _solve_columns(chol, zx)  # A_j^-1 L' Z_j' X_j
        ay = _solve(chol, zy)
        schur = self._xtx - np.einsum("jqa,jqb->ab", zx, ax)
        beta = np.linalg.solve(schur, self._xty - np.einsum("jqa,jq->a", zx, ay))
        u = ay - np.einsum("jqa,a->jq", ax, beta)
        fitted = self._X @ beta + np.einsum("ia,ia->i", self.Zrows, (u @ Lt)[self.level])
        pwrss = float(np.sum((self._y - fitted) ** 2)) + float(np.sum(u * u))
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
        return logdet, pwrss


def _solve_columns(chol: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A S = B`` per level (``B``: levels x q x columns)."""
    return np.linalg.solve(np.swapaxes(chol, 1, 2), np.linalg.solve(chol, B))
