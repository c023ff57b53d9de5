"""REDCap exports: longitudinal events and repeating instruments -> one row per session.

REDCap writes one row per record and event (and per instance of a repeating instrument or
event). This module turns such an export into session rows:

* the record id (the column mapped to ``client``, else ``record_id``, ``Record ID``, or the
  first column) becomes ``client``, kept as written (``0012``);
* a row is a session row when it has a ``redcap_repeat_instance`` (the instance is the
  session number) or when its ``redcap_event_name`` contains a session number
  (``session_3_arm_1`` or the label ``Session 3 (Arm 1: Treatment)`` -> session 3);
* other rows (``baseline_arm_1``, intake forms ...) are record-level: fields filled there
  and never on a session row are copied onto each of the record's session rows (a note
  lists them); values of fields that are also filled on session rows are not copied;
* ``redcap_event_name``, ``redcap_repeat_instrument`` and ``redcap_repeat_instance`` are
  dropped. Raw exports (codes) and label exports (texts such as ``Yes``) both work.

Each session row keeps its line in the export, and ``session`` names the column it came
from (``redcap_repeat_instance`` or ``redcap_event_name``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import InputError
from alliance_stats.io._raw import RawTable

RECORD = ("record_id", "record id")
EVENT = ("redcap_event_name", "event name")
INSTRUMENT = ("redcap_repeat_instrument", "repeat instrument")
INSTANCE = ("redcap_repeat_instance", "repeat instance")
_SESSION_IN_EVENT = re.compile(r"(?:session|sess|visit|appointment|appt)[\s_\-]*(\d+)", re.I)


def _find(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    folded = {str(c).strip().lower(): c for c in frame.columns}
    for name in names:
        if name in folded:
            return folded[name]
    return None


def is_redcap(frame: pd.DataFrame) -> bool:
    """True when the table has REDCap's event or repeating-instrument columns.

    Examples
    --------
    >>> is_redcap(pd.DataFrame(columns=["record_id", "redcap_event_name", "wai"]))
    True
    """
    return any(str(c).strip().lower().startswith("redcap_") for c in frame.columns) or (
        _find(frame, ("event name",)) is not None and _find(frame, ("record id",)) is not None
    )


def _blank(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        missing = missing | (series.astype("str").str.strip() == "").to_numpy()
    return missing


def to_sessions(raw: RawTable, record: str | None = None) -> RawTable:
    """Turn a REDCap export into one row per session (see the module description).

    ``record`` names the record-id column (the column the user maps to ``client``); default
    ``record_id`` / ``Record ID``, else the first column.
    """
    frame = raw.frame
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InputError(f"the REDCap export '{raw.name}' has duplicate column names {dupes}")
    if not len(frame.columns):
        raise InputError(f"the REDCap export '{raw.name}' has no columns")
    if record is not None and record not in frame.columns:
        raise InputError(f"the REDCap export '{raw.name}' has no column '{record}'")
    record = record or _find(frame, RECORD) or frame.columns[0]
    event = _find(frame, EVENT)
    instrument = _find(frame, INSTRUMENT)
    instance = _find(frame, INSTANCE)
    if event is None and instance is None:
        raise InputError(
            f"'{raw.name}' looks like a REDCap export but has neither redcap_event_name nor "
            "redcap_repeat_instance, so sessions cannot be told apart. Export the "
            "longitudinal events or the repeating session instrument"
        )
    n = len(frame)
    session = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    if instance is not None:
        numbers = pd.to_numeric(frame[instance].astype("str").str.strip(), errors="coerce")
        has = ~_blank(frame[instance])
        session = np.where(has, numbers.to_numpy(dtype=float, na_value=np.nan), session)
        source = np.where(has, instance, source)
        bad_instance = has & np.isnan(session)
    else:
        bad_instance = np.zeros(n, dtype=bool)
    if event is not None:
        text = frame[event].astype("str").where(frame[event].notna(), "")
        found = text.str.extract(_SESSION_IN_EVENT, expand=False)
        from_event = pd.to_numeric(found, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        use = np.isnan(session) & ~np.isnan(from_event) & ~bad_instance
        session = np.where(use, from_event, session)
        source = np.where(use, event, source)
    is_session = ~np.isnan(session) | bad_instance
    if instrument is not None:
        is_session |= ~_blank(frame[instrument])
    drop = [c for c in (event, instrument, instance) if c is not None]
    fields = [c for c in frame.columns if c not in drop and c != record]
    for taken in {schema.CLIENT, schema.SESSION} & set(fields):
        made_from = (
            record if taken == schema.CLIENT else " / ".join(c for c in (instance, event) if c)
        )
        raise InputError(
            f"the REDCap export '{raw.name}' has its own field '{taken}', while the table's "
            f"'{taken}' column is made from {made_from}; rename the field in REDCap or in the "
            f"export (e.g. to '{taken}_field'), or read the file with format='csv' if that "
            "field already holds one value per session row"
        )
    records = frame[record].astype("str").str.strip().to_numpy()
    session_pos = np.flatnonzero(is_session)
    other_pos = np.flatnonzero(~is_session)
    rows = raw.rows()

    copied, skipped = [], []
    out = frame.iloc[session_pos][[record, *fields]].reset_index(drop=True)
    for column in fields:
        blank = _blank(frame[column])
        in_other = ~blank[other_pos]
        if not in_other.any():
            continue
        if (~blank[session_pos]).any():
            skipped.append(column)
            continue
        values = frame[column].iloc[other_pos[in_other]]
        first = pd.Series(values.to_numpy(), index=records[other_pos[in_other]])
        first = first[~first.index.duplicated()]
        mapped = pd.Series(records[session_pos]).map(first)
        out[column] = mapped.astype(frame[column].dtype) if len(mapped) else out[column]
        copied.append(column)

    out = out.rename(columns={record: schema.CLIENT})
    out.insert(1, schema.SESSION, session[session_pos])
    result = RawTable(
        out,
        raw.name,
        raw.fmt,
        row_numbers=rows[session_pos],
        row_unit=raw.row_unit,
        column_names={schema.CLIENT: record, schema.SESSION: source[session_pos]},
        problems=list(raw.problems),
        missing_codes={k: v for k, v in raw.missing_codes.items() if k in fields},
        na_markers=list(raw.na_markers),
        header_line=raw.header_line,
    )
    bad_rows = np.flatnonzero(bad_instance[session_pos])
    if bad_rows.size:
        out.loc[bad_rows, schema.SESSION] = np.nan
    result.frame[schema.SESSION] = result.frame[schema.SESSION].astype("float64")
    result.note(
        "redcap_layout",
        f"REDCap export: {len(session_pos)} session row(s) from "
        f"{'repeating instances and ' if instance is not None else ''}events"
        + (
            f"; fields copied from non-session rows onto each session row: {copied}"
            if copied
            else ""
        )
        + (
            f"; values of {skipped} on non-session rows were not used (these fields are "
            "also filled on session rows)"
            if skipped
            else ""
        ),
    )
    with_sessions = set(records[session_pos])
    for record_id in dict.fromkeys(records[other_pos]):
        if record_id not in with_sessions and record_id:
            first_row = rows[other_pos[records[other_pos] == record_id][0]]
            result.note(
                "no_sessions",
                f"record {record_id!r} has no session rows (no repeating instance and no "
                "session event), so it is not in the table",
                severity="warning",
                row=first_row,
                column=record,
                value=record_id,
            )
    return result
