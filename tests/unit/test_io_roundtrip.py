"""Round trips: a canonical table written in each format reads back to the same table.

Conventions for SPSS/Stata (documented in ``read_sessions``): text columns are written as
strings, ``attended`` as 0/1, dates as dates, and variable names stay short (at most 32
characters for Stata, 64 for SPSS).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions

pyreadstat = pytest.importorskip("pyreadstat")


def _small_study(seed: int = 3) -> pd.DataFrame:
    """A small canonical-looking table: 12 clients, 4 therapists, up to 8 sessions."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(12):
        therapist = f"T{c % 4 + 1:02d}"
        start = pd.Timestamp("2024-01-08") + pd.Timedelta(days=int(rng.integers(0, 60)))
        age = float(rng.integers(18, 70))
        for s in range(1, int(rng.integers(2, 9)) + 1):
            came = bool(rng.random() < 0.8)
            rows.append(
                {
                    "client": f"C{c + 1:03d}",
                    "therapist": therapist,
                    "session": s,
                    "date": start + pd.Timedelta(weeks=s - 1),
                    "attended": came,
                    "wai_1": float(rng.integers(1, 6)) if came else np.nan,
                    "srs_total": round(float(rng.uniform(10, 40)), 1) if came else np.nan,
                    "resistance_type": str(rng.choice(["none", "defiance", "withdrawal"])),
                    "age": age,
                    "gender": "female" if c % 2 else "male",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def canonical() -> pd.DataFrame:
    """The bundled 'clinic' dataset when available, otherwise a small generated study."""
    try:
        table = als.datasets.load("clinic")
    except Exception:
        table = _small_study()
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
