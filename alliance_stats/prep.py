"""Prepare a session table for multilevel analysis: centring, lags, retention outcomes.

Every function takes the canonical session table (one row per *scheduled* session: ``client``,
``therapist``, ``session``, ``attended``, then rating columns; see :mod:`alliance_stats.schema`)
and returns a **new** DataFrame; the input is never modified and its row order and index are
kept (except :func:`person_period`, which returns the rows at risk).

Functions
---------
:func:`decompose`
    Within/between split of time-varying predictors (Curran & Bauer 2011), optionally after
    linear detrending within client (Wang & Maxwell 2015).
:func:`add_lags`
    Values of earlier (or later) sessions of the same client, matched by session *number*.
:func:`retention_outcomes`
    ``attended_next``, ``dropout`` and ``dropout_event`` under one of three documented definitions.
:func:`decompose_running`
    Within/between split from the past only: the client's running mean of the sessions so far
    (between) and the session's deviation from it (within), for time-to-event and next-session
    models (no look-ahead).
:func:`person_period`
    Discrete-time hazard rows: one per attended session at risk of dropout.

Missing values
--------------
Ratings on rows with ``attended`` False are never used (a missed session has no rating; a value
there is treated as missing). Means, slopes and counts use the available (non-missing) values of
attended rows only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.arguments import UNSET, renamed_argument
from alliance_stats.errors import DataWarning, InputError

__all__ = [
    "ATTENDED_NEXT",
    "BETWEEN_SUFFIX",
    "CM_SUFFIX",
    "CWC_SUFFIX",
    "DEFAULT_DEFINITION",
    "DEFINITIONS",
    "DROPOUT",
    "DROPOUT_EVENT",
    "EVENT",
    "GMC_SUFFIX",
    "N_SUFFIX",
    "PERIOD",
    "RETENTION_DEFINITION",
    "RETURNED",
    "SLOPE_SUFFIX",
    "SOFAR_N_SUFFIX",
    "WITHIN_SUFFIX",
    "add_lags",
    "decompose",
    "decompose_running",
    "person_period",
    "retention_outcomes",
]

#: Suffixes added by :func:`decompose` to the name of the decomposed column.
CM_SUFFIX = "_cm"
CWC_SUFFIX = "_cwc"
GMC_SUFFIX = "_cm_gmc"
N_SUFFIX = "_n"
SLOPE_SUFFIX = "_slope"

#: Suffixes added by :func:`decompose_running` (running mean of the past, deviation from it).
BETWEEN_SUFFIX = "_between"
WITHIN_SUFFIX = "_within"
SOFAR_N_SUFFIX = "_n_so_far"

#: Columns added by :func:`retention_outcomes` and :func:`person_period`.
ATTENDED_NEXT = "attended_next"
DROPOUT_EVENT = "dropout_event"
RETURNED = "returned"
DROPOUT = "dropout"
EVENT = "event"
RETENTION_DEFINITION = "retention_definition"
PERIOD = "period"

DEFINITIONS = ("next_session", "dropout_before_n", "unplanned_end")
#: The dropout definition every function, the CLI and the report use unless told otherwise.
DEFAULT_DEFINITION = "unplanned_end"


# --------------------------------------------------------------------------------------------
# argument checks shared with ruptures.py and retention.py


def check_frame(data, func: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{func} expects a pandas DataFrame, got {type(data).__name__}")
    return data


def require_columns(data: pd.DataFrame, columns, func: str, what: str = "column") -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(
            f"{func}: {what} {missing} not found in the table; available columns: "
            f"{list(map(str, data.columns))}. Pass the name of an existing column."
        )


def _as_list(value, name: str, func: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise InputError(f"{func}: '{name}' lists a column more than once: {list(value)}")
        return list(value)
    raise InputError(
        f"{func}: '{name}' must be a column name or a non-empty list of column names, got {value!r}"
    )


def check_numeric(data: pd.DataFrame, column: str, func: str) -> np.ndarray:
    s = data[column]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise InputError(
            f"{func}: column '{column}' must be numeric, but has dtype {s.dtype}; "
            "score the items first (als.score) or convert the column with pd.to_numeric."
        )
    return s.to_numpy(dtype=float, na_value=np.nan)


def attended_mask(data: pd.DataFrame, attended: str | None, func: str) -> np.ndarray:
    """True where the row's ratings may be used (attended, or every row when attended is None)."""
    if attended is None:
        return np.ones(len(data), dtype=bool)
    require_columns(data, [attended], func, "attendance column")
    s = data[attended]
    if pd.api.types.is_bool_dtype(s):
        if s.isna().any():
            raise InputError(f"{func}: column '{attended}' has missing values; fill them first")
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isin(v, [0.0, 1.0]).all():
            return v == 1.0
    raise InputError(
        f"{func}: column '{attended}' must be True/False (or 0/1) without missing values; "
        f"got dtype {s.dtype}. Read the table with als.read_sessions to convert it."
    )


