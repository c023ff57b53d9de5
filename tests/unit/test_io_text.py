"""CSV/TSV reading: encodings, delimiters, decimal commas, line numbers, mapping, errors."""

from __future__ import annotations

import codecs
import warnings

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions, read_sessions_checked

GOOD = (
    "client,therapist,session,attended,wai\n"
    "101,Zoë Müller,1,yes,3.5\n"
    "101,Zoë Müller,2,no,\n"
    "102,José Peña,1,1,4\n"
    "102,José Peña,2,1,5\n"
)


def write(tmp_path, text, name="s.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        return read_sessions(*args, **kwargs)


@pytest.mark.parametrize(
    ("encoding", "note"),
    [("utf-8", False), ("utf-8-sig", False), ("utf-16", False), ("cp1252", True)],
)
def test_encodings(tmp_path, encoding, note):
    path = write(tmp_path, GOOD, encoding=encoding)
    checked = read_sessions_checked(path)
    table = checked.table
    assert table["therapist"].tolist()[:3] == ["Zoë Müller", "Zoë Müller", "José Peña"]
    assert list(table.columns)[:2] == ["client", "therapist"]
    assert ("encoding" in checked.report.notes["rule"].tolist()) is note


def test_explicit_encoding_and_bad_encoding(tmp_path):
    path = write(tmp_path, GOOD, encoding="cp1252")
    assert quiet(path, encoding="cp1252")["therapist"].iloc[0] == "Zoë Müller"
    with pytest.raises(als.InputError, match="not in the encoding"):
        read_sessions(path, encoding="utf-8")
    with pytest.raises(als.InputError, match="unknown encoding"):
        read_sessions(path, encoding="klingon")


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_sniffing(tmp_path, sep):
    path = write(tmp_path, GOOD.replace(",", sep), name="s.txt")
    table = quiet(path)
    assert table["wai"].iloc[[0, 2, 3]].tolist() == [3.5, 4.0, 5.0]
    assert table.shape == (4, 5)


def test_decimal_comma_and_override(tmp_path):
    text = GOOD.replace(",", ";").replace("3.5", "3,5")
    path = write(tmp_path, text)
    checked = read_sessions_checked(path)
    assert checked.table["wai"].iloc[0] == 3.5
    assert "decimal_comma" in checked.report.notes["rule"].tolist()
    kept = read_sessions_checked(path, decimal=".")
    assert not kept.report.ok  # "3,5" is text in a numeric column
    assert kept.report.errors["rule"].tolist() == ["non_numeric"]
    with pytest.raises(als.InputError, match="decimal"):
        read_sessions(write(tmp_path, GOOD), decimal=",")


def test_explicit_sep(tmp_path):
    path = write(tmp_path, GOOD.replace(",", "|"))
    assert quiet(path, sep="|").shape == (4, 5)
    with pytest.raises(als.InputError, match="sep must be a single character"):
        read_sessions(path, sep="||")


def test_leading_zero_ids_stay_text(tmp_path):
    path = write(tmp_path, GOOD.replace("101", "007"))
    assert quiet(path)["client"].iloc[0] == "007"


def test_line_numbers_with_blank_lines_and_multiline_values(tmp_path):
    text = (
        "client,therapist,session,attended,note,wai\n"  # line 1
        'a,t,1,yes,"two\nlines",3\n'  # lines 2-3
        "\n"  # line 4 (blank)
        "a,t,2,yes,,oops\n"  # line 5
        "b,t,1,yes,,4\n"  # line 6
        "b,t,2,maybe,,4\n"  # line 7
    )
    report = als.validate_sessions(write(tmp_path, text))
    errors = report.errors.set_index("rule")
    assert errors.loc["non_numeric", "row"] == "line 5"
    assert errors.loc["non_numeric", "column"] == "wai"
    assert errors.loc["invalid_boolean", "row"] == "line 7"
    assert report.warnings.query("rule == 'blank_row'")["row"].tolist() == ["line 4"]


def test_planted_bad_value_named_by_user_column(tmp_path):
    text = "ClientID,Clinician,Visit,Showed,wai\na,t,1,1,3\na,t,2,1,3\na,t,x,1,3\n"
    report = als.validate_sessions(write(tmp_path, text))
    bad = report.errors.iloc[0]
    assert (bad["row"], bad["column"], bad["value"], bad["rule"]) == (
        "line 4",
        "Visit",
        "x",
        "session_number",
    )
    aliases = report.notes.query("rule == 'column_alias'")
    assert aliases["column"].tolist() == ["ClientID", "Clinician", "Visit", "Showed"]


def test_mapping(tmp_path):
    text = "Klient,Behandler,Nr,Da,wai\na,t,1,ja,3\na,t,2,1,3\n"
    path = write(tmp_path, text)
    mapping = {"Klient": "client", "Behandler": "therapist", "Nr": "session", "Da": "attended"}
    report = als.validate_sessions(path, columns=mapping)
    assert report.errors["column"].tolist() == ["Da"]  # 'ja' is not a yes/no word
    # missing codes may be keyed by the user's column name; notes name that column
    checked = read_sessions_checked(path, columns=mapping, missing_codes={"Da": ["ja"]})
    assert checked.report.notes[["column", "value"]].values.tolist() == [["Da", "ja"]]
    assert checked.report.errors[["row", "column", "rule"]].values.tolist() == [
        ["line 2", "Da", "invalid_boolean"]
    ]


def test_bad_mapping_messages(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(als.InputError, match=r"'therapst'.*Did you mean 'therapist'.*columns are"):
        read_sessions(path, columns={"therapst": "therapist"})
    with pytest.raises(als.InputError, match="both"):
        read_sessions(path, columns={"client": "x", "therapist": "x"})
    with pytest.raises(als.InputError, match="already has a column 'client'"):
        read_sessions(path, columns={"therapist": "client"})
    with pytest.raises(als.InputError, match="columns must be a dict"):
        read_sessions(path, columns=["client"])


def test_missing_file_and_unknown_extension(tmp_path):
    write(tmp_path, GOOD, name="sessions.csv")
    with pytest.raises(als.InputError, match=r"does not exist.*sessions\.csv"):
        read_sessions(tmp_path / "sesions.csv")
    with pytest.raises(als.InputError, match=r"extension '\.foo'.*format="):
        read_sessions(write(tmp_path, GOOD, name="x.foo"))
    with pytest.raises(als.InputError, match="unknown format"):
        read_sessions(tmp_path / "sessions.csv", format="sas")
    with pytest.raises(als.InputError, match="folder"):
        read_sessions(tmp_path, format="csv")
    with pytest.raises(als.InputError, match="sheet= only applies"):
        read_sessions(tmp_path / "sessions.csv", sheet=1)
    with pytest.raises(als.InputError, match="unknown option"):
        read_sessions(tmp_path / "sessions.csv", skiprows=3)


def test_ragged_csv_names_the_line(tmp_path):
    text = GOOD + "103,t,1,yes,4,extra\n"
    with pytest.raises(als.InputError, match=r"s\.csv' line 6 has 6 fields"):
        read_sessions(write(tmp_path, text))
    # trailing empty fields (a trailing delimiter) are fine
    assert quiet(write(tmp_path, GOOD.replace("\n", ",\n"))).shape == (4, 5)


def test_empty_and_header_only(tmp_path):
    with pytest.raises(als.InputError, match="empty"):
        read_sessions(write(tmp_path, b""))
    with pytest.raises(als.InputError, match="empty"):
        read_sessions(write(tmp_path, "\n\n  \n"))
    with pytest.raises(als.DataValidationError) as info:
        read_sessions(write(tmp_path, "client,therapist,session,attended\n"))
    assert info.value.report.errors["rule"].tolist() == ["empty_table"]


def test_na_markers_are_noted(tmp_path):
    path = write(tmp_path, GOOD.replace("3.5", "NA"))
    checked = read_sessions_checked(path)
    notes = checked.report.notes.query("rule == 'missing_code'")
    assert notes[["row", "column", "value"]].values.tolist() == [["line 2", "wai", "NA"]]
    assert read_sessions_checked(path, na_values=[]).report.errors["rule"].tolist() == [
        "non_numeric"
    ]


def test_read_sessions_warns_once_and_raises_with_full_report(tmp_path):
    path = write(tmp_path, GOOD + "\n")
    with pytest.warns(als.DataWarning, match=r"1 warning\(s\).*validate_sessions"):
        read_sessions(path)
    bad = GOOD.replace("yes", "maybe").replace(",1,1,4", ",0,1,4")
    with pytest.raises(als.DataValidationError) as info:
        read_sessions(write(tmp_path, bad))
    assert sorted(info.value.report.errors["rule"]) == ["invalid_boolean", "session_number"]


def test_dataframe_input_not_modified():
    frame = pd.DataFrame(
        {"Client": [1, 1], "Therapist": ["t", "t"], "Session": [1, 2], "Present": [1, 0]}
    )
    before = frame.copy()
    table = quiet(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert table["client"].tolist() == ["1", "1"]
    with pytest.raises(als.InputError, match="only apply to files"):
        read_sessions(frame, sep=";")


def test_bom_is_not_part_of_first_column(tmp_path):
    path = write(tmp_path, codecs.BOM_UTF8 + GOOD.encode())
    assert quiet(path).columns[0] == "client"


def test_fast_and_exact_paths_give_the_same_table(tmp_path, monkeypatch):
    """Files without quoted line breaks take pandas' C parser; others the csv module."""
    body = (
        "client,therapist,session,attended,wai_1,note\n"
        "007,t1,1,yes,3.5,a\n007,t1,2,no,,b\n"
        "012,t2,1,1,4,c\n012,t2,2,0,NA,d\n"
    )
    fast = tmp_path / "fast.csv"
    fast.write_text(body)
    exact = tmp_path / "exact.csv"
    exact.write_text(body.replace(",d\n", ',"d\nd"\n'))  # a quoted line break
    from alliance_stats.io import text

    exact_parses = []
    full_parse = text.parse_records
    monkeypatch.setattr(
        text, "parse_records", lambda *a: exact_parses.append(a[2]) or full_parse(*a)
    )
    a = als.read_sessions(fast)
    b = als.read_sessions(exact)
    assert exact_parses == [str(exact)]  # only the file with a quoted line break
    assert a["client"].tolist() == ["007", "007", "012", "012"]
    pd.testing.assert_frame_equal(a.drop(columns="note"), b.drop(columns="note"))
    assert b["note"].iloc[-1] == "d\nd"


def test_compressed_and_zipped_files(tmp_path):
    import lzma
    import zipfile

    text = "client,therapist,session,attended\na,t,1,1\na,t,2,0\n"
    good = tmp_path / "s.csv.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("s.csv", text)
    assert len(als.read_sessions(good)) == 2
    (tmp_path / "x.csv.xz").write_bytes(lzma.compress(text.encode())[:20])  # truncated
    (tmp_path / "y.csv.xz").write_bytes(b"not xz at all")
    (tmp_path / "z.csv.zip").write_text(text)  # a plain CSV named .zip
    two = tmp_path / "two.csv.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.csv", text)
        z.writestr("b.csv", text)
    for name, message in (("x.csv.xz", "cannot decompress"), ("y.csv.xz", "cannot decompress"),
                          ("z.csv.zip", "not a zip"), ("two.csv.zip", "exactly one")):  # fmt: skip
        with pytest.raises(als.InputError, match=message):
            als.read_sessions(tmp_path / name)


def test_utf8_bom_with_cp1252_lines_is_read_line_by_line_with_a_note(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfclient,therapist,session,attended,name\n"
                     b"a,t,1,1,Zo\xc3\xab\na,t,2,1,Zo\xe9\n")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert als.read_sessions(path)["name"].tolist() == ["Zoë", "Zoé"]  # not merged
    notes = als.validate_sessions(path).problems
    note = notes[notes["rule"] == "encoding"]["message"].iloc[0]
    assert "line(s) 3 are not UTF-8" in note and "cp1252" in note


@pytest.mark.slow
def test_digit_ids_after_the_parsers_first_chunk_stay_text(tmp_path):
    """Word ids first, digit-only ids far below: 007 and 7 stay two clients."""
    n = 200_000
    ids = [f"w{i}" for i in range(n // 2)] + [f"{i:06d}" for i in range(n // 2)] + ["007", "7"]
    lines = ["client,therapist,session,attended"] + [f"{c},t,1,1" for c in ids]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = als.read_sessions(path)
    assert not [w for w in caught if w.category.__name__ == "DtypeWarning"]
    assert {"007", "7", "000001"} <= set(out["client"]) and out["client"].nunique() == n + 2
