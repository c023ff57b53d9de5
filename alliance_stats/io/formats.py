"""Which reader to use for a file: from ``format=`` or the file's extension."""

from __future__ import annotations

import os
from pathlib import Path

from alliance_stats.errors import InputError

#: Every value ``format=`` accepts; ``redcap`` and ``qualtrics`` are CSV exports with a layout.
FORMATS = ("csv", "tsv", "excel", "spss", "stata", "parquet", "redcap", "qualtrics")

EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".xlsb": "excel",
    ".ods": "excel",
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss",
    ".dta": "stata",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_ALIASES = {
    "xlsx": "excel",
    "xls": "excel",
    "sav": "spss",
    "dta": "stata",
    "pq": "parquet",
    "text": "csv",
    "tab": "tsv",
}


def detect_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The reader for ``path``: ``format`` when given, otherwise from the extension.

    Parameters
    ----------
    path
        File name.
    format
        One of :data:`FORMATS` (case-insensitive; ``xlsx``, ``sav``, ``dta`` also accepted).

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputError
        The format is unknown, or the extension is not one this package reads.

    Examples
    --------
    >>> detect_format("clinic.sav")
    'spss'
    >>> detect_format("export.txt", format="TSV")
    'tsv'
    """
    if format is not None:
        if not isinstance(format, str):
            raise InputError(
                f"format must be a string, one of {', '.join(FORMATS)}; got {format!r}"
            )
        key = format.strip().lower().lstrip(".")
        key = _ALIASES.get(key, key)
        if key not in FORMATS:
            raise InputError(
                f"unknown format {format!r} for '{path}'; use one of: {', '.join(FORMATS)}"
            )
        return key
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz") and len(suffixes) > 1:
        suffix = suffixes[-2]
    else:
        suffix = suffixes[-1] if suffixes else ""
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    known = ", ".join(sorted(EXTENSIONS))
    raise InputError(
        f"cannot tell the format of '{path}' from its extension {suffix or '(none)'!r}; "
        f"known extensions are {known}. Pass format= (one of: {', '.join(FORMATS)})"
    )
