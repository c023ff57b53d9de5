"""Separation in binary-outcome models, named in plain words.

A predictor separates the outcome when some of its values occur only with outcome 0 (or only
with 1): the likelihood then keeps rising as its coefficient runs to infinity, and a maximum
likelihood fit reports a huge log odds ratio with a huge standard error. :func:`separated`
finds it two ways: a 0/1 column whose 1s (or 0s) all share one outcome (exact, for the
strategy and group codes this package fits), and a fitted log odds ratio beyond
:data:`RUNAWAY` (any other column, including quasi-separation by a combination).

Examples
--------
>>> import numpy as np
>>> X = np.c_[np.ones(6), [1, 1, 0, 0, 0, 0], [0.1, 0.5, 0.2, 0.9, 0.3, 0.4]]
>>> y = np.array([0, 0, 1, 0, 1, 1])
>>> separated(X, y, ["(Intercept)", "z", "x"], np.array([0.5, -20.0, 0.3]))
["'z': every row with z = 1 has outcome 0 (2 rows)"]
"""

from __future__ import annotations

import numpy as np

#: A fitted log odds ratio this large (an odds ratio beyond 22,000) means separation
RUNAWAY = 10.0


def separated(X: np.ndarray, y: np.ndarray, names: list[str], beta: np.ndarray) -> list[str]:
    """One phrase per separating fixed-effect column (intercept excluded)."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    out = []
    for j, name in enumerate(names):
        if name == "(Intercept)":
            continue
        col = X[:, j]
        phrase = None
        if np.isin(col, (0.0, 1.0)).all():
            for value in (1.0, 0.0):
                ys = y[col == value]
                if len(ys) and np.ptp(ys) == 0:
                    phrase = (
                        f"'{name}': every row with {name} = {value:g} has outcome {ys[0]:g} "
                        f"({len(ys):,} rows)"
                    )
                    break
        if phrase is None and abs(beta[j]) > RUNAWAY:
            phrase = f"'{name}': log odds ratio {beta[j]:.1f} (quasi-separation)"
        if phrase:
            out.append(phrase)
    return out
