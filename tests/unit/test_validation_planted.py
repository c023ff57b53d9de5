"""A file with many planted problems: the report names every one, at the right row and column."""

import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als

PLANTED_CSV = """\
ClientID,Therapist,Session,Date,Attended,WAI_1,WAI_2,SRS
c1,t1,1,2024-01-08,yes,3,4,35
c1,t1,2,2024-01-15,yes,abc,4,36
c1,t1,3,2024-01-22,maybe,3,4,37
c1,t1,4,2024-01-10,yes,3,4,37
c2,t1,1,2024-02-01,yes,3,7,30
c2,t1,1,2024-02-08,yes,3,4,30
c2,t1,0,2024-02-15,yes,3,4,30
c2,t1,2.5,2024-02-22,yes,3,4,30
,t1,1,2024-03-01,yes,3,4,30
c3,,1,2024-03-01,yes,3,4,30
c3,t1,2,2024-03-08,yes,"4,5",4,30
c3,t1,3,not a date,yes,3,4,30
c3,t2,4,2024-03-22,yes,3,4,30
c3,t2,5,2024-03-29,no,5,2,20
c4,t2,1,2024-04-01,yes,3,4,30
c5,t2,1,2024-04-01,yes,3,4,30
c5,t2,4,2024-04-22,yes,3,4,-99
,,,,,,,
c5,t2,5,2024-04-29,yes,3,4,31
"""

MAPPING = {
    "ClientID": "client",
    "Therapist": "therapist",
    "Session": "session",
    "Date": "date",
    "Attended": "attended",
}

# (severity, row as seen in the file, column as named in the file, rule)
EXPECTED = {
    ("error", "line 3", "WAI_1", "non_numeric"),
    ("error", "line 4", "Attended", "invalid_boolean"),
    ("error", "line 5", "Date", "date_order"),
    ("error", "line 6", "WAI_2", "out_of_range"),
    ("error", "line 6", "Session", "duplicate_session"),
    ("error", "line 7", "Session", "duplicate_session"),
    ("error", "line 8", "Session", "session_number"),
    ("error", "line 9", "Session", "session_number"),
    ("error", "line 10", "ClientID", "missing_id"),
    ("error", "line 11", "Therapist", "missing_id"),
    ("error", "line 12", "WAI_1", "non_numeric"),
    ("error", "line 13", "Date", "invalid_date"),
    ("warning", "line 14", "Therapist", "therapist_change"),
    ("warning", "line 15", "Attended", "ratings_when_absent"),
    ("warning", "line 16", "ClientID", "single_session"),
    ("warning", "line 18", "Session", "session_gap"),
    ("warning", "line 19", "", "blank_row"),
    ("note", "line 18", "SRS", "missing_code"),
}


@pytest.fixture
def planted_file(tmp_path):
    path = tmp_path / "planted.csv"
    path.write_text(PLANTED_CSV)
    return path


def _found(report):
    return set(
        report.problems[["severity", "row", "column", "rule"]].itertuples(index=False, name=None)
    )


def _validate(path):
    return als.validate_sessions(
        path, columns=MAPPING, missing_codes=[-99], ranges={"WAI_1": (1, 5), "WAI_2": (1, 5)}
    )


def test_every_planted_problem_is_reported_at_its_row_and_column(planted_file):
    report = _validate(planted_file)
    found = _found(report)
    assert found == EXPECTED, (
        f"missing: {sorted(EXPECTED - found)}\nunexpected: {sorted(found - EXPECTED)}"
    )
    assert len({rule for *_, rule in EXPECTED}) >= 12
    assert (report.problems["file"] == str(planted_file)).all()
    assert not report.ok


def test_reported_values_are_the_offending_ones(planted_file):
    report = _validate(planted_file)
    values = dict(
        zip(zip(report.problems["row"], report.problems["rule"]), report.problems["value"])
    )
    assert values[("line 3", "non_numeric")] == "abc"
    assert values[("line 12", "non_numeric")] == "4,5"
    assert values[("line 4", "invalid_boolean")] == "maybe"
    assert values[("line 6", "out_of_range")] == "7.0"
    assert values[("line 9", "session_number")] == "2.5"
    assert values[("line 13", "invalid_date")] == "not a date"
    assert values[("line 18", "missing_code")] == "-99"
    decimal_hint = report.problems.query("row == 'line 12'")["message"].iloc[0]
    assert "decimal" in decimal_hint


def test_read_sessions_raises_with_the_same_full_report(planted_file):
    with pytest.raises(als.DataValidationError) as caught:
        als.read_sessions(
            planted_file,
            columns=MAPPING,
            missing_codes=[-99],
            ranges={"WAI_1": (1, 5), "WAI_2": (1, 5)},
        )
    assert _found(caught.value.report) == EXPECTED
    message = str(caught.value)
    assert "12 errors" in message and "line 3" in message