def session_numbers(data: pd.DataFrame, session: str, func: str) -> np.ndarray:
    require_columns(data, [session], func, "session column")
    s = data[session]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise InputError(
            f"{func}: session column '{session}' must hold whole session numbers, got dtype "
            f"{s.dtype}"
        )
    v = s.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(v).all() or (np.mod(v, 1) != 0).any():
        raise InputError(
            f"{func}: session column '{session}' must hold whole session numbers without gaps in "
            "the data (no missing or fractional values)"
        )
    return v.astype(np.int64)


def client_group_codes(data: pd.DataFrame, client: str, func: str) -> np.ndarray:
    if not isinstance(client, str):
        raise InputError(f"{func}: 'client' must be one column name, got {client!r}")
    require_columns(data, [client], func, "client column")
    if data[client].isna().any():
        raise InputError(f"{func}: client column '{client}' has missing values; fill them first")
    return pd.factorize(data[client])[0]


def check_unique_sessions(
    codes: np.ndarray, sess: np.ndarray, client: str, session: str, func: str
):
    key = pd.MultiIndex.from_arrays([codes, sess])
    if key.has_duplicates:
        n = int(key.duplicated().sum())
        raise InputError(
            f"{func}: {n} row(s) repeat a ('{client}', '{session}') pair; each client may have "
            "one row per session number. Run als.validate_sessions to list them."
        )


# --------------------------------------------------------------------------------------------
# decompose


