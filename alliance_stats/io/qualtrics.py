"""Qualtrics CSV exports: three header rows, and responses that are not real data.

A Qualtrics export has the column names on line 1, the question text on line 2 and
``{"ImportId":"QID1"}`` cells on line 3. The two extra header lines are dropped, and data
rows keep their true line numbers (the first response is line 4). Responses whose
``Status`` is a survey preview, a test or spam (``Survey Preview``, ``Survey Test``,
``Spam``, ``Preview Spam``, ``Imported Spam``; numeric codes 1, 2, 8, 9, 12) and responses
with ``Finished`` false/0 are left out, each with a warning (rule ``excluded_response``)
naming its line and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_stats.io._raw import RawTable

#: ``Status`` values (text export and numeric export) whose responses are left out.
EXCLUDED_STATUS = {
    "survey preview": "a survey preview",
    "1": "a survey preview",
    "survey test": "a survey test",
    "2": "a survey test",
    "spam": "marked as spam",
    "8": "marked as spam",
    "preview spam": "a survey preview marked as spam",
    "9": "a survey preview marked as spam",
    "imported spam": "marked as spam",
    "12": "marked as spam",
}
_NOT_FINISHED = {"false", "0", "0.0", "no", "f"}


def exclude_responses(raw: RawTable) -> RawTable:
    """Drop previews, tests, spam and unfinished responses, warning once per response."""
    frame = raw.frame
    drop = np.zeros(len(frame), dtype=bool)
    reasons: list[tuple[int, str, str, str]] = []
    rows = raw.rows()
    status = _column(frame, "Status")
    finished = _column(frame, "Finished")
    for i in range(len(frame)):
        if status is not None:
            value = status[i]
            why = EXCLUDED_STATUS.get(str(value).strip().lower()) if value == value else None
            if why:
                drop[i] = True
                reasons.append((i, "Status", str(value), f"the response is {why}"))
                continue
        if finished is not None:
            value = finished[i]
            if value == value and str(value).strip().lower() in _NOT_FINISHED:
                drop[i] = True
                reasons.append((i, "Finished", str(value), "the response was not finished"))
    for i, column, value, why in reasons:
        raw.note(
            "excluded_response",
            f"{why}, so it was left out of the table; delete it in Qualtrics or filter it "
            "before reading if this is wrong",
            severity="warning",
            row=rows[i],
            column=column,
            value=value,
        )
    if drop.any():
        raw.frame = frame.loc[~drop].reset_index(drop=True)
        raw.row_numbers = rows[~drop]
    return raw


def _column(frame, name):
    folded = {str(c).strip().lower(): c for c in frame.columns}
    column = folded.get(name.lower())
    if column is None:
        return None
    values = frame[column]
    if values.ndim != 1:
        return None
    return values.to_numpy(dtype=object)


def header_rows_in_frame(raw: RawTable) -> int:
    """Qualtrics header rows at the top of a text table: 2 when row 2 holds ImportId cells."""
    frame = raw.frame
    if len(frame) < 2:
        return 0
    second = frame.iloc[1].to_numpy(dtype=object)
    if any(isinstance(v, str) and v.strip().startswith('{"ImportId"') for v in second):
        return 2
    return 0


def _question_row(frame) -> bool:
    """Whether the first row holds question texts: text where the rows below hold numbers."""
    if len(frame) < 2:
        return False
    first = frame.iloc[0]
    for column in frame.columns:
        cell = first[column]
        if not isinstance(cell, str) or not cell.strip():
            continue
        below = pd.to_numeric(frame[column].iloc[1:], errors="coerce")
        if pd.isna(pd.to_numeric(cell, errors="coerce")) and below.notna().mean() >= 0.8:
            return True
    return False


def drop_header_rows(raw: RawTable, count: int) -> RawTable:
    """Drop the question-text (and ImportId) rows; ``count`` 0 means "only the question text".

    Without ImportId cells the first row is dropped only when it reads as question text (text
    in a column of numbers); otherwise it is kept as data, and a note says so.
    """
    rows = raw.rows()
    if not count:
        if not _question_row(raw.frame):
            raw.note(
                "qualtrics_header",
                "format='qualtrics' but the first row below the header looks like data, not "
                "question texts, so it was kept; check that this is a Qualtrics export",
                severity="warning",
                row=rows[0] if len(rows) else "",
            )
            return raw
        count = 1
    raw.note(
        "qualtrics_header",
        f"{count} Qualtrics header row(s) below the column names (question texts"
        + (", ImportId" if count > 1 else "")
        + ") were left out",
        row=rows[0] if len(rows) else "",
    )
    raw.frame = raw.frame.iloc[count:].reset_index(drop=True)
    raw.row_numbers = rows[count:]
    return raw
