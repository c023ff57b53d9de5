"""Excel, SPSS, Stata and Parquet files.

* Excel: the sheet's cells exactly as stored (python-calamine, falling back to openpyxl);
  the first non-empty row is the header and each row keeps its sheet row number.
* SPSS ``.sav`` / Stata ``.dta`` (pyreadstat, ``user_missing=True``): values the file
  declares as user-missing (SPSS discrete codes and ranges, Stata ``.a`` ... ``.z``) are
  handed to the checks as per-column missing codes, so each becomes ``NaN`` with a
  ``missing_code`` note naming it. Value labels are kept to turn those columns into
  categoricals after the checks. Rows are numbered as cases 1..n.
* Parquet (pyarrow): records 1..n, types as stored.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError, require
from alliance_stats.io._raw import RawTable

_EXCEL_OPTIONS: set[str] = set()
_STAT_OPTIONS = {"encoding"}


def _refuse_options(options: dict[str, Any], allowed: set[str], fmt: str, name: str) -> None:
    unknown = set(options) - allowed
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise InputError(
            f"unknown option(s) {sorted(unknown)} for the {fmt} file '{name}'; "
            f"{fmt} files accept: {accepted}"
        )


# ----------------------------------------------------------------------------- Excel
def _sheet_grid(path: Path, name: str, sheet: str | int | None) -> tuple[list[list[Any]], str]:
    """All cells of one sheet from A1, as Python values, and the sheet's name."""
    try:
        calamine = require("python_calamine", "excel", "Reading Excel files")
    except ImportError:
        calamine = None
    if calamine is not None:
        try:
            book = calamine.CalamineWorkbook.from_path(str(path))
            names = list(book.sheet_names)
            chosen = _choose_sheet(names, sheet, name)
            grid = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
            return [list(row) for row in grid], chosen
        except InputError:
            raise  # the user's sheet choice is wrong: say so now (InputError is a ValueError)
        except (calamine.CalamineError, OSError, ValueError):
            pass  # openpyxl below reads what calamine cannot, or says why the file is unreadable
    openpyxl = require("openpyxl", "excel", "Reading Excel files")
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(
            f"cannot read '{name}' as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx"
        ) from exc
    try:
        chosen = _choose_sheet(list(book.sheetnames), sheet, name)
        grid = [list(row) for row in book[chosen].iter_rows(values_only=True)]
    finally:
        book.close()
    return grid, chosen


def _choose_sheet(names: list[str], sheet: str | int | None, name: str) -> str:
    if not names:
        raise InputError(f"the workbook '{name}' has no sheets")
    if sheet is None:
        return names[0]
    if isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[int(sheet)]
        raise InputError(
            f"the workbook '{name}' has {len(names)} sheet(s), so sheet={sheet} does not exist "
            f"(sheets are numbered from 0): {names}"
        )
    if isinstance(sheet, str):
        if sheet in names:
            return sheet
        folded = {n.casefold().strip(): n for n in names}
        if sheet.casefold().strip() in folded:
            return folded[sheet.casefold().strip()]
        raise InputError(
            f"the workbook '{name}' has no sheet named {sheet!r}; its sheets are {names}"
        )
    raise InputError(f"sheet must be a sheet name or a 0-based number; got {sheet!r}")


def _blank_cell(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, float) and math.isnan(value)


def _typed_column(values: list[Any]) -> pd.Series:
    """One Excel column as the best pandas type: float, bool, datetime, or text."""
    present = [v for v in values if not _blank_cell(v)]
    data = [np.nan if _blank_cell(v) else v for v in values]
    if not present:
        return pd.Series(data, dtype="float64")
    if all(isinstance(v, bool) for v in present):
        if len(present) == len(values):
            return pd.Series(data, dtype=bool)
        return pd.Series(data, dtype=object)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series(data, dtype="float64")
    if all(isinstance(v, (_dt.date, _dt.datetime)) for v in present):
        stamps = [pd.Timestamp(v) if not _blank_cell(v) else pd.NaT for v in values]
        return pd.Series(stamps, dtype="datetime64[ns]")
    if all(isinstance(v, str) for v in present):
        return pd.Series(data, dtype="str")
    # Mixed cells: whole numbers written without ".0" so ids read as text stay "101".
    mixed = [
        int(v) if isinstance(v, float) and not isinstance(v, bool) and v.is_integer() else v
        for v in data
    ]
    return pd.Series(mixed, dtype=object)


