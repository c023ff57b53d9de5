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
``session_number``           error    session is missing, not a whole number, below 1 or
                                      above 10,000
``duplicate_session``        error    the same (client, session) appears twice
``invalid_boolean``          error    attended is not yes/no, true/false, 1/0 ...
``invalid_date``             error    a date that cannot be read
``date_order``               error    dates go backwards as sessions go forwards
``non_numeric``              error    text in a numeric column
``non_finite``               error    an infinite number (``inf``, ``1e400``) in a column
``out_of_range``             error    a value outside the range given in ``ranges``
``blank_row``                warning  a row with no values at all (left out of the table)
``therapist_change``         warning  a client is seen by more than one therapist
``ratings_when_absent``      warning  a session the client missed carries ratings
``single_session``           warning  a client with only one session row
``session_gap``              warning  scheduled sessions missing between two rows
``missing_code_like``        warning  a value often used as a missing-value code (-99, 999,
                                      ...) far outside the column's other values (or
                                      negative in a column of non-negative values)
``missing_code``             note     values read as missing because of a missing-value code
``date_day_month``           note     day and month could be either way round (02/01/2023):
                                      read month first; a column with 16/01/2023 is read day
                                      first throughout
``date_offset``              note     a date-time with a time-zone offset (``Z``, ``+01:00``):
                                      the local date and time are kept, the offset dropped
``column_alias``             note     a column recognised under another name
============================ ======== =====================================================

Readers add their own findings to the same report: ``excluded_response`` (warning: a
Qualtrics preview, test or unfinished response left out), ``no_sessions`` (warning: a wide
row or REDCap record without session data), and the notes ``encoding``, ``decimal_comma``,
``redcap_layout``, ``value_labels``, ``display_format`` (SPSS N4 or Stata %04.0f numbers read
with their leading zeros), ``attended_when_rated``, ``parquet_index`` (a named
pandas index read as columns) and ``qualtrics_header`` (the
header rows of a Qualtrics export left out, or, as a warning, a first row kept because it
looks like data).
"""

from __future__ import annotations

import html
import re
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
        SPSS case), as an array or a ``range``; default: the DataFrame's index labels.
    row_unit
        Word for those numbers in messages: ``"line"``, ``"row"``, ``"case"``, ``"index"``.
    column_names
        Canonical column name -> name in the file; a value may be an array with one name per
        row (wide layouts, where each session's value sits in its own column).
    problems
        Problems the reader already found, in ``PROBLEM_COLUMNS`` layout.
    """

    name: str | None = None
    row_numbers: np.ndarray | range | None = None
    row_unit: str = "index"
    column_names: Mapping[str, Any] = field(default_factory=dict)
    problems: pd.DataFrame | None = None

    def rows(self, positions: np.ndarray, index: pd.Index) -> np.ndarray:
        """Row labels as the user sees them for the given row positions."""
        numbers = self.row_numbers
        if numbers is None:
            return index.take(positions).to_numpy()
        if isinstance(numbers, range):
            return numbers.start + numbers.step * np.asarray(positions, dtype=np.int64)
        return np.asarray(numbers)[positions]

    def columns(self, column: str, positions: np.ndarray) -> np.ndarray:
        """Column names as the user sees them for the given canonical column and rows."""
        named = self.column_names.get(column, column)
        if isinstance(named, str):
            return np.full(len(positions), named, dtype=object)
        return np.asarray(named, dtype=object)[positions]