def test_report_renders_as_text_and_html(planted_file):
    report = _validate(planted_file)
    text = report.summary(max_rows=5)
    assert text.splitlines()[0].startswith("Validation of")
    assert "and 13 more" in text
    page = report._repr_html_()
    assert page.count("<tr>") == len(report.problems) + 1
    assert "invalid_boolean" in page and "<td>abc</td>" in page


def test_a_dataframe_reports_index_labels():
    frame = pd.DataFrame(
        {
            "client": ["a", "a", "b"],
            "therapist": ["t", "t", "t"],
            "session": [1, 1, 1],
            "attended": [True, True, True],
        },
        index=[10, 11, 12],
    )
    report = als.validate_sessions(frame)
    assert set(report.errors["row"]) == {"index 10", "index 11"}


def test_table_level_problems_are_all_reported():
    frame = pd.DataFrame([[1, 2, 3]], columns=["client", "client", "when"])
    report = als.validate_sessions(frame)
    rules = report.errors["rule"].tolist()
    assert rules.count("missing_column") == 3  # therapist, session, attended
    assert "duplicate_column" in rules


def test_empty_table_is_an_error():
    frame = pd.DataFrame(columns=["client", "therapist", "session", "attended"])
    report = als.validate_sessions(frame)
    assert report.errors["rule"].tolist() == ["empty_table"]


