"""Round trips: a canonical table written in each format reads back to the same table.

Conventions for SPSS/Stata (documented in ``read_sessions``): text columns are written as
strings, ``attended`` as 0/1, dates as dates, and variable names stay short (at most 32
characters for Stata, 64 for SPSS).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions

pyreadstat = pytest.importorskip("pyreadstat")


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    """The bundled (simulated) 'clinic' dataset, read as a user would read it."""
    table = als.datasets.load("clinic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        return read_sessions(table)


def _read(path, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        return read_sessions(path, **kwargs)


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = got.copy()
    got.attrs = {}
    expected = expected.copy()
    expected.attrs = {}
    pd.testing.assert_frame_equal(got, expected)


def _for_stat(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["attended"] = out["attended"].astype("int64")
    return out


def test_dataframe_is_canonical_and_unchanged(canonical):
    before = canonical.copy()
    _same(_read(canonical), canonical)
    pd.testing.assert_frame_equal(canonical, before)


def test_csv(canonical, tmp_path):
    path = tmp_path / "sessions.csv"
    canonical.to_csv(path, index=False)
    got = _read(path)
    _same(got, canonical)
    assert got.attrs["alliance_stats"]["format"] == "csv"
    assert got.attrs["alliance_stats"]["rows_read"] == len(canonical)
    assert len(got.attrs["alliance_stats"]["sha256"]) == 64


def test_tsv(canonical, tmp_path):
    path = tmp_path / "sessions.tsv"
    canonical.to_csv(path, sep="\t", index=False)
    _same(_read(path), canonical)


def test_semicolon_decimal_comma(canonical, tmp_path):
    path = tmp_path / "sessions.csv"
    canonical.to_csv(path, sep=";", decimal=",", index=False)
    checked = als.io.read_sessions_checked(path)
    assert "decimal_comma" in checked.report.notes["rule"].tolist()
    _same(_read(path), canonical)


def test_gzip_csv(canonical, tmp_path):
    path = tmp_path / "sessions.csv.gz"
    canonical.to_csv(path, index=False)
    _same(_read(path), canonical)


def test_xlsx(canonical, tmp_path):
    pytest.importorskip("openpyxl")
    table = canonical.head(600)  # writing with openpyxl is slow; 600 rows cover every column
    path = tmp_path / "sessions.xlsx"
    table.to_excel(path, index=False, sheet_name="sessions")
    _same(_read(path), _read(table))
    _same(_read(path, sheet="sessions"), _read(table))


def test_spss(canonical, tmp_path):
    path = tmp_path / "sessions.sav"
    pyreadstat.write_sav(_for_stat(canonical), str(path))
    _same(_read(path), canonical)


def test_stata(canonical, tmp_path):
    path = tmp_path / "sessions.dta"
    pyreadstat.write_dta(_for_stat(canonical), str(path))
    _same(_read(path), canonical)


def test_parquet(canonical, tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "sessions.parquet"
    canonical.to_parquet(path, index=False)
    _same(_read(path), canonical)


def to_wide(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per client: client-level columns, then ``<measure>_s<session>`` columns."""
    constant = [
        c
        for c in table.columns
        if c not in ("session",)
        and table.groupby("client", sort=False)[c].nunique(dropna=False).max() == 1
    ]
    varying = [c for c in table.columns if c not in constant and c != "session"]
    wide = table.pivot(index="client", columns="session", values=varying)
    wide.columns = [f"{m}_s{s}" for m, s in wide.columns]
    order = sorted(wide.columns, key=lambda c: (int(c.rsplit("_s", 1)[1]), c))
    first = table.drop_duplicates("client").set_index("client")[
        [c for c in constant if c != "client"]
    ]
    out = first.join(wide[order]).reset_index()
    return out, constant


def test_wide_csv(canonical, tmp_path):
    wide, constant = to_wide(canonical)
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    got = _read(path, wide="{measure}_s{session}")
    expected = canonical[[c for c in canonical.columns if c in got.columns]]
    assert set(got.columns) == set(canonical.columns)
    _same(got[expected.columns], expected)


def test_wide_regex_and_dataframe(canonical):
    wide, _ = to_wide(canonical)
    got = _read(wide, wide={"pattern": r"(?P<measure>.+)_s(?P<session>\d+)"})
    _same(got[canonical.columns], canonical)
