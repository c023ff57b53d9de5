"""Wide layouts (one row per client, one column per measure and session) -> long rows.

The layout is described by ``wide=``:

* a template with ``{measure}`` (or ``{item}``) and ``{session}``, e.g.
  ``"{measure}_s{session}"`` matches ``wai3_s4`` (measure ``wai3``, session 4) and
  ``attended_s4``; ``"{measure}_{session}"`` matches ``srs_total_2``;
* a regular expression with the named groups ``measure`` and ``session``, e.g.
  ``r"(?P<measure>.+)_s(?P<session>\\d+)$"``;
* or a dict ``{"pattern": <template or regex>, "attended_when_rated": False}``.

Columns that do not match are client-level (``client``, ``therapist``, covariates) and are
repeated on each of the client's rows. A long row is made for every client and session
that has at least one non-empty value among that session's columns. When the file has
``attended_<session>`` columns they give ``attended`` (a row exists when any of the
session's columns is filled, so a missed session needs its attended cell filled in).
Without them ``attended`` must come from somewhere else: with
``"attended_when_rated": True`` every row made (a session with any value) counts as
attended, and this is recorded as a note; otherwise validation reports ``attended`` as
missing. Each long row keeps the number of its wide row, and each value names the wide
column it came from, so problems point at the user's cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import InputError
from alliance_stats.io._raw import RawTable

_SOURCE = "__source__"


def compile_pattern(wide: str | Mapping[str, Any]) -> tuple[re.Pattern[str], dict[str, Any]]:
    """The regular expression for a ``wide=`` argument, and its options.

    Examples
    --------
    >>> rx, _ = compile_pattern("{measure}_s{session}")
    >>> rx.fullmatch("wai3_s12").group("measure", "session")
    ('wai3', '12')
    """
    options: dict[str, Any] = {}
    if isinstance(wide, Mapping):
        options = dict(wide)
        if "pattern" not in options:
            raise InputError(
                "wide= as a dict needs a 'pattern', e.g. wide={'pattern': '{measure}_s{session}'}"
            )
        wide = options.pop("pattern")
        unknown = set(options) - {"attended_when_rated"}
        if unknown:
            raise InputError(
                f"unknown wide= option(s) {sorted(unknown)}; accepted: 'pattern', "
                "'attended_when_rated'"
            )
    if not isinstance(wide, str) or not wide:
        raise InputError(
            "wide= must be a template such as '{measure}_s{session}' or a regular expression "
            f"with groups (?P<measure>...) and (?P<session>...); got {wide!r}"
        )
    template = wide.replace("{item}", "{measure}")
    if "{measure}" in template and "{session}" in template:
        parts = re.split(r"(\{measure\}|\{session\})", template)
        regex = ""
        for part in parts:
            if part == "{measure}":
                regex += "(?P<measure>.+?)"
            elif part == "{session}":
                regex += r"(?P<session>\d+)"
            else:
                regex += re.escape(part)
        pattern = re.compile(regex)
    else:
        try:
            pattern = re.compile(wide)
        except re.error as exc:
            raise InputError(f"wide= is not a valid regular expression ({exc}): {wide!r}") from exc
        if not {"measure", "session"} <= set(pattern.groupindex):
            raise InputError(
                "wide= must contain {measure} and {session} (template) or the named groups "
                f"(?P<measure>...) and (?P<session>\\d+) (regular expression); got {wide!r}"
            )
    return pattern, options


def to_long(raw: RawTable, wide: str | Mapping[str, Any]) -> RawTable:
    """Reshape a wide table (one row per client) into one row per client and session.

    Parameters
    ----------
    raw
        The wide table as read, with its row numbers.
    wide
        The layout (see the module description).

    Returns
    -------
    RawTable
        Long rows; ``row_numbers`` are the wide rows, ``column_names`` give, per row, the
        wide column each value came from.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats.io._raw import RawTable
    >>> w = pd.DataFrame({"client": ["a"], "wai_s1": [3.0], "wai_s2": [4.0]})
    >>> long = to_long(RawTable(w, None, "frame"), "{measure}_s{session}")
    >>> long.frame[["client", "session", "wai"]].values.tolist()
    [['a', 1, 3.0], ['a', 2, 4.0]]
    """
    pattern, options = compile_pattern(wide)
    frame = raw.frame
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"the wide table has duplicate column names {dupes}; rename them")
    cells: dict[tuple[str, int], str] = {}
    measures: list[str] = []
    client_level: list[str] = []
    for column in names:
        match = pattern.fullmatch(column)
        if match is None:
            client_level.append(column)
            continue
        measure, session = match.group("measure"), int(match.group("session"))
        if (measure, session) in cells:
            raise InputError(
                f"wide columns {cells[measure, session]!r} and {column!r} both hold "
                f"{measure!r} for session {session}; rename or drop one"
            )
        cells[measure, session] = column
        if measure not in measures:
            measures.append(measure)
    if not cells:
        raise InputError(
            f"no column matches the wide pattern {pattern.pattern!r}; columns are {names[:30]}. "
            "Name session columns like 'wai_s1', 'wai_s2' and pass wide='{measure}_s{session}'"
        )
    clash = [m for m in measures if m in client_level or m == schema.SESSION]
    if clash:
        raise InputError(
            f"the wide measure {clash[0]!r} is also the name of a client-level column; "
            "rename one of them"
        )
    if schema.SESSION in client_level:
        raise InputError(
            "the wide table already has a 'session' column; in a wide layout the session "
            "number comes from the column names, so drop or rename it"
        )
    sessions = sorted({s for _, s in cells})
    rows = raw.rows()
    blank = {c: _blank(frame[c]) for c in names}
    parts = []
    any_session = np.zeros(len(frame), dtype=bool)
    for session in sessions:
        columns = [cells[m, session] for m in measures if (m, session) in cells]
        filled = np.zeros(len(frame), dtype=bool)
        for column in columns:
            filled |= ~blank[column]
        any_session |= filled
        positions = np.flatnonzero(filled)
        if positions.size == 0:
            continue
        part: dict[str, Any] = {
            c: frame[c].iloc[positions].reset_index(drop=True) for c in client_level
        }
        part[schema.SESSION] = np.full(positions.size, session, dtype=np.int64)
        first_column = np.full(positions.size, "", dtype=object)
        for column in reversed(columns):
            first_column = np.where(~blank[column][positions], column, first_column)
        part[_SOURCE + schema.SESSION] = first_column
        for measure in measures:
            column = cells.get((measure, session))
            if column is None:
                part[measure] = pd.Series(np.nan, index=range(positions.size))
                part[_SOURCE + measure] = np.full(positions.size, "", dtype=object)
            else:
                part[measure] = frame[column].iloc[positions].reset_index(drop=True)
                part[_SOURCE + measure] = np.full(positions.size, column, dtype=object)
        part["__position__"] = positions
        parts.append(pd.DataFrame(part))
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(long):
        order = np.lexsort((long[schema.SESSION].to_numpy(), long["__position__"].to_numpy()))
        long = long.iloc[order].reset_index(drop=True)
    positions = long["__position__"].to_numpy() if len(long) else np.array([], dtype=np.int64)
    column_names: dict[str, Any] = {c: raw.column_names.get(c, c) for c in client_level}
    for column in [schema.SESSION, *measures]:
        column_names[column] = long[_SOURCE + column].to_numpy() if len(long) else np.array([])
    keep = [c for c in long.columns if not c.startswith("__")]
    out = RawTable(
        long[keep] if len(long) else pd.DataFrame(columns=client_level + [schema.SESSION]),
        raw.name,
        raw.fmt,
        row_numbers=rows[positions] if len(rows) else rows,
        row_unit=raw.row_unit,
        column_names=column_names,
        problems=list(raw.problems),
        header_line=raw.header_line,
    )
    for position in np.flatnonzero(~any_session):
        everything_blank = all(blank[c][position] for c in names)
        if everything_blank:
            out.note(
                "blank_row",
                "the row is empty and was left out of the table",
                severity="warning",
                row=rows[position],
            )
        else:
            out.note(
                "no_sessions",
                "this wide row has no value in any session column, so no session rows were "
                "made for it; fill in its session columns or delete the row",
                severity="warning",
                row=rows[position],
            )
    for column, codes in raw.missing_codes.items():
        if column in client_level:
            out.missing_codes[column] = list(codes)
    for (measure, _), column in cells.items():
        for code in raw.missing_codes.get(column, []):
            out.missing_codes.setdefault(measure, [])
            if code not in out.missing_codes[measure]:
                out.missing_codes[measure].append(code)
    out.na_markers = list(raw.na_markers)
    out.value_labels = {c: v for c, v in raw.value_labels.items() if c in client_level}
    out.ordered = {c: v for c, v in raw.ordered.items() if c in client_level}
    out.layout_options = options
    return out


def _blank(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype("str").str.strip()
        missing = missing | (text == "").to_numpy()
    return missing