def test_clean_table_passes_and_warnings_are_raised_once():
    frame = pd.DataFrame(
        {
            "client": ["a", "a", "b"],
            "therapist": ["t", "t", "t"],
            "session": [1, 2, 1],
            "attended": ["yes", "no", "yes"],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = als.read_sessions(frame)
    assert [w.category for w in caught] == [als.DataWarning]
    assert table["attended"].tolist() == [True, False, True]
    assert frame["attended"].tolist() == ["yes", "no", "yes"]  # the input is not modified


def test_ids_with_stray_spaces_are_one_client():
    frame = pd.DataFrame(
        {
            "client": [" a", "a "],
            "therapist": ["t", "t "],
            "session": [1, 2],
            "attended": ["Yes ", " no"],
        }
    )
    table = als.read_sessions(frame)
    assert table["client"].tolist() == ["a", "a"]
    assert table["therapist"].tolist() == ["t", "t"]
    assert table["attended"].tolist() == [True, False]


@pytest.mark.parametrize("session", [1e20, 9223372036854775808, 10_001])
def test_huge_session_numbers_are_reported_not_wrapped(session):
    df = pd.DataFrame({"client": ["a", "a"], "therapist": "t", "session": [1, session],
                       "attended": [True, True]})  # fmt: skip
    rep = als.validate_sessions(df)
    errors = rep.errors
    assert not rep.ok and (errors["rule"] == "session_number").sum() == 1
    assert "1 to 10,000" in errors["message"].iloc[0]


def test_an_unsigned_session_column_is_checked_not_dropped():
    df = pd.DataFrame({"client": ["a"] * 4, "therapist": "t",
                       "session": np.array([1, 2, 3, 2**63 + 5], dtype=np.uint64),
                       "attended": True})  # fmt: skip
    rep = als.validate_sessions(df)
    assert (rep.errors["rule"] == "session_number").sum() == 1
    ok = als.read_sessions(df.iloc[:3])
    assert len(ok) == 3 and ok["session"].dtype == "int64"


@pytest.mark.parametrize(
    "ranges", [{"wai_1": ("a", "b")}, {"wai_1": (1,)}, {"wai_1": 5}, [("wai_1", 1, 5)],
               {"wai_1": (5, 1)}],
)  # fmt: skip
def test_bad_ranges_are_named(ranges):
    df = pd.DataFrame({"client": ["a"], "therapist": "t", "session": [1], "attended": [True],
                       "wai_1": [3.0]})  # fmt: skip
    with pytest.raises(als.InputError, match="ranges"):
        als.validate_sessions(df, ranges=ranges)


def test_bad_na_values_are_named(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("client,therapist,session,attended\na,t,1,1\n")
    with pytest.raises(als.InputError, match="na_values must be a list of cell texts"):
        als.read_sessions(path, na_values=5)


def test_dates_with_time_zone_offsets_keep_their_local_time_with_a_note():
    dates = ["2023-01-05T10:00:00+01:00", "2023-01-12T23:30:00Z", "2023-01-19",
             "2023-01-26 09:30:00-05:00"]  # fmt: skip
    df = pd.DataFrame({"client": ["a"] * 4, "therapist": "t", "session": [1, 2, 3, 4],
                       "attended": True, "date": dates})  # fmt: skip
    rep = als.validate_sessions(df)
    notes = rep.problems[rep.problems["rule"] == "date_offset"]
    assert rep.ok and len(notes) == 3 and "offset was dropped" in notes["message"].iloc[0]
    out = als.read_sessions(df)["date"]
    expected = ["2023-01-05 10:00", "2023-01-12 23:30", "2023-01-19", "2023-01-26 09:30"]
    assert out.tolist() == [pd.Timestamp(t) for t in expected]


def test_infinite_numbers_are_reported(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("client,therapist,session,attended,wai_1\na,t,1,1,1e400\na,t,2,1,-inf\n"
                    "a,t,3,1,2\n")  # fmt: skip
    rep = als.validate_sessions(path)
    errors = rep.errors
    assert (errors["rule"] == "non_finite").sum() == 2
    assert errors["row"].tolist() == ["line 2", "line 3"] and set(errors["column"]) == {"wai_1"}


def test_list_and_dict_cells_are_a_clear_error(tmp_path):
    df = pd.DataFrame({"client": ["a", "a"], "therapist": "t", "session": [1, 2],
                       "attended": True, "tags": ["x", {"k": 1}]})  # fmt: skip
    with pytest.raises(als.InputError, match=r"column 'tags' holds dict values in 1 row.*index 1"):
        als.validate_sessions(df)
    pytest.importorskip("pyarrow")
    path = tmp_path / "l.parquet"
    df.assign(tags=[[1, 2], [3]]).to_parquet(path)
    with pytest.raises(als.InputError, match=r"'tags' of .*l\.parquet' holds ndarray values"):
        als.read_sessions(path)


@pytest.mark.parametrize(
    "dates, expected, rules",
    [
        (["02/01/2023", "16/01/2023"], ["2023-01-02", "2023-01-16"], []),  # day first throughout
        (["01/02/2023", "01/16/2023"], ["2023-01-02", "2023-01-16"], []),  # month first
        (["01/02/2023", "02/03/2023"], ["2023-01-02", "2023-02-03"], ["date_day_month"] * 2),
        (["16/01/2023", "01/16/2023"], None, ["invalid_date"]),  # both orders: one is unread
        (["2023-01-02", "12:30"], None, ["invalid_date"]),  # a time is not today's date
    ],
)
def test_day_and_month_are_read_one_way_per_column(dates, expected, rules):
    n = len(dates)
    df = pd.DataFrame({"client": ["a"] * n, "therapist": "t", "session": range(1, n + 1),
                       "attended": True, "date": dates})  # fmt: skip
    rep = als.validate_sessions(df)
    assert rep.problems["rule"].tolist() == rules
    if expected is not None:
        got = als.read_sessions(df)["date"].dt.strftime("%Y-%m-%d").tolist()
        assert got == expected


def test_values_that_look_like_missing_codes_are_warned_about():
    """Without missing_codes, a -99 in a 1..5 item, a 999 in a 0..40 rating and a -9 in a
    count are named (column, row, the option that fixes it); a 99 among ages up to 90 and a
    98 among counts up to 120 are plausible values and are not."""
    rng = np.random.default_rng(5)
    n = 40
    df = pd.DataFrame(
        {
            "client": np.repeat([f"c{i}" for i in range(8)], 5),
            "therapist": "t1",
            "session": np.tile(np.arange(1, 6), 8),
            "attended": True,
            "wai_1": rng.integers(1, 6, n).astype(float),
            "resistance": rng.uniform(0, 40, n).round(1),
            "reflections": rng.integers(0, 121, n).astype(float),
            "age": np.repeat(rng.integers(18, 91, 8), 5).astype(float),
        }
    )
    df.loc[3, "wai_1"] = -99
    df.loc[7, "resistance"] = 999
    df.loc[11, "reflections"] = -9
    df.loc[12, "reflections"] = 98
    df.loc[15:19, "age"] = 99
    warned = als.validate_sessions(df).warnings
    flagged = warned[warned["rule"] == "missing_code_like"]
    assert list(zip(flagged["column"], flagged["row"], flagged["value"])) == [
        ("wai_1", "index 3", "-99.0"),
        ("resistance", "index 7", "999.0"),
        ("reflections", "index 11", "-9.0"),
    ]
    assert flagged["message"].str.contains("--missing-code").all()
    assert "missing_codes=[-99]" in flagged["message"].iloc[0]
    # declared as missing, the same values are a note (read as missing), not a warning
    fixed = als.validate_sessions(df, missing_codes=[-99, 999, -9])
    assert "missing_code_like" not in set(fixed.problems["rule"])
    assert "missing_code" in set(fixed.notes["rule"])
