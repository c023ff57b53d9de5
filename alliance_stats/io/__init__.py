"""Read what researchers have into the canonical session table.

:func:`read_sessions` reads a file (CSV, TSV, Excel, SPSS, Stata, Parquet, REDCap and
Qualtrics exports, wide layouts) or a DataFrame, maps its columns onto the canonical
names, checks it with :mod:`alliance_stats.validation` and returns the canonical table.
:func:`read_sessions_checked` does the same without raising for problems in the data.

One job per module: :mod:`~alliance_stats.io.formats` (which reader),
:mod:`~alliance_stats.io.text` (CSV/TSV), :mod:`~alliance_stats.io.binary` (Excel, SPSS,
Stata, Parquet), :mod:`~alliance_stats.io.mapping` (column names),
:mod:`~alliance_stats.io.wide` (wide -> long), :mod:`~alliance_stats.io.redcap` and
:mod:`~alliance_stats.io.qualtrics` (export layouts).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import DataValidationError, DataWarning, InputError
from alliance_stats.io import binary, formats, mapping, qualtrics, redcap, text
from alliance_stats.io import wide as _wide
from alliance_stats.io._raw import RawTable
from alliance_stats.validation import CheckedTable, Source, check

__all__ = ["read_sessions", "read_sessions_checked"]

#: Columns whose SPSS/Stata value labels are not applied: they keep their codes.
_KEEP_CODES = (*schema.FIXED_COLUMNS,)


def read_sessions(
    source: str | os.PathLike | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    missing_codes: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None,
    format: str | None = None,
    sheet: str | int | None = None,
    *,
    wide: str | Mapping[str, Any] | None = None,
    numeric: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    ratings: Iterable[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Read a session table from a file or DataFrame, check it, and return the canonical table.

    Every problem in the data is collected first (see :mod:`alliance_stats.validation`):
    errors raise :class:`~alliance_stats.errors.DataValidationError` whose ``.report``
    lists them all; warnings give one :class:`~alliance_stats.errors.DataWarning` (run
    :func:`alliance_stats.validate_sessions` with the same arguments for the full report).

    Parameters
    ----------
    source
        A file path or a DataFrame (the DataFrame is never modified).
    columns
        Your column name -> canonical name, e.g. ``{"ClientID": "client", "Sess": "session"}``.
        Without it (and for canonical columns it leaves out) common names are recognised
        whatever their case: ``Client``/``client_id``/``ClientID``/``id`` -> ``client``,
        ``Therapist``/``therapist_id``/``clinician`` -> ``therapist``,
        ``session_number``/``session_no``/``visit`` -> ``session``,
        ``attendance``/``present``/``showed`` -> ``attended``,
        ``session_date``/``visit_date`` -> ``date``; each such use is a ``column_alias`` note.
    missing_codes
        Values that mean missing, for every column (``[-99, "NA"]``) or per column
        (``{"wai_1": [-9]}``, keyed by your name or the canonical one). Each replacement is
        a ``missing_code`` note.
    format
        ``"csv"``, ``"tsv"``, ``"excel"``, ``"spss"``, ``"stata"``, ``"parquet"``,
        ``"redcap"`` or ``"qualtrics"``; by default from the extension (``.csv .txt .tsv
        .tab .xlsx .xlsm .xls .ods .sav .zsav .por .dta .parquet``; ``.gz``/``.bz2``/``.xz``
        compressed text is fine).
    sheet
        Excel only: sheet name or 0-based number (default: the first sheet).
    wide
        A wide layout (one row per client): a template such as ``"{measure}_s{session}"``
        (``wai3_s4`` -> measure ``wai3``, session 4; ``{item}`` works as ``{measure}``), a
        regular expression with groups ``(?P<measure>...)`` and ``(?P<session>\\d+)``, or
        ``{"pattern": ..., "attended_when_rated": True}``. Other columns are client-level
        and repeated on each row. A row is made for each session with any value;
        ``attended_<session>`` columns give ``attended``, otherwise
        ``attended_when_rated=True`` marks every row made as attended (a note says so).
        Problems name the wide row and the wide column (``wai3_s4``).
    numeric, ranges, ratings
        Passed to the checks: columns that must be numbers, ``{column: (low, high)}``
        allowed values, and columns that should be empty when the client was absent.
    **options
        Reader options. CSV/TSV: ``sep`` (``delimiter``), ``decimal``, ``encoding``,
        ``na_values`` (cell texts that mean missing; default ``NA N/A #N/A NaN nan NULL
        null``, each use noted; ``[]`` for none). SPSS/Stata: ``encoding``.

    Returns
    -------
    pandas.DataFrame
        The canonical session table (see :mod:`alliance_stats.schema`), with
        ``attrs["alliance_stats"] = {"source", "format", "sha256", "rows_read"}``.

    Raises
    ------
    DataValidationError
        The data has errors; ``err.report`` lists every one with its row and column.
    InputError
        A missing or unreadable file, an unknown format or option, a bad column mapping.
    MissingDependencyError
        The optional package for the format is not installed (the message names the extra).

    Notes
    -----
    Rows are numbered as you see them: CSV/TSV lines (the header is line 1; blank lines
    and multi-line quoted values are counted), Excel sheet rows, SPSS/Stata cases 1..n,
    Parquet records 1..n, DataFrame index labels. Problems name your column, not the
    canonical one.

    *Text files* are sniffed: a UTF-8 or UTF-16 byte-order mark, else UTF-8, else
    Windows-1252 then Latin-1 (with an ``encoding`` note); the delimiter among ``, ; tab |``;
    decimal commas (``3,5``) when the delimiter is not a comma (a ``decimal_comma`` note).
    Values are read as text, so ids keep leading zeros; the checks find the numbers.
    A line with more fields than the header is an :class:`InputError` naming the line.

    *Excel*: python-calamine, falling back to openpyxl; the first non-empty row is the
    header. *SPSS/Stata* (pyreadstat): user-missing values and ranges declared in the file
    (Stata ``.a``-``.z``) become missing with a ``missing_code`` note naming the code;
    value-labelled columns become categoricals (ordered for SPSS ordinal variables), except
    ``client``, ``therapist``, ``session``, ``date`` and ``attended``, which keep their codes.
    To write a table for SPSS/Stata, store text as strings and ``attended`` as 0/1, with
    names of at most 32 characters (Stata) or 64 (SPSS).

    *REDCap* (``format="redcap"``, or detected from ``redcap_*`` columns): the record id is
    ``client``; a repeating instrument's instance, or a session number in the event name
    (``session_3_arm_1``, ``Session 3 (Arm 1: ...)``), is ``session``; fields of
    non-session rows (baseline) are copied onto the record's session rows (noted). Raw and
    label exports both work; see :mod:`alliance_stats.io.redcap`.

    *Qualtrics* (``format="qualtrics"``, or detected by the ``{"ImportId": ...}`` third
    header row): the question-text and ImportId rows are dropped (the first response is
    line 4); previews, tests, spam and unfinished responses are left out with one
    ``excluded_response`` warning per response naming its line and why.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> raw = pd.DataFrame({"ClientID": [7, 7], "Clinician": ["t1", "t1"],
    ...                     "Session": [1, 2], "attended": ["yes", "no"], "wai": [4.5, None]})
    >>> df = als.read_sessions(raw, columns={"ClientID": "client"})
    >>> df[["client", "therapist", "session", "attended"]].values.tolist()
    [['7', 't1', 1, True], ['7', 't1', 2, False]]
    >>> w = pd.DataFrame({"client": ["a"], "therapist": ["t"], "attended_s1": [1],
    ...                   "attended_s2": [1], "wai_s1": [3.0], "wai_s2": [4.0]})
    >>> als.read_sessions(w, wide="{measure}_s{session}")["wai"].tolist()
    [3.0, 4.0]
    """
    checked = read_sessions_checked(
        source,
        columns=columns,
        missing_codes=missing_codes,
        format=format,
        sheet=sheet,
        wide=wide,
        numeric=numeric,
        ranges=ranges,
        ratings=ratings,
        **options,
    )
    report = checked.report
    if not report.ok:
        raise DataValidationError(report)
    found = report.warnings
    if len(found):
        shown = "; ".join(
            f"{r.row + ': ' if r.row else ''}{r.message}" for r in found.head(3).itertuples()
        )
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        where = f"'{report.source}'" if report.source else "the table"
        warnings.warn(
            DataWarning(
                f"{len(found)} warning(s) reading {where}: {shown}{more}. "
                "Run als.validate_sessions(...) with the same arguments for the full report"
            ),
            stacklevel=2,
        )
    return checked.table


