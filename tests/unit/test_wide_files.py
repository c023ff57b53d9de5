"""Wide tables: the one-pass check of many columns gives what the column-by-column check gives,
and a header longer than the reader's first look is read whole (issue 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.errors import InputError

#: Extra columns of every kind the one-pass check must sort correctly.
EXTRA = {
    "plain": ["a", "b", None, "c"],
    "plain_too": ["x", "y", "z", "x"],
    "blank_text": ["a", "", "b", "c"],
    "padded": [" a", "b", "c", "d"],
    "number_text": ["1", "2", "x", "3"],
    "code_text": ["a", "-99", "b", "c"],
    "na_marker": ["a", "NA", "b", "c"],
    "ints": [1, 2, 3, 4],
    "floats": [1.5, np.nan, 2.5, 3.0],
    "infinite": [1.0, np.inf, 2.0, 3.0],
    "code_number": [1.0, -99.0, 2.0, 3.0],
    "flags": [True, False, True, True],
    "mixed_objects": ["a", 5, "b", "c"],
    "object_text": pd.Series(["a", "b", None, "d"], dtype=object),
    "object_text_too": pd.Series(["e", "f", "g", "h"], dtype=object),
}


def _base() -> pd.DataFrame:
    return pd.DataFrame({
        "client": ["c1", "c1", "c2", "c2"],
        "therapist": ["t1"] * 4,
        "session": [1, 2, 1, 2],
        "attended": [1, 1, 1, 1],
    })  # fmt: skip


def _check(frame: pd.DataFrame):
    checked = als.io.read_sessions_checked(frame, missing_codes=[-99])
    return checked.report, checked.table


def test_wide_table_checks_each_column_as_a_narrow_one_would():
    wide = _base().assign(**{name: pd.Series(v) for name, v in EXTRA.items()})
    wide_report, wide_table = _check(wide)
    for name, values in EXTRA.items():
        narrow = _base().assign(**{name: pd.Series(values)})
        report, table = _check(narrow)
        mine = wide_report.problems[wide_report.problems["column"] == name]
        theirs = report.problems[report.problems["column"] == name]
        assert (
            mine[["row", "rule", "value"]].astype(str).values.tolist()
            == theirs[["row", "rule", "value"]].astype(str).values.tolist()
        ), name
    assert wide_table is None  # number_text and infinite are errors
    clean = {k: v for k, v in EXTRA.items() if k not in ("number_text", "infinite")}
    wide_table = _check(_base().assign(**{name: pd.Series(v) for name, v in clean.items()}))[1]
    for name, values in clean.items():
        table = _check(_base().assign(**{name: pd.Series(values)}))[1]
        pd.testing.assert_series_equal(wide_table[name], table[name])


def test_wide_csv_keeps_every_column_and_text(tmp_path):
    names = [f"x{i}" for i in range(3000)]
    lines = [",".join(["client", "therapist", "session", "attended", *names])]
    lines += [",".join(["a", "t", str(s), "1", *(["txt"] * 3000)]) for s in (1, 2)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    table = als.read_sessions(path)
    assert table.shape == (2, 3004)
    assert (table["x2999"] == "txt").all() and table["x0"].dtype == "str"


def test_header_longer_than_the_first_look_is_read_whole(tmp_path):
    # 1.2 MB header: the reader's first look is about 0.8 MB (the header used to be cut there)
    names = [f"{'a_long_column_name_' * 8}{i:05d}" for i in range(8_000)]
    lines = [",".join(["client", "therapist", "session", "attended", *names])]
    lines += [",".join(["a", "t", str(s), "1", *([""] * 7_999), "5"]) for s in (1, 2)]
    path = tmp_path / "long_header.csv"
    path.write_text("\n".join(lines) + "\n")
    assert len(lines[0]) > 1_200_000
    table = als.read_sessions(path)
    assert table.shape == (2, 8_004)
    assert table[names[-1]].tolist() == [5.0, 5.0]


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("zip", "zip archive"),
        ("parquet", "Parquet"),
        ("gzip", "gzip-compressed"),
    ],
)
def test_binary_file_named_csv_is_refused_by_its_content(tmp_path, content, what):
    import gzip
    import zipfile

    path = tmp_path / "s.csv"
    text = "client,therapist,session,attended\na,t,1,1\n"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("s.csv", text)
    elif content == "gzip":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        _base().to_parquet(path)
    with pytest.raises(InputError, match=what) as caught:
        als.read_sessions(path)
    assert "rename it" in str(caught.value)


def test_redcap_field_named_session_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "redcap.csv"
    path.write_text(
        "study_id,redcap_event_name,therapist,session,attended\n"
        "0012,session_1_arm_1,t,1,1\n0012,session_2_arm_1,t,2,1\n"
    )
    with pytest.raises(InputError, match="its own field 'session'.*format='csv'"):
        als.read_sessions(path, format="redcap")


def test_redcap_ids_under_another_name_keep_their_zeros(tmp_path):
    path = tmp_path / "redcap.csv"
    path.write_text(
        "study_id,redcap_event_name,therapist,attended\n"
        "0012,session_1_arm_1,t,1\n0012,session_2_arm_1,t,1\n"
        "12,session_1_arm_1,t,1\n12,session_2_arm_1,t,1\n"
    )
    for columns in (None, {"study_id": "client"}):
        table = als.read_sessions(path, format="redcap", columns=columns)
        assert sorted(table["client"].unique()) == ["0012", "12"]