def read_excel(path: Path, name: str, sheet: str | int | None, options: dict[str, Any]) -> RawTable:
    """Read one sheet; each row keeps its sheet row number (the header is usually row 1)."""
    _refuse_options(options, _EXCEL_OPTIONS, "Excel", name)
    grid, chosen = _sheet_grid(path, name, sheet)
    header_at = 0
    while header_at < len(grid) and all(_blank_cell(v) for v in grid[header_at]):
        header_at += 1
    if header_at == len(grid):
        raise InputError(f"the sheet {chosen!r} of '{name}' is empty; choose another with sheet=")
    header = grid[header_at]
    body = grid[header_at + 1 :]
    # Trailing empty rows are not data (Excel often keeps formatted but empty rows).
    while body and all(_blank_cell(v) for v in body[-1]):
        body.pop()
    width = len(header)
    names = []
    for j, value in enumerate(header):
        text = "" if _blank_cell(value) else str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        names.append(text or f"Unnamed: {j + 1}")
    columns = {}
    for j in range(width):
        columns[j] = _typed_column([row[j] if j < len(row) else None for row in body])
    frame = pd.DataFrame(columns)
    frame.columns = names
    keep = [j for j in range(width) if not _blank_cell(header[j]) or frame.iloc[:, j].notna().any()]
    if len(keep) < width:
        frame = frame.iloc[:, keep]
    rows = np.arange(header_at + 2, header_at + 2 + len(body), dtype=np.int64)
    raw = RawTable(frame, name, "excel", row_numbers=rows, row_unit="row")
    raw.header_line = header_at + 1
    widths = _excel_zero_formats(path, chosen, header_at, [j for j in range(width) if j in keep])
    for column, (spec, pad_width) in widths.items():
        label = frame.columns[column]
        padded = _pad(frame.iloc[:, column], pad_width)
        if padded is not None:
            raw.frame.isetitem(column, padded)
            raw.note(
                "display_format",
                f"'{label}' has the Excel number format {spec} (leading zeros), so its values "
                f"were read as text the way Excel shows them (1 -> {1:0{pad_width}d})",
                column=label,
            )
    return raw


#: Data rows whose cell number formats are looked at for leading-zero formats
_FORMAT_ROWS = 200


def _excel_zero_formats(path: Path, sheet: str, header_at: int, kept: list[int]) -> dict:
    """Frame column position -> (format, width) for .xlsx columns whose numbers carry a
    leading-zero number format (``000``): every numeric cell of the first data rows has it."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}
    openpyxl = require("openpyxl", "excel", "Reading Excel number formats")
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        # (pandas has read the sheet already: only the leading-zero hint is lost, and the
        # values are kept as the numbers the file stores)
        return {}
    seen: dict[int, set] = {}
    try:
        rows = book[sheet].iter_rows(min_row=header_at + 2, max_row=header_at + 1 + _FORMAT_ROWS)
        for row in rows:
            for j, cell in enumerate(row):
                value = getattr(cell, "value", None)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    seen.setdefault(j, set()).add(str(getattr(cell, "number_format", "")))
    finally:
        book.close()
    out = {}
    for position, j in enumerate(kept):
        specs = seen.get(j, set())
        if len(specs) == 1:
            spec = next(iter(specs))
            if re.fullmatch(r"0{2,}", spec):
                out[position] = (spec, len(spec))
    return out


# ----------------------------------------------------------------------------- SPSS / Stata
def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _spss_codes(series: pd.Series, ranges: list[dict[str, Any]]) -> list[Any]:
    """The values in ``series`` that fall in the file's user-missing codes or ranges."""
    present = pd.unique(series.dropna())
    codes: list[Any] = []
    for spec in ranges:
        low, high = spec.get("lo"), spec.get("hi")
        for value in present:
            if isinstance(value, str) or isinstance(low, str):
                hit = str(value).strip() == str(low).strip() and low == high
            else:
                hit = low <= value <= high
            if hit and _number(value) not in codes:
                codes.append(_number(value))
    return codes


def _zero_padded_width(spec: str) -> int | None:
    """Width of a zero-padding display format: SPSS ``N4``, Stata ``%04.0f``; else None."""
    match = re.fullmatch(r"N(\d+)", spec) or re.fullmatch(r"%0(\d+)\.0[fg]", spec)
    return int(match.group(1)) if match else None


def _pad(series: pd.Series, width: int) -> pd.Series | None:
    """Whole numbers as zero-padded text (missing stays missing); None if not all whole."""
    if not pd.api.types.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(values)
    if not np.all(np.mod(values[present], 1) == 0):
        return None
    text = np.full(len(values), None, dtype=object)
    text[present] = [f"{int(v):0{width}d}" for v in values[present]]
    return pd.Series(pd.array(text, dtype="str"), index=series.index, name=series.name)


