"""The strategy codebook: what each therapist-strategy code in the data means.

A codebook lists the strategies a study codes, one entry per strategy: the ``code`` (the
column name in the session data), a short ``label`` for tables and plots, a one-line
``definition`` in plain English, and the ``resistance_type`` the strategy most addresses
(``"fear"``: withdrawal, overt caution; ``"ambivalence"``: inconsistent engagement, partial
disclosure; ``"stigma"``: stigma or cultural mismatch; or ``"any"``).

The package ships a default codebook of 17 strategies (:func:`default_codebook`); its first
eight codes are the columns :func:`alliance_stats.simulate_study` writes. A study can load
its own codebook from a TOML file (:func:`load_codebook`) or add and replace entries of the
default one (:meth:`StrategyCodebook.extend`). The file has one ``[[strategy]]`` table per
strategy, all four keys required::

    [[strategy]]
    code = "grounding"          # lower case, digits and underscores; starts with a letter
    label = "Grounding"
    definition = "Helps the client notice the present moment when distress rises."
    resistance_type = "fear"    # "fear", "ambivalence", "stigma" or "any"

Examples
--------
>>> import pathlib, tempfile
>>> import alliance_stats as als
>>> path = pathlib.Path(tempfile.mkdtemp()) / "extra.toml"
>>> _ = path.write_text('''
... [[strategy]]
... code = "grounding"
... label = "Grounding"
... definition = "Helps the client notice the present moment when distress rises."
... resistance_type = "fear"
... ''')
>>> codebook = als.default_codebook().extend(path)
>>> len(codebook), codebook.label("grounding")
(18, 'Grounding')
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from alliance_stats.errors import InputError

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["COLUMNS", "RESISTANCE_TYPES", "StrategyCodebook", "default_codebook", "load_codebook"]

#: The keys of every codebook entry, and the columns of :attr:`StrategyCodebook.table`.
COLUMNS = ("code", "label", "definition", "resistance_type")
#: Allowed values of ``resistance_type``.
RESISTANCE_TYPES = ("fear", "ambivalence", "stigma", "any")
_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, eq=False)
class StrategyCodebook:
    """Codes, labels, definitions and resistance types of therapist strategies.

    Get one from :func:`default_codebook`, :func:`load_codebook` or :meth:`extend`, which
    check every entry.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per strategy, columns ``code, label, definition, resistance_type`` (text);
        codes are unique.
    source : str
        Where the entries came from: ``"default"``, a file path, or several joined by ``+``.

    Examples
    --------
    >>> import alliance_stats as als
    >>> codebook = als.default_codebook()
    >>> codebook
    <StrategyCodebook: 17 strategies from default>
    >>> codebook.codes[:3]
    ('validation', 'open_questions', 'reflections')
    >>> "slowed_pacing" in codebook, codebook.label("slowed_pacing")
    (True, 'Stepped pacing')
    """

    table: pd.DataFrame
    source: str

    @property
    def codes(self) -> tuple[str, ...]:
        """The strategy codes, in codebook order."""
        return tuple(self.table["code"])

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def label(self, code: str) -> str:
        """The label of ``code``; an unknown code is made readable instead.

        Examples
        --------
        >>> import alliance_stats as als
        >>> codebook = als.default_codebook()
        >>> codebook.label("co_created_goals"), codebook.label("breathing_exercise")
        ('Co-created goals', 'Breathing exercise')
        """
        return self.labels([code])[code]

    def labels(self, codes: Iterable[str]) -> dict[str, str]:
        """Labels of several codes as ``{code: label}`` (unknown codes made readable).

        Examples
        --------
        >>> import alliance_stats as als
        >>> als.default_codebook().labels(["validation", "open_questions"])
        {'validation': 'Validation', 'open_questions': 'Open questions'}
        """
        known = dict(zip(self.table["code"], self.table["label"]))
        return {code: known.get(code, _readable(code)) for code in codes}

    def extend(
        self, other: StrategyCodebook | str | os.PathLike[str] | Sequence[Mapping[str, Any]]
    ) -> StrategyCodebook:
        """A new codebook with the entries of ``other`` added; same codes are replaced.

        Parameters
        ----------
        other
            A :class:`StrategyCodebook`, a path to a TOML codebook file (see the module
            docstring), or a list of entries as dicts with the keys ``code, label,
            definition, resistance_type``.

        Returns
        -------
        StrategyCodebook
            Replaced entries keep their place; new codes come after the existing ones.

        Examples
        --------
        >>> import alliance_stats as als
        >>> extra = [
        ...     {"code": "validation", "label": "Validating", "definition": "Says it makes sense.",
        ...      "resistance_type": "any"},
        ...     {"code": "humour", "label": "Humour", "definition": "Uses light, kind humour.",
        ...      "resistance_type": "stigma"},
        ... ]
        >>> codebook = als.default_codebook().extend(extra)
        >>> codebook
        <StrategyCodebook: 18 strategies from default + entries>
        >>> codebook.label("validation"), codebook.codes[-1]
        ('Validating', 'humour')
        """
        if isinstance(other, (str, os.PathLike)):
            other = load_codebook(other)
        elif not isinstance(other, StrategyCodebook):
            other = _build(other, source="entries", where="entries passed to extend()")
        merged = {row["code"]: row for row in self.table.to_dict("records")}
        merged.update((row["code"], row) for row in other.table.to_dict("records"))
        return StrategyCodebook(_frame(merged.values()), f"{self.source} + {other.source}")

    def summary(self) -> str:
        """A plain-text table of the codebook.

        Examples
        --------
        >>> import alliance_stats as als
        >>> lines = als.default_codebook().summary().splitlines()
        >>> lines[0]
        'Strategy codebook: 17 strategies from default'
        >>> lines[1].split(), lines[2].split()[:2]
        (['code', 'label', 'definition', 'resistance_type'], ['validation', 'Validation'])
        """
        widths = [max(len(c), *(len(v) for v in self.table[c])) for c in COLUMNS]
        rows = [COLUMNS, *self.table.itertuples(index=False)]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
        return "\n".join([f"Strategy codebook: {self._count()} from {self.source}", *lines])

    def __repr__(self) -> str:
        return f"<StrategyCodebook: {self._count()} from {self.source}>"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.table.itertuples(index=False)
        )
        caption = html.escape(f"Strategy codebook: {self._count()} from {self.source}")
        return (
            f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __len__(self) -> int:
        return len(self.table)

    def _count(self) -> str:
        return f"{len(self)} strateg{'y' if len(self) == 1 else 'ies'}"


@lru_cache(maxsize=1)
def default_codebook() -> StrategyCodebook:
    """The codebook shipped with the package: 17 strategies (the same object every call).

    Examples
    --------
    >>> import alliance_stats as als
    >>> als.default_codebook() is als.default_codebook()
    True
    >>> row = als.default_codebook().to_frame().loc[5]
    >>> row["code"], row["label"], row["resistance_type"]
    ('slowed_pacing', 'Stepped pacing', 'fear')
    """
    text = (files("alliance_stats") / "data" / "strategy_codebook.toml").read_text("utf-8")
    return _parse(text, source="default", where="the default codebook")


def load_codebook(path: str | os.PathLike[str]) -> StrategyCodebook:
    """Read a strategy codebook from a TOML file (one ``[[strategy]]`` table per strategy).

    Parameters
    ----------
    path
        The ``.toml`` file; see the module docstring for its layout. It is only read.

    Returns
    -------
    StrategyCodebook
        Use it on its own, or add it to the default with
        ``default_codebook().extend(path)``.

    Raises
    ------
    InputError
        The file is missing or is not TOML, has no ``[[strategy]]`` entries, or an entry
        has a missing, empty, unknown or non-text key, a duplicate or malformed code, or a
        resistance type outside ``RESISTANCE_TYPES``; the message names the file, the entry
        and the fix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import alliance_stats as als
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "codebook.toml"
    >>> _ = path.write_text('''
    ... [[strategy]]
    ... code = "humour"
    ... label = "Humour"
    ... definition = "Uses light, kind humour to ease tension."
    ... resistance_type = "stigma"
    ... ''')
    >>> als.load_codebook(path).codes
    ('humour',)
    """
    path = Path(path)
    where = f"codebook file '{path}'"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read {where} ({exc.strerror}); check the path and that the file exists"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    return _parse(text, source=str(path), where=where)


def _parse(text: str, source: str, where: str) -> StrategyCodebook:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where} is not valid TOML: {exc}; fix the syntax there") from exc
    unknown = sorted(set(data) - {"strategy"})
    if unknown:
        raise InputError(
            f"{where} has unknown top-level key(s) {unknown}; a codebook holds only "
            "[[strategy]] tables"
        )
    entries = data.get("strategy")
    if not entries or not isinstance(entries, list):
        raise InputError(
            f"{where} has no [[strategy]] entries; add one [[strategy]] table per strategy "
            f"with the keys {', '.join(COLUMNS)}"
        )
    return _build(entries, source, where)


def _build(entries: Iterable[Any], source: str, where: str) -> StrategyCodebook:
    """Check every entry and make the codebook; errors name ``where`` and the entry."""
    entries = list(entries)
    first_seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise InputError(
                f"{where}, entry {number}: expected a table of keys, got "
                f"{type(entry).__name__} {entry!r}; write each entry as a [[strategy]] table"
            )
        name = f"{where}, entry {number}"
        if isinstance(entry.get("code"), str):
            name += f" (code {entry['code']!r})"
        for key in entry:
            if key not in COLUMNS:
                raise InputError(
                    f"{name}: unknown key {key!r} (value {entry[key]!r}); the allowed keys "
                    f"are {', '.join(COLUMNS)}"
                )
        for key in COLUMNS:
            if key not in entry:
                raise InputError(f'{name}: key {key!r} is missing; add {key} = "..."')
            value = entry[key]
            if not isinstance(value, str):
                raise InputError(
                    f"{name}: key {key!r} must be text, got {type(value).__name__} {value!r}; "
                    "put the value in double quotes"
                )
            if not value.strip():
                raise InputError(f"{name}: key {key!r} is empty ({value!r}); fill it in")
        code = entry["code"]
        if not _CODE_PATTERN.match(code):
            raise InputError(
                f"{name}: code {code!r} is not a valid code; use lower-case letters, digits "
                "and underscores, starting with a letter (e.g. 'open_questions')"
            )
        if entry["resistance_type"] not in RESISTANCE_TYPES:
            raise InputError(
                f"{name}: resistance_type {entry['resistance_type']!r} is not allowed; use "
                f"one of {', '.join(repr(t) for t in RESISTANCE_TYPES)}"
            )
        if code in first_seen:
            raise InputError(
                f"{name}: code {code!r} duplicates entry {first_seen[code]}; give each "
                "strategy its own code, or remove one of the two"
            )
        first_seen[code] = number
    return StrategyCodebook(_frame(entries), source)


def _frame(entries: Iterable[Mapping[str, str]]) -> pd.DataFrame:
    rows = [[entry[c] for c in COLUMNS] for entry in entries]
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype(str)


def _readable(code: str) -> str:
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:]
