"""Provenance: what went into a report (input hash, configuration, seed, software, date).

The report date comes from the configuration (``[study] date``), else from the
``SOURCE_DATE_EPOCH`` environment variable (the reproducible-builds convention), else today;
so a re-run with the same configuration gives the same report.

Examples
--------
>>> from alliance_stats.report.provenance import report_date
>>> report_date("2024-06-30")
'2024-06-30'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

__all__ = [
    "PACKAGES",
    "date_line",
    "file_sha256",
    "frame_sha256",
    "package_versions",
    "report_date",
]

PACKAGES = ("alliance_stats", "numpy", "pandas", "scipy", "statsmodels", "mixedlm", "matplotlib",
            "jinja2", "weasyprint")  # fmt: skip


def report_date(configured: str | None = None) -> str:
    """ISO date of the report: configured, else ``$SOURCE_DATE_EPOCH``, else today (UTC)."""
    if configured:
        return dt.date.fromisoformat(str(configured)).isoformat()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date().isoformat()
    return dt.datetime.now(tz=dt.timezone.utc).date().isoformat()


def date_line(configured: str | None, dates=None) -> str:
    """The cover's dates: the report date and where it came from, and the span of the
    sessions' dates (``dates``: the data's date column, when it has one).

    Examples
    --------
    >>> date_line("2024-06-30", pd.Series(pd.to_datetime(["2023-01-09", "2024-05-20"])))
    'Report date 2024-06-30 (set in the configuration) · sessions dated 2023-01-09 to 2024-05-20'
    """
    line = f"Report date {report_date(configured)}"
    if configured:
        line += " (set in the configuration)"
    elif (os.environ.get("SOURCE_DATE_EPOCH") or "").strip().isdigit():
        line += " (from SOURCE_DATE_EPOCH)"
    if dates is not None:
        known = pd.to_datetime(pd.Series(dates), errors="coerce").dropna()
        if len(known):
            first, last = known.min().date().isoformat(), known.max().date().isoformat()
            line += f" \u00b7 sessions dated {first} to {last}"
    return line


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_sha256(df: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's content (column names, dtypes and values)."""
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the analysis used (``not installed`` if absent)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
