"""Bundled SIMULATED datasets (no real clients), shipped inside the package.

The files live in the ``alliance_stats.bundled`` package (folder
``alliance_stats/bundled/`` of the repository) and are built by its ``build.py`` from
:func:`alliance_stats.simulate.simulate_study` with fixed seeds.

Examples
--------
>>> from alliance_stats import datasets
>>> sorted(datasets.available()["name"])
['clinic', 'teaching']
>>> df = datasets.load("teaching")
>>> df["attended"].dtype
dtype('bool')
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import InputError

__all__ = ["available", "describe", "load", "path", "truth"]

_PACKAGE = "alliance_stats.bundled"
_TABLES_IN_TRUTH = ("ruptures", "clients")


def _files():
    return resources.files(_PACKAGE)


def _names() -> list[str]:
    return sorted(
        p.name[: -len(".schema.json")]
        for p in _files().iterdir()
        if p.name.endswith(".schema.json")
    )


def _check_name(name: str) -> str:
    names = _names()
    if not isinstance(name, str) or name not in names:
        raise InputError(
            f"Unknown dataset {name!r}. Available datasets: {', '.join(names)} "
            "(see alliance_stats.datasets.available())."
        )
    return name


@cache
def _meta(name: str) -> dict:
    return json.loads(_files().joinpath(f"{name}.schema.json").read_text(encoding="utf-8"))


def available() -> pd.DataFrame:
    """The bundled datasets: name, description, rows, clients, simulated.

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> datasets.available()["simulated"].all()
    np.True_
    """
    rows = []
    for name in _names():
        m = _meta(name)
        rows.append(
            {
                "name": name,
                "description": m["description"],
                "rows": int(m["rows"]),
                "clients": int(m["clients"]),
                "simulated": bool(m["simulated"]),
            }
        )
    return pd.DataFrame(rows, columns=["name", "description", "rows", "clients", "simulated"])


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset as a canonical session table (exact canonical dtypes).

    Parameters
    ----------
    name : str
        One of ``available()["name"]``.

    Returns
    -------
    pandas.DataFrame
        One row per scheduled session (see ``describe(name)`` for every column).

    Raises
    ------
    InputError
        Unknown name; the message lists the available ones.

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> df = datasets.load("clinic")
    >>> df.dtypes["session"], df.dtypes["date"]
    (dtype('int64'), dtype('<M8[ns]'))
    """
    _check_name(name)
    columns: dict[str, str] = _meta(name)["columns"]
    dtypes = {c: t for c, t in columns.items() if t != "datetime64[ns]"}
    dates = [c for c, t in columns.items() if t == "datetime64[ns]"]
    with _files().joinpath(f"{name}.csv.gz").open("rb") as fh:
        df = pd.read_csv(
            fh,
            compression="gzip",
            dtype=dtypes,
            keep_default_na=False,
            na_values=[""],
        )
    for c in dates:
        df[c] = pd.to_datetime(df[c], format="%Y-%m-%d").astype("datetime64[ns]")
    return schema.canonical_order(df[list(columns)])


def path(name: str) -> Path:
    """The data file of a bundled dataset (a gzip-compressed CSV), e.g. to try a reader on.

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> datasets.path("teaching").name
    'teaching.csv.gz'
    """
    _check_name(name)
    return Path(str(_files().joinpath(f"{name}.csv.gz")))


def truth(name: str) -> dict:
    """True parameters and realised quantities of a bundled dataset.

    ``truth(name)["parameters"]`` holds every :class:`~alliance_stats.simulate.StudyParameters`
    field; ``"ruptures"`` and ``"clients"`` are DataFrames (rupture episodes and per-client truth).

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> datasets.truth("teaching")["strategy_dropout_log_or"]["validation"]
    -1.2
    """
    _check_name(name)
    out = json.loads(_files().joinpath(f"{name}.truth.json").read_text(encoding="utf-8"))
    for key in _TABLES_IN_TRUTH:
        if key in out:
            out[key] = pd.DataFrame(out[key])
    return out


def describe(name: str) -> str:
    """The data dictionary (markdown text) of a bundled dataset.

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> datasets.describe("teaching").startswith("SIMULATED")
    True
    """
    _check_name(name)
    return _files().joinpath(f"{name}.md").read_text(encoding="utf-8")
