"""REDCap and Qualtrics exports, and wide layouts: rows and columns as the user sees them."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.io import read_sessions, read_sessions_checked

REDCAP_EVENTS = """record_id,redcap_event_name,therapist_id,age,attended,wai_total
1,baseline_arm_1,T1,34,,
1,session_1_arm_1,,,1,4.5
1,session_2_arm_1,,,0,
1,session_3_arm_1,,,1,5.2
2,baseline_arm_1,T2,51,,
2,session_1_arm_1,,,1,3.1
2,session_2_arm_1,,,1,x
3,baseline_arm_1,T2,22,,
"""

REDCAP_REPEATING = (
    "record_id,redcap_repeat_instrument,redcap_repeat_instance,therapist_id,gender,attended,srs\n"
    """101,,,T9,female,,
101,session_form,1,,,Yes,30.1
101,session_form,2,,,Yes,33.4
102,,,T9,male,,
102,session_form,1,,,No,
102,session_form,2,,,Yes,28
"""
)

REDCAP_LABELS = """Record ID,Event Name,Therapist ID,Attended,WAI total
1,Baseline (Arm 1: Treatment),T1,,
1,Session 1 (Arm 1: Treatment),,Yes,4
1,Session 2 (Arm 1: Treatment),,No,
"""

QUALTRICS = (
    "StartDate,EndDate,Status,Progress,Finished,ResponseId,client,therapist,session,attended,wai\n"
    "Start Date,End Date,Response Type,Progress,Finished,Response ID,"
    '"Your client id","Therapist\nname",Session number,Did you attend?,"WAI, total"\n'
    '{"ImportId":"startDate"},{"ImportId":"endDate"},{"ImportId":"status"},'
    '{"ImportId":"progress"},{"ImportId":"finished"},{"ImportId":"_recordId"},'
    '{"ImportId":"QID1_TEXT"},{"ImportId":"QID2_TEXT"},{"ImportId":"QID3"},'
    '{"ImportId":"QID4"},{"ImportId":"QID5"}\n'
    "2024-01-01,2024-01-01,IP Address,100,True,R_1,a,t,1,Yes,4\n"  # line 5
    "2024-01-02,2024-01-02,Survey Preview,100,True,R_2,zz,t,1,Yes,4\n"  # line 6
    "2024-01-08,2024-01-08,IP Address,100,True,R_3,a,t,2,Yes,5\n"  # line 7
    "2024-01-09,2024-01-09,IP Address,40,False,R_4,b,t,1,Yes,\n"  # line 8
    "2024-01-09,2024-01-09,IP Address,100,True,R_5,b,t,1,Yes,3\n"  # line 9
    "2024-01-16,2024-01-16,IP Address,100,True,R_6,b,t,2,Yes,abc\n"  # line 10
)


def write(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        return read_sessions(*args, **kwargs)


def test_redcap_longitudinal_events(tmp_path):
    path = write(tmp_path, REDCAP_EVENTS)
    report = als.validate_sessions(path, columns={"therapist_id": "therapist"})
    errors = report.errors
    assert errors[["row", "column", "value", "rule"]].values.tolist() == [
        ["line 8", "wai_total", "x", "non_numeric"]
    ]
    warned = report.warnings.set_index("rule")
    assert warned.loc["no_sessions", "row"] == "line 9"  # record 3: baseline only
    text = REDCAP_EVENTS.replace(",x\n", ",3.9\n")
    table = quiet(write(tmp_path, text), columns={"therapist_id": "therapist"})
    assert table["client"].tolist() == ["1", "1", "1", "2", "2"]
    assert table["session"].tolist() == [1, 2, 3, 1, 2]
    assert table["therapist"].tolist() == ["T1", "T1", "T1", "T2", "T2"]
    assert table["age"].tolist() == [34.0, 34.0, 34.0, 51.0, 51.0]
    assert "redcap_event_name" not in table.columns
    assert table.attrs["alliance_stats"]["format"] == "redcap"


def test_redcap_repeating_instruments(tmp_path):
    path = write(tmp_path, REDCAP_REPEATING)
    checked = read_sessions_checked(path, format="redcap", columns={"therapist_id": "therapist"})
    table = checked.table
    assert table[["client", "session", "attended"]].values.tolist() == [
        ["101", 1, True],
        ["101", 2, True],
        ["102", 1, False],
        ["102", 2, True],
    ]
    assert table["gender"].tolist() == ["female", "female", "male", "male"]
    layout = checked.report.notes.query("rule == 'redcap_layout'")["message"].iloc[0]
    assert "therapist_id" in layout and "gender" in layout


def test_redcap_bad_instance_reported_at_line_and_column(tmp_path):
    text = REDCAP_REPEATING.replace("session_form,2,,,Yes,28", "session_form,two,,,Yes,28")
    errors = als.validate_sessions(write(tmp_path, text), columns={"therapist_id": "therapist"})
    bad = errors.errors.iloc[0]
    assert (bad["row"], bad["column"], bad["rule"]) == (
        "line 7",
        "redcap_repeat_instance",
        "session_number",
    )


def test_redcap_label_export(tmp_path):
    table = quiet(write(tmp_path, REDCAP_LABELS), columns={"Therapist ID": "therapist"})
    assert table[["client", "session", "therapist", "attended"]].values.tolist() == [
        ["1", 1, "T1", True],
        ["1", 2, "T1", False],
    ]


def test_qualtrics(tmp_path):
    path = write(tmp_path, QUALTRICS)
    checked = read_sessions_checked(path)
    report = checked.report
    excluded = report.warnings.query("rule == 'excluded_response'")
    assert excluded[["row", "column", "value"]].values.tolist() == [
        ["line 6", "Status", "Survey Preview"],
        ["line 8", "Finished", "False"],
    ]
    assert "preview" in excluded["message"].iloc[0]
    assert "not finished" in excluded["message"].iloc[1]
    assert report.errors[["row", "column", "rule"]].values.tolist() == [
        ["line 10", "wai", "non_numeric"]
    ]
    fixed = write(tmp_path, QUALTRICS.replace(",abc\n", ",4\n"), name="fixed.csv")
    with pytest.warns(als.DataWarning, match="survey preview"):
        table = read_sessions(fixed)
    assert table["client"].tolist() == ["a", "a", "b", "b"]
    assert "zz" not in table["client"].tolist()
    assert table.attrs["alliance_stats"]["format"] == "qualtrics"


def test_qualtrics_numeric_export_forced(tmp_path):
    text = QUALTRICS.replace("Survey Preview", "1").replace("IP Address", "0")
    text = text.replace(",False,", ",0,").replace(",True,", ",1,").replace(",abc\n", ",4\n")
    table = quiet(write(tmp_path, text), format="qualtrics")
    assert len(table) == 4


WIDE = (
    "client,therapist,age,attended_s1,wai_s1,attended_s2,wai_s2,attended_s3,wai_s3\n"
    "a,t1,30,1,4,1,5,0,\n"  # line 2
    "b,t1,41,1,3,1,3.5,,\n"  # line 3: no session 3
    "c,t2,25,1,4,1,oops,1,4\n"  # line 4
)


def test_wide_problems_name_wide_row_and_column(tmp_path):
    report = als.validate_sessions(write(tmp_path, WIDE), wide="{measure}_s{session}")
    bad = report.errors.iloc[0]
    assert (bad["row"], bad["column"], bad["value"]) == ("line 4", "wai_s2", "oops")
    fixed = WIDE.replace("oops", "4.5")
    table = quiet(write(tmp_path, fixed), wide="{item}_s{session}")
    assert table[["client", "session"]].values.tolist() == [
        ["a", 1], ["a", 2], ["a", 3], ["b", 1], ["b", 2], ["c", 1], ["c", 2], ["c", 3]
    ]  # fmt: skip
    assert table["age"].tolist()[:3] == [30.0, 30.0, 30.0]


def test_wide_attended_when_rated():
    wide = pd.DataFrame({"client": ["a"], "therapist": ["t"], "srs_1": [30], "srs_2": [None]})
    with pytest.raises(als.DataValidationError, match="attended"):
        read_sessions(wide, wide="{measure}_{session}")
    checked = read_sessions_checked(
        wide, wide={"pattern": "{measure}_{session}", "attended_when_rated": True}
    )
    assert checked.table["session"].tolist() == [1]
    assert checked.table["attended"].tolist() == [True]
    assert "attended_when_rated" in checked.report.notes["rule"].tolist()


def test_wide_errors():
    wide = pd.DataFrame({"client": ["a"], "x": [1]})
    with pytest.raises(als.InputError, match="no column matches"):
        read_sessions(wide, wide="{measure}_s{session}")
    with pytest.raises(als.InputError, match="must contain"):
        read_sessions(wide, wide="abc")
    with pytest.raises(als.InputError, match="unknown wide"):
        read_sessions(wide, wide={"pattern": "{measure}_{session}", "bogus": 1})


def test_qualtrics_format_keeps_a_first_row_that_is_data(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("client,therapist,session,attended,wai_1\na,t,1,1,3\na,t,2,1,4\na,t,3,0,\n")
    rep = als.validate_sessions(plain, format="qualtrics")
    kept = rep.problems[rep.problems["rule"] == "qualtrics_header"]
    assert len(kept) == 1 and kept["severity"].iloc[0] == "warning"
    with pytest.warns(als.DataWarning, match="looks like data"):
        assert len(als.read_sessions(plain, format="qualtrics")) == 3
    questions = tmp_path / "q.csv"
    questions.write_text("client,therapist,session,attended,wai_1\n"
                         "Client ID,Therapist,Session number,Attended?,WAI item 1\n"
                         "a,t,1,1,3\na,t,2,1,4\n")  # fmt: skip
    assert len(als.read_sessions(questions, format="qualtrics")) == 2


@pytest.mark.parametrize("columns", [None, {"study_id": "client"}])
def test_redcap_record_ids_under_any_name_keep_their_zeros(tmp_path, columns):
    path = tmp_path / "rc.csv"
    path.write_text(
        "study_id,redcap_repeat_instrument,redcap_repeat_instance,therapist,attended,wai_1\n"
        "0012,,,T1,,\n0012,session,1,T1,1,3\n0012,session,2,T1,1,4\n12,session,1,T2,1,2\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = als.read_sessions(path, columns=columns)
    assert out[["client", "session"]].values.tolist() == [["0012", 1], ["0012", 2], ["12", 1]]