def decompose(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    client: str = "client",
    *,
    detrend: bool = False,
    session: str = "session",
    grand_mean_centre: bool = False,
    min_sessions: int = 3,
    attended: str | None = "attended",
    by=UNSET,
    order=UNSET,
) -> pd.DataFrame:
    """Split time-varying predictors into between-client and within-client parts.

    Person-mean centring (Curran & Bauer 2011): for client *i* at session *t*,
    ``x_cm = mean_i(x)`` (the client's own mean, the *between* part) and
    ``x_cwc = x_ti - x_cm`` (centred within client, the *within* part). Entering both in a
    model separates a client's session-to-session change from stable differences between clients.

    The mean is over *all* of the client's sessions: right for models of the ratings themselves
    (e.g. alliance over sessions), but not for a dropout hazard or a next-session outcome, where
    it lets sessions after the period at risk predict it (look-ahead) and gives early dropouts
    means from few sessions; use :func:`decompose_running` there.

    With ``detrend=True`` (Wang & Maxwell 2015) each client's series is first freed of its own
    linear trend in ``session``: an OLS line ``x_ti = a_i + b_i * t + e_ti`` is fitted per client to
    the available values, the detrended series is ``d_ti = x_ti - b_i * (t - tbar_i)`` with
    ``tbar_i`` the mean session number of those values; ``x_cwc = d_ti - mean_i(d) = e_ti`` (the
    detrended within part, i.e. the OLS residual) and ``x_cm = mean_i(d)``, the person mean of the
    detrended series, which equals the raw person mean (the client's level at their average
    session). ``x_slope = b_i`` is added. A client with fewer than two values, or all values at one
    session number, has slope NaN and is only mean-centred.

    Parameters
    ----------
    data : DataFrame
        Session table.
    columns : str or list of str
        Numeric column(s) to decompose.
    client : str, default "client"
        Client column (the person; ``by=`` is its deprecated name).
    detrend : bool, default False
        Remove each client's linear trend in ``session`` before centring (see above).
    session : str, default "session"
        Session-number column used for detrending (whole session numbers; ``order=`` is its
        deprecated name).
    grand_mean_centre : bool, default False
        Also add ``x_cm_gmc = x_cm - mean(x_cm over clients)``: the between part centred on the
        grand mean of the person means (each client weighted equally, not by sessions).
    min_sessions : int, default 3
        A person mean resting on fewer values than this is flagged: a
        :class:`~alliance_stats.DataWarning` counts such clients; ``x_n`` gives every row's count.
    attended : str or None, default "attended"
        Attendance column; values on non-attended rows are not used. ``None`` uses every row.

    Returns
    -------
    DataFrame
        A copy with ``<x>_cm``, ``<x>_cwc``, ``<x>_n`` (values used for the client's mean), and
        ``<x>_slope`` (if ``detrend``) and ``<x>_cm_gmc`` (if ``grand_mean_centre``) for each
        column ``x``. ``x_cm`` and ``x_n`` are filled on every row of the client (also missed
        sessions); ``x_cwc`` is NaN where ``x`` is missing or the session was not attended.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": ["a", "a", "a", "b", "b", "b"], "session": [1, 2, 3] * 2,
    ...                    "attended": [True] * 6, "x": [1.0, 2.0, 3.0, 5.0, 5.0, 8.0]})
    >>> out = decompose(df, "x")
    >>> out[["x_cm", "x_cwc", "x_n"]].to_numpy().tolist()[:3]
    [[2.0, -1.0, 3.0], [2.0, 0.0, 3.0], [2.0, 1.0, 3.0]]
    >>> decompose(df, "x", detrend=True)["x_cwc"].round(3).tolist()
    [0.0, 0.0, 0.0, 0.5, -1.0, 0.5]

    R equivalent: ``x_cm <- ave(x, client, FUN = function(v) mean(v, na.rm = TRUE))``.
    """
    client = renamed_argument("decompose", "client", client, "client", "by", by)
    session = renamed_argument("decompose", "session", session, "session", "order", order)
    func = "decompose"
    data = check_frame(data, func)
    cols = _as_list(columns, "columns", func)
    require_columns(data, cols, func)
    codes = client_group_codes(data, client, func)
    use = attended_mask(data, attended, func)
    if not isinstance(detrend, bool):
        raise InputError(f"{func}: 'detrend' must be True or False, got {detrend!r}")
    if not isinstance(grand_mean_centre, bool):
        raise InputError(f"{func}: 'grand_mean_centre' must be True or False")
    if isinstance(min_sessions, bool) or not isinstance(min_sessions, (int, np.integer)):
        raise InputError(f"{func}: 'min_sessions' must be a whole number >= 1, got {min_sessions}")
    if min_sessions < 1:
        raise InputError(f"{func}: 'min_sessions' must be >= 1, got {min_sessions}")
    t = session_numbers(data, session, func).astype(float) if detrend else None
    n_groups = codes.max() + 1 if len(codes) else 0

    out = data.copy()
    for col in cols:
        x = check_numeric(data, col, func)
        x = np.where(use, x, np.nan)
        ok = np.isfinite(x)
        n = np.bincount(codes[ok], minlength=n_groups).astype(float)
        total = np.bincount(codes[ok], weights=x[ok], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)
        cm = mean[codes]
        cwc = x - cm
        if detrend:
            tt = np.where(ok, t, np.nan)
            tsum = np.bincount(codes[ok], weights=tt[ok], minlength=n_groups)
            tbar = np.where(n > 0, tsum / np.where(n > 0, n, 1), np.nan)
            dt = tt - tbar[codes]
            sxy = np.bincount(codes[ok], weights=(dt * cwc)[ok], minlength=n_groups)
            sxx = np.bincount(codes[ok], weights=(dt * dt)[ok], minlength=n_groups)
            slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1), np.nan)
            b = slope[codes]
            # detrended series d = x - b (t - tbar); its person mean equals the raw mean
            cwc = np.where(np.isfinite(b), cwc - b * dt, cwc)
            out[col + SLOPE_SUFFIX] = b
        out[col + CM_SUFFIX] = cm
        out[col + CWC_SUFFIX] = cwc
        out[col + N_SUFFIX] = n[codes]
        if grand_mean_centre:
            out[col + GMC_SUFFIX] = cm - np.nanmean(mean) if np.isfinite(mean).any() else np.nan
        few = int((n < min_sessions).sum())
        if few:
            warnings.warn(
                f"decompose: the person mean of '{col}' rests on fewer than {min_sessions} "
                f"value(s) for {few} of {n_groups} '{client}' group(s) (see column "
                f"'{col}{N_SUFFIX}'); such between-client scores are unreliable.",
                DataWarning,
                stacklevel=2,
            )
    return out


