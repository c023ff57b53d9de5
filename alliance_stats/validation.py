"""Check a session table and report every problem at once.

:func:`validate_sessions` returns a :class:`ValidationReport`; nothing is fixed silently.
Each problem names the row as the user sees it in the file (CSV line, Excel row,
SPSS/Stata case), the column as it is named in the file, the offending value, the rule
broken and a plain message that says how to fix it.

Rules
-----
============================ ======== =====================================================
rule                         severity meaning
============================ ======== =====================================================
``empty_table``              error    no data rows
``duplicate_column``         error    two columns share a name
``missing_column``           error    a required column (client, therapist, session,
                                      attended) is absent
``missing_id``               error    a row has no client or therapist id
``session_number``           error    session is missing, not a whole number, or below 1
``duplicate_session``        error    the same (client, session) appears twice
``invalid_boolean``          error    attended is not yes/no, true/false, 1/0 ...
``invalid_date``             error    a date that cannot be read
``date_order``               error    dates go backwards as sessions go forwards
``non_numeric``              error    text in a numeric column
``out_of_range``             error    a value outside the range given in ``ranges``
``blank_row``                warning  a row with no values at all (left out of the table)
``therapist_change``         warning  a client is seen by more than one therapist
``ratings_when_absent``      warning  a session the client missed carries ratings
``single_session``           warning  a client with only one session row
``session_gap``              warning  scheduled sessions missing between two rows
``missing_code``             note     values read as missing because of a missing-value code
``column_alias``             note     a column recognised under another name
============================ ======== =====================================================

Readers add their own findings to the same report: ``excluded_response`` (warning: a
Qualtrics preview, test or unfinished response left out), ``no_sessions`` (warning: a wide
row or REDCap record without session data), and the notes ``encoding``, ``decimal_comma``,
``redcap_layout``, ``value_labels`` and ``attended_when_rated``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import InputError

PROBLEM_COLUMNS = ("severity", "file", "row", "column", "value", "rule", "message")
SEVERITIES = ("error", "warning", "note")
_SEVERITY_ORDER = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Source:
    """Where a table came from, so that problems point at the file as the user sees it.

    Parameters
    ----------
    name
        File name as the user gave it; ``None`` for a DataFrame.
    row_numbers
        For each row of the table, its number as the user sees it (CSV line, Excel row,
        SPSS case); default: the DataFrame's index labels.
    row_unit
        Word for those numbers in messages: ``"line"``, ``"row"``, ``"case"``, ``"index"``.
    column_names
        Canonical column name -> name in the file; a value may be an array with one name per
        row (wide layouts, where each session's value sits in its own column).
    problems
        Problems the reader already found, in ``PROBLEM_COLUMNS`` layout.
    """

    name: str | None = None
    row_numbers: np.ndarray | None = None
    row_unit: str = "index"
    column_names: Mapping[str, Any] = field(default_factory=dict)
    problems: pd.DataFrame | None = None

    def rows(self, positions: np.ndarray, index: pd.Index) -> np.ndarray:
        """Row labels as the user sees them for the given row positions."""
        labels = index.to_numpy() if self.row_numbers is None else np.asarray(self.row_numbers)
        return labels[positions]

    def columns(self, column: str, positions: np.ndarray) -> np.ndarray:
        """Column names as the user sees them for the given canonical column and rows."""
        named = self.column_names.get(column, column)
        if isinstance(named, str):
            return np.full(len(positions), named, dtype=object)
        return np.asarray(named, dtype=object)[positions]


@dataclass(frozen=True)
class ValidationReport:
    """Every problem found in a session table.

    Attributes
    ----------
    problems
        One row per problem: severity, file, row, column, value, rule, message.
    n_rows
        Data rows checked.
    source
        File name, or ``None`` for a DataFrame.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> t = pd.DataFrame({"client": ["a", "a"], "therapist": ["t", "t"],
    ...                   "session": [1, 1], "attended": ["yes", "yes"]})
    >>> rep = als.validate_sessions(t)
    >>> rep.ok, rep.errors["rule"].tolist()
    (False, ['duplicate_session', 'duplicate_session'])
    """

    problems: pd.DataFrame
    n_rows: int
    source: str | None = None

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings and notes allowed)."""
        return not (self.problems["severity"] == "error").any()

    @property
    def errors(self) -> pd.DataFrame:
        """The errors, one row each."""
        return self._of("error")

    @property
    def warnings(self) -> pd.DataFrame:
        """The warnings, one row each."""
        return self._of("warning")

    @property
    def notes(self) -> pd.DataFrame:
        """What was done on reading that the user should know (missing codes, aliases)."""
        return self._of("note")

    def _of(self, severity: str) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == severity].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """All problems as a DataFrame (a copy)."""
        return self.problems.copy()

    def counts(self) -> dict[str, int]:
        """Number of problems per severity."""
        found = self.problems["severity"].value_counts()
        return {name: int(found.get(name, 0)) for name in SEVERITIES}

    def _headline(self) -> str:
        where = f"'{self.source}'" if self.source else "the table"
        n = self.counts()
        parts = [_plural(n["error"], "error"), _plural(n["warning"], "warning")]
        if n["note"]:
            parts.append(_plural(n["note"], "note"))
        return f"Validation of {where} ({_plural(self.n_rows, 'row')}): " + ", ".join(parts)

    def summary(self, max_rows: int = 20) -> str:
        """Plain-text report for a terminal: a headline, then one line per problem."""
        lines = [self._headline()]
        shown = self.problems.head(max_rows)
        for p in shown.itertuples(index=False):
            lines.append(f"  {p.severity.upper():7} {_where(p)}: {p.message} [{p.rule}]")
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see report.problems for all of them)")
        if not len(self.problems):
            lines.append("  No problems found.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        n = self.counts()
        state = "ok" if self.ok else "has errors"
        return (
            f"<ValidationReport {state}: {n['error']} errors, {n['warning']} warnings, "
            f"{n['note']} notes in {self.n_rows} rows>"
        )

    def _repr_html_(self, max_rows: int = 50) -> str:
        colours = {"error": "#b2182b", "warning": "#b35806", "note": "#4d4d4d"}
        rows = []
        for p in self.problems.head(max_rows).itertuples(index=False):
            cells = [
                f'<td style="color:{colours[p.severity]};font-weight:bold">{p.severity}</td>',
                *(
                    f"<td>{html.escape(_text(v))}</td>"
                    for v in (p.row, p.column, p.value, p.rule, p.message)
                ),
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        hidden = len(self.problems) - max_rows
        more = (
            f"<p>... and {hidden} more: see <code>report.problems</code>.</p>" if hidden > 0 else ""
        )
        head = "".join(
            f"<th>{c}</th>" for c in ("severity", "row", "column", "value", "rule", "message")
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        body = table if len(self.problems) else "<p>No problems found.</p>"
        return f"<div><p><b>{html.escape(self._headline())}</b></p>{body}{more}</div>"

    def raise_if_errors(self) -> None:
        """Raise :class:`~alliance_stats.errors.DataValidationError` when there are errors."""
        if not self.ok:
            from alliance_stats.errors import DataValidationError

            raise DataValidationError(self)


@dataclass(frozen=True)
class CheckedTable:
    """Result of :func:`check`: the report, and the canonical table when there are no errors."""

    report: ValidationReport
    table: pd.DataFrame | None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _where(p) -> str:
    parts = []
    if _text(p.row):
        parts.append(str(p.row))
    if _text(p.column):
        parts.append(f"column '{p.column}'")
    if _text(p.value):
        parts.append(f"value {p.value!r}")
    return ", ".join(parts) if parts else "table"


class _Collector:
    """Gathers problems as small DataFrames and stacks them once at the end."""

    def __init__(self, source: Source, index: pd.Index):
        self.source = source
        self.index = index
        self.parts: list[pd.DataFrame] = []

    def add(self, severity, rule, positions, column, values, message) -> None:
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size == 0:
            return
        unit = self.source.row_unit
        labels = self.source.rows(positions, self.index)
        rows = [f"{unit} {label}" for label in labels]
        cols = self.source.columns(column, positions) if column else np.full(len(positions), "")
        self.parts.append(
            pd.DataFrame(
                {
                    "severity": severity,
                    "file": self.source.name or "",
                    "row": rows,
                    "column": cols,
                    "value": _as_text(_pick(values, positions), len(positions)),
                    "rule": rule,
                    "message": message,
                    "_position": positions,
                }
            )
        )

    def add_table_problem(self, severity, rule, column, message, value="") -> None:
        self.parts.append(
            pd.DataFrame(
                {
                    "severity": [severity],
                    "file": [self.source.name or ""],
                    "row": [""],
                    "column": [column],
                    "value": [value],
                    "rule": [rule],
                    "message": [message],
                    "_position": [-1],
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        extra = self.source.problems
        parts = list(self.parts)
        if extra is not None and len(extra):
            parts.append(extra.assign(_position=-1))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
        out = pd.concat(parts, ignore_index=True)
        rank = out["severity"].map(_SEVERITY_ORDER)
        out = out.assign(_rank=rank).sort_values(["_rank", "_position"], kind="stable")
        return out[list(PROBLEM_COLUMNS)].reset_index(drop=True)

    def has_errors(self) -> bool:
        return any((p["severity"] == "error").any() for p in self.parts)


def _pick(values, positions: np.ndarray):
    """Values at ``positions`` when given a whole column; anything else as it is."""
    if isinstance(values, pd.Series):
        return values.iloc[positions].to_numpy()
    return values


def _session_span(first: int, last: int) -> str:
    return f"session {first}" if first == last else f"sessions {first} to {last}"


def _as_text(values, n: int) -> np.ndarray:
    if np.isscalar(values) or values is None:
        return np.full(n, _text(values), dtype=object)
    return np.array([_text(v) for v in values], dtype=object)


@dataclass(frozen=True)
class _Distinct:
    """A text column as codes into its distinct values (stripped), to work on each once."""

    codes: np.ndarray
    text: pd.Series

    @classmethod
    def of(cls, series: pd.Series) -> _Distinct | None:
        """The distinct values of a text column; ``None`` for other dtypes."""
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            return None
        codes, uniques = pd.factorize(series)
        text = pd.Series(np.asarray(uniques, dtype=object)).astype("str").str.strip()
        return cls(codes, text)

    def take(self, per_value: np.ndarray, missing) -> np.ndarray:
        """Spread one result per distinct value to every row (``missing`` for empty cells)."""
        per_value = np.asarray(per_value)
        return np.append(per_value, np.array([missing], dtype=per_value.dtype))[self.codes]


def _blank(series: pd.Series, distinct: _Distinct | None = None) -> np.ndarray:
    """Missing values, counting empty or whitespace-only text as missing."""
    distinct = distinct or _Distinct.of(series)
    if distinct is None:
        return series.isna().to_numpy()
    return distinct.take((distinct.text == "").to_numpy(), True)


def _parse_numbers(series: pd.Series, distinct: _Distinct | None = None) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    if distinct is None or isinstance(series.dtype, pd.CategoricalDtype):
        distinct = _Distinct.of(series.astype(object))
    parsed = pd.to_numeric(distinct.text, errors="coerce").to_numpy(dtype="float64")
    return pd.Series(distinct.take(parsed, np.nan), index=series.index, name=series.name)


def _apply_missing_codes(frame, codes, found: _Collector) -> pd.DataFrame:
    """Replace missing-value codes by NaN, one note per column and code."""
    if not codes:
        return frame
    per_column = codes if isinstance(codes, Mapping) else dict.fromkeys(frame.columns, codes)
    unknown = [c for c in per_column if c not in frame.columns]
    if unknown:
        raise InputError(
            f"missing_codes names column(s) {unknown} that the table does not have; "
            f"columns are: {list(frame.columns)}"
        )
    frame = frame.copy()
    for column, column_codes in per_column.items():
        if isinstance(column_codes, (str, int, float)):
            column_codes = [column_codes]
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue
        text = series.astype("str").str.strip()
        numbers = _parse_numbers(series) if not pd.api.types.is_bool_dtype(series) else None
        for code in column_codes:
            hit = (text == str(code)).to_numpy()
            if (
                numbers is not None
                and isinstance(code, (int, float))
                and not isinstance(code, bool)
            ):
                hit = hit | (numbers == float(code)).to_numpy()
            hit = hit & series.notna().to_numpy()
            if not hit.any():
                continue
            positions = np.flatnonzero(hit)
            first = found.source.rows(positions[:5], frame.index)
            unit = found.source.row_unit
            found.add(
                "note",
                "missing_code",
                positions[:1],
                column,
                code,
                f"{hit.sum():,} value(s) {code!r} read as missing (missing-value code), "
                f"first at {unit} " + ", ".join(str(r) for r in first),
            )
            frame[column] = frame[column].mask(hit)
    return frame


def check(
    frame: pd.DataFrame,
    source: Source | None = None,
    *,
    missing_codes: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None,
    numeric: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    ratings: Iterable[str] | None = None,
) -> CheckedTable:
    """Check a table whose columns already carry canonical names; build the canonical table.

    This is the engine behind :func:`validate_sessions` and :func:`read_sessions`: readers
    call it with a :class:`Source` that says how rows and columns appear in the file.
    The canonical table is returned only when there are no errors.
    """
    source = source or Source()
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    found = _Collector(source, frame.index)

    dupes = pd.Index(frame.columns)[pd.Index(frame.columns).duplicated()].unique()
    for name in dupes:
        found.add_table_problem(
            "error",
            "duplicate_column",
            name,
            f"two or more columns are named '{name}'; rename one so each name is used once",
        )
    if len(dupes):
        frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    if len(frame) == 0:
        found.add_table_problem(
            "error", "empty_table", "", "the table has no data rows; check the file or the sheet"
        )
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in frame.columns]
    for name in missing:
        found.add_table_problem(
            "error",
            "missing_column",
            name,
            f"required column '{name}' is missing; columns found: {list(frame.columns)[:20]}. "
            f"Name it '{name}' in the file or map it with columns={{'your name': '{name}'}}",
        )

    frame = _apply_missing_codes(frame, missing_codes, found)

    blank_rows = np.ones(len(frame), dtype=bool)
    blanks, distinct = {}, {}
    for column in frame.columns:
        distinct[column] = _Distinct.of(frame[column])
        blanks[column] = _blank(frame[column], distinct[column])
        blank_rows &= blanks[column]
    if len(frame.columns) and blank_rows.any():
        found.add(
            "warning",
            "blank_row",
            np.flatnonzero(blank_rows),
            "",
            "",
            "the row is empty and was left out of the table",
        )
    keep = ~blank_rows if len(frame.columns) else np.ones(len(frame), dtype=bool)

    out: dict[str, pd.Series] = {}
    for column in schema.ID_COLUMNS:
        if column in frame.columns:
            bad = blanks[column] & keep
            found.add(
                "error",
                "missing_id",
                np.flatnonzero(bad),
                column,
                "",
                f"{column} id is empty; every row needs the {column} it belongs to",
            )
            ids = schema.ids_to_text(frame[column])
            padded = distinct[column] is not None and (
                distinct[column].text.str.len().sum()
                < pd.Series(ids.dropna().unique()).str.len().sum()
            )
            out[column] = ids.str.strip() if padded else ids

    if schema.SESSION in frame.columns:
        out[schema.SESSION] = _check_session(
            frame[schema.SESSION], keep, found, distinct[schema.SESSION]
        )
    if schema.ATTENDED in frame.columns:
        out[schema.ATTENDED] = _check_attended(
            frame[schema.ATTENDED], keep, found, distinct[schema.ATTENDED]
        )
    if schema.DATE in frame.columns:
        out[schema.DATE] = _check_dates(
            frame[schema.DATE], keep, blanks[schema.DATE], found, distinct[schema.DATE]
        )

    forced = set(numeric or ())
    unknown = forced - set(frame.columns)
    if unknown:
        raise InputError(f"numeric names column(s) {sorted(unknown)} that the table does not have")
    for column in frame.columns:
        if column in schema.FIXED_COLUMNS:
            continue
        out[column] = _check_other(
            frame[column], column in forced, keep, blanks[column], found, distinct[column]
        )

    for column, (low, high) in (ranges or {}).items():
        if column not in out:
            raise InputError(f"ranges names column '{column}' that the table does not have")
        values = out[column]
        if not pd.api.types.is_numeric_dtype(values):
            continue
        bad = ((values < low) | (values > high)).to_numpy() & keep
        found.add(
            "error",
            "out_of_range",
            np.flatnonzero(bad),
            column,
            values,
            f"value outside the allowed range {low}..{high}; correct it or mark it missing",
        )

    _check_structure(out, keep, found, ratings)

    report_frame = found.frame()
    report = ValidationReport(report_frame, int(keep.sum()), source.name)
    if not report.ok:
        return CheckedTable(report, None)
    out[schema.ATTENDED] = out[schema.ATTENDED] == 1
    table = pd.DataFrame(out, copy=False)
    if not keep.all():
        table = table.loc[keep]
    return CheckedTable(report, schema.canonical_order(table))


def _check_session(values: pd.Series, keep, found, distinct=None) -> pd.Series:
    numbers = _parse_numbers(values, distinct)
    arr = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr < 1) | (np.mod(arr, 1) != 0)
    bad &= keep
    found.add(
        "error",
        "session_number",
        np.flatnonzero(bad),
        schema.SESSION,
        values,
        "session must be a whole number from 1 up (1 = first scheduled session)",
    )
    return pd.Series(np.where(bad, 0, np.nan_to_num(arr)).astype("int64"), index=values.index)


def _check_attended(values: pd.Series, keep, found, distinct=None) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        num = values.astype("float64")
        is_true = (num == 1).to_numpy()
        is_false = (num == 0).to_numpy()
    else:  # judge each distinct text once
        distinct = distinct or _Distinct.of(values.astype(object))
        words = distinct.text.str.lower()
        is_true = distinct.take(words.isin(schema.TRUE_WORDS).to_numpy(), False)
        is_false = distinct.take(words.isin(schema.FALSE_WORDS).to_numpy(), False)
    bad = ~(is_true | is_false) & keep
    found.add(
        "error",
        "invalid_boolean",
        np.flatnonzero(bad),
        schema.ATTENDED,
        values,
        "attended must say whether the client came: yes/no, true/false or 1/0",
    )
    return pd.Series(np.where(is_true, 1.0, np.where(is_false, 0.0, np.nan)), index=values.index)


def _check_dates(values: pd.Series, keep, blank, found, distinct) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:  # parse each distinct text once: sessions share few dates
        distinct = distinct or _Distinct.of(values.astype(object))
        text = distinct.text
        dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
        retry = dates.isna() & (text != "")
        if retry.any():
            dates = dates.where(
                ~retry, pd.to_datetime(text.where(retry), errors="coerce", format="mixed")
            )
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        dates = _within_ns_range(dates).astype("datetime64[ns]").to_numpy()
        parsed = pd.Series(distinct.take(dates, np.datetime64("NaT", "ns")), index=values.index)
    parsed = parsed.dt.tz_localize(None) if getattr(parsed.dt, "tz", None) is not None else parsed
    parsed = _within_ns_range(parsed)
    bad = parsed.isna().to_numpy() & ~blank & keep
    found.add(
        "error",
        "invalid_date",
        np.flatnonzero(bad),
        schema.DATE,
        values,
        "the date cannot be read; write dates as YYYY-MM-DD",
    )
    return parsed.astype("datetime64[ns]")


def _within_ns_range(dates: pd.Series) -> pd.Series:
    """Dates outside what datetime64[ns] holds (years 1677-2262) become missing."""
    return dates.mask(dates.notna() & ((dates < pd.Timestamp.min) | (dates > pd.Timestamp.max)))


def _check_other(values: pd.Series, forced: bool, keep, blank, found, distinct) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    numbers = _parse_numbers(values, distinct)
    readable = numbers.notna().to_numpy()
    present = ~blank
    n_present = int(present.sum())
    if n_present == 0:
        return numbers
    if not forced and readable.sum() * 2 <= n_present:
        text = values.astype("str").str.strip()
        return text.where(present, np.nan)
    bad = present & ~readable & keep
    if bad.any():
        raw = values.iloc[np.flatnonzero(bad)].to_numpy()
        comma = pd.Series(raw).astype("str").str.fullmatch(r"\s*-?\d+,\d+\s*").to_numpy()
        hint = np.where(
            comma,
            "a number with a decimal comma in a column of numbers; read the file with "
            "decimal=',' or correct the value",
            "text in a column of numbers; correct the value, or leave the cell empty "
            "(or pass its code in missing_codes) if it means missing",
        )
        found.add("error", "non_numeric", np.flatnonzero(bad), values.name, raw, hint)
    return numbers


def _check_structure(out: dict[str, pd.Series], keep, found, ratings) -> None:
    """Checks across rows: duplicates, date order, therapists, gaps, absent-with-ratings."""
    needed = (schema.CLIENT, schema.SESSION)
    if not all(c in out for c in needed):
        return
    client = out[schema.CLIENT]
    session = out[schema.SESSION].to_numpy()
    usable = keep & client.notna().to_numpy() & (session >= 1)
    pos = np.flatnonzero(usable)
    if pos.size == 0:
        return
    codes = pd.factorize(client)[0][pos]
    sess = session[pos]
    order = schema.session_order(codes, sess)
    if order is not None:
        pos, codes, sess = pos[order], codes[order], sess[order]
    same_client = np.r_[False, codes[1:] == codes[:-1]]

    dup_next = same_client & np.r_[False, sess[1:] == sess[:-1]]
    if dup_next.any():
        involved = dup_next | np.r_[dup_next[1:], False]
        first_of_run = np.maximum.accumulate(np.where(~dup_next, np.arange(len(pos)), 0))
        unit = found.source.row_unit
        first_label = found.source.rows(pos[first_of_run], found.index)
        idx = np.flatnonzero(involved)
        messages = [
            f"client {client.iat[pos[i]]!r} has session {sess[i]} more than once "
            f"(first at {unit} {first_label[i]}); keep one row per scheduled session"
            for i in idx
        ]
        found.add("error", "duplicate_session", pos[idx], schema.SESSION, sess[idx], messages)

    if schema.DATE in out:
        dates = out[schema.DATE].to_numpy()[pos]
        valid = ~np.isnat(dates)
        last_valid = np.where(valid, np.arange(len(pos)), -1)
        last_valid = np.maximum.accumulate(last_valid)
        prev = np.r_[-1, last_valid[:-1]]
        client_start = np.maximum.accumulate(np.where(~same_client, np.arange(len(pos)), 0))
        has_prev = (prev >= client_start) & valid & (prev >= 0)
        earlier = np.zeros(len(pos), dtype=bool)
        earlier[has_prev] = dates[has_prev] < dates[prev[has_prev]]
        earlier &= ~dup_next
        idx = np.flatnonzero(earlier)
        found.add(
            "error",
            "date_order",
            pos[idx],
            schema.DATE,
            pd.Series(dates[idx]).dt.strftime("%Y-%m-%d").to_numpy(),
            [
                f"session {sess[i]} is dated before session {sess[prev[i]]} of the same client; "
                "check the date or the session number"
                for i in idx
            ],
        )

    gap = same_client & np.r_[False, sess[1:] - sess[:-1] > 1]
    idx = np.flatnonzero(gap)
    found.add(
        "warning",
        "session_gap",
        pos[idx],
        schema.SESSION,
        sess[idx],
        [
            f"no row for {_session_span(sess[i - 1] + 1, sess[i] - 1)} of this client; the "
            "table should have a row for every scheduled session, attended or not"
            for i in idx
        ],
    )

    starts = np.flatnonzero(~same_client)
    sizes = np.diff(np.r_[starts, len(pos)])
    single = starts[sizes == 1]
    found.add(
        "warning",
        "single_session",
        pos[single],
        schema.CLIENT,
        client,
        "this client has only one session row; within-client estimates ignore such clients",
    )

    if schema.THERAPIST in out:
        therapist_codes, therapists = pd.factorize(out[schema.THERAPIST])
        therapist = therapist_codes[pos]
        run = np.cumsum(~same_client) - 1
        # the first known therapist of each client (rows are grouped by client here)
        first_known = np.minimum.reduceat(
            np.where(therapist >= 0, np.arange(len(pos)), len(pos)), starts
        )
        first_therapist = np.append(therapist, -1)[first_known][run]
        differs = (therapist >= 0) & (first_therapist >= 0) & (therapist != first_therapist)
        changed = np.flatnonzero(differs)
        if changed.size:
            first_change = changed[np.r_[True, np.diff(codes[changed]) != 0]]
            messages = []
            for i in first_change:
                start = starts[run[i]]
                seen = pd.unique(therapist[start : start + sizes[run[i]]])
                messages.append(
                    f"client {client.iat[pos[i]]!r} is seen by therapists "
                    f"{', '.join(repr(therapists[t]) for t in seen if t >= 0)}; models nest "
                    "each client in one therapist, so check the ids (or model therapists as "
                    "crossed)"
                )
            found.add(
                "warning",
                "therapist_change",
                pos[first_change],
                schema.THERAPIST,
                therapists.take(therapist[first_change]),
                messages,
            )

    if schema.ATTENDED in out:
        _check_ratings_when_absent(out, keep, found, ratings)


def _check_ratings_when_absent(out, keep, found, ratings) -> None:
    absent = (out[schema.ATTENDED] == 0).to_numpy() & keep
    if not absent.any():
        return
    if ratings is None:
        candidates = [
            c
            for c, v in out.items()
            if c not in schema.FIXED_COLUMNS and pd.api.types.is_float_dtype(v)
        ]
    else:
        candidates = list(ratings)
        unknown = [c for c in candidates if c not in out]
        if unknown:
            raise InputError(f"ratings names column(s) {unknown} that the table does not have")
    client_codes = pd.factorize(out[schema.CLIENT])[0]
    carrying: dict[int, list[str]] = {}
    for column in candidates:
        values = out[column]
        on_absent = absent & values.notna().to_numpy()
        if not on_absent.any():
            continue
        if ratings is None:
            first = values.groupby(client_codes).transform("first")
            varies = (values.notna() & (values != first)).groupby(client_codes).transform("any")
            on_absent = on_absent & varies.to_numpy()
        for p in np.flatnonzero(on_absent):
            carrying.setdefault(int(p), []).append(column)
    if not carrying:
        return
    rows = np.array(sorted(carrying))
    found.add(
        "warning",
        "ratings_when_absent",
        rows,
        schema.ATTENDED,
        out[schema.ATTENDED],
        [
            "the client did not attend, but the row has values in "
            + ", ".join(carrying[p][:5])
            + (" ..." if len(carrying[p]) > 5 else "")
            + "; check attended, or clear the ratings"
            for p in rows
        ],
    )


def validate_sessions(
    data: Any,
    *,
    columns: Mapping[str, str] | None = None,
    missing_codes: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None,
    numeric: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    ratings: Iterable[str] | None = None,
    **read_options: Any,
) -> ValidationReport:
    """Check a session table (a DataFrame or a file) and report every problem.

    Never raises for problems in the data: they are all in the report.

    Parameters
    ----------
    data
        A DataFrame, or a path to any file :func:`read_sessions` reads.
    columns
        Your column names -> canonical names, e.g. ``{"ClientID": "client"}``.
    missing_codes
        Values that mean missing, for all columns (``[-99, "NA"]``) or per column
        (``{"wai_1": [-9]}``); each replacement is recorded as a note.
    numeric
        Columns that must hold numbers (others are numeric when most values are).
    ranges
        Column -> (low, high) allowed values, e.g. ``{"wai_1": (1, 5)}``.
    ratings
        Columns that should be empty when the client did not attend (default: numeric
        columns that vary within clients).
    **read_options
        Passed to :func:`read_sessions` when ``data`` is a file (``format``, ``sheet``, ...).

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> t = pd.DataFrame({"client": ["a", "a", "b"], "therapist": ["t", "t", "t"],
    ...                   "session": [1, 2, 1], "attended": ["yes", "no", "maybe"]})
    >>> rep = als.validate_sessions(t)
    >>> rep.errors[["row", "column", "value", "rule"]].values.tolist()
    [['index 2', 'attended', 'maybe', 'invalid_boolean']]
    """
    from alliance_stats.io import read_sessions_checked

    checked = read_sessions_checked(
        data,
        columns=columns,
        missing_codes=missing_codes,
        numeric=numeric,
        ranges=ranges,
        ratings=ratings,
        **read_options,
    )
    return checked.report
