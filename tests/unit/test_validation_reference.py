"""Differential test of the cross-row checks against a plain-Python reference.

The checks in :mod:`alliance_stats.validation` work with vectorised numpy code. The
reference below does the same job the obvious way, with loops over dicts and lists, and
the two must agree on many seeded random messy tables: which rule fires at which row, and
(for tables without errors) the order of the canonical table.
"""

from __future__ import annotations

import datetime
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als

# Rules the reference implements; problems of other rules are ignored in the comparison.
RULES = (
    "blank_row",
    "missing_id",
    "duplicate_session",
    "date_order",
    "session_gap",
    "single_session",
    "therapist_change",
    "ratings_when_absent",
)
# Float columns besides the fixed ones: two ratings and a client-level covariate.
MEASURES = ("wai", "srs", "age")
MESSY_SEEDS = range(40)
CLEAN_SEEDS = range(1000, 1040)


# --------------------------------------------------------------------------------------
# Reference implementation: one cell, one row, one client at a time.
# --------------------------------------------------------------------------------------


def _missing(value) -> bool:
    """None, NaN, NaT, or text that is empty or only spaces."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return bool(pd.isna(value))


def _id(value) -> str | None:
    return None if _missing(value) else str(value).strip()


def _session(value) -> int | None:
    """The session number, or None when it is missing or not a whole number from 1 to 10,000."""
    if _missing(value):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None
    if math.isfinite(number) and 1 <= number <= 10_000 and number == int(number):
        return int(number)
    return None


def _date(value) -> pd.Timestamp | None:
    """The date, or None when it is missing or cannot be read."""
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            return pd.Timestamp(datetime.date.fromisoformat(value.strip()))
        except ValueError:
            return None
    return pd.Timestamp(value)


def _absent(value) -> bool:
    return isinstance(value, str) and value.strip().lower() == "no"


class Reference:
    """The cross-row rules, computed row by row from the spec."""

    def __init__(self, frame: pd.DataFrame):
        self.rows = frame.to_dict("index")  # index label -> {column: value}
        self.found: list[tuple[str, str]] = []
        self.kept = [i for i, row in self.rows.items() if not self._blank(row)]
        self.client = {i: _id(self.rows[i]["client"]) for i in self.kept}
        self.therapist = {i: _id(self.rows[i]["therapist"]) for i in self.kept}
        self.session = {i: _session(self.rows[i]["session"]) for i in self.kept}
        self.usable = [
            i for i in self.kept if self.client[i] is not None and self.session[i] is not None
        ]
        # client -> its usable rows, ordered by session, ties by row order
        self.by_client: dict[str, list] = {}
        for i in self.usable:
            self.by_client.setdefault(self.client[i], []).append(i)
        for client, members in self.by_client.items():
            self.by_client[client] = sorted(members, key=lambda i: (self.session[i], i))
        self._check()

    @staticmethod
    def _blank(row: dict) -> bool:
        return all(_missing(value) for value in row.values())

    def _flag(self, rule: str, i) -> None:
        self.found.append((rule, f"index {i}"))

    def _check(self) -> None:
        for i in self.rows:
            if i not in self.kept:
                self._flag("blank_row", i)
        for i in self.kept:
            if self.client[i] is None:
                self._flag("missing_id", i)
            if self.therapist[i] is None:
                self._flag("missing_id", i)
        for members in self.by_client.values():
            self._check_client(members)
        self._check_ratings_when_absent()

    def _check_client(self, members: list) -> None:
        sessions = [self.session[i] for i in members]
        n = len(members)
        if n == 1:
            self._flag("single_session", members[0])
        second_of_run = [k > 0 and sessions[k] == sessions[k - 1] for k in range(n)]
        for k, i in enumerate(members):
            before_same = second_of_run[k]
            next_same = k + 1 < n and sessions[k + 1] == sessions[k]
            if before_same or next_same:
                self._flag("duplicate_session", i)
            if k > 0 and sessions[k] - sessions[k - 1] > 1:
                self._flag("session_gap", i)

        previous_date = None
        for k, i in enumerate(members):
            date = _date(self.rows[i].get("date"))
            if date is None:
                continue
            if previous_date is not None and date < previous_date and not second_of_run[k]:
                self._flag("date_order", i)
            previous_date = date

        known = [(i, self.therapist[i]) for i in members if self.therapist[i] is not None]
        if len({t for _, t in known}) >= 2:
            first = known[0][1]
            self._flag("therapist_change", next(i for i, t in known if t != first))

    def _is_rating(self, column: str) -> bool:
        """Whether ``column`` varies within at least 10% of the clients with 2+ values."""
        several = varying = 0
        for members in self.by_client.values():
            values = [self.rows[j].get(column) for j in members]
            values = [v for v in values if not _missing(v)]
            if len(values) >= 2:
                several += 1
                varying += len(set(values)) >= 2
        return several > 0 and varying / several >= 0.1

    def _check_ratings_when_absent(self) -> None:
        ratings = [column for column in MEASURES if self._is_rating(column)]
        for i in self.kept:
            if not _absent(self.rows[i]["attended"]):
                continue
            if any(not _missing(self.rows[i].get(column)) for column in ratings):
                self._flag("ratings_when_absent", i)

    def problems(self) -> list[tuple[str, str]]:
        return sorted(self.found)

    def canonical(self) -> list[tuple]:
        """(client, session, wai) of the kept rows: clients in order of first appearance."""
        first_seen: dict[str, int] = {}
        for i in self.kept:
            first_seen.setdefault(self.client[i], len(first_seen))
        ordered = sorted(self.kept, key=lambda i: (first_seen[self.client[i]], self.session[i], i))
        return [(self.client[i], self.session[i], _plain(self.rows[i]["wai"])) for i in ordered]


def _plain(value):
    return None if _missing(value) else float(value)


# --------------------------------------------------------------------------------------
# Random messy tables
# --------------------------------------------------------------------------------------


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _padded(rng, text: str) -> str:
    return _pick(rng, [f" {text} ", f"{text} ", f" {text}", f"  {text}"])


def make_table(seed: int, clean: bool = False) -> pd.DataFrame:
    """A random session table with problems of many kinds.

    ``clean`` tables have warnings only (padded ids, gaps, single sessions, therapist
    changes, ratings on absent rows, missing and tied dates, blank rows) and no errors.
    """
    rng = np.random.default_rng(seed)
    messy = not clean
    records: list[dict] = []
    blanks = ["", None, "  "]
    for k in range(int(rng.integers(5, 31))):
        cid = f"c{k + 1}"
        home = f"t{rng.integers(1, 6)}"
        other = f"t{rng.integers(6, 9)}"
        age = np.nan if rng.random() < 0.2 else float(rng.integers(18, 70))
        n = 1 if rng.random() < 0.15 else int(rng.integers(2, 9))
        switch_at = int(rng.integers(1, n)) if n >= 2 and rng.random() < 0.25 else None
        back_at = switch_at + 2 if switch_at is not None and rng.random() < 0.3 else None
        blank_first_therapist = messy and rng.random() < 0.15
        session = int(rng.integers(0, 3)) if rng.random() < 0.1 else 0
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        for j in range(n):
            step = 1 if rng.random() < 0.85 else int(rng.integers(2, 4))
            session += step
            if rng.random() > 0.06:  # else the same date as the session before
                day += pd.Timedelta(days=7 * step)
            therapist = home
            if switch_at is not None and j >= switch_at:
                therapist = home if back_at is not None and j >= back_at else other
            if rng.random() < 0.08:
                therapist = _padded(rng, therapist)
            if messy and ((j == 0 and blank_first_therapist) or (j > 0 and rng.random() < 0.03)):
                therapist = _pick(rng, blanks)
            date = None if rng.random() < 0.12 else day
            if messy and date is not None and rng.random() < 0.07:
                date = day - pd.Timedelta(days=int(rng.integers(1, 60)))
            attended = rng.random() < 0.8
            rated = rng.random() < (0.9 if attended else 0.3)
            record = {
                "client": _padded(rng, cid) if rng.random() < 0.15 else cid,
                "therapist": therapist,
                "session": float(session),
                "date": date,
                "attended": _pick(rng, ["yes", "Yes", " yes"] if attended else ["no", "No"]),
                "wai": round(float(rng.uniform(1, 7)), 1) if rated else np.nan,
                "srs": round(float(rng.uniform(0, 40)), 1) if rng.random() < 0.5 else np.nan,
                "age": np.nan if rng.random() < 0.1 else age,
            }
            if messy and rng.random() < 0.03:
                record["client"] = _pick(rng, blanks)
            if messy and rng.random() < 0.03:
                record["session"] = _pick(rng, [0.0, 2.5, None])
            records.append(record)
            if messy and rng.random() < 0.07:  # the same session again
                copy = dict(record)
                copy["date"] = (
                    None
                    if rng.random() < 0.2
                    else day + pd.Timedelta(days=int(rng.integers(-20, 20)))
                )
                copy["attended"] = _pick(rng, ["yes", "no"])
                copy["wai"] = round(float(rng.uniform(1, 7)), 1)
                records.append(copy)
    blank_row = dict.fromkeys(["client", "therapist", "session", "date", "attended"], None)
    blank_row.update(dict.fromkeys(MEASURES, np.nan))
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):
        records.insert(int(rng.integers(0, len(records) + 1)), dict(blank_row))
    # rows blank but for one cell, which can be in any column: not blank, so kept
    one_value = {
        "client": " c99 ",
        "therapist": "t1",
        "session": 3.0,
        "date": pd.Timestamp("2024-05-01"),
        "attended": "no",
        "wai": 4.0,
        "srs": 10.0,
        "age": 30.0,
    }
    for _ in range(int(rng.integers(1, 3)) if messy and rng.random() < 0.4 else 0):
        column = _pick(rng, list(one_value))
        row = {**blank_row, column: one_value[column]}
        records.insert(int(rng.integers(0, len(records) + 1)), row)
    if rng.random() < 0.85:
        records = [records[p] for p in rng.permutation(len(records))]
    return _with_dtypes(rng, records, allow_bad_dates=messy)


def _with_dtypes(rng, records: list[dict], allow_bad_dates: bool) -> pd.DataFrame:
    """The records as a DataFrame, with dtypes (and spellings) drawn at random."""
    sessions = [r["session"] for r in records]
    session_kind = _pick(rng, ["int", "float", "text"])
    whole = all(s is not None and s >= 1 and s == int(s) for s in sessions)
    if session_kind == "int" and whole:
        session = pd.Series(np.array(sessions, dtype="int64"))
    elif session_kind == "text":
        session = pd.Series(
            [
                _pick(rng, [None, "", " "])
                if s is None
                else (_padded(rng, f"{s:g}") if rng.random() < 0.2 else f"{s:g}")
                for s in sessions
            ],
            dtype=object,
        )
    else:
        session = pd.Series([np.nan if s is None else s for s in sessions], dtype="float64")

    dates = [r["date"] for r in records]
    if rng.random() < 0.5:
        date = pd.Series(pd.to_datetime(pd.Series(dates, dtype=object)), dtype="datetime64[ns]")
    else:
        texts = []
        for d in dates:
            if d is None:
                texts.append(_pick(rng, [None, "", " "]))
            elif allow_bad_dates and rng.random() < 0.01:
                texts.append("not a date")
            else:
                texts.append(d.strftime("%Y-%m-%d"))
        date = pd.Series(texts, dtype=object)

    def text_column(name: str) -> pd.Series:
        values = [r[name] for r in records]  # missing ids are spelt at random already
        spelt = [_pick(rng, [None, "", "  "]) if v is None else v for v in values]
        return pd.Series(spelt, dtype=object)

    frame = pd.DataFrame(
        {
            "client": text_column("client"),
            "therapist": text_column("therapist"),
            "session": session,
            "date": date,
            "attended": text_column("attended"),
            **{m: pd.Series([r[m] for r in records], dtype="float64") for m in MEASURES},
        }
    )
    if rng.random() < 0.5:  # pandas' own text dtype rather than object
        for column in ("client", "therapist", "attended"):
            frame[column] = pd.Series(list(frame[column]), dtype="str")
    assert list(frame.index) == list(range(len(frame)))
    return frame


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------


def _package_problems(report, rules=RULES) -> list[tuple[str, str]]:
    problems = report.problems
    chosen = problems[problems["rule"].isin(rules)]
    return sorted(zip(chosen["rule"], chosen["row"]))


def _package_canonical(frame: pd.DataFrame) -> list[tuple]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", als.DataWarning)
        table = als.read_sessions(frame)
    return [
        (str(c).strip(), int(s), _plain(w))
        for c, s, w in zip(table["client"], table["session"], table["wai"])
    ]


def _compare(frame: pd.DataFrame) -> bool:
    """Assert the package agrees with the reference; return whether the table had no errors."""
    reference = Reference(frame)
    report = als.validate_sessions(frame)
    expected, got = reference.problems(), _package_problems(report)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert got == expected, f"package misses {missing}, package adds {extra}"
    if report.ok:
        assert _package_canonical(frame) == reference.canonical()
    return report.ok


@pytest.mark.parametrize("seed", MESSY_SEEDS)
def test_messy_tables_agree_with_reference(seed):
    _compare(make_table(seed))


@pytest.mark.parametrize("seed", CLEAN_SEEDS)
def test_tables_without_errors_agree_with_reference(seed):
    frame = make_table(seed, clean=True)
    report = als.validate_sessions(frame)
    assert report.ok, report.errors[["row", "rule", "value"]].to_string()
    assert _compare(frame)  # so the canonical order was compared too


def test_generator_plants_every_rule():
    """The random tables really exercise each rule (else the comparison proves little)."""
    counts = dict.fromkeys(RULES, 0)
    for seed in MESSY_SEEDS:
        for rule, _ in Reference(make_table(seed)).problems():
            counts[rule] += 1
    assert all(n >= 5 for n in counts.values()), counts


# --------------------------------------------------------------------------------------
# Hand-made edge cases
# --------------------------------------------------------------------------------------


def _table(rows: list[tuple], columns=("client", "therapist", "session", "date", "attended")):
    return pd.DataFrame(rows, columns=list(columns))


def _check_both(frame: pd.DataFrame, expected: list[tuple[str, str]]) -> None:
    """The package and the reference both find exactly ``expected`` (among RULES)."""
    expected = sorted(expected)
    assert Reference(frame).problems() == expected
    assert _package_problems(als.validate_sessions(frame)) == expected


@pytest.mark.parametrize("blank", ["", None, "  "])
def test_blank_first_therapist_does_not_hide_a_change(blank):
    frame = _table(
        [
            ("c1", "t1", 2, None, "yes"),
            ("c1", blank, 1, None, "yes"),  # the client's first session
            ("c1", "t2", 3, None, "yes"),
        ]
    )
    _check_both(frame, [("missing_id", "index 1"), ("therapist_change", "index 2")])


def test_blank_therapist_between_two_known_ones():
    frame = _table(
        [
            ("c1", "t1", 1, None, "yes"),
            ("c1", None, 2, None, "yes"),
            ("c1", "t2", 3, None, "yes"),
            ("c1", "t1", 4, None, "yes"),
        ]
    )
    _check_both(frame, [("missing_id", "index 1"), ("therapist_change", "index 2")])


@pytest.mark.parametrize("blank_first", [False, True])
def test_next_client_with_another_therapist_is_no_change(blank_first):
    frame = _table(
        [
            ("c1", "t1", 1, None, "yes"),
            ("c1", " t1 ", 2, None, "yes"),
            ("c2", "" if blank_first else "t2", 1, None, "yes"),
            ("c2", "t2", 2, None, "yes"),
        ]
    )
    expected = [("missing_id", "index 2")] if blank_first else []
    _check_both(frame, expected)


@pytest.mark.parametrize("as_datetime", [False, True])
def test_dated_rows_out_of_order_with_undated_rows_between(as_datetime):
    frame = _table(
        [
            ("c0", "t1", 1, "2025-06-01", "yes"),  # another client, dated later
            ("c1", "t1", 4, "2024-02-01", "yes"),
            ("c1", "t1", 2, None, "yes"),
            ("c1", "t1", 1, "2024-03-01", "yes"),
            ("c1", "t1", 3, "", "yes"),
        ]
    )
    if as_datetime:
        frame["date"] = pd.to_datetime(frame["date"].replace("", None))
    _check_both(frame, [("single_session", "index 0"), ("date_order", "index 1")])


def test_later_row_of_a_duplicate_session_is_not_also_out_of_order():
    frame = _table(
        [
            ("c1", "t1", 1, "2024-02-01", "yes"),
            ("c1", "t1", 1, "2024-01-01", "yes"),
            ("c1", "t1", 2, "2024-01-15", "yes"),
        ]
    )
    _check_both(frame, [("duplicate_session", "index 0"), ("duplicate_session", "index 1")])


def test_client_level_column_on_absent_row_is_not_a_rating():
    frame = pd.DataFrame(
        {
            "client": ["c1"] * 4,
            "therapist": ["t1"] * 4,
            "session": [1, 2, 3, 4],
            "attended": ["yes", "no", "no", "yes"],
            "wai": [4.0, np.nan, 5.0, 6.0],
            "age": [40.0, 40.0, 40.0, 40.0],
        }
    )
    expected = [("ratings_when_absent", "index 2")]
    assert Reference(frame).problems() == expected
    report = als.validate_sessions(frame)
    assert _package_problems(report) == expected
    (message,) = report.problems.loc[report.problems["rule"] == "ratings_when_absent", "message"]
    assert "wai" in message
    assert "age" not in message


def test_a_lone_rating_on_a_missed_session_is_reported():
    # wai varies within client a, so it is a rating: b's only value, on a missed
    # session, and c's value equal to its other one are reported too.
    frame = pd.DataFrame(
        {
            "client": ["a", "a", "a", "b", "b", "c", "c"],
            "therapist": ["t"] * 7,
            "session": [1, 2, 3, 1, 2, 1, 2],
            "attended": ["yes", "yes", "yes", "yes", "no", "yes", "no"],
            "wai": [3.0, 4.0, 5.0, np.nan, 4.5, 4.0, 4.0],
            "age": [30.0, 30.0, 30.0, 41.0, 41.0, 25.0, 25.0],
        }
    )
    expected = [("ratings_when_absent", "index 4"), ("ratings_when_absent", "index 6")]
    assert Reference(frame).problems() == expected
    report = als.validate_sessions(frame)
    assert _package_problems(report) == expected
    messages = report.problems.loc[report.problems["rule"] == "ratings_when_absent", "message"]
    assert all("wai" in m and "age" not in m for m in messages)