def decompose_running(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    client: str = "client",
    session: str = "session",
    *,
    lag: int = 0,
    attended: str | None = "attended",
) -> pd.DataFrame:
    """Split time-varying predictors into a running between part and a within part (no look-ahead).

    For client *i* at session *t* (sessions taken in ``session`` order, values of attended
    sessions only), with ``lag = k``::

        x_between = mean of x over the client's sessions numbered <= t - k   (the past so far)
        x_within  = x at session t - k  -  x_between

    With the default ``k = 0`` the running mean includes the current session, which has already
    happened when the next-session outcome or the hazard of dropping out after it is at stake;
    nothing from later sessions enters. This is the split the engagement models
    (:mod:`alliance_stats.engagement`) use. :func:`decompose` instead uses the mean over *all* of
    a client's sessions: right for models of the ratings themselves, but in a hazard or
    next-session model it lets the future predict the present.

    For a 0/1 strategy column, ``x_between`` is the share of the client's sessions so far with
    the strategy and ``x_within`` the session's deviation from that share: a coefficient on
    ``x_within`` is the log odds ratio of a session with the strategy against one without for
    a client with the same history, and a coefficient on ``x_between`` is per unit of the share
    (0 to 1; divide by 10 for "per 10 percentage points more sessions with the strategy").

    Parameters
    ----------
    data : DataFrame
        Session table (one row per scheduled session).
    columns : str or list of str
        Numeric column(s) to split.
    client, session : str
        Client and session-number columns; ``(client, session)`` pairs must be unique.
    lag : int, default 0
        Use the value of session ``t - lag`` and the running mean up to it (``lag=1``: the
        previous session predicts the current one).
    attended : str or None, default "attended"
        Attendance column; values on missed sessions are not used. ``None`` uses every row.

    Returns
    -------
    DataFrame
        A copy with ``<x>_between``, ``<x>_within`` and ``<x>_n_so_far`` (values in the running
        mean) for each column ``x``; input row order and index kept. ``x_between`` is NaN before
        the client's first value; ``x_within`` is NaN where session ``t - lag`` has no value.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": ["a"] * 4, "session": [1, 2, 3, 4], "attended": True,
    ...                    "x": [1.0, 0.0, 1.0, 1.0]})
    >>> out = als.decompose_running(df, "x")
    >>> out[["x_between", "x_within"]].round(3).to_numpy().tolist()
    [[1.0, 0.0], [0.5, -0.5], [0.667, 0.333], [0.75, 0.25]]

    R equivalent: ``x_between <- ave(x, client, FUN = function(v) cumsum(v) / seq_along(v))``
    (on attended sessions in session order, without missing values).
    """
    func = "decompose_running"
    data = check_frame(data, func)
    cols = _as_list(columns, "columns", func)
    require_columns(data, cols, func)
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise InputError(f"{func}: 'lag' must be a whole number >= 0 (sessions back), got {lag!r}")
    codes = client_group_codes(data, client, func)
    sess = session_numbers(data, session, func)
    check_unique_sessions(codes, sess, client, session, func)
    use = attended_mask(data, attended, func)
    order = np.lexsort((sess, codes))
    c_sorted, s_sorted = codes[order], sess[order]
    starts = np.r_[True, c_sorted[1:] != c_sorted[:-1]] if len(order) else np.zeros(0, bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    # row (in sorted order) of the client's latest session numbered <= t - lag
    low = s_sorted.min() if len(order) else 0
    span = int(s_sorted.max() - low) + lag + 2 if len(order) else 1
    key = c_sorted * span + (s_sorted - low)
    at = np.searchsorted(key, key - lag, side="right") - 1
    valid = (at >= group_start) & (at >= 0)
    at = np.where(valid, at, 0)
    exact = valid & (s_sorted[at] == s_sorted - lag)
    out = data.copy()
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    for col in cols:
        x = np.where(use, check_numeric(data, col, func), np.nan)[order]
        ok = np.isfinite(x)
        csum = np.cumsum(np.where(ok, x, 0.0))
        ccount = np.cumsum(ok)
        base_sum = np.r_[0.0, csum][group_start]
        base_n = np.r_[0, ccount][group_start]
        n_so_far = np.where(valid, ccount[at] - base_n, 0).astype(float)
        sums = np.where(valid, csum[at] - base_sum, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            between = np.where(n_so_far > 0, sums / np.where(n_so_far > 0, n_so_far, 1), np.nan)
        current = np.where(exact, x[at], np.nan)
        out[col + BETWEEN_SUFFIX] = between[inv]
        out[col + WITHIN_SUFFIX] = (current - between)[inv]
        out[col + SOFAR_N_SUFFIX] = n_so_far[inv]
    return out


# --------------------------------------------------------------------------------------------
# lags


def _check_steps(value, name: str, func: str) -> list[int]:
    steps = [value] if not isinstance(value, (list, tuple)) else list(value)
    if not steps:
        raise InputError(f"{func}: '{name}' must not be empty")
    for s in steps:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise InputError(f"{func}: '{name}' must be a whole number >= 1, got {s!r}")
        if s < 1:
            hint = " (use lead= for later sessions)" if name == "lag" else ""
            raise InputError(f"{func}: '{name}' must be >= 1, got {s}{hint}")
    return sorted(set(int(s) for s in steps))


def add_lags(
    data: pd.DataFrame,
    columns: str | Sequence[str],
    client: str = "client",
    session: str = "session",
    lag: int | Sequence[int] = 1,
    *,
    lead: int | Sequence[int] | None = None,
    attended: str | None = "attended",
    by=UNSET,
    order=UNSET,
) -> pd.DataFrame:
    """Add values from earlier (lag) or later (lead) sessions of the same client.

    The lag-``k`` value of session ``t`` is the value at session number ``t - k`` of the same
    client (matched by session *number*, not by row position): it is NaN when that session is
    not in the table, was not attended, or has a missing value. A missed session is therefore
    never skipped over, and lags never cross clients (Falkenström et al. 2013 style models:
    alliance at ``t-1`` predicting the outcome at ``t``). Leads are the same with ``t + k``.

    Parameters
    ----------
    data : DataFrame
        Session table.
    columns : str or list of str
        Column(s) to lag (any dtype).
    client : str, default "client"
        Client column; values are never taken from another client (``by=`` is its deprecated
        name).
    session : str, default "session"
        Whole session numbers; ``(client, session)`` pairs must be unique (``order=`` is its
        deprecated name).
    lag : int or list of int, default 1
        Lag(s), each >= 1; adds ``<x>_lag<k>``.
    lead : int or list of int, optional
        Lead(s), each >= 1; adds ``<x>_lead<k>``.
    attended : str or None, default "attended"
        Values of non-attended sessions are treated as missing. ``None`` uses every row.

    Returns
    -------
    DataFrame
        A copy with the lag and lead columns added.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": ["a"] * 4 + ["b"], "session": [1, 2, 3, 4, 1],
    ...                    "attended": [True, False, True, True, True],
    ...                    "x": [1.0, None, 3.0, 4.0, 9.0]})
    >>> add_lags(df, "x", lead=1)[["x_lag1", "x_lead1"]].to_numpy().tolist()
    [[nan, nan], [1.0, 3.0], [nan, 4.0], [3.0, nan], [nan, nan]]

    R equivalent: ``dplyr::lag`` after ``tidyr::complete(session = full_seq(session, 1))``.
    """
    client = renamed_argument("add_lags", "client", client, "client", "by", by)
    session = renamed_argument("add_lags", "session", session, "session", "order", order)
    func = "add_lags"
    data = check_frame(data, func)
    cols = _as_list(columns, "columns", func)
    require_columns(data, cols, func)
    codes = client_group_codes(data, client, func)
    sess = session_numbers(data, session, func)
    check_unique_sessions(codes, sess, client, session, func)
    lags = _check_steps(lag, "lag", func)
    leads = _check_steps(lead, "lead", func) if lead is not None else []
    use = attended_mask(data, attended, func)

    key = pd.MultiIndex.from_arrays([codes, sess])
    out = data.copy()
    for col in cols:
        values = data[col].where(use)
        values.index = key
        for k, suffix in [(k, f"_lag{k}") for k in lags] + [(-k, f"_lead{k}") for k in leads]:
            target = pd.MultiIndex.from_arrays([codes, sess - k])
            out[col + suffix] = values.reindex(target).to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# retention outcomes


def client_order(data: pd.DataFrame, func: str, attended: str):
    require_columns(data, [schema.CLIENT, schema.SESSION], func, "required column")
    codes = client_group_codes(data, schema.CLIENT, func)
    sess = session_numbers(data, schema.SESSION, func)
    check_unique_sessions(codes, sess, schema.CLIENT, schema.SESSION, func)
    att = attended_mask(data, attended, func)
    order = np.lexsort((sess, codes))
    return codes, sess, att, order


def retention_outcomes(
    data: pd.DataFrame,
    definition: str = DEFAULT_DEFINITION,
    *,
    n: int | None = None,
    planned_sessions: str | None = None,
    attended: str = "attended",
) -> pd.DataFrame:
    """Add the retention outcomes ``attended_next``, ``dropout`` and ``dropout_event``.

    Rows are one per scheduled session. A client's sessions are taken in ``session`` order;
    the column names never depend on the arguments, and ``retention_definition`` records the
    rule used. The two engagement outcomes have distinct names:

    ``attended_next`` (row level, the outcome of the next-session attendance model)
        On attended rows: 1.0 when the client came to the next scheduled session, 0.0 when it
        was scheduled but missed (a no-show or the start of a dropout); NaN on missed sessions
        and on the client's last row (nothing scheduled after it).

    ``dropout_event`` (row level, the outcome of the dropout hazard model)
        On attended rows: 1 on a dropout's last attended session (the client dropped out after
        it, under ``definition``), 0 on the others; NaN on missed sessions. With
        ``definition="next_session"`` it follows ``"unplanned_end"``.

    ``returned`` (row level, the same under every definition)
        1.0 when the client attended the next scheduled session (the client's next row in
        session order), 0.0 when that session was scheduled but not attended, NaN on the
        client's last row (nothing scheduled after it). A completer's last session therefore has
        ``returned`` NaN, not 0: it was not followed by a scheduled session. Rows of missed
        sessions get a value too (did the client come back after the no-show?); restrict to
        attended rows for the usual "attended session predicts return" model.

    ``dropout`` (client level, repeated on the client's rows; 0/1)
        ``definition="next_session"`` and ``"unplanned_end"``: 1 when the client's last
        scheduled session was not attended (the client stopped coming: a unilateral end), 0 when
        it was attended. With ``planned_sessions`` (unplanned_end only), instead 1 when the last
        attended session number is below the client's planned number of sessions (also counts a
        client still in treatment at data export: use on closed cases).
        ``definition="dropout_before_n"``: 1 when the client attended fewer than ``n`` sessions
        (whatever the reason, including a short planned course).

    ``event`` (row level; kept for scripts written before ``dropout_event``/``attended_next``)
        ``"next_session"``: ``1 - returned`` on attended rows (did not come to the next scheduled
        session), NaN on missed sessions and on the client's last row. Client-level definitions:
        on attended rows, 1 on a dropout's last attended session and 0 on the others; NaN on
        missed sessions. See :func:`person_period` for the rows at risk.

    Parameters
    ----------
    data : DataFrame
        Session table with ``client``, ``session`` and ``attended``.
    definition : {"unplanned_end", "dropout_before_n", "next_session"}
        Dropout rule (see above); the default :data:`DEFAULT_DEFINITION` is the one every
        function, the CLI and the report use.
    n : int, optional
        Required for ``"dropout_before_n"``: the number of attended sessions a client needs not
        to count as a dropout (e.g. 4).
    planned_sessions : str, optional
        ``"unplanned_end"`` only: column with each client's planned number of sessions
        (constant within client).
    attended : str, default "attended"
        Attendance column.

    Returns
    -------
    DataFrame
        A copy with ``attended_next``, ``dropout``, ``dropout_event``, ``returned``, ``event``,
        ``retention_definition`` and ``period`` (attended sessions so far, this one included:
        the discrete time of the hazard and attendance models).

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": ["a"] * 3 + ["b"] * 3, "session": [1, 2, 3] * 2,
    ...                    "attended": [True, True, True, True, True, False]})
    >>> out = retention_outcomes(df)
    >>> out[["attended_next", "dropout", "dropout_event"]]
       attended_next  dropout  dropout_event
    0            1.0      0.0            0.0
    1            1.0      0.0            0.0
    2            NaN      0.0            0.0
    3            1.0      1.0            0.0
    4            0.0      1.0            1.0
    5            NaN      1.0            NaN
    >>> retention_outcomes(df, "dropout_before_n", n=3)["dropout"].tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    """
    func = "retention_outcomes"
    data = check_frame(data, func)
    if definition not in DEFINITIONS:
        raise InputError(
            f"{func}: unknown definition {definition!r}; choose one of {list(DEFINITIONS)}"
        )
    if definition == "dropout_before_n":
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(
                f"{func}: definition 'dropout_before_n' needs n, a whole number >= 1 "
                f"(attended sessions needed to count as retained), got n={n!r}"
            )
    elif n is not None:
        raise InputError(f"{func}: n is only used with definition='dropout_before_n'")
    if planned_sessions is not None and definition != "unplanned_end":
        raise InputError(f"{func}: planned_sessions is only used with definition='unplanned_end'")
    codes, sess, att, order = client_order(data, func, attended)

    c = codes[order]
    a = att[order].astype(float)
    last = np.ones(len(c), dtype=bool)
    if len(c):
        last[:-1] = c[1:] != c[:-1]
    returned = np.full(len(c), np.nan)
    if len(c):
        returned[:-1] = a[1:]
    returned[last] = np.nan

    n_groups = codes.max() + 1 if len(codes) else 0
    last_att = np.zeros(n_groups)
    last_att[c[last]] = a[last]
    n_att = np.bincount(c, weights=a, minlength=n_groups)
    # last attended session number per client
    s_sorted = sess[order].astype(float)
    max_att = np.full(n_groups, -np.inf)
    np.maximum.at(max_att, c[a == 1], s_sorted[a == 1])

    if definition == "dropout_before_n":
        drop_c = (n_att < n).astype(float)
    elif planned_sessions is not None:
        require_columns(data, [planned_sessions], func, "planned_sessions column")
        plan = check_numeric(data, planned_sessions, func)
        pc = pd.Series(plan).groupby(codes)
        if (pc.nunique(dropna=False) > 1).any() or pd.isna(plan).any():
            raise InputError(
                f"{func}: column '{planned_sessions}' must hold one planned number per client, "
                "without missing values"
            )
        plan_c = pc.first().to_numpy()
        drop_c = (max_att < plan_c).astype(float)
    else:
        drop_c = 1.0 - last_att

    is_last_att = (a == 1) & (s_sorted == max_att[c])
    dropout_event = np.where(a == 1, np.where(is_last_att, drop_c[c], 0.0), np.nan)
    if definition == "next_session":
        event = np.where(a == 1, 1.0 - returned, np.nan)
    else:
        event = dropout_event

    out = data.copy()
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    out[ATTENDED_NEXT] = np.where(a == 1, returned, np.nan)[inv]
    out[DROPOUT] = drop_c[codes]
    out[DROPOUT_EVENT] = dropout_event[inv]
    out[RETURNED] = returned[inv]
    out[EVENT] = event[inv]
    out[RETENTION_DEFINITION] = pd.array([definition] * len(out), dtype="str")
    out[PERIOD] = pd.Series(a.astype(np.int64)).groupby(c).cumsum().to_numpy()[inv]
    return out


def person_period(
    data: pd.DataFrame,
    definition: str = DEFAULT_DEFINITION,
    *,
    n: int | None = None,
    planned_sessions: str | None = None,
    attended: str = "attended",
) -> pd.DataFrame:
    """Person-period rows for a discrete-time dropout hazard model.

    One row per attended session at which the client was at risk of dropping out;
    ``dropout_event`` (also in ``event``) is 1 when the client dropped out after that session
    (did not come back), else 0. Completers
    are right-censored: all their rows have event 0. Which sessions are at risk:

    - missed sessions (``attended`` False) are never at risk (there is no session to predict
      from; a no-show followed by a return is not a dropout);
    - ``"unplanned_end"`` without ``planned_sessions``: a client whose last scheduled session was
      attended ended as planned, so that last session (the planned end) is not at risk and is
      dropped; with ``planned_sessions``, sessions numbered ``>= planned_sessions`` are dropped;
    - ``"dropout_before_n"``: only the first ``n - 1`` attended sessions are at risk (a client
      who reached ``n`` attended sessions cannot become a dropout).

    ``period`` counts the attended sessions (1, 2, ...), the discrete time of the hazard model;
    ``session`` is kept. The dropout hazard model of :mod:`alliance_stats.engagement` fits
    ``dropout_event ~ <baseline in period> + x_within + x_between + (1 | therapist)`` on these rows
    (``x`` split by :func:`decompose_running`, from the past only). The row construction matches
    the R code of the package's lme4 reference fixture (tests/reference/R/lme4_models.R).

    Parameters
    ----------
    data : DataFrame
        Session table.
    definition : {"unplanned_end", "dropout_before_n"}
        Client-level dropout rule, as in :func:`retention_outcomes`.
    n, planned_sessions, attended
        As in :func:`retention_outcomes`.

    Returns
    -------
    DataFrame
        The at-risk rows (all input columns) with the columns of :func:`retention_outcomes`
        (``period`` among them), ordered by client and session, new index.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": ["a"] * 3 + ["b"] * 3, "therapist": "t",
    ...                    "session": [1, 2, 3] * 2,
    ...                    "attended": [True, True, True, True, True, False]})
    >>> person_period(df)[["client", "session", "period", "dropout_event"]].to_numpy().tolist()
    [['a', 1, 1, 0], ['a', 2, 2, 0], ['b', 1, 1, 0], ['b', 2, 2, 1]]
    """
    func = "person_period"
    data = check_frame(data, func)
    if definition == "next_session":
        raise InputError(
            f"{func}: definition 'next_session' is a row-level outcome, not a time to dropout; "
            "use retention_outcomes(df) and model 'attended_next' directly, or choose "
            "'unplanned_end' or 'dropout_before_n'"
        )
    out = retention_outcomes(
        data, definition, n=n, planned_sessions=planned_sessions, attended=attended
    )
    codes, sess, att, order = client_order(data, func, attended)
    out = out.iloc[order]
    codes, sess, att = codes[order], sess[order], att[order]
    period = out[PERIOD].to_numpy()
    keep = att.copy()
    if definition == "dropout_before_n":
        keep &= period < n
    elif planned_sessions is not None:
        plan = out[planned_sessions].to_numpy(dtype=float)
        keep &= sess < plan
    else:
        last = np.ones(len(codes), dtype=bool)
        if len(codes):
            last[:-1] = codes[1:] != codes[:-1]
        completer_final = last & att  # last scheduled session attended: the planned end
        keep &= ~completer_final
    out = out[keep].reset_index(drop=True)
    out[EVENT] = out[EVENT].astype(np.int64)
    out[DROPOUT_EVENT] = out[DROPOUT_EVENT].astype(np.int64)
    return out