#: a quoted string in a message, as repr() writes one ('Jane Doe', "O'Brien")
_QUOTED = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\"")


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
    #: the client and therapist identifiers of a failing table (for :meth:`redacted`)
    identifiers: frozenset = field(default=frozenset(), repr=False, compare=False)

    def redacted(self) -> ValidationReport:
        """The same problems with every client and therapist identifier masked (in values
        and messages): rows, columns and rules stay, so a log or a shared error message
        locates each problem without naming anyone.

        Examples
        --------
        >>> import pandas as pd, alliance_stats as als
        >>> t = pd.DataFrame({"client": ["Jane Doe"] * 2, "therapist": ["t1", "t1"],
        ...                   "session": [1, 1], "attended": [True, True]})
        >>> print(als.validate_sessions(t).redacted().errors["message"].iloc[0][:42])
        client <client id> has session 1 more than
        """
        masks = {}
        for kind, ids in (("therapist", self.therapist_ids), ("client", self.client_ids)):
            masks |= {str(i): f"<{kind} id>" for i in ids}
        quoted = {repr(value): label for value, label in masks.items()}

        def mask(text):
            if not isinstance(text, str):
                return text
            if text in masks:
                return masks[text]
            # messages quote ids with repr(): look up each quoted string, not every id
            return _QUOTED.sub(lambda m: quoted.get(m.group(0), m.group(0)), text)

        problems = self.problems.copy()
        problems["message"] = problems["message"].map(mask)
        problems["value"] = problems["value"].map(mask)
        return ValidationReport(problems, self.n_rows, self.source, frozenset())

    @property
    def client_ids(self) -> frozenset:
        return frozenset(v for kind, v in self.identifiers if kind == "client")

    @property
    def therapist_ids(self) -> frozenset:
        return frozenset(v for kind, v in self.identifiers if kind == "therapist")

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
    #: Whether any value has spaces around it (then the stripped text differs).
    padded: bool = False

    @classmethod
    def of(cls, series: pd.Series) -> _Distinct | None:
        """The distinct values of a text column; ``None`` for other dtypes."""
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            return None
        if isinstance(series.array, pd.arrays.ArrowStringArray):
            codes, uniques = _arrow_factorize(series.array)
        else:
            codes, uniques = pd.factorize(series)
        raw = pd.Series(np.asarray(uniques, dtype=object)).astype("str")
        text = raw.str.strip()
        return cls(codes, text, bool((text != raw).any()))

    def take(self, per_value: np.ndarray, missing, rows: np.ndarray | None = None) -> np.ndarray:
        """Spread one result per distinct value to every row, or to ``rows`` (positions).

        Missing cells get ``missing``.
        """
        per_value = np.asarray(per_value)
        codes = self.codes if rows is None else self.codes[rows]
        return np.append(per_value, np.array([missing], dtype=per_value.dtype))[codes]

    def counts(self) -> np.ndarray:
        """How many rows hold each distinct value."""
        return np.bincount(self.codes + 1, minlength=len(self.text) + 1)[1:]

    def without(self, rows: np.ndarray) -> _Distinct:
        """The same column with the cells at ``rows`` (a boolean mask) made missing."""
        return _Distinct(np.where(rows, -1, self.codes), self.text, self.padded)

    def group_codes(self) -> np.ndarray:
        """One code per row for each non-blank stripped value, in order of first appearance.

        Blank and missing cells get -1, like :func:`pandas.factorize`.
        """
        blank = (self.text == "").to_numpy()
        if not self.padded and not blank.any():
            return self.codes  # the distinct values are the stripped ids already
        per_value = pd.factorize(self.text.where(~blank))[0]
        return self.take(per_value, -1)