def read_sessions_checked(
    source: str | os.PathLike | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    missing_codes: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None,
    format: str | None = None,
    sheet: str | int | None = None,
    *,
    wide: str | Mapping[str, Any] | None = None,
    numeric: Iterable[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    ratings: Iterable[str] | None = None,
    **options: Any,
) -> CheckedTable:
    """Like :func:`read_sessions`, but return the report and table instead of raising.

    Problems in the data never raise: they are in ``.report``, and ``.table`` is ``None``
    when there are errors. Bad arguments and unreadable files still raise
    :class:`~alliance_stats.errors.InputError`.

    Returns
    -------
    alliance_stats.validation.CheckedTable

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"client": ["a"], "therapist": ["t"], "session": [0], "attended": [1]})
    >>> read_sessions_checked(t).report.errors["rule"].tolist()
    ['session_number']
    """
    raw, digest = _read_raw(source, format, sheet, options, columns)
    rows_read = len(raw.frame)
    layout = raw.fmt
    if layout == "redcap" or (format is None and redcap.is_redcap(raw.frame)):
        mapped = [k for k, v in (columns or {}).items() if v == schema.CLIENT]
        raw = redcap.to_sessions(raw, record=mapped[0] if mapped else None)
        if mapped:  # the record column is the client column now
            columns = {k: v for k, v in columns.items() if k != mapped[0]}
        layout = "redcap"
    if wide is not None:
        raw = _wide.to_long(raw, wide)
    raw = mapping.apply_mapping(raw, columns)
    if raw.layout_options.get("attended_when_rated") and schema.ATTENDED not in raw.frame:
        raw.frame = raw.frame.assign(**{schema.ATTENDED: True})
        raw.column_names[schema.ATTENDED] = "(every session with a value)"
        raw.note(
            "attended_when_rated",
            "the wide table has no attended columns; every session with a value was "
            "counted as attended (wide option attended_when_rated=True)",
            column=schema.ATTENDED,
        )
    codes = _merge_codes(missing_codes, raw)
    labelled = _plan_labels(raw, codes)
    src = Source(
        name=raw.name,
        row_numbers=raw.row_numbers,
        row_unit=raw.row_unit,
        column_names=raw.column_names,
        problems=raw.problem_frame(),
    )
    checked = check(
        raw.frame, src, missing_codes=codes, numeric=numeric, ranges=ranges, ratings=ratings
    )
    table = checked.table
    if table is None:
        return checked
    for column, (labels, ordered) in labelled.items():
        if column in table.columns:
            table[column] = _categorical(table[column], labels, ordered)
    table.attrs["alliance_stats"] = {
        "source": raw.name,
        "format": layout,
        "sha256": digest,
        "rows_read": rows_read,
    }
    return CheckedTable(checked.report, table)


# ----------------------------------------------------------------------------- helpers
def _read_raw(source, format, sheet, options, columns=None) -> tuple[RawTable, str | None]:
    """Read ``source`` with the right reader; return the raw table and the file's SHA-256."""
    if isinstance(source, pd.DataFrame):
        if options:
            raise InputError(
                f"reader option(s) {sorted(options)} only apply to files, not to a DataFrame"
            )
        if sheet is not None:
            raise InputError("sheet= only applies to Excel files, not to a DataFrame")
        fmt = None if format is None else formats.detect_format("DataFrame", format)
        if fmt not in (None, "redcap", "qualtrics"):
            raise InputError(
                f"format={format!r} names a file format, but source is a DataFrame; leave "
                "format out (or use 'redcap' for a REDCap export read into a DataFrame)"
            )
        frame = source.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
        raw = RawTable(frame, None, fmt or "dataframe", row_numbers=None, row_unit="index")
        if fmt == "qualtrics":
            raw = qualtrics.exclude_responses(raw)
        return raw, None
    if isinstance(source, (bytes, bytearray)) or hasattr(source, "read"):
        raise InputError(
            "source must be a file path or a DataFrame; save the data to a file first, or "
            "read it with pandas and pass the DataFrame"
        )
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"source must be a file path or a pandas DataFrame; got {type(source).__name__}"
        )
    name = os.fspath(source)
    name = name.decode() if isinstance(name, bytes) else name
    path = Path(name).expanduser()
    fmt = formats.detect_format(name, format)
    if not path.exists():
        raise InputError(f"the file '{name}' does not exist{_near(path)}")
    if path.is_dir():
        raise InputError(f"'{name}' is a folder, not a file; give the path of the data file")
    if not path.is_file():  # a FIFO, a socket or a device (also behind a symlink)
        raise InputError(
            f"'{name}' is not a regular file (a pipe, socket or device), which could be read "
            "forever; save the data to a file and read that"
        )
    text.check_size(path, name)
    if sheet is not None and fmt != "excel":
        raise InputError(f"sheet= only applies to Excel files; '{name}' is read as {fmt}")
    try:
        if fmt in ("csv", "tsv", "redcap", "qualtrics"):
            raw = _read_delimited(path, name, fmt, options, columns)
            digest = raw.sha256
        else:  # the file's SHA-256 is computed in a second thread while the file is read
            with ThreadPoolExecutor(max_workers=1) as pool:
                digest = pool.submit(_sha256, path)
                if fmt == "excel":
                    raw = binary.read_excel(path, name, sheet, options)
                elif fmt in ("spss", "stata"):
                    raw = binary.read_stat(path, name, fmt, options)
                else:
                    raw = binary.read_parquet(path, name, options)
                digest = digest.result()
    except PermissionError as exc:
        raise InputError(f"cannot open '{name}': permission denied ({exc.strerror})") from exc
    except IsADirectoryError as exc:  # pragma: no cover - checked above
        raise InputError(f"'{name}' is a folder, not a file") from exc
    except OSError as exc:
        raise InputError(f"cannot read '{name}': {exc}") from exc
    return raw, digest


