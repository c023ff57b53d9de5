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

FAMILIES = ("gaussian", "binomial", "poisson", "negative_binomial")


@dataclass(frozen=True)
class ModelFrame:
    """Complete-case modelling data and what was done to get it."""

    data: pd.DataFrame
    n_dropped: int
    factor_levels: dict[str, list[str]]
    #: how a two-level text outcome of a binomial model was coded (``None``: it was 0/1)
    outcome_coding: str | None = None


def model_frame(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    family: str,
    extra: tuple[str, ...] = (),
    proportions: bool = False,
    success: str | None = None,
) -> ModelFrame:
    """Select, check and complete-case the formula's columns (and the ``extra`` numeric
    columns carried along, such as prior weights).

    Raises :class:`InputError` for an unknown column, an all-missing variable, a
    non-binary binomial outcome (proportions in [0, 1] where ``proportions``), a negative
    count, or a grouping factor with fewer than two levels. A binomial outcome with two text
    (or categorical) levels is coded as lme4 codes a factor: the first level 0, the other 1,
    unless ``success`` names the level coded 1.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if family not in FAMILIES:
        raise InputError(f"family must be one of {FAMILIES}, got {family!r}")
    check_columns(parsed, data.columns)
    cols = list(parsed.variables) + [c for c in extra if c not in parsed.variables]
    grouping = set(parsed.grouping_factors)
    factor_levels: dict[str, list[str]] = {}
    columns: dict[str, pd.Series] = {}
    missing = np.zeros(len(data), dtype=bool)
    for c in cols:
        s = data[c].reset_index(drop=True)
        na = s.isna().to_numpy()
        if na.all():
            raise InputError(
                f"column '{c}' used in the formula has no non-missing values; "
                "drop it from the formula or check the data"
            )
        missing |= na
        categorical = isinstance(s.dtype, pd.CategoricalDtype)
        if c in grouping or categorical or not pd.api.types.is_numeric_dtype(s):
            # as text (the rows where it is missing are dropped below)
            columns[c] = s.astype("str")
            if categorical and c not in grouping:
                factor_levels[c] = [str(v) for v in s.cat.categories]
            elif c not in grouping:
                factor_levels[c] = sorted(columns[c][~na].unique().tolist())
        else:  # numbers and True/False
            columns[c] = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan))
    keep = ~missing
    complete = keep.all()
    frame = pd.DataFrame(
        {c: v if complete else v[keep].reset_index(drop=True) for c, v in columns.items()}
    )
    n_dropped = int(missing.sum())
    if len(frame) == 0:
        raise InputError("no row has every formula variable present; check missing values")
    y = frame[parsed.response]
    coding = None
    if family in ("poisson", "negative_binomial"):
        bad = (
            np.ones(len(y), dtype=bool)
            if parsed.response in factor_levels
            else ((y < 0) | (y != np.round(y))).to_numpy()
        )
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"family={family!r} needs a count outcome (0, 1, 2, ...); '{parsed.response}' "
                f"is {y.iloc[row]!r} in model row {row}"
            )
    elif family == "binomial" and proportions:
        if parsed.response in factor_levels or not ((y >= 0) & (y <= 1)).all():
            raise InputError(
                f"family='binomial' with weights needs proportions in [0, 1]; "
                f"'{parsed.response}' has values outside it"
            )
    elif family == "binomial":
        if success is not None and parsed.response not in factor_levels:
            raise InputError(
                f"success= names a level of a text outcome; '{parsed.response}' is numeric "
                "(1 already counts as the success)"
            )
        if parsed.response in factor_levels:
            frame, coding = _code_outcome(frame, parsed.response, factor_levels, success)
            factor_levels.pop(parsed.response, None)
            y = frame[parsed.response]
        if not np.isin(y.to_numpy(), [0.0, 1.0]).all():
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
    n_levels = {}
    for g in parsed.grouping_factors:
        n = n_levels[g] = frame[g].nunique()
        if n < 2:
            raise InputError(
                f"grouping factor '{g}' has {n} level(s) in the complete rows; a random effect "
                "needs at least two groups (drop the term or check the data)"
            )
    for term in parsed.random:
        factors = list(term.group_factors)
        n = n_levels.get(factors[0]) if len(factors) == 1 else None
        if n is None:
            n = len(frame.drop_duplicates(subset=factors))
        if n == len(frame):
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
        codes = pd.Index(present).get_indexer(frame[c].to_numpy())
        frame[c] = pd.Categorical.from_codes(codes, categories=present)
    return ModelFrame(frame, n_dropped, factor_levels, coding)


def _code_outcome(frame, response, factor_levels, success):
    """A two-level outcome as 0/1 (lme4: the first level is 0), and the sentence saying so."""
    values = frame[response].astype(str)
    levels = factor_levels.get(response) or sorted(values.unique())
    levels = [lv for lv in levels if lv in set(values)]
    if success is not None and str(success) not in levels:
        raise InputError(
            f"success={success!r} is not a value of the outcome '{response}' "
            f"(values: {', '.join(levels[:5])})"
        )
    if success is None and len(levels) != 2:
        raise InputError(
            f"family='binomial' needs a 0/1 (or True/False, or two-level) outcome; "
            f"'{response}' has {len(levels)} values such as {levels[:5]}. Recode it, or name "
            "the level that counts as a success with success='...'"
        )
    one = str(success) if success is not None else levels[1]
    rest = [lv for lv in levels if lv != one]
    frame = frame.assign(**{response: (values == one).astype("float64")})
    coding = (
        f"outcome '{response}' coded 1 = '{one}', 0 = "
        + ", ".join(f"'{lv}'" for lv in rest)
        + (" (as lme4 codes a two-level factor: the first level is 0)" if success is None else "")
    )
    return frame, coding
