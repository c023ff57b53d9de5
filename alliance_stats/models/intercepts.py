"""The linear algebra of random-intercept models: ``A = Lambda Z' W Z Lambda + I`` by blocks.

With random intercepts only, every row of ``Z`` has one 1 per grouping factor, and
``Lambda = diag(theta_k for each level of factor k)``. The factor with the most levels (the
clients, in a person-period hazard model) has a diagonal block of ``A``: it is eliminated
first, and the Schur complement over the other factors' levels (therapists, items) is
factored densely. Everything that does not depend on the weights ``W`` (which levels meet
in which rows, the sparsity pattern of the off-diagonal block) is worked out once, when the
system is built, so a factorisation costs a few ``bincount`` calls and one small Cholesky
factor. :class:`Factor` also returns, row by row, the entries of ``A^-1`` at the row's own
levels, which the analytic gradient of the Laplace deviance needs
(:meth:`~alliance_stats.models.laplace.InterceptLaplace.gradient`).

Examples
--------
>>> import numpy as np
>>> system = InterceptSystem([np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])])
>>> f = system.factor(np.array([1.0, 1.0]), np.ones(4))
>>> dense = np.eye(4) + system.dense_zwz(np.array([1.0, 1.0]), np.ones(4))
>>> bool(np.isclose(f.logdet, np.linalg.slogdet(dense)[1]))
True
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

#: the largest Schur complement (levels of all factors but the largest) solved densely
MAX_DENSE = 3000


def _divide(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``r / a`` row-wise, for a vector or a matrix ``r``."""
    return r / (a if r.ndim == 1 else a[:, None])


def intercept_groups(Z, n_levels: list[int]) -> list[np.ndarray] | None:
    """The level index of every row for each factor of a random-intercept design ``Z``
    (blocks of ``n_levels`` indicator columns); ``None`` unless every block is an indicator
    matrix with one 1 per row.

    Examples
    --------
    >>> Z = sparse.csr_matrix(np.array([[1.0, 0, 0, 1], [0, 1, 1, 0]]))
    >>> [g.tolist() for g in intercept_groups(Z, [2, 2])]
    [[0, 1], [1, 0]]
    """
    Z = sparse.csc_matrix(Z)
    groups, start = [], 0
    for n in n_levels:
        block = Z[:, start : start + n].tocsr()
        start += n
        if not (np.all(np.diff(block.indptr) == 1) and np.all(block.data == 1.0)):
            return None
        groups.append(block.indices.astype(np.int64))
    return groups if start == Z.shape[1] else None


