"""Column mapping: the user's column names -> the canonical names of the session table.

An explicit ``columns={"ClientID": "client"}`` is applied first. Then each canonical
column still missing is looked for under common names (case, spaces, ``-`` and ``_``
ignored): each name recognised this way is recorded as a ``column_alias`` note, so the
report shows which column was used.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from alliance_stats import schema
from alliance_stats.errors import InputError
from alliance_stats.io._raw import RawTable

#: Canonical column -> names recognised for it (compared without case, spaces, ``-``, ``_``).
ALIASES: dict[str, tuple[str, ...]] = {
    schema.CLIENT: (
        "client",
        "client_id",
        "clientid",
        "client_code",
        "client_number",
        "participant",
        "participant_id",
        "patient",
        "patient_id",
        "subject",
        "subject_id",
        "id",
    ),
    schema.THERAPIST: (
        "therapist",
        "therapist_id",
        "therapist_code",
        "clinician",
        "clinician_id",
        "counselor",
        "counsellor",
        "provider",
        "provider_id",
    ),
    schema.SESSION: (
        "session",
        "session_number",
        "session_no",
        "session_num",
        "session_nr",
        "sessionnr",
        "session_index",
        "visit",
        "visit_number",
        "visit_no",
    ),
    schema.ATTENDED: (
        "attended",
        "attendance",
        "attend",
        "present",
        "showed",
        "show",
        "showed_up",
    ),
    schema.DATE: ("date", "session_date", "visit_date", "appointment_date", "appt_date"),
}


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name)).casefold()


def _suggest(name: str, available: list[str]) -> str:
    match = difflib.get_close_matches(str(name), [str(a) for a in available], n=1, cutoff=0.5)
    if not match:
        folded = {_fold(a): a for a in available}
        hit = difflib.get_close_matches(_fold(name), list(folded), n=1, cutoff=0.5)
        match = [folded[hit[0]]] if hit else []
    return f" Did you mean {match[0]!r}?" if match else ""


def id_columns(columns: Mapping[str, str] | None) -> Callable[[str], bool]:
    """A test of whether a file's column will hold client or therapist ids (kept as text).

    Examples
    --------
    >>> is_id = id_columns({"Code": "client"})
    >>> is_id("Code"), is_id("Client_ID"), is_id("study_id"), is_id("wai_1")
    (True, True, True, False)
    """
    mapped = set()
    if isinstance(columns, Mapping):
        mapped = {str(k) for k, v in columns.items() if v in schema.ID_COLUMNS}
    folded = {_fold(a) for c in schema.ID_COLUMNS for a in ALIASES[c]} | {"recordid"}

    def is_id(name: str) -> bool:
        # ``study_id``, ``participant_id``, ``PID``: kept as written (``0012`` stays 0012);
        # a number column caught by this is still read as numbers by validation
        key = _fold(name)
        return name.strip() in mapped or key in folded or key.endswith("id")

    return is_id


def apply_mapping(raw: RawTable, columns: Mapping[str, str] | None) -> RawTable:
    """Rename ``raw.frame``'s columns to canonical names; carry file names and codes along.

    Parameters
    ----------
    raw
        The table as read; ``raw.column_names`` may already hold file names (wide layouts).
    columns
        The user's name -> canonical (or any new) name.

    Returns
    -------
    RawTable
        The same object, with ``frame``, ``column_names``, ``missing_codes`` and
        ``value_labels`` keyed by the new names and one ``column_alias`` note per alias used.

    Raises
    ------
    InputError
        A key names no column (the message suggests a close match and lists the columns),
        two names map to one target, or the target is already a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats.io._raw import RawTable
    >>> raw = RawTable(pd.DataFrame({"ClientID": [1], "Clinician": ["t"]}), None, "frame")
    >>> list(apply_mapping(raw, {"ClientID": "client"}).frame.columns)
    ['client', 'therapist']
    """
    frame = raw.frame
    available = [str(c) for c in frame.columns]
    renames: dict[str, str] = {}
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise InputError(
                "columns must be a dict of your column name -> canonical name, "
                f"e.g. {{'ClientID': 'client'}}; got {type(columns).__name__}"
            )
        targets: dict[str, str] = {}
        for key, target in columns.items():
            if not isinstance(target, str) or not target.strip():
                raise InputError(
                    f"columns maps {key!r} to {target!r}; the new name must be non-empty text "
                    f"such as {', '.join(repr(c) for c in schema.FIXED_COLUMNS)}"
                )
            if str(key) not in available:
                raise InputError(
                    f"columns names {key!r}, which is not a column of "
                    f"{_where(raw)}.{_suggest(key, available)} The columns are: {available}"
                )
            if target in targets:
                raise InputError(
                    f"columns maps both {targets[target]!r} and {key!r} to {target!r}; "
                    "map only one of them (each canonical column comes from one column)"
                )
            targets[target] = str(key)
            if str(key) != target:
                renames[str(key)] = target
        sources = set(renames)
        clash = [t for t in renames.values() if t in available and t not in sources]
        if clash:
            raise InputError(
                f"columns renames a column to {clash[0]!r}, but {_where(raw)} already has a "
                f"column {clash[0]!r}; map that one to another name too, or drop the mapping"
            )
    present = {renames.get(c, c) for c in available}
    used = set(renames)
    alias_hits: list[tuple[str, str]] = []
    for target, names in ALIASES.items():
        if target in present:
            continue
        folded = {}
        for column in available:
            if column not in used:
                folded.setdefault(_fold(column), column)
        for alias in names:
            column = folded.get(_fold(alias))
            if column is not None:
                renames[column] = target
                used.add(column)
                present.add(target)
                alias_hits.append((column, target))
                break
    if renames:
        frame = frame.rename(columns=renames)
    column_names: dict[str, Any] = {}
    for column in available:
        new = renames.get(column, column)
        column_names[new] = raw.column_names.get(column, column)
    for column, target in alias_hits:
        raw.note(
            "column_alias",
            f"column {column!r} was used as '{target}'; pass columns={{...}} to choose "
            "another column",
            column=column,
            value=target,
        )
    raw.frame = frame
    raw.column_names = column_names
    raw.missing_codes = {renames.get(k, k): v for k, v in raw.missing_codes.items()}
    raw.value_labels = {renames.get(k, k): v for k, v in raw.value_labels.items()}
    raw.ordered = {renames.get(k, k): v for k, v in raw.ordered.items()}
    return raw


def _where(raw: RawTable) -> str:
    return f"'{raw.name}'" if raw.name else "the table"
