"""Privacy for shared reports: pseudonyms instead of identifiers, a last check that no
identifier reached the text, and small-cell suppression (see :mod:`.tables`).

Examples
--------
>>> from alliance_stats.report.privacy import pseudonyms
>>> names = pseudonyms(["T9", "T1", "T5"], "Therapist", seed=1)
>>> sorted(names.values())
['Therapist A', 'Therapist B', 'Therapist C']
"""

from __future__ import annotations

import html
import itertools
import re
import string
from collections.abc import Iterable

import numpy as np

__all__ = ["figure_text", "find_identifiers", "pseudonyms", "strip_embedded"]

_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]+")


def _letter_codes():
    """A, B, ..., Z, AA, AB, ...: codes of a sequence of their own."""
    width = 1
    while True:
        for combo in itertools.product(string.ascii_uppercase, repeat=width):
            yield "".join(combo)
        width += 1


def _id_parts(ids) -> set[str]:
    """The letter runs (upper-cased) and numbers (without leading zeros) of the ids:
    ``"C325"`` -> ``{"C", "325"}``. A pseudonym never reuses one, so "Client 325" or
    "Client C" cannot be read as client C325."""
    parts = set()
    for value in ids:
        for part in re.findall(r"[A-Za-z]+|\d+", str(value)):
            parts.add(part.lstrip("0") or "0" if part.isdigit() else part.upper())
    return parts


def pseudonyms(ids: Iterable, prefix: str, seed: int = 0) -> dict:
    """Map each identifier to ``"<prefix> <code>"``, the codes letters (A, B, ..., AA, ...)
    assigned in a seeded random order (so the codes do not reveal the order of the real
    identifiers) and skipping any letter run that occurs in an identifier.

    The same ids and seed always give the same pseudonyms.

    Examples
    --------
    >>> sorted(pseudonyms(["C9", "C1", "C5"], "Client", seed=1).values())
    ['Client A', 'Client B', 'Client D']
    """
    unique = sorted({str(i) for i in ids})
    taken = _id_parts(unique)
    codes = list(itertools.islice((c for c in _letter_codes() if c not in taken), len(unique)))
    order = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 7])).permutation(
        len(unique)
    )
    return {uid: f"{prefix} {codes[k]}" for uid, k in zip(unique, order)}


def strip_embedded(text: str) -> str:
    """The text with embedded base64 data (figures) removed: random base64 can contain any
    short string, so identifiers are looked for in the rest."""
    return _DATA_URI.sub("data:", text)


def _distinctive(value: str) -> bool:
    # Pure small numbers ("1", "12") occur in any report; only ids that could be recognised are
    # checked: those with a letter, or numbers of 4+ digits.
    return bool(re.search(r"[A-Za-z]", value)) or len(value) >= 4


def figure_text(fig) -> str:
    """Every text drawn in a matplotlib figure (titles, labels, tick labels, legends,
    annotations), one per line: what a reader of the figure can see."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


def find_identifiers(text: str, ids: Iterable) -> list[str]:
    """Identifiers (of those that are distinctive) that occur as whole words in ``text``
    (outside embedded figures), after undoing HTML escapes (``O&#x27;Brien`` is
    ``O'Brien``).

    Examples
    --------
    >>> find_identifiers("<td>Dr. O&#x27;Brien</td><td>Smith &amp; Jones</td>",
    ...                  ["Dr. O'Brien", "Smith & Jones", "Lee"])
    ["Dr. O'Brien", 'Smith & Jones']
    """
    visible = html.unescape(strip_embedded(text))
    found = []
    for value in {str(i) for i in ids}:
        if not value or not _distinctive(value):
            continue
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", visible):
            found.append(value)
    return sorted(found)
