"""Plain ASCII files skip the full decode and, without quotes or \\r, the line count."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions_checked, text
from alliance_stats.io.text import read_text, scan_content


@pytest.fixture
def exact_parses(monkeypatch):
    """The names of the files read by the exact (csv module) path."""
    names = []
    full_parse = text.parse_records
    monkeypatch.setattr(text, "parse_records", lambda *a: names.append(a[2]) or full_parse(*a))
    return names


def read(tmp_path, data: bytes, **options):
    """Read the file from disk (streamed when it can be) and from memory: both must agree."""
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    streamed = read_text(path, "s.csv", "csv", options)
    in_memory = read_text(path, "s.csv", "csv", options, data=path.read_bytes())
    pd.testing.assert_frame_equal(streamed.frame, in_memory.frame)
    assert streamed.rows().tolist() == in_memory.rows().tolist()
    assert streamed.problems == in_memory.problems
    assert streamed.sha256 == in_memory.sha256 == hashlib.sha256(data).hexdigest()
    return streamed


def test_quoted_line_break_keeps_exact_line_numbers(tmp_path, exact_parses):
    raw = read(tmp_path, b'client,note\n1,"two\nlines"\n\n2,plain\n3,"x"\n')
    assert exact_parses == ["s.csv"] * 2  # streamed, then in memory
    assert raw.frame["note"].isna().tolist() == [False, True, False, False]
    assert raw.frame["note"].dropna().tolist() == ["two\nlines", "plain", "x"]
    assert raw.rows().tolist() == [2, 4, 5, 6]


def test_stray_carriage_return_takes_the_exact_path(tmp_path, exact_parses):
    raw = read(tmp_path, b"client,note\n1,x\ry\n2,z\n")
    assert exact_parses == ["s.csv"] * 2  # pandas ends a line at \r, so the count differs
    assert raw.frame.iloc[:, 0].tolist() == ["1", "y", "2"]
    assert raw.rows().tolist() == [2, 3, 4]


def test_old_mac_line_endings_take_the_exact_path(tmp_path, exact_parses):
    raw = read(tmp_path, b"client,note\r1,x\r2,y\r")
    assert exact_parses == ["s.csv"] * 2  # streamed, then in memory
    assert raw.frame["note"].tolist() == ["x", "y"]
    assert raw.rows().tolist() == [2, 3]


def test_blank_lines_without_quotes_keep_their_numbers(tmp_path, exact_parses):
    raw = read(tmp_path, b"\nclient,note\n\n1,x\n\n\n2,y\n\n")
    assert exact_parses == []  # the fast path, without counting lines
    assert raw.header_line == 2
    assert raw.rows().tolist() == [3, 4, 5, 6, 7, 8]
    assert raw.frame["note"].isna().tolist() == [True, False, True, True, False, True]
    assert raw.frame["note"].dropna().tolist() == ["x", "y"]


def test_header_after_the_decoded_start(tmp_path):
    raw = read(tmp_path, b"\n" * 1_000_000 + b"client,note\n1,x\n")
    assert raw.header_line == 1_000_001
    assert raw.rows().tolist() == [1_000_002]


def test_only_whitespace_is_empty(tmp_path):
    with pytest.raises(als.InputError, match="is empty"):
        read(tmp_path, b" \n" * 1_000_000)


def test_non_ascii_utf8(tmp_path):
    raw = read(tmp_path, "client;therapist;wai\n1;Zoë;3,5\n\n2;José;4\n".encode())
    assert raw.problems[0]["rule"] == "decimal_comma"
    assert [p["rule"] for p in raw.problems] == ["decimal_comma"]  # no encoding note
    assert raw.frame["therapist"].tolist()[::2] == ["Zoë", "José"]
    assert raw.rows().tolist() == [2, 3, 4]


def test_cp1252_keeps_its_encoding_note(tmp_path):
    path = tmp_path / "s.csv"
    body = "client,therapist,session,attended,wai\n1,Zoë Müller,1,yes,3.5\n1,José,2,yes,4\n"
    path.write_bytes(body.encode("cp1252"))
    checked = read_sessions_checked(path)
    notes = checked.report.notes
    assert "Windows-1252" in notes.loc[notes["rule"] == "encoding", "message"].iloc[0]
    assert checked.table["therapist"].tolist() == ["Zoë Müller", "José"]


def test_utf16_without_byte_order_mark_is_not_taken_for_ascii(tmp_path):
    raw = read(tmp_path, "client,note\n1,x\n".encode("utf-16-le"))
    assert raw.problems[0]["value"] == "utf-16-le"
    assert raw.frame["note"].tolist() == ["x"]


def test_non_ascii_after_the_start_is_read_as_utf8(tmp_path, exact_parses):
    body = b"client,therapist\n" + b"1,t\n" * 300_000 + "2,Zoë\n".encode()
    raw = read(tmp_path, body)
    assert exact_parses == []
    assert raw.problems == []  # UTF-8: no encoding note
    assert raw.frame["therapist"].iloc[-1] == "Zoë"
    assert raw.row_numbers[-1] == 300_002


def test_cp1252_after_the_start_is_still_detected(tmp_path):
    body = b"client,therapist\n" + b"1,t\n" * 300_000 + "2,Zoë\n".encode("cp1252")
    raw = read(tmp_path, body)
    assert [p["rule"] for p in raw.problems] == ["encoding"]
    assert raw.frame["therapist"].iloc[-1] == "Zoë"


def test_quoted_line_break_after_the_start_keeps_line_numbers(tmp_path, exact_parses):
    body = b"client,note\n" + b"1,x\n" * 300_000 + b'2,"a\nb"\n3,y\n'
    raw = read(tmp_path, body)
    assert exact_parses == ["s.csv", "s.csv"]  # once per way of reading, pandas gave up
    assert raw.rows()[-2:].tolist() == [300_002, 300_004]


def test_scan_in_chunks_matches_one_pass():
    data = b'a,b\r\n1,"x\ny"\n' * 1000
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert scan_content(chunks) == scan_content([data])
    assert scan_content([data]).newlines == data.count(b"\n")


def test_pandas_parses_an_ascii_file_at_most_once(tmp_path, monkeypatch):
    calls = []
    fast_frame = text._fast_frame
    monkeypatch.setattr(text, "_fast_frame", lambda *a: calls.append(1) or fast_frame(*a))
    path = tmp_path / "s.csv"
    path.write_bytes(b'client,note\n1,"two\nlines"\n2,x\n')
    raw = read_text(path, "s.csv", "csv", {})
    assert len(calls) == 1  # it gave up on the line numbers; the exact parse did the rest
    assert raw.rows().tolist() == [2, 4]


def test_header_after_two_hundred_blank_lines_is_parsed_by_pandas(tmp_path, exact_parses):
    # the start holds only blank records, so the header is found in the whole text; pandas
    # must still parse the numbers, as it does when the file is read from memory
    raw = read(tmp_path, b"\n" * 250 + b"client,wai\n1,2.5\n2,3\n")
    assert raw.header_line == 251
    assert raw.frame["wai"].tolist() == [2.5, 3.0]
    assert exact_parses == ["s.csv", "s.csv"]  # the header search, once per way of reading