def _read_delimited(path, name, fmt, options, columns) -> RawTable:
    ids = mapping.id_columns(columns)
    raw = text.read_text(path, name, "tsv" if fmt == "tsv" else "csv", options, text_columns=ids)
    raw.fmt = fmt
    q = qualtrics.header_rows_in_frame(raw)
    if fmt == "qualtrics" or q:
        raw = qualtrics.drop_header_rows(raw, q)
        raw.fmt = "qualtrics"
        raw = qualtrics.exclude_responses(raw)
    raw.missing_codes.update(text.text_missing_codes(raw))
    return raw


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in text.file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _near(path: Path) -> str:
    import difflib

    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    except OSError:
        names = []
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if close:
        return f"; did you mean {', '.join(repr(str(folder / c)) for c in close)}?"
    if not folder.is_dir():
        return f" (the folder '{folder}' does not exist either)"
    return f"; check the name and the working directory ({Path.cwd()})"


def _merge_codes(user, raw: RawTable):
    """The user's missing codes plus those the file declares, per canonical column."""
    reader = {k: list(v) for k, v in raw.missing_codes.items() if k in raw.frame.columns}
    if user is None and not reader:
        return None
    columns = list(dict.fromkeys(raw.frame.columns))
    per_column: dict[str, list[Any]] = {}
    if user is None:
        pass
    elif isinstance(user, Mapping):
        originals = {v: k for k, v in raw.column_names.items() if isinstance(v, str)}
        for key, codes in user.items():
            key = str(key)
            target = key if key in raw.frame.columns else originals.get(key, key)
            per_column.setdefault(target, []).extend(_as_list(codes))
    else:
        codes = _as_list(user)
        for column in columns:
            per_column[column] = list(codes)
    for column, codes in reader.items():
        mine = per_column.setdefault(column, [])
        mine.extend(c for c in codes if c not in mine)
    return per_column


