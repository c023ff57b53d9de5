"""Rich display helpers for Jupyter: short tables with a row count, and plain-language notes."""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd


def html_table(frame: pd.DataFrame, max_rows: int = 20, digits: int = 3, where: str = "") -> str:
    """An HTML table of at most ``max_rows`` rows (first and last), saying how many are hidden.

    Examples
    --------
    >>> t = html_table(pd.DataFrame({"x": range(50)}), max_rows=10, where=".table")
    >>> t.count("<td>"), "40 more rows" in t
    (10, True)
    """
    shown = frame
    hidden = len(frame) - max_rows
    if hidden > 0:
        half = max_rows // 2
        shown = pd.concat([frame.head(half), frame.tail(max_rows - half)])
    body = shown.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep="")
    if hidden > 0:
        see = f" (all of them in <code>{html.escape(where)}</code>)" if where else ""
        body += f"<p>... {hidden} more rows not shown{see}.</p>"
    return body


def html_notes(notes: Iterable[str]) -> str:
    """Notes as a bullet list under a table (empty string when there are none)."""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"<ul>{items}</ul>" if items else ""