def read_stat(path: Path, name: str, fmt: str, options: dict[str, Any]) -> RawTable:
    """Read SPSS ``.sav``/``.zsav``/``.por`` or Stata ``.dta`` with their user-missing values."""
    _refuse_options(options, _STAT_OPTIONS, "SPSS" if fmt == "spss" else "Stata", name)
    pyreadstat = require("pyreadstat", "spss", "Reading SPSS and Stata files")
    kwargs: dict[str, Any] = {"user_missing": True}
    if options.get("encoding"):
        kwargs["encoding"] = options["encoding"]
    suffix = path.suffix.lower()
    try:
        if fmt == "stata":
            frame, meta = pyreadstat.read_dta(str(path), **kwargs)
        elif suffix == ".por":
            kwargs.pop("user_missing")
            frame, meta = pyreadstat.read_por(str(path), **kwargs)
        else:
            frame, meta = pyreadstat.read_sav(str(path), **kwargs)
    except Exception as exc:
        label = "an SPSS" if fmt == "spss" else "a Stata"
        raise InputError(
            f"cannot read '{name}' as {label} file ({type(exc).__name__}: {exc}); check that "
            "the file is complete and has the right extension, or pass format="
        ) from exc
    raw = RawTable(
        frame,
        name,
        fmt,
        row_numbers=range(1, len(frame) + 1),
        row_unit="case",
    )
    types = getattr(meta, "readstat_variable_types", {}) or {}
    if fmt == "spss":
        for column, ranges in (getattr(meta, "missing_ranges", {}) or {}).items():
            if column in frame.columns:
                codes = _spss_codes(frame[column], ranges)
                if codes:
                    raw.missing_codes[column] = codes
    else:
        # Stata's extended missing values .a ... .z arrive as the letters "a" ... "z".
        new = {}
        for column in frame.columns:
            series = frame[column]
            if types.get(column) == "string" or series.dtype != object:
                continue
            letters = series.map(lambda v: isinstance(v, str) and len(v) == 1 and v.isalpha())
            letters = letters.astype(bool)
            if letters.any():
                found = sorted({f".{v}" for v in series[letters]})
                new[column] = series.where(~letters, "." + series[letters].astype("str"))
                raw.missing_codes[column] = found
        if new:
            raw.frame = frame.assign(**new)
    labels = getattr(meta, "variable_value_labels", {}) or {}
    formats = getattr(meta, "original_variable_types", {}) or {}
    for column, spec in formats.items():
        width = _zero_padded_width(str(spec))
        if width and column in raw.frame.columns and column not in labels:
            padded = _pad(raw.frame[column], width)
            if padded is not None:
                raw.frame = raw.frame.assign(**{column: padded})
                raw.note(
                    "display_format",
                    f"'{column}' has the display format {spec} (leading zeros), so its values "
                    f"were read as text the way the file shows them (1 -> {1:0{width}d})",
                    column=column,
                )
    measures = getattr(meta, "variable_measure", {}) or {}
    for column, mapping in labels.items():
        if column in frame.columns and mapping:
            raw.value_labels[column] = dict(mapping)
            raw.ordered[column] = measures.get(column) == "ordinal"
    return raw


# ----------------------------------------------------------------------------- Parquet
def read_parquet(path: Path, name: str, options: dict[str, Any]) -> RawTable:
    """Read a Parquet file; rows are numbered as records 1..n."""
    _refuse_options(options, set(), "Parquet", name)
    require("pyarrow", "parquet", "Reading Parquet files")
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:
        raise InputError(
            f"cannot read '{name}' as a Parquet file ({type(exc).__name__}: {exc}); check that "
            "the file is complete and has the right extension, or pass format="
        ) from exc
    named = [n for n in frame.index.names if n is not None]
    clash = [n for n in named if n in frame.columns]
    if clash:
        raise InputError(
            f"'{name}' stores {clash} both as columns and as its pandas index; write it with "
            "df.to_parquet(path, index=False) or rename one of them"
        )
    frame = frame.reset_index(drop=not named)  # a named index (e.g. client, session) is data
    raw = RawTable(
        frame,
        name,
        "parquet",
        row_numbers=range(1, len(frame) + 1),
        row_unit="record",
    )
    if named:
        raw.note(
            "parquet_index",
            f"the file's pandas index {named} was read as column(s)",
            column=", ".join(map(str, named)),
        )
    return raw
