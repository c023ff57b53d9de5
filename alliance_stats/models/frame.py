"""Build the model frame: the formula's columns, checked, with incomplete rows removed.

Examples
--------
>>> import pandas as pd
>>> from alliance_stats.models.formula import parse_formula
>>> d = pd.DataFrame({"y": [1.0, 2, 3, None], "g": ["a", "a", "b", "b"]})
>>> mf = model_frame(parse_formula("y ~ 1 + (1 | g)"), d, "gaussian")
>>> mf.data.shape[0], mf.n_dropped
(3, 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError
from alliance_stats.models.formula import ParsedFormula, check_columns

FAMILIES = ("gaussian", "binomial")


@dataclass(frozen=True)
class ModelFrame:
    """Complete-case modelling data and what was done to get it."""

    data: pd.DataFrame
    n_dropped: int
    factor_levels: dict[str, list[str]]


def model_frame(parsed: ParsedFormula, data: pd.DataFrame, family: str) -> ModelFrame:
    """Select, check and complete-case the formula's columns.

    Raises :class:`InputError` for an unknown column, an all-missing variable, a
    non-binary binomial outcome, or a grouping factor with fewer than two levels.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if family not in FAMILIES:
        raise InputError(f"family must be one of {FAMILIES}, got {family!r}")
    check_columns(parsed, data.columns)
    cols = list(parsed.variables)
    frame = data.loc[:, cols].copy()
    frame = frame.reset_index(drop=True)
    for c in cols:
        if frame[c].isna().all():
            raise InputError(
                f"column '{c}' used in the formula has no non-missing values; "
                "drop it from the formula or check the data"
            )
    grouping = set(parsed.grouping_factors)
    factor_levels: dict[str, list[str]] = {}
    for c in cols:
        s = frame[c]
        if c in grouping:
            frame[c] = s.astype("str").where(s.notna(), None)
            continue
        if pd.api.types.is_bool_dtype(s):
            frame[c] = s.astype("float64")
        elif isinstance(s.dtype, pd.CategoricalDtype):
            frame[c] = s.astype("str").where(s.notna(), None)
            factor_levels[c] = [str(v) for v in s.cat.categories]
        elif pd.api.types.is_numeric_dtype(s):
            frame[c] = s.astype("float64")
        else:
            frame[c] = s.astype("str").where(s.notna(), None)
            factor_levels[c] = sorted(frame[c].dropna().unique().tolist())
    n0 = len(frame)
    frame = frame.dropna(how="any").reset_index(drop=True)
    n_dropped = n0 - len(frame)
    if len(frame) == 0:
        raise InputError("no row has every formula variable present; check missing values")
    y = frame[parsed.response]
    if family == "binomial":
        if parsed.response in factor_levels or not np.isin(y.to_numpy(), [0.0, 1.0]).all():
            vals = sorted(pd.unique(y.astype("str")))[:5]
            raise InputError(
                f"family='binomial' needs a 0/1 (or True/False) outcome; '{parsed.response}' "
                f"has values such as {vals}. Recode it, e.g. (df[col] == 'yes').astype(int)"
            )
        if y.nunique() < 2:
            raise InputError(
                f"outcome '{parsed.response}' is {int(y.iloc[0])} in every row; nothing to model"
            )
    elif parsed.response in factor_levels:
        raise InputError(
            f"family='gaussian' needs a numeric outcome; '{parsed.response}' holds text. "
            "Use family='binomial' for a 0/1 outcome"
        )
    elif y.nunique() < 2:
        raise InputError(
            f"outcome '{parsed.response}' is {y.iloc[0]:g} in every one of the {len(y):,} "
            "complete rows: a linear model of it has nothing to explain (no variance to split "
            "into random effects and residual). Check the column, or that the right rows were "
            "selected"
        )
    for g in parsed.grouping_factors:
        n = frame[g].nunique()
        if n < 2:
            raise InputError(
                f"grouping factor '{g}' has {n} level(s) in the complete rows; a random effect "
                "needs at least two groups (drop the term or check the data)"
            )
    for term in parsed.random:
        if len(frame.drop_duplicates(subset=list(term.group_factors))) == len(frame):
            what = (
                "the residual variance"
                if family == "gaussian"
                else "the 0/1 outcome's own variation"
            )
            raise InputError(
                f"every level of '{term.group}' has exactly one row ({len(frame):,} rows, "
                f"{len(frame):,} levels), so the random effect ({term.expr} | {term.group}) "
                f"cannot be told apart from {what}: the model is not identified. Use a "
                "grouping with repeated rows (e.g. client for session rows), or drop the term"
            )
    for c, levels in list(factor_levels.items()):
        seen = set(pd.unique(frame[c]))
        present = [lv for lv in levels if lv in seen]
        factor_levels[c] = present
        if len(present) < 2 and c != parsed.response:
            raise InputError(
                f"factor '{c}' has only one level ({present}) in the complete rows; "
                "a factor predictor needs at least two levels"
            )
        frame[c] = pd.Categorical(frame[c], categories=present)
    return ModelFrame(frame, n_dropped, factor_levels)
