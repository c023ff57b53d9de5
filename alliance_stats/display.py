"""Rich display helpers for Jupyter: short tables with a row count, and plain-language notes."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

import pandas as pd


def format_p(p, symbol: bool = False, missing: str = "") -> str:
    """A p-value as APA prints it, the one spelling everywhere: three decimals without the
    leading zero, ``< .001`` below; with ``symbol`` the ``p`` too (``p = .012``,
    ``p < .001``, never ``p = < .001``); ``missing`` for a missing or non-finite p.

    Examples
    --------
    >>> format_p(0.01234), format_p(0.0004), format_p(0.0004, symbol=True)
    ('.012', '< .001', 'p < .001')
    >>> format_p(0.2, symbol=True), format_p(1.0), format_p(float("nan"), missing="-")
    ('p = .200', '1.000', '-')
    """
    if p is None or not math.isfinite(float(p)):
        return missing
    p = float(p)
    if p < 0.001:
        return "p < .001" if symbol else "< .001"
    text = "1.000" if p >= 1 else f"{p:.3f}".replace("0.", ".", 1)
    return f"p = {text}" if symbol else text


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
