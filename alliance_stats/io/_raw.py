"""The raw table a format reader hands on: values as read, plus where each row came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.validation import PROBLEM_COLUMNS


@dataclass
class RawTable:
    """A table as read from a file, before column mapping and checks.

    Attributes
    ----------
    frame
        The values as read (text formats: all ``str``; binary formats: native types).
    row_numbers
        For each row, its number as the user sees it (CSV line, Excel row, case ...): an
        array, or a ``range`` when they follow each other.
    row_unit
        ``"line"``, ``"row"``, ``"case"``, ``"record"`` or ``"index"``.
    column_names
        Column in ``frame`` -> name (or per-row array of names) in the file.
    problems
        The reader's own notes and warnings, dicts with ``PROBLEM_COLUMNS`` keys.
    missing_codes
        Column -> codes the file itself declares as missing (SPSS/Stata user-missing).
    value_labels
        Column -> {code: label} for value-labelled SPSS/Stata columns.
    na_markers
        Cell text read as missing (text files); validation records each use as a note.
    header_line
        Line of the header (text files).
    sha256
        The file's SHA-256, when the reader computed it (text files).
    """

    frame: pd.DataFrame
    name: str | None
    fmt: str
    row_numbers: np.ndarray | range | None = None
    row_unit: str = "index"
    column_names: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    missing_codes: dict[str, list[Any]] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    ordered: dict[str, bool] = field(default_factory=dict)
    na_markers: list[Any] = field(default_factory=list)
    header_line: int = 1
    layout_options: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None

    def note(self, rule, message, *, severity="note", row="", column="", value="") -> None:
        """Record a problem found while reading (``row`` is a number in ``row_unit`` or text)."""
        if row != "" and not isinstance(row, str):
            row = f"{self.row_unit} {row}"
        self.problems.append(
            {
                "severity": severity,
                "file": self.name or "",
                "row": row,
                "column": column,
                "value": "" if value is None else str(value),
                "rule": rule,
                "message": message,
            }
        )

    def problem_frame(self) -> pd.DataFrame | None:
        """The reader's problems in ``PROBLEM_COLUMNS`` layout (``None`` when there are none)."""
        if not self.problems:
            return None
        return pd.DataFrame(self.problems, columns=list(PROBLEM_COLUMNS)).astype(object)

    def rows(self) -> np.ndarray:
        """Row numbers as the user sees them (index labels when the reader gave none)."""
        if self.row_numbers is None:
            return self.frame.index.to_numpy()
        return np.asarray(self.row_numbers)
