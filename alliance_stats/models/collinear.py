"""Rank-deficient fixed effects: which columns lme4 drops, and why, in plain words.

lme4 keeps the columns of the fixed-effects design in formula order and drops each column
that is (to a relative tolerance of 1e-7) a linear combination of the columns kept before it,
as R's ``qr()`` does (``chkRank.drop.cols``). :func:`dependent_columns` applies that rule and
:func:`explain` says why a dropped column was dropped (constant, or which combination of
earlier columns it equals).

Examples
--------
>>> import numpy as np
>>> X = np.c_[np.ones(4), [0, 1, 2, 3], [0, 10, 20, 30], [5, 5, 5, 5]]
>>> names = ["(Intercept)", "age", "age10", "site"]
>>> dependent_columns(X, names)
['age10', 'site']
>>> explain(X, names, "age10")
"'age10' = 10 x age"
>>> explain(X, names, "site")
"'site' is constant (5 in every row), so the intercept already carries it"
"""

from __future__ import annotations

import numpy as np

#: lme4's (R's qr()) tolerance for a column to count as dependent
RANK_TOL = 1e-7


def dependent_columns(X: np.ndarray, names: list[str], tol: float = RANK_TOL) -> list[str]:
    """Columns that are linear combinations of the columns before them (lme4's choice)."""
    X = np.asarray(X, dtype=float)
    kept: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    dropped = []
    for j in range(X.shape[1]):
        col = X[:, j]
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
        if norm == 0 or np.linalg.norm(resid) <= tol * norm:
            dropped.append(names[j])
            continue
        kept.append(j)
        basis = np.column_stack([basis, resid / np.linalg.norm(resid)])
    return dropped


def explain(X: np.ndarray, names: list[str], column: str) -> str:
    """Why ``column`` is redundant given the columns before it that are kept."""
    X = np.asarray(X, dtype=float)
    j = names.index(column)
    col = X[:, j]
    if np.ptp(col) == 0:
        if not np.any(col):
            return f"'{column}' is 0 in every row"
        return (
            f"'{column}' is constant ({col[0]:g} in every row), so the intercept already carries it"
        )
    earlier = [i for i in range(j) if names[i] not in dependent_columns(X[:, :j], names[:j])]
    coef, *_ = np.linalg.lstsq(X[:, earlier], col, rcond=None)
    parts = []
    for i, c in zip(earlier, coef):
        if abs(c) < 1e-8 * max(1.0, np.abs(coef).max()):
            continue
        label = "" if names[i] == "(Intercept)" else names[i]
        value = f"{c:.4g}"
        parts.append(f"{value} x {label}" if label else value)
    combo = " + ".join(parts).replace("+ -", "- ") or "0"
    return f"'{column}' = {combo}"