def _as_list(codes) -> list[Any]:
    if isinstance(codes, (str, int, float, np.integer, np.floating)) or codes is None:
        return [codes]
    return list(codes)


def _plan_labels(raw: RawTable, codes) -> dict[str, tuple[dict[Any, str], bool]]:
    """Value-labelled columns to turn into categoricals; a note for those kept as codes."""
    plan = {}
    for column, labels in raw.value_labels.items():
        if column in _KEEP_CODES or column not in raw.frame.columns:
            continue
        values = raw.frame[column]
        if isinstance(values, pd.DataFrame):
            continue
        missing = set(_as_list((codes or {}).get(column, [])))
        present = set(values.dropna().tolist()) - missing
        keys = set(labels)
        unlabeled = sorted(
            (v for v in present if v not in keys and _num(v) not in {_num(k) for k in keys}),
            key=str,
        )
        if unlabeled:
            raw.note(
                "value_labels",
                f"column kept as numbers: the values {unlabeled[:5]} have no value label",
                column=raw.column_names.get(column, column)
                if isinstance(raw.column_names.get(column, column), str)
                else column,
            )
            continue
        kept = {k: v for k, v in labels.items() if k not in missing and _num(k) not in missing}
        plan[column] = (kept, raw.ordered.get(column, False))
    return plan


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _categorical(values: pd.Series, labels: dict[Any, str], ordered: bool) -> pd.Series:
    lookup = {_num(k): v for k, v in labels.items()}
    lookup.update(labels)
    categories = list(dict.fromkeys(labels[k] for k in sorted(labels, key=_num_key)))
    mapped = [lookup.get(v, lookup.get(_num(v))) if pd.notna(v) else np.nan for v in values]
    return pd.Series(
        pd.Categorical(mapped, categories=categories, ordered=ordered), index=values.index
    )


def _num_key(value):
    number = _num(value)
    return (0, number, "") if isinstance(number, float) else (1, 0.0, str(value))