def _arrow_factorize(values: pd.arrays.ArrowStringArray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pandas.factorize` for Arrow-backed text, keeping Arrow's int32 codes.

    pandas copies the codes to int64; on large tables that copy costs more than the hashing.

    Examples
    --------
    >>> codes, uniques = _arrow_factorize(pd.array(["b", None, "a", "b"], dtype="str"))
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(values.__arrow_array__())
    encoded = encoded.chunk(0) if encoded.num_chunks == 1 else encoded.combine_chunks()
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    return indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_numpy(False)


def _blank(
    series: pd.Series, distinct: _Distinct | None = None, rows: np.ndarray | None = None
) -> np.ndarray:
    """Missing values (of all rows, or of ``rows``), counting blank text as missing."""
    distinct = distinct or _Distinct.of(series)
    if distinct is None:
        return (series if rows is None else series.iloc[rows]).isna().to_numpy()
    return distinct.take((distinct.text == "").to_numpy(), True, rows)


def _blank_rows(frame: pd.DataFrame, distinct, settled=()) -> np.ndarray:
    """Rows with no value in any column (looking further only at rows blank so far).

    The columns in ``settled`` hold no blank text: only their missing cells are blank.
    """
    blank = np.zeros(len(frame), dtype=bool)
    if not len(frame.columns):
        return blank
    first, *others = sorted(frame.columns, key=lambda c: c not in schema.ID_COLUMNS)
    rows = np.flatnonzero(_blank(frame[first], distinct[first]))
    for column in others:
        if not rows.size:
            break
        if column in settled:
            rows = rows[frame[column].iloc[rows].isna().to_numpy()]
        else:
            rows = rows[_blank(frame[column], distinct[column], rows)]
    blank[rows] = True
    return blank


def _parse_numbers(series: pd.Series, distinct: _Distinct | None = None) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    if distinct is None or isinstance(series.dtype, pd.CategoricalDtype):
        distinct = _Distinct.of(series.astype(object))
    parsed = pd.to_numeric(distinct.text, errors="coerce").to_numpy(dtype="float64")
    return pd.Series(distinct.take(parsed, np.nan), index=series.index, name=series.name)


def _apply_missing_codes(frame, codes, found: _Collector, distinct, skip=()) -> pd.DataFrame:
    """Replace missing-value codes by NaN, one note per column and code.

    ``distinct`` (column -> :class:`_Distinct` or ``None``) is updated for the columns changed;
    the columns in ``skip`` are known to hold no code.
    """
    if not codes:
        return frame
    per_column = codes if isinstance(codes, Mapping) else dict.fromkeys(frame.columns, codes)
    unknown = [c for c in per_column if c not in frame.columns]
    if unknown:
        raise InputError(
            f"missing_codes names column(s) {unknown} that the table does not have; "
            f"columns are: {list(frame.columns)}"
        )
    frame = frame.copy(deep=False)
    for column, column_codes in per_column.items():
        if column in skip:
            continue
        column_codes = _as_codes(column_codes)
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            continue
        changed = None
        for code, hit in _code_hits(series, distinct[column], column_codes):
            if changed is not None:
                hit &= ~changed  # a cell two codes match is noted once
            if not hit.any():
                continue
            positions = np.flatnonzero(hit)
            first = found.source.rows(positions[:5], frame.index)
            found.add(
                "note",
                "missing_code",
                positions[:1],
                column,
                code,
                f"{hit.sum():,} value(s) {code!r} read as missing (missing-value code), "
                f"first at {found.source.row_unit} " + ", ".join(str(r) for r in first),
            )
            changed = hit if changed is None else changed | hit
        if changed is not None:
            frame[column] = series.mask(changed)
            if distinct[column] is not None:
                distinct[column] = distinct[column].without(changed)
    return frame


def _code_hits(series: pd.Series, distinct: _Distinct | None, codes):
    """Yield ``(code, rows equal to it)`` for the codes found, as text or as numbers.

    Missing cells never match. Text columns are compared once per distinct value.
    """
    numeric_column = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
        series
    )
    if numeric_column:
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        for code in codes:
            number = _code_number(code, parse_text=True)
            if number is not None and (hit := numbers == number).any():
                yield code, hit
        return
    distinct = distinct or _Distinct.of(series.astype(object))
    as_numbers = [_code_number(code, parse_text=False) for code in codes]
    if all(n is None for n in as_numbers) and not distinct.text.isin([str(c) for c in codes]).any():
        return  # one pass over the distinct values when no code occurs (wide files)
    numbers = None
    for code in codes:
        per_value = (distinct.text == str(code)).to_numpy()
        number = _code_number(code, parse_text=False)
        if number is not None and not pd.api.types.is_bool_dtype(series):
            if numbers is None:
                numbers = pd.to_numeric(distinct.text, errors="coerce").to_numpy("float64")
            per_value = per_value | (numbers == number)
        if per_value.any():
            yield code, distinct.take(per_value, False)


def _code_number(code, parse_text: bool) -> float | None:
    """A missing-value code as a number (text such as ``"-99"`` only when ``parse_text``)."""
    if isinstance(code, bool) or code is None:
        return None
    if isinstance(code, (int, float, np.integer, np.floating)):
        return float(code)
    if parse_text and isinstance(code, str):
        try:
            return float(code)
        except ValueError:
            return None
    return None


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

    forced = set(numeric or ())
    ratings = None if ratings is None else list(ratings)
    unknown = forced - set(frame.columns)
    if unknown:
        raise InputError(f"numeric names column(s) {sorted(unknown)} that the table does not have")
    checked_alone = forced | set(ranges or ()) | set(ratings or ()) | set(schema.FIXED_COLUMNS)
    settled = _settled_columns(
        frame, [c for c in frame.columns if c not in checked_alone], missing_codes
    )
    distinct = {
        column: None if column in settled else _distinct_values(frame[column], source)
        for column in frame.columns
    }
    frame = _apply_missing_codes(frame, missing_codes, found, distinct, skip=settled)

    blank_rows = _blank_rows(frame, distinct, settled)
    if blank_rows.any():
        found.add(
            "warning",
            "blank_row",
            np.flatnonzero(blank_rows),
            "",
            "",
            "the row is empty and was left out of the table",
        )
    keep = ~blank_rows

    out: dict[str, pd.Series] = {}
    groups: dict[str, np.ndarray] = {}  # id column -> one code per distinct id (-1: missing)
    for column in schema.ID_COLUMNS:
        if column in frame.columns:
            bad = _blank(frame[column], distinct[column]) & keep
            found.add(
                "error",
                "missing_id",
                np.flatnonzero(bad),
                column,
                "",
                f"{column} id is empty; every row needs the {column} it belongs to",
            )
            ids = schema.ids_to_text(frame[column])
            text = distinct[column]
            out[column] = ids.str.strip() if text is not None and text.padded else ids
            groups[column] = text.group_codes() if text is not None else pd.factorize(ids)[0]

    if schema.SESSION in frame.columns:
        out[schema.SESSION] = _check_session(
            frame[schema.SESSION], keep, found, distinct[schema.SESSION]
        )
    if schema.ATTENDED in frame.columns:
        out[schema.ATTENDED] = _check_attended(
            frame[schema.ATTENDED], keep, found, distinct[schema.ATTENDED]
        )
    if schema.DATE in frame.columns:
        out[schema.DATE] = _check_dates(frame[schema.DATE], keep, found, distinct[schema.DATE])

    for column in frame.columns:
        if column in schema.FIXED_COLUMNS:
            continue
        if column in settled:
            out[column] = settled[column]
            continue
        out[column] = _check_other(frame[column], column in forced, keep, found, distinct[column])
        _check_finite(out[column], frame[column], keep, found)

    for column, (low, high) in _checked_ranges(ranges).items():
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

    for column, values in out.items():
        if column not in schema.FIXED_COLUMNS and column not in _checked_ranges(ranges):
            _check_missing_code_like(values, keep, found)

    order = _check_structure(out, groups, keep, found, ratings)

    report_frame = found.frame()
    # the ids, for masking them in a failing report's messages (not needed when it passes)
    failing = bool((report_frame["severity"] == "error").any())
    identifiers = frozenset(
        (kind, str(v))
        for kind, column in (("client", schema.CLIENT), ("therapist", schema.THERAPIST))
        if failing and column in out
        for v in pd.unique(out[column].dropna())
    )
    report = ValidationReport(report_frame, int(keep.sum()), source.name, identifiers)
    if not report.ok:
        return CheckedTable(report, None)
    out[schema.ATTENDED] = out[schema.ATTENDED] == 1
    return CheckedTable(report, _canonical_table(out, order))


def _canonical_table(out: dict[str, pd.Series], order: _Order) -> pd.DataFrame:
    """The checked columns as the canonical table: fixed columns first, rows in ``order``.

    ``order`` holds the rows kept, sorted by client then session (see
    :func:`_check_structure`); without errors that is every row that is not blank.
    """
    first = [c for c in schema.FIXED_COLUMNS if c in out]
    columns = first + [c for c in out if c not in first]
    table = pd.concat({c: out[c] for c in columns}, axis=1)  # faster than a dict for wide tables
    if order.rows is not None:
        table = table.take(order.rows)
    return table.reset_index(drop=True)


def _checked_ranges(ranges) -> dict[str, tuple[float, float]]:
    """``ranges`` as ``{column: (low, high)}`` with numbers, or an InputError saying why not."""
    if ranges is None:
        return {}
    example = "e.g. ranges={'wai_1': (1, 5)}"
    if not isinstance(ranges, Mapping):
        raise InputError(f"ranges must map column names to (low, high), {example}; got {ranges!r}")
    out = {}
    for column, bounds in ranges.items():
        ok = isinstance(bounds, (tuple, list)) and len(bounds) == 2 and all(
            isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, bool)
            for b in bounds
        )  # fmt: skip
        if not ok or not bounds[0] <= bounds[1]:
            raise InputError(
                f"ranges[{column!r}] must be two numbers (low, high) with low <= high, "
                f"{example}; got {bounds!r}"
            )
        out[str(column)] = (float(bounds[0]), float(bounds[1]))
    return out


#: The largest session number taken as one (larger ones, such as 1e20, are reported).
MAX_SESSION = 10_000


def _check_session(values: pd.Series, keep, found, distinct=None) -> pd.Series:
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        arr = values.to_numpy()  # whole numbers already: only the bounds to check
        bad = ((arr < 1) | (arr > MAX_SESSION)) & keep
    else:
        arr = _parse_numbers(values, distinct).to_numpy()
        with np.errstate(invalid="ignore"):
            bad = (
                ~np.isfinite(arr) | (arr < 1) | (arr > MAX_SESSION) | (np.mod(arr, 1) != 0)
            ) & keep
    found.add(
        "error",
        "session_number",
        np.flatnonzero(bad),
        schema.SESSION,
        values,
        f"session must be a whole number from 1 to {MAX_SESSION:,} (1 = first scheduled session)",
    )
    if arr.dtype.kind in "iu" and not bad.any():
        return values.astype("int64")
    return pd.Series(np.where(bad, 0, np.nan_to_num(arr)).astype("int64"), index=values.index)


def _check_attended(values: pd.Series, keep, found, distinct=None) -> pd.Series:
    """``attended`` as codes: 1 (came), 0 (did not) or -1 (unreadable: reported)."""
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.astype("int8")
    if pd.api.types.is_numeric_dtype(values):
        number = values.to_numpy(dtype="float64", na_value=np.nan)
        result = np.where(number == 1, 1, np.where(number == 0, 0, -1)).astype("int8")
    else:  # judge each distinct text once
        distinct = distinct or _Distinct.of(values.astype(object))
        words = distinct.text.str.lower()
        came, missed = words.isin(schema.TRUE_WORDS), words.isin(schema.FALSE_WORDS)
        per_value = np.where(came, 1, np.where(missed, 0, -1)).astype("int8")
        result = distinct.take(per_value, -1)
    found.add(
        "error",
        "invalid_boolean",
        np.flatnonzero((result < 0) & keep),
        schema.ATTENDED,
        values,
        "attended must say whether the client came: yes/no, true/false or 1/0",
    )
    return pd.Series(result, index=values.index)


def _check_dates(values: pd.Series, keep, found, distinct) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize(None) if values.dt.tz is not None else values
        parsed = _within_ns_range(parsed)
        unreadable = parsed.isna().to_numpy() & values.notna().to_numpy()
    else:  # parse each distinct text once: sessions share few dates
        distinct = distinct or _Distinct.of(values.astype(object))
        text = distinct.text
        offset = text.str.fullmatch(_TZ_OFFSET).fillna(False).to_numpy(dtype=bool)
        if offset.any():  # keep the local wall-clock time; offsets may differ between rows
            text = text.str.replace(_TZ_OFFSET, r"\1", regex=True)
            found.add(
                "note",
                "date_offset",
                np.flatnonzero(distinct.take(offset, False) & keep),
                schema.DATE,
                values,
                "the time-zone offset was dropped: the local date and time are kept",
            )
        dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
        retry = dates.isna() & (text != "")
        if retry.any():
            dates = dates.where(~retry, _other_dates(text.where(retry), values, distinct, keep,
                                                     found))  # fmt: skip
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        dates = _within_ns_range(dates)
        unreadable = distinct.take((dates.isna() & (text != "")).to_numpy(), False)
        dates = dates.astype("datetime64[ns]").to_numpy()
        parsed = pd.Series(distinct.take(dates, np.datetime64("NaT", "ns")), index=values.index)
    found.add(
        "error",
        "invalid_date",
        np.flatnonzero(unreadable & keep),
        schema.DATE,
        values,
        "the date cannot be read; write dates as YYYY-MM-DD",
    )
    return parsed.astype("datetime64[ns]")


#: A date written with numbers for day and month: (first, second, year), e.g. 02/01/2023.
_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?:[ T].*)?$"
#: A time of day without a date (which pandas would put on today's date).
_TIME_ONLY = r"^\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*$"


def _other_dates(text: pd.Series, values, distinct, keep, found) -> pd.Series:
    """Non-ISO dates (one per distinct value), read with one day/month order per column.

    The order is day first when some date can only be day first (16/01/2023) and none can
    only be month first (01/16/2023), else month first; dates the chosen order cannot read are
    left unread (reported). Where every such date could be either, month first is used and a
    note says so. A time without a date is unreadable, not today's date.
    """
    parts = text.str.extract(_NUMERIC_DATE)
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    only_day_first = bool((first > 12).any())
    only_month_first = bool((second > 12).any())
    day_first = only_day_first and not only_month_first
    text = text.where(~text.str.fullmatch(_TIME_ONLY).fillna(False).astype(bool))
    dates = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=day_first)
    contradicts = (first > 12) if not day_first else (second > 12)
    dates = dates.mask(contradicts.fillna(False).to_numpy())
    ambiguous = (first <= 12) & (second <= 12) & (first != second)
    if ambiguous.any() and not (only_day_first or only_month_first):
        found.add(
            "note",
            "date_day_month",
            np.flatnonzero(distinct.take(ambiguous.fillna(False).to_numpy(), False) & keep),
            schema.DATE,
            values,
            "day and month could be either way round; read month first (02/01/2023 = "
            "1 February). Write dates as YYYY-MM-DD to be sure",
        )
    return dates


#: A date-time ending in a time-zone offset (group 1: the local part).
_TZ_OFFSET = (
    r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"  # the local date and time
    r"\s*(?:[Zz]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)$"  # Z, +01:00, -0500, UTC+01
)


def _within_ns_range(dates: pd.Series) -> pd.Series:
    """Dates outside what datetime64[ns] holds (years 1677-2262) become missing."""
    return dates.mask(dates.notna() & ((dates < pd.Timestamp.min) | (dates > pd.Timestamp.max)))


def _check_other(values: pd.Series, forced: bool, keep, found, distinct) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    distinct = distinct or _Distinct.of(values.astype(object))
    # Decide on the distinct values (weighted by how often each occurs) whether the column
    # holds numbers; only then build a whole column.
    per_value = pd.to_numeric(distinct.text, errors="coerce").to_numpy(dtype="float64")
    present_value = (distinct.text != "").to_numpy()
    readable = ~np.isnan(per_value)
    if forced or readable.any():
        counts = distinct.counts()
        n_present, n_readable = counts[present_value].sum(), counts[readable].sum()
    else:  # no value is a number: no need to count them
        n_present = present_value.any() and distinct.take(present_value, False).any()
        n_readable = 0
    if not forced and n_readable * 2 <= n_present and n_present:
        if values.dtype == "str" and not distinct.padded and present_value.all():
            return values  # nothing to strip, and blank cells are already missing
        text = values.astype("str").str.strip()
        return text.where(~_blank(values, distinct), np.nan)
    numbers = pd.Series(distinct.take(per_value, np.nan), index=values.index, name=values.name)
    bad = distinct.take(present_value & np.isnan(per_value), False) & keep
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


#: values that exports often use as missing-value codes (SPSS, Stata, REDCap conventions)
MISSING_CODE_LIKE = (-9999, -999, -99, -98, -97, -9, 77, 88, 98, 99, 777, 888, 998, 999, 9999)


def _check_missing_code_like(values: pd.Series, keep: np.ndarray, found) -> None:
    """Warn about values that look like missing-value codes: one of
    :data:`MISSING_CODE_LIKE`, more than the other values' span beyond their range, or
    negative where every other value is non-negative (a -99 in a 1..5 item or a 0..40
    rating would otherwise enter the models as a value)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return
    v = values.to_numpy(dtype="float64", na_value=np.nan)
    code_like = np.isin(v, MISSING_CODE_LIKE) & keep
    if not code_like.any():
        return
    rest = v[keep & ~code_like & np.isfinite(v)]
    if len(rest) < 5:  # too few other values to tell a code from a value
        return
    low, high = float(rest.min()), float(rest.max())
    span = max(high - low, 1.0)
    for code in np.unique(v[code_like]):
        far = code < low - span or code > high + span or (code < 0 <= low)
        if not far:
            continue
        rows = np.flatnonzero((v == code) & keep)
        found.add(
            "warning",
            "missing_code_like",
            rows,
            values.name,
            values,
            f"{code:g} looks like a missing-value code: the column's other values lie in "
            f"{low:g}..{high:g}. If it means missing, read the file with "
            f"missing_codes=[{code:g}] (command line: --missing-code {code:g}); otherwise "
            "correct it",
        )


def _check_finite(numbers: pd.Series, values: pd.Series, keep, found) -> None:
    """Report infinite numbers (``inf``, ``-inf``, ``1e400``): no analysis can use them."""
    if numbers.dtype != "float64":
        return
    infinite = np.isinf(numbers.to_numpy()) & keep
    if infinite.any():
        found.add(
            "error",
            "non_finite",
            np.flatnonzero(infinite),
            values.name,
            values,
            "an infinite number (inf, -inf, or too large to store, such as 1e400); correct "
            "it, or leave the cell empty if it means missing",
        )


def _settled_columns(frame: pd.DataFrame, columns: list[str], codes) -> dict[str, pd.Series]:
    """The columns among ``columns`` that need no check of their own, as validation leaves them.

    A text column is settled when it holds only text (Python ``str``) or missing cells and no
    value is blank, padded with spaces, readable as a number or equal to a missing-value code;
    a numeric column when no value is infinite or a missing-value code. Deciding this for all
    columns in one pass over their cells keeps wide files (thousands of columns) linear in
    cells rather than paying pandas' per-operation cost column by column.
    """
    dtypes = frame.dtypes[~frame.columns.duplicated(keep=False)]
    wanted = set(columns)
    text, numbers = [], []
    for column, dtype in dtypes.items():
        if column not in wanted or isinstance(dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            text.append(column)
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numbers.append(column)
    if not len(frame):
        return {}
    code_list = (
        [c for column_codes in codes.values() for c in _as_codes(column_codes)]
        if isinstance(codes, Mapping)
        else _as_codes(codes)
    )
    settled = {}
    if len(text) > 1:
        settled.update(_settled_text(frame[text], {str(c) for c in code_list}))
    if len(numbers) > 1:
        code_numbers = [n for c in code_list if (n := _code_number(c, True)) is not None]
        values = frame[numbers]
        other_types = [c for c, dtype in values.dtypes.items() if dtype != "float64"]
        if other_types:
            values = values.astype(dict.fromkeys(other_types, "float64"))
        array = values.to_numpy()
        odd = np.isinf(array).any(axis=0) | np.isin(array, code_numbers).any(axis=0)
        settled.update((c, v) for (c, v), bad in zip(values.items(), odd) if not bad)
    return settled


def _settled_text(frame: pd.DataFrame, code_texts: set[str]) -> dict[str, pd.Series]:
    """The text columns of :func:`_settled_columns`, as ``str`` columns."""
    cells = frame.to_numpy(dtype=object).T.ravel()
    try:
        positions, uniques = pd.factorize(cells)
    except TypeError:  # unhashable cells: the column-by-column path names them
        return {}
    raw = pd.Series(uniques, dtype=object)
    is_text = raw.map(type).eq(str).to_numpy()
    raw = raw.where(is_text, "")
    stripped = raw.astype("str").str.strip()
    odd = (
        ~is_text
        | (stripped == "").to_numpy()
        | (stripped != raw).to_numpy()
        | pd.to_numeric(stripped, errors="coerce").notna().to_numpy()
        | stripped.isin(code_texts).to_numpy()
    )
    odd_cells = np.append(odd, False)[positions].reshape(frame.shape[1], len(frame))
    keep = [c for c, bad in zip(frame.columns, odd_cells.any(axis=1)) if not bad]
    if not keep:
        return {}
    kept = frame[keep]
    objects = [c for c, dtype in kept.dtypes.items() if dtype != "str"]
    if objects:
        kept = kept.astype(dict.fromkeys(objects, "str"))
    return dict(kept.items())


def _as_codes(codes) -> list:
    """Missing-value codes as a list (one code may be given alone)."""
    if codes is None:
        return []
    return [codes] if isinstance(codes, (str, int, float)) else list(codes)


def _distinct_values(series: pd.Series, source: Source) -> _Distinct | None:
    """:meth:`_Distinct.of`, with a clear error for cells that hold lists, dicts or arrays."""
    try:
        return _Distinct.of(series)
    except TypeError:  # unhashable cells: a list, dict, set or array in a cell
        nested = series.map(lambda v: isinstance(v, (list, dict, set, tuple, np.ndarray)))
        rows = np.flatnonzero(nested.to_numpy(dtype=bool))
        if not len(rows):
            raise
        first = series.iloc[rows[0]]
        where = source.rows(rows[:1], series.index)[0]
        raise InputError(
            f"column '{series.name}'{f' of {source.name!r}' if source.name else ''} holds "
            f"{type(first).__name__} values in {len(rows)} row(s) (the first at "
            f"{source.row_unit} {where}: {str(first)[:60]}); a session table holds one value "
            "per cell: split the column into one column per element, or drop it"
        ) from None


@dataclass(frozen=True)
class _Order:
    """Usable rows sorted by client then session: place ``i`` of the order is a row.

    ``rows`` holds the row of each place, or is ``None`` when the order is every row as it
    stands (then nothing needs copying).
    """

    rows: np.ndarray | None

    def take(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row) in the order."""
        return values if self.rows is None else values[self.rows]

    def row(self, places):
        """The rows at these places (an array, a slice or a number)."""
        return places if self.rows is None else self.rows[places]


def _check_structure(out: dict[str, pd.Series], groups, keep, found, ratings) -> _Order:
    """Checks across rows: duplicates, date order, therapists, gaps, absent-with-ratings.

    ``groups`` holds the codes of the id columns (see :meth:`_Distinct.group_codes`).
    Returns the usable rows (kept, with a client and a session number) sorted by client in
    order of first appearance, then session. The checks work on that order: ``i`` below is
    a place in it.
    """
    needed = (schema.CLIENT, schema.SESSION)
    if not all(c in out for c in needed):
        return _Order(np.flatnonzero(keep))
    client = out[schema.CLIENT]
    session = out[schema.SESSION].to_numpy()
    client_codes = groups[schema.CLIENT]
    usable = keep & (client_codes >= 0) & (session >= 1)
    rows = None if usable.all() else np.flatnonzero(usable)
    codes, sess = _Order(rows).take(client_codes), _Order(rows).take(session)
    if len(codes) == 0:
        return _Order(rows)
    sort = schema.session_order(codes, sess)
    if sort is not None:
        rows = sort if rows is None else rows[sort]
        codes, sess = codes[sort], sess[sort]
    order = _Order(rows)
    new_client = np.r_[True, codes[1:] != codes[:-1]]
    starts = np.flatnonzero(new_client)
    sizes = np.diff(starts, append=len(codes))
    step = np.diff(sess)  # to the next session of the same client where ~new_client[1:]
    same_client = ~new_client[1:]

    dup_next = np.r_[False, same_client & (step == 0)]
    if dup_next.any():
        involved = dup_next | np.r_[dup_next[1:], False]
        first_of_run = np.maximum.accumulate(np.where(~dup_next, np.arange(len(codes)), 0))
        unit = found.source.row_unit
        first_label = found.source.rows(order.row(first_of_run), found.index)
        idx = np.flatnonzero(involved)
        messages = [
            f"client {client.iat[order.row(i)]!r} has session {sess[i]} more than once "
            f"(first at {unit} {first_label[i]}); keep one row per scheduled session"
            for i in idx
        ]
        found.add("error", "duplicate_session", order.row(idx), schema.SESSION, sess[idx], messages)

    if schema.DATE in out:
        dates = order.take(out[schema.DATE].to_numpy())
        later, before = _dated_before_previous(codes, dates, same_client)
        kept = ~dup_next[later]
        later, before = later[kept], before[kept]
        found.add(
            "error",
            "date_order",
            order.row(later),
            schema.DATE,
            pd.Series(dates[later]).dt.strftime("%Y-%m-%d").to_numpy(),
            [
                f"session {sess[i]} is dated before session {sess[j]} of the same client; "
                "check the date or the session number"
                for i, j in zip(later, before)
            ],
        )

    idx = np.flatnonzero(same_client & (step > 1)) + 1
    found.add(
        "warning",
        "session_gap",
        order.row(idx),
        schema.SESSION,
        sess[idx],
        [
            f"no row for {_session_span(sess[i - 1] + 1, sess[i] - 1)} of this client; the "
            "table should have a row for every scheduled session, attended or not"
            for i in idx
        ],
    )

    single = starts[sizes == 1]
    found.add(
        "warning",
        "single_session",
        order.row(single),
        schema.CLIENT,
        client,
        "this client has only one session row; within-client estimates ignore such clients",
    )

    if schema.THERAPIST in out:
        therapist = order.take(groups[schema.THERAPIST])
        _check_therapist_change(out, therapist, order, starts, sizes, found)

    if schema.ATTENDED in out:
        is_rating = _rating_test(order, starts, sizes)
        _check_ratings_when_absent(out, keep, found, ratings, is_rating)
    return order


def _dated_before_previous(codes: np.ndarray, dates: np.ndarray, same_client: np.ndarray):
    """Places ``i`` dated before ``j``, the client's previous dated place; as ``(i, j)``.

    ``same_client[i]``: places ``i`` and ``i + 1`` are the same client's.
    """
    dated = ~np.isnat(dates)
    if dated.all():
        earlier = same_client & (dates[1:] < dates[:-1])
        later = np.flatnonzero(earlier) + 1
        return later, later - 1
    places = np.flatnonzero(dated)
    codes, dates = codes[places], dates[places]
    earlier = (codes[1:] == codes[:-1]) & (dates[1:] < dates[:-1])
    return places[1:][earlier], places[:-1][earlier]


def _check_therapist_change(out, therapist, order: _Order, starts, sizes, found) -> None:
    """Warn once per client seen by more than one therapist (``therapist``: codes in order)."""
    known = therapist >= 0
    if known.all():
        later = np.flatnonzero(therapist[1:] != therapist[:-1]) + 1
        before = later - 1
    else:
        places = np.flatnonzero(known)
        ids = therapist[places]
        differs = ids[1:] != ids[:-1]  # a known therapist differs from the previous known one
        later, before = places[1:][differs], places[:-1][differs]
    run = np.searchsorted(starts, later, side="right") - 1
    runs = np.unique(run[before >= starts[run]])  # ... of the same client
    if not runs.size:
        return
    names = out[schema.THERAPIST]
    firsts, messages = [], []
    for r in runs:
        start = starts[r]
        mine = therapist[start : start + sizes[r]]
        rows = order.row(np.arange(start, start + sizes[r])[mine >= 0])
        first_known = mine[mine >= 0][0]
        firsts.append(start + np.flatnonzero((mine >= 0) & (mine != first_known))[0])
        seen = pd.unique(names.iloc[rows])
        messages.append(
            f"client {out[schema.CLIENT].iat[rows[0]]!r} is seen by therapists "
            f"{', '.join(repr(t) for t in seen)}; models nest each client in one "
            "therapist, so check the ids (or model therapists as crossed)"
        )
    first_change = order.row(np.array(firsts))
    found.add(
        "warning",
        "therapist_change",
        first_change,
        schema.THERAPIST,
        names.iloc[first_change].to_numpy(),
        messages,
    )


#: Share of clients (with two or more values) whose values must vary for a numeric column to
#: count as a session rating rather than a client-level column such as age.
RATING_SHARE = 0.1


def _rating_test(order: _Order, starts: np.ndarray, sizes: np.ndarray):
    """A test of a numeric column: is it a session rating (see :data:`RATING_SHARE`)?"""

    def is_rating(values: np.ndarray) -> bool:
        ordered = order.take(values)
        low = np.fmin.reduceat(ordered, starts)  # fmin/fmax skip missing values
        high = np.fmax.reduceat(ordered, starts)
        several = sizes - np.add.reduceat(np.isnan(ordered), starts) >= 2
        return bool(several.any() and (low != high)[several].mean() >= RATING_SHARE)

    return is_rating


def _check_ratings_when_absent(out, keep, found, ratings, is_rating) -> None:
    absent = np.flatnonzero((out[schema.ATTENDED] == 0).to_numpy() & keep)
    if not absent.size:
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
    carrying: dict[int, list[str]] = {}
    for column in candidates:
        values = out[column]
        rows = absent[values.iloc[absent].notna().to_numpy()]
        if rows.size and ratings is None and not is_rating(values.to_numpy()):
            continue  # a client-level column (age)
        for p in rows:
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
        columns whose values vary within at least 10% of the clients with two or more
        values, so session ratings count and client-level columns such as age do not).
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
