"""User-defined instruments from a TOML file.

Format (every key except ``name``, ``items``, ``response_min``, ``response_max`` optional)::

    name = "my_scale"              # snake_case; prefixes the score columns
    label = "My alliance scale"
    items = [1, 2, 3, 4, 5, 6]     # or a count: items = 6  (items 1..6)
    response_min = 1
    response_max = 5
    reverse = [3, 6]
    rule = "sum"                   # or "mean"
    total = true
    max_missing = 0.25             # prorating: share of a scale's items that may be missing
    integer = true                 # responses are whole numbers
    citation = "Author (year)..."
    notes = ""
    default_pattern = "ms_{}"      # item columns when score(..., items=None)

    [subscales]
    task = [1, 2, 3]
    bond = [4, 5, 6]

Unknown keys, wrong types, bad ranges, reverse keys or subscale items that are not items,
and TOML syntax errors raise :class:`InstrumentDefinitionError` naming the file and problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alliance_stats.instruments.base import Instrument, InstrumentDefinitionError

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REQUIRED_KEYS = ("name", "items", "response_min", "response_max")
OPTIONAL_KEYS = (
    "label",
    "reverse",
    "subscales",
    "rule",
    "total",
    "max_missing",
    "integer",
    "citation",
    "notes",
    "default_pattern",
)
_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "label": (str,),
    "rule": (str,),
    "total": (bool,),
    "integer": (bool,),
    "citation": (str,),
    "notes": (str,),
    "default_pattern": (str,),
    "response_min": (int, float),
    "response_max": (int, float),
    "max_missing": (int, float),
    "subscales": (dict,),
    "reverse": (list,),
}


def load(path: str | os.PathLike[str]) -> Instrument:
    """Read an instrument definition from a TOML file.

    Parameters
    ----------
    path
        The ``.toml`` file (see the module docstring for the keys).

    Returns
    -------
    Instrument
        Pass it to :func:`alliance_stats.score`, or :func:`register` it to use its name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from alliance_stats import instruments
    >>> text = 'name = "mini"\\nitems = 4\\nresponse_min = 1\\nresponse_max = 5\\n'
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mini.toml"
    >>> _ = p.write_text(text)
    >>> instruments.load(p).items
    (1, 2, 3, 4)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InstrumentDefinitionError(f"cannot read instrument file '{path}': {exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InstrumentDefinitionError(f"'{path}' is not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentDefinitionError(f"'{path}' is not valid TOML: {exc}") from exc
    return from_dict(data, source=str(path))


def from_dict(data: dict[str, Any], source: str = "definition") -> Instrument:
    """Build an instrument from a parsed TOML table (or any dict with the same keys).

    Examples
    --------
    >>> from_dict({"name": "x", "items": [1, 2], "response_min": 0, "response_max": 3}).items
    (1, 2)
    """
    if not isinstance(data, dict):
        raise InstrumentDefinitionError(f"{source}: expected a table of keys")
    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise InstrumentDefinitionError(
            f"{source}: unknown key(s) {unknown}; allowed keys are "
            f"{list(REQUIRED_KEYS) + list(OPTIONAL_KEYS)}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InstrumentDefinitionError(f"{source}: required key(s) {missing} missing")
    for key, types in _TYPES.items():
        if key in data:
            value = data[key]
            ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if not ok:
                raise InstrumentDefinitionError(
                    f"{source}: {key} has the wrong type ({type(value).__name__}: {value!r}); "
                    f"expected {' or '.join(t.__name__ for t in types)}"
                )
    fields = dict(data)
    items = fields["items"]
    if isinstance(items, int) and not isinstance(items, bool):
        if items < 1:
            raise InstrumentDefinitionError(f"{source}: items = {items}; need at least 1 item")
        fields["items"] = tuple(range(1, items + 1))
    elif not isinstance(items, list):
        raise InstrumentDefinitionError(
            f"{source}: items must be a list of item ids or a count, got {items!r}"
        )
    if "subscales" in fields:
        for sub, members in fields["subscales"].items():
            if not isinstance(members, list):
                raise InstrumentDefinitionError(
                    f"{source}: subscale {sub!r} must be a list of item ids, got {members!r}"
                )
    try:
        return Instrument(**fields)
    except InstrumentDefinitionError as exc:
        raise InstrumentDefinitionError(f"{source}: {exc}") from exc
