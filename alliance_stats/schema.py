"""The canonical session table: column names and the types every reader produces.

One row per scheduled session, in long format. The first columns are fixed:

========== ============== ===================================================
column     dtype          meaning
========== ============== ===================================================
client     str            client identifier (numbers become text: ``101``)
therapist  str            therapist identifier
session    int64          1-based order of the scheduled session
date       datetime64[ns] optional: date of the (scheduled) session
attended   bool           the client came to this scheduled session
========== ============== ===================================================

Every other column keeps its name. Numeric columns (item responses, scores,
resistance codes, strategy codes, covariates) are ``float64``; text columns are
``str``; value-labelled columns from SPSS or Stata are ``category``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLIENT = "client"
THERAPIST = "therapist"
SESSION = "session"
DATE = "date"
ATTENDED = "attended"

ID_COLUMNS = (CLIENT, THERAPIST)
REQUIRED_COLUMNS = (CLIENT, THERAPIST, SESSION, ATTENDED)
FIXED_COLUMNS = (CLIENT, THERAPIST, SESSION, DATE, ATTENDED)

#: Text accepted for ``attended`` (compared case-insensitively, surrounding spaces ignored).
TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y", "attended", "present"})
FALSE_WORDS = frozenset(
    {"0", "0.0", "false", "f", "no", "n", "missed", "absent", "no-show", "no show", "noshow"}
)


def ids_to_text(values: pd.Series) -> pd.Series:
    """Identifiers as text, writing whole numbers without a decimal part.

    Examples
    --------
    >>> ids_to_text(pd.Series([101.0, 102.0, None])).tolist()
    ['101', '102', nan]
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("int64")
    if pd.api.types.is_numeric_dtype(values):
        finite = values.dropna()
        if len(finite) and np.all(np.mod(finite, 1) == 0):
            out = values.astype("Int64").astype("str")
            return out.where(values.notna(), np.nan)
    out = values.astype("str")
    return out.where(values.notna(), np.nan)


def canonical_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered by client (in order of first appearance) then session; fixed columns first.

    Examples
    --------
    >>> t = pd.DataFrame({"x": [1, 2, 3], "session": [2, 1, 1], "client": ["b", "b", "a"]})
    >>> canonical_order(t)[["client", "session"]].values.tolist()
    [['b', 1], ['b', 2], ['a', 1]]
    """
    first = [c for c in FIXED_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    if CLIENT in table.columns and SESSION in table.columns:
        order = session_order(pd.factorize(table[CLIENT])[0], table[SESSION].to_numpy())
        if order is not None:
            table = table.iloc[order]
    return table.reset_index(drop=True)


def session_order(client_codes: np.ndarray, sessions: np.ndarray) -> np.ndarray | None:
    """Positions that sort rows by client code then session (stable); ``None`` if sorted already.

    Examples
    --------
    >>> session_order(np.array([0, 0, 1]), np.array([1, 2, 1])) is None
    True
    >>> session_order(np.array([0, 0, 1]), np.array([2, 1, 1])).tolist()
    [1, 0, 2]
    """
    before, after = client_codes[:-1], client_codes[1:]
    if ((after > before) | ((after == before) & (sessions[1:] >= sessions[:-1]))).all():
        return None
    if client_codes.dtype.kind in "iu" and sessions.dtype.kind in "iu":
        c0, s0 = int(client_codes.min()), int(sessions.min())
        width = int(sessions.max()) - s0 + 1
        if (int(client_codes.max()) - c0 + 1) * width < 2**62:  # one key sorts faster
            key = (client_codes.astype(np.int64) - c0) * width + (sessions.astype(np.int64) - s0)
            return np.argsort(key, kind="stable")
    return np.lexsort((sessions, client_codes))
