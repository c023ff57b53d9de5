"""Property-based: malformed input only ever fails with an AllianceStatsError."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import alliance_stats as als
from alliance_stats.errors import AllianceStatsError
from alliance_stats.io import read_sessions

NAMES = ["client", "therapist", "session", "attended", "date", "wai", "Client", "visit", "id", ""]
cells = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(""),
    st.just("  "),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["yes", "no", "1", "0", "3,5", "2024-01-02", "2024-13-45", "NA", "-99"]),
    st.text(max_size=6),
)


@st.composite
def tables(draw) -> pd.DataFrame:
    columns = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=7))
    n = draw(st.integers(0, 6))
    data = {}
    frame = pd.DataFrame(index=range(n))
    for j in range(len(columns)):
        values = draw(st.lists(cells, min_size=n, max_size=n))
        data[j] = pd.Series(values, dtype=object)
    if data:
        frame = pd.DataFrame(data)
        frame.columns = columns
    if n and draw(st.booleans()) and len(frame):
        frame = pd.concat([frame, frame.iloc[:1]], ignore_index=True)  # duplicate row
    return frame


def _expect_clean_failure(call) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except AllianceStatsError as err:
            assert str(err).strip()


SETTINGS = settings(
    max_examples=int(os.environ.get("ALS_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


@SETTINGS
@given(
    frame=tables(),
    mapping=st.none() | st.dictionaries(st.sampled_from(NAMES), st.sampled_from(NAMES), max_size=2),
)
def test_dataframes(frame, mapping):
    _expect_clean_failure(lambda: read_sessions(frame, columns=mapping))
    _expect_clean_failure(lambda: als.validate_sessions(frame, missing_codes=[-99, "NA"]))


@SETTINGS
@given(frame=tables(), sep=st.sampled_from([",", ";", "\t"]))
def test_csv_text_of_tables(frame, sep):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        frame.to_csv(path, sep=sep, index=False)
        _expect_clean_failure(lambda: read_sessions(path))
        _expect_clean_failure(lambda: als.validate_sessions(path, wide="{measure}_s{session}"))


header = st.sampled_from(
    [b"", b"client,therapist,session,attended\n", b"client;therapist;session;attended\r\n"]
)


@SETTINGS
@given(
    head=header,
    body=st.binary(max_size=200),
    fmt=st.sampled_from([None, "redcap", "qualtrics", "tsv"]),
)
def test_random_bytes(head, body, fmt):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(head + body)
        _expect_clean_failure(lambda: read_sessions(path, format=fmt))


@SETTINGS
@given(
    sessions=st.lists(
        st.one_of(st.integers(-(10**19), 10**19), st.floats()), min_size=1, max_size=6
    )
)
def test_strange_session_numbers(sessions):
    n = len(sessions)
    frame = pd.DataFrame(
        {"client": ["a"] * n, "therapist": ["t"] * n, "session": sessions, "attended": [1] * n}
    )
    _expect_clean_failure(lambda: read_sessions(frame))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        frame.to_csv(path, index=False)
        _expect_clean_failure(lambda: read_sessions(path))


@SETTINGS
@given(frame=tables())
def test_binary_formats(frame):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.parquet"
        assume(frame.columns.is_unique)  # a Parquet file cannot hold two columns of one name
        frame.astype("str").to_parquet(path)
        _expect_clean_failure(lambda: read_sessions(path))


def test_out_of_range_date_is_an_invalid_date():
    frame = pd.DataFrame(
        {"client": ["a"], "therapist": ["t"], "session": [1], "attended": [1], "date": ["-1"]}
    )
    report = als.validate_sessions(frame)
    assert report.errors["rule"].tolist() == ["invalid_date"]


@st.composite
def session_tables(draw) -> pd.DataFrame:
    """Plausible session tables: canonical columns, extra columns, blank rows and bad cells."""
    n = draw(st.integers(1, 12))
    clients = draw(st.lists(st.sampled_from(["a", "b", "007", "7", "c"]), min_size=n, max_size=n))
    sessions = pd.Series(clients).groupby(clients).cumcount().add(1).astype(object)
    frame = pd.DataFrame({
        "client": pd.Series(clients, dtype=object),
        "therapist": "t1",
        "session": sessions,
        "attended": draw(st.lists(st.sampled_from([1, 0, "yes", "no"]), min_size=n, max_size=n)),
    })  # fmt: skip
    for name in draw(st.lists(st.sampled_from(["wai", "notes", "Unnamed"]), unique=True,
                              max_size=3)):  # fmt: skip
        frame[name] = draw(st.lists(st.one_of(st.none(), st.floats(1, 7), st.text(max_size=4)),
                                    min_size=n, max_size=n))  # fmt: skip
    if draw(st.booleans()):  # one bad cell
        column = draw(st.sampled_from(["session", "attended", "client"]))
        frame[column] = frame[column].astype(object)
        frame.loc[draw(st.integers(0, n - 1)), column] = draw(st.sampled_from(["x", "", -1, 0]))
    blanks = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=2))
    for i in blanks:
        frame.iloc[i] = None
    return frame


@SETTINGS
@given(frame=session_tables(), as_csv=st.booleans())
def test_every_row_and_column_is_kept_or_reported(frame, as_csv):
    """rows in = rows out + rows reported as left out; every column in is in the table; ids
    as written. The same for the table written as a CSV file."""
    from alliance_stats.io import read_sessions_checked

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        source = frame
        if as_csv:
            source = Path(tmp) / "sessions.csv"
            frame.to_csv(source, index=False)
        try:
            checked = read_sessions_checked(source)
        except AllianceStatsError:
            return
    report = checked.report
    problems = report.problems
    if not report.ok:
        assert checked.table is None and len(report.errors) > 0
        assert problems["row"].astype(str).str.len().gt(0).any()
        return
    left_out = problems[problems["rule"] == "blank_row"]
    assert len(checked.table) + len(left_out) == len(frame)
    for column in frame.columns:
        assert column in checked.table.columns, column
    # ids as written: '007' and '7' stay two clients
    kept = checked.table["client"].astype(str)
    written = frame["client"].dropna().astype(str)
    assert set(kept) == set(written[written.str.strip() != ""])