class InterceptSystem:
    """The fixed structure of ``Z`` for random intercepts ``(1 | g_1) + (1 | g_2) + ...``.

    Parameters
    ----------
    groups : list of int arrays
        For each factor, in ``theta`` order, the level index (0, 1, ...) of every row.
    dense : bool, optional
        Hold the off-diagonal block densely (BLAS) or by its pattern; by default dense
        where the dense products cost little more than the pattern's.

    Columns of ``Z`` are in ``theta`` order (all levels of factor 1, then factor 2, ...).
    """

    def __init__(self, groups: list[np.ndarray], dense: bool | None = None) -> None:
        self.groups = [np.asarray(g, dtype=np.int64) for g in groups]
        self.n_levels = [int(g.max()) + 1 for g in self.groups]
        self.n_factors = len(self.groups)
        self.n_rows = len(self.groups[0])
        self.starts = np.r_[0, np.cumsum(self.n_levels)].astype(int)
        self.q = int(self.starts[-1])
        self.big = int(np.argmax(self.n_levels))
        self.rest = [k for k in range(self.n_factors) if k != self.big]
        self.q_rest = int(sum(self.n_levels[k] for k in self.rest))
        if self.q_rest > MAX_DENSE:
            raise ValueError(
                f"{self.q_rest} levels outside the largest factor: too many for a dense Schur "
                "complement"
            )
        self._cols = [self.starts[k] + g for k, g in enumerate(self.groups)]
        self._levels = list(enumerate(zip(self.groups, self.n_levels)))
        order = [self.big, *self.rest]
        #: column order [largest factor, others] -> theta order
        self.perm = np.concatenate([np.arange(self.starts[k], self.starts[k + 1]) for k in order])
        offsets = np.r_[0, np.cumsum([self.n_levels[k] for k in self.rest])].astype(int)
        #: column of each row in the Schur block, one array per other factor
        self.rest_cols = [self.groups[k] + offsets[j] for j, k in enumerate(self.rest)]
        self._rest_offsets = offsets
        #: the off-diagonal block is held densely (no block with a single factor)
        self.dense = False
        self._last_counts = None
        if self.rest:
            self._pattern(dense)

    def _pattern(self, dense: bool | None) -> None:
        """Where the off-diagonal block ``B`` (largest factor x others) has entries."""
        n1, qr = self.n_levels[self.big], self.q_rest
        gb = self.groups[self.big]
        keys = np.concatenate([gb * qr + c for c in self.rest_cols])
        uniq, self._slot = np.unique(keys, return_inverse=True)
        self._b_rows, self._b_cols = uniq // qr, uniq % qr
        self._b_template = sparse.csr_matrix(
            (np.ones(len(uniq)), (self._b_rows, self._b_cols)), shape=(n1, qr)
        )
        # pairs of entries in the same row of B, for B' D^-1 B and for row entries of A^-1,
        # unless B is small enough to be handled densely (BLAS beats bincount on pairs)
        indptr = self._b_template.indptr
        counts = np.diff(indptr)
        n_pairs = int(np.sum(counts**2))
        self._b_keys = uniq
        #: two factors, each level of the largest meeting one level of the other (clients
        #: nested in therapists): the Schur complement is diagonal
        self.nested = len(self.rest) == 1 and bool(np.all(counts == 1)) and not dense
        if dense is None:
            dense = n1 * qr * qr <= 8 * n_pairs + 1_000_000 and n1 * qr <= 4_000_000
        self.dense = bool(dense) and not self.nested
        self._pair_slots: tuple[np.ndarray, np.ndarray] | None = None
        #: the strictly lower triangle of the Schur block (traces of A^-1)
        self._strict_lower = None
        # diagonal blocks of the other factors and their cross blocks (k < l)
        self._cross = [(i, j) for i in range(len(self.rest)) for j in range(i + 1, len(self.rest))]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every pair of entries of ``B`` in the same row, as two arrays of entry slots
        (worked out when first needed: row entries of ``A^-1`` with a sparse ``B``)."""
        if self._pair_slots is None:
            indptr = self._b_template.indptr
            counts = np.diff(indptr)
            first = np.repeat(indptr[:-1], counts**2)
            within = np.concatenate([np.arange(c * c) for c in counts])
            reps = np.repeat(counts, counts**2)
            self._pair_slots = (first + within // reps, first + within % reps)
        return self._pair_slots

    def z_times(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``Z Lambda u`` for a vector ``u`` (theta order)."""
        out = theta[0] * u[self._cols[0]]
        for k in range(1, self.n_factors):
            out += theta[k] * u[self._cols[k]]
        return out

    def zt_times(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``Lambda Z' v`` for a vector ``v`` (one entry per row)."""
        return np.concatenate(
            [theta[k] * np.bincount(g, weights=v, minlength=n) for k, (g, n) in self._levels]
        )

    def lambdas(self, theta: np.ndarray) -> np.ndarray:
        """The diagonal of ``Lambda`` (theta order)."""
        return np.repeat(np.asarray(theta, dtype=float), self.n_levels)

    def dense_zwz(self, theta: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``Lambda Z' W Z Lambda`` as a dense matrix (theta order; for checks, small data)."""
        Z = np.zeros((self.n_rows, self.q))
        for k, g in enumerate(self.groups):
            Z[np.arange(self.n_rows), self.starts[k] + g] = 1.0
        ZL = Z * self.lambdas(theta)[None, :]
        return ZL.T @ (ZL * np.asarray(W, dtype=float)[:, None])

    def _weighted_counts(self, W: np.ndarray):
        """``Z' W Z`` by blocks, without ``Lambda``: the largest factor's diagonal, ``B``'s
        entries and the other factors' block (dense; ``None`` when nested). Kept for the last
        ``W`` object passed (a linear model factors with the same weights at every theta)."""
        if self._last_counts is not None and self._last_counts[0] is W:
            return self._last_counts[1]
        b, qr = self.big, self.q_rest
        diag = np.bincount(self.groups[b], weights=W, minlength=self.n_levels[b])
        if not self.rest:
            counts = (diag, None, None)
        else:
            sums = np.bincount(
                self._slot, weights=np.tile(W, len(self.rest)), minlength=len(self._b_rows)
            )
            if self.nested:
                A22 = np.bincount(self.rest_cols[0], weights=W, minlength=qr)
            else:
                A22 = np.zeros((qr, qr))
                idx = np.arange(qr)
                for c in self.rest_cols:
                    A22[idx, idx] += np.bincount(c, weights=W, minlength=qr)
                for i, j in self._cross:
                    ci, cj = self.rest_cols[i], self.rest_cols[j]
                    oi, oj = self._rest_offsets[i], self._rest_offsets[j]
                    ni, nj = self._rest_offsets[i + 1] - oi, self._rest_offsets[j + 1] - oj
                    block = np.bincount(
                        (ci - oi) * nj + (cj - oj), weights=W, minlength=ni * nj
                    ).reshape(ni, nj)
                    A22[oi : oi + ni, oj : oj + nj] += block
                    A22[oj : oj + nj, oi : oi + ni] += block.T
            counts = (diag, sums, A22)
        self._last_counts = (W, counts)
        return counts

    def factor(self, theta: np.ndarray, W: np.ndarray) -> Factor:
        """Factor ``A = Lambda Z' W Z Lambda + I`` for variance parameters ``theta``."""
        theta = np.asarray(theta, dtype=float)
        n1 = self.n_levels[self.big]
        lb = float(theta[self.big])
        diag, sums, A22 = self._weighted_counts(W)
        a1 = lb**2 * diag + 1.0
        if not self.rest:
            return Factor(self, theta, a1)
        qr = self.q_rest
        lr = np.concatenate([np.full(self.n_levels[k], theta[k]) for k in self.rest])
        bdata = lb * sums * lr[self._b_cols]
        bd = bdata / a1[self._b_rows]
        if self.nested:
            a2 = lr**2 * A22 + 1.0
            schur = a2 - np.bincount(self._b_cols, weights=bdata * bd, minlength=qr)
            return Factor(self, theta, a1, bdata, bd, ("diagonal", schur))
        S = lr[:, None] * A22 * lr[None, :]
        S[np.diag_indices(qr)] += 1.0
        if self.dense:
            B = np.zeros(n1 * qr)
            B[self._b_keys] = bdata
            B = B.reshape(n1, qr)
            Bd = B / a1[:, None]
            S -= B.T @ Bd
            return Factor(self, theta, a1, B, Bd, ("cholesky", _cholesky(S)))
        # S = A22 + I - B' D^-1 B, as the sparse product (D^-1/2 B)' (D^-1/2 B)
        t = self._b_template
        half = sparse.csr_matrix((bdata / np.sqrt(a1[self._b_rows]), t.indices, t.indptr), t.shape)
        S -= (half.T @ half).toarray()
        return Factor(self, theta, a1, bdata, bd, ("cholesky", _cholesky(S)))


def _cholesky(S: np.ndarray):
    """The lower Cholesky factor of ``S`` (overwritten), as ``cho_factor`` returns it."""
    return linalg.cho_factor(S, lower=True, overwrite_a=True, check_finite=False)


class Factor:
    """A factorised ``A = Lambda Z' W Z Lambda + I`` (:meth:`InterceptSystem.factor`).

    ``solve`` and ``logdet`` work in the elimination order (largest factor first, see
    :attr:`InterceptSystem.perm`); :meth:`solve_theta_order` takes and returns theta order.
    ``B`` and ``Bd`` (the off-diagonal block and ``D^-1`` times it) are dense matrices when
    the system is dense, else their entries at the system's pattern; ``schur`` is
    ``("cholesky", cho_factor)`` or ``("diagonal", entries)`` (nested factors).
    """

    def __init__(self, system, theta, a1, B=None, Bd=None, schur=None) -> None:
        self.system, self.theta, self.a1 = system, theta, a1
        self._B, self._Bd, self._chol = B, Bd, schur
        self.logdet = float(np.sum(np.log(a1)))
        if schur is not None:
            kind, value = schur
            diag = value if kind == "diagonal" else np.diag(value[0]) ** 2
            self.logdet += float(np.sum(np.log(diag)))

    def _schur_solve(self, r: np.ndarray) -> np.ndarray:
        kind, value = self._chol
        return _divide(r, value) if kind == "diagonal" else linalg.cho_solve(value, r)

    def _times(self, data: np.ndarray, x: np.ndarray, transpose: bool) -> np.ndarray:
        """``B x`` (or ``B' x``) with ``data`` B's (or ``D^-1 B``'s) entries."""
        s = self.system
        if s.dense:
            return data.T @ x if transpose else data @ x
        rows, cols = (s._b_cols, s._b_rows) if transpose else (s._b_rows, s._b_cols)
        if x.ndim == 1:
            n_out = s.q_rest if transpose else len(self.a1)
            return np.bincount(rows, weights=data * x[cols], minlength=n_out)
        t = s._b_template
        B = sparse.csr_matrix((data, t.indices, t.indptr), shape=t.shape)
        return (B.T if transpose else B) @ x

    def solve(self, r: np.ndarray) -> np.ndarray:
        """``A^-1 r`` (elimination order; ``r`` a vector or a matrix)."""
        if self._chol is None:
            return _divide(r, self.a1)
        n1 = len(self.a1)
        r1, r2 = r[:n1], r[n1:]
        x2 = self._schur_solve(r2 - self._times(self._Bd, r1, True))
        x1 = _divide(r1 - self._times(self._B, x2, False), self.a1)
        return np.concatenate([x1, x2])

    def solve_theta_order(self, r: np.ndarray) -> np.ndarray:
        """``A^-1 r`` with ``r`` and the result in theta order."""
        perm = self.system.perm
        out = np.empty_like(r, dtype=float)
        out[perm] = self.solve(r[perm])
        return out

    def inverse_traces(self) -> np.ndarray:
        """The trace of ``A^-1`` over each factor's levels (theta order of factors)."""
        s = self.system
        out = np.zeros(s.n_factors)
        out[s.big] = np.sum(1.0 / self.a1)
        if self._chol is None:
            return out
        kind, value = self._chol
        if kind == "diagonal":
            s_inv = 1.0 / value
            out[s.big] += float(np.sum(self._Bd**2 * s_inv[s._b_cols]))
        else:
            lower = linalg.lapack.dpotri(value[0], lower=1)[0]
            s_inv = np.diag(lower).copy()
            # tr(D^-1 B S^-1 B' D^-1) = sum(S^-1 * (D^-1 B)' (D^-1 B)); S^-1 held as its lower half
            if s.dense:
                cross = self._Bd.T @ self._Bd
            else:
                t = s._b_template
                bd = sparse.csr_matrix((self._Bd, t.indices, t.indptr), shape=t.shape)
                cross = (bd.T @ bd).toarray()
            if s._strict_lower is None:
                s._strict_lower = np.tri(s.q_rest, k=-1, dtype=bool)
            off = np.sum(lower * cross, where=s._strict_lower)
            out[s.big] += float(2.0 * off + np.dot(s_inv, np.diag(cross)))
        offsets = s._rest_offsets
        for j, k in enumerate(s.rest):
            out[k] = float(np.sum(s_inv[offsets[j] : offsets[j + 1]]))
        return out

    def row_entries(self) -> np.ndarray:
        """``G[i, k, l] = (A^-1)[c_k(i), c_l(i)]``: for every row ``i``, the entries of ``A^-1``
        at the row's level of factor ``k`` and of factor ``l`` (theta order of factors)."""
        s = self.system
        n, K, b = s.n_rows, s.n_factors, s.big
        gb = s.groups[b]
        G = np.empty((n, K, K))
        if self._chol is None:
            G[:, 0, 0] = 1.0 / self.a1[gb]
            return G
        if s.nested:
            c = s.rest[0]
            s_inv = 1.0 / self._chol[1][s.rest_cols[0]]
            bd = self._Bd[s._slot]
            G[:, b, b] = 1.0 / self.a1[gb] + bd**2 * s_inv
            G[:, b, c] = G[:, c, b] = -bd * s_inv
            G[:, c, c] = s_inv
            return G
        Sinv = self._schur_solve(np.eye(s.q_rest))
        # M = D^-1 B S^-1 at B's pattern, and diag(D^-1 B S^-1 B' D^-1) per level
        if s.dense:
            M = self._Bd @ Sinv
            quad = np.einsum("ij,ij->i", M, self._Bd)
            M_at = M.ravel()[s._b_keys]
        else:
            p1, p2 = s.pairs()
            c1, c2 = s._b_cols[p1], s._b_cols[p2]
            Bd = self._Bd
            M_at = np.bincount(p1, weights=Bd[p2] * Sinv[c2, c1], minlength=len(s._b_rows))
            quad = np.bincount(
                s._b_rows[p1], weights=Bd[p1] * Sinv[c1, c2] * Bd[p2], minlength=len(self.a1)
            )
        G[:, b, b] = 1.0 / self.a1[gb] + quad[gb]
        for j, k in enumerate(s.rest):
            slots = s._slot[j * n : (j + 1) * n]
            G[:, b, k] = G[:, k, b] = -M_at[slots]
            for jj, kk in enumerate(s.rest):
                G[:, k, kk] = Sinv[s.rest_cols[j], s.rest_cols[jj]]
        return G
