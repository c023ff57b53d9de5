"""Excel, SPSS, Stata and Parquet: sheets, row numbers, user-missing codes, value labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions, read_sessions_checked

pyreadstat = pytest.importorskip("pyreadstat")


def table(bad_session_at: int | None = None) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "ClientID": ["a", "a", "a", "b", "b", "b"],
            "therapist": ["t1"] * 3 + ["t2"] * 3,
            "session": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
            "attended": [1.0, 1.0, 0.0, 1.0, 1.0, 1.0],
            "wai": [3.0, -9.0, np.nan, 4.0, 99.0, 5.0],
            "mood": [1.0, 2.0, np.nan, -8.0, 2.0, 1.0],
        }
    )
    if bad_session_at is not None:
        t.loc[bad_session_at, "session"] = 0.5
    return t


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        return read_sessions(*args, **kwargs)


def test_excel_sheets_and_row_numbers(tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        # header on sheet row 3 (two empty rows above), bad session on data row 4 -> row 7
        table(bad_session_at=3).to_excel(writer, sheet_name="Sessions", index=False, startrow=2)
    report = als.validate_sessions(path, sheet="Sessions")
    bad = report.errors.iloc[0]
    assert (bad["row"], bad["column"], bad["rule"]) == ("row 7", "session", "session_number")
    assert report.notes.query("rule == 'column_alias'")["column"].tolist() == ["ClientID"]
    assert read_sessions_checked(path, sheet=1).report.n_rows == 6
    with pytest.raises(als.InputError, match=r"no sheet named 'Sesions'.*\['Notes', 'Sessions'\]"):
        read_sessions(path, sheet="Sesions")
    with pytest.raises(als.InputError, match="sheet=5 does not exist"):
        read_sessions(path, sheet=5)
    with pytest.raises(als.DataValidationError):  # first sheet has no session columns
        read_sessions(path)


def test_unreadable_excel(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(als.InputError, match=r"broken\.xlsx"):
        read_sessions(path)


def write_sav(path, frame):
    pyreadstat.write_sav(
        frame,
        str(path),
        missing_ranges={"wai": [-9, {"lo": 90, "hi": 100}], "mood": [-8]},
        variable_value_labels={
            "mood": {1: "low", 2: "high", -8: "refused"},
            "attended": {0: "no", 1: "yes"},
        },
        variable_measure={"mood": "ordinal"},
    )


def test_spss_user_missing_and_value_labels(tmp_path):
    path = tmp_path / "s.sav"
    write_sav(path, table())
    checked = read_sessions_checked(path)
    notes = checked.report.notes.query("rule == 'missing_code'")
    assert sorted(map(tuple, notes[["column", "value", "row"]].values.tolist())) == [
        ("mood", "-8", "case 4"),
        ("wai", "-9", "case 2"),
        ("wai", "99", "case 5"),
    ]
    out = checked.table
    assert out["wai"].isna().tolist() == [False, True, True, False, True, False]
    assert isinstance(out["mood"].dtype, pd.CategoricalDtype)
    assert out["mood"].cat.ordered
    assert list(out["mood"].cat.categories) == ["low", "high"]  # "refused" is a missing code
    assert out["mood"].tolist()[:2] == ["low", "high"]
    assert out["attended"].dtype == bool  # labelled, but keeps its codes
    assert out["client"].tolist()[0] == "a"


def test_spss_bad_value_reported_at_case(tmp_path):
    path = tmp_path / "s.sav"
    write_sav(path, table(bad_session_at=4))
    bad = als.validate_sessions(path).errors.iloc[0]
    assert (bad["row"], bad["column"], bad["rule"]) == ("case 5", "session", "session_number")


def test_spss_unlabelled_values_keep_codes(tmp_path):
    frame = table()
    frame.loc[0, "mood"] = 3.0
    path = tmp_path / "s.sav"
    write_sav(path, frame)
    checked = read_sessions_checked(path)
    assert checked.table["mood"].dtype == "float64"
    assert "value_labels" in checked.report.notes["rule"].tolist()


def test_stata_extended_missing(tmp_path):
    frame = table().astype({"wai": object})
    frame.loc[1, "wai"] = "a"
    frame.loc[4, "wai"] = 99.0
    path = tmp_path / "s.dta"
    pyreadstat.write_dta(
        frame,
        str(path),
        missing_user_values={"wai": ["a"]},
        variable_value_labels={"mood": {1: "low", 2: "high"}},
    )
    checked = read_sessions_checked(path, missing_codes={"mood": [-8]})
    notes = checked.report.notes.query("rule == 'missing_code'")
    assert [".a", "case 2"] in notes[["value", "row"]].values.tolist()
    assert checked.table["wai"].iloc[0] == 3.0
    assert np.isnan(checked.table["wai"].iloc[1])
    assert isinstance(checked.table["mood"].dtype, pd.CategoricalDtype)


def test_unreadable_spss_and_parquet(tmp_path):
    for name in ("x.sav", "x.dta", "x.parquet"):
        path = tmp_path / name
        path.write_bytes(b"\x00garbage" * 10)
        with pytest.raises(als.InputError, match=name.replace(".", r"\.")):
            read_sessions(path)


def test_parquet_row_numbers(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "s.parquet"
    table(bad_session_at=2).to_parquet(path)
    bad = als.validate_sessions(path, missing_codes=[-9, 99, -8]).errors.iloc[0]
    assert bad["row"] == "record 3"


def test_parquet_named_index_is_read_as_columns(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"client": ["a", "a", "b", "b"], "therapist": "t", "session": [1, 2, 1, 2],
                       "attended": True})  # fmt: skip
    path = tmp_path / "ix.parquet"
    df.set_index(["client", "session"]).to_parquet(path)
    out = als.read_sessions(path)
    assert out[["client", "session"]].values.tolist() == [["a", 1], ["a", 2], ["b", 1], ["b", 2]]
    rep = als.validate_sessions(path)
    assert (rep.problems["rule"] == "parquet_index").sum() == 1
    plain = tmp_path / "plain.parquet"
    df.to_parquet(plain)  # a default RangeIndex is not data
    assert list(als.read_sessions(plain).columns) == ["client", "therapist", "session", "attended"]


@pytest.mark.parametrize("suffix, spec", [(".sav", "N4"), (".dta", "%04.0f")])
def test_zero_padded_display_formats_keep_their_zeros(tmp_path, suffix, spec):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"client": [1.0, 1.0, 12.0], "therapist": ["T1", "T1", "T2"],
                       "session": [1.0, 2.0, 1.0], "attended": [1.0, 1.0, 1.0]})  # fmt: skip
    path = tmp_path / f"n4{suffix}"
    write = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
    write(df, str(path), variable_format={"client": spec})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert als.read_sessions(path)["client"].tolist() == ["0001", "0001", "0012"]
    notes = als.validate_sessions(path).problems
    assert (notes["rule"] == "display_format").sum() == 1


@pytest.mark.parametrize("fmt, expected", [("0000", ["0001", "0012"]), ("0", ["1", "12"])])
def test_excel_leading_zero_number_format_keeps_ids_as_shown(tmp_path, fmt, expected):
    """Ids stored as numbers with the Excel format 0000 read as Excel shows them, noted."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["client", "therapist", "session", "attended", "wai_1"])
    for client, session in [(1, 1), (1, 2), (12, 1), (12, 2)]:
        ws.append([client, "t1", session, 1, 3])
    for r in range(2, 6):
        ws.cell(row=r, column=1).number_format = fmt
    path = tmp_path / "ids.xlsx"
    wb.save(path)
    df = als.read_sessions(path)
    assert sorted(df["client"].unique()) == expected
    notes = als.validate_sessions(path).notes
    padded = notes[notes["rule"] == "display_format"]
    assert len(padded) == (1 if fmt == "0000" else 0)
    if len(padded):
        assert "0000" in padded["message"].iloc[0] and padded["column"].iloc[0] == "client"
