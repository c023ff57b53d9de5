"""Likelihood-ratio tests between nested mixed models.

Examples
--------
>>> import alliance_stats.models as m
>>> from alliance_stats.models.examples import sleepstudy
>>> d = sleepstudy()
>>> small = m.fit_mixed("Reaction ~ Days + (1 | Subject)", d, REML=False)
>>> big = m.fit_mixed("Reaction ~ Days + (Days | Subject)", d, REML=False)
>>> round(compare(small, big)["chisq"].iloc[1], 2)
np.float64(42.14)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from alliance_stats.errors import InputError
from alliance_stats.models.result import MixedResult

COLUMNS = (
    "model",
    "n_par",
    "aic",
    "bic",
    "loglik",
    "deviance",
    "chisq",
    "df",
    "p_value",
    "p_boundary",
    "note",
)


def _n_variance(res: MixedResult) -> int:
    return len(res.theta)


def compare(*models: MixedResult) -> pd.DataFrame:
    """Likelihood-ratio test table for nested models (smallest first), like R's ``anova()``.

    Parameters
    ----------
    *models : MixedResult
        Two or more fits of the same rows and family, ordered by number of parameters.
        Gaussian models whose fixed effects differ must be fitted with ``REML=False``.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model, n_par, aic, bic, loglik, deviance, chisq, df, p_value,
        p_boundary, note``. When a model adds variance parameters, the variance is tested on
        its boundary (zero): ``p_value`` (chi-square) is conservative; ``p_boundary`` gives
        the 50:50 chi-bar-square mixture p-value (Self & Liang 1987; exact for one added
        variance) and ``note`` says so.

    Raises
    ------
    InputError
        Fewer than two models, different data sizes or families, REML fits with different
        fixed effects.

    Examples
    --------
    Does ``Days`` improve the model? Two ML fits (R: ``anova(m_null, m_days)``):

    >>> import alliance_stats.models as m
    >>> from alliance_stats.models.examples import sleepstudy
    >>> d = sleepstudy()
    >>> null = m.fit_mixed("Reaction ~ 1 + (1 | Subject)", d, REML=False)
    >>> days = m.fit_mixed("Reaction ~ Days + (1 | Subject)", d, REML=False)
    >>> tab = compare(null, days)
    >>> tab[["model", "n_par", "chisq", "df"]].round(2)
                                 model  n_par   chisq   df
    0     Reaction ~ 1 + (1 | Subject)      3     NaN  NaN
    1  Reaction ~ Days + (1 | Subject)      4  116.46  1.0
    >>> bool(tab["p_value"].iloc[1] < 0.001)
    True
    """
    if len(models) < 2:
        raise InputError("compare() needs at least two fitted models")
    for m in models:
        if not isinstance(m, MixedResult):
            raise InputError(f"compare() takes MixedResult objects, got {type(m).__name__}")
    if len({m.nobs for m in models}) != 1:
        raise InputError(
            "models were fitted to different numbers of rows "
            f"({[m.nobs for m in models]}); fit them to the same complete cases"
        )
    if len({m.family for m in models}) != 1:
        raise InputError("models have different families; a likelihood-ratio test needs one")
    models = tuple(sorted(models, key=lambda m: m.n_par))
    reml = [m.REML for m in models]
    if any(reml):
        fixed = {tuple(m.coefficients.index) for m in models}
        if len(fixed) > 1:
            raise InputError(
                "REML likelihoods of models with different fixed effects are not comparable; "
                "refit with REML=False"
            )
    rows = []
    for i, m in enumerate(models):
        row = {
            "model": m.formula,
            "n_par": m.n_par,
            "aic": m.aic,
            "bic": m.bic,
            "loglik": m.loglik,
            "deviance": m.deviance,
            "chisq": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "p_boundary": np.nan,
            "note": "",
        }
        if i > 0:
            prev = models[i - 1]
            chisq = max(2 * (m.loglik - prev.loglik), 0.0)
            df = m.n_par - prev.n_par
            row.update(chisq=chisq, df=df)
            if df > 0:
                p = float(stats.chi2.sf(chisq, df))
                row["p_value"] = p
                added_var = _n_variance(m) - _n_variance(prev)
                if added_var > 0:
                    # mixture of chi2(df - 1) and chi2(df): one variance on its boundary
                    lower = stats.chi2.sf(chisq, df - 1) if df > 1 else float(chisq <= 0)
                    row["p_boundary"] = 0.5 * p + 0.5 * float(lower)
                    row["note"] = (
                        f"adds {added_var} variance parameter(s) tested on the boundary (0): "
                        "chi-square p is conservative; p_boundary uses the 50:50 mixture"
                    )
                if any(reml):
                    row["note"] = (row["note"] + "; " if row["note"] else "") + "REML fits"
            else:
                row["note"] = "same number of parameters: not nested, no test"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))
