"""Tests for alliance_stats.retention.retention_curve (Kaplan-Meier with log-log bands)."""

import dataclasses
import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from html_cells import shows_row

from alliance_stats import datasets
from alliance_stats.errors import InputError
from alliance_stats.retention import TABLE_COLUMNS, RetentionCurve, retention_curve

matplotlib.use("Agg")

FIXTURES = Path(__file__).parents[1] / "reference" / "fixtures"

# (attended sessions, dropped out) per client: the textbook example 1, 2, 2+, 3, 4+, 4, 5+
COURSES = [(1, True), (2, True), (2, False), (3, True), (4, False), (4, True), (5, False)]


def table_from(courses, group=None):
    rows = []
    for i, (k, dropped) in enumerate(courses):
        for s in range(1, k + 1):
            rows.append((f"c{i}", "t", s, True))
        if dropped:
            rows.append((f"c{i}", "t", k + 1, False))  # the session they did not come back to
    df = pd.DataFrame(rows, columns=["client", "therapist", "session", "attended"])
    if group is not None:
        df["arm"] = group
    return df


def test_matches_hand_computation():
    km = retention_curve(table_from(COURSES))
    t = km.table.set_index("session")
    # S(1) = 6/7, S(2) = 6/7 * 5/6, S(3) = 5/7 * 3/4, S(4) = 15/28 * 2/3, S(5) = S(4)
    expected = {0: 1, 1: 6 / 7, 2: 5 / 7, 3: 15 / 28, 4: 10 / 28, 5: 10 / 28}
    for s, v in expected.items():
        assert t.loc[s, "survival"] == pytest.approx(v)
    assert t["at_risk"].tolist() == [7, 7, 6, 4, 3, 1]
    assert t["events"].tolist() == [0, 1, 1, 1, 1, 0]
    assert t["censored"].tolist() == [0, 0, 1, 0, 1, 1]
    # Greenwood and the log-log band at session 2, by hand
    s2 = 5 / 7
    var = s2**2 * (1 / (7 * 6) + 1 / (6 * 5))
    assert t.loc[2, "std_error"] == pytest.approx(math.sqrt(var))
    w = 1.959963984540054 * math.sqrt(var) / (s2 * abs(math.log(s2)))
    assert t.loc[2, "conf_low"] == pytest.approx(s2 ** math.exp(w))
    assert t.loc[2, "conf_high"] == pytest.approx(s2 ** math.exp(-w))
    # R survival::survfit(..., conf.type = "log-log") on the same courses
    # (tests/reference/R/survival_km.R -> tests/reference/fixtures/survival_km.json)
    ref = json.loads((FIXTURES / "survival_km.json").read_text())
    assert list(zip(ref["data"]["time"], ref["data"]["status"])) == [
        (s, int(d)) for s, d in COURSES
    ]
    at = t.loc[ref["time"]]
    np.testing.assert_allclose(at["at_risk"], ref["n_risk"])
    np.testing.assert_allclose(at["events"], ref["n_event"])
    np.testing.assert_allclose(at["survival"], ref["survival"], rtol=1e-12)
    np.testing.assert_allclose(at["conf_low"], ref["lower"], rtol=1e-9)
    np.testing.assert_allclose(at["conf_high"], ref["upper"], rtol=1e-9)


def test_bands_contain_the_estimate_and_are_monotone():
    km = retention_curve(datasets.load("clinic"), by="therapist")
    t = km.table
    assert list(t.columns) == list(TABLE_COLUMNS)
    assert (t["conf_low"] <= t["survival"] + 1e-12).all()
    assert (t["survival"] <= t["conf_high"] + 1e-12).all()
    for _, g in t.groupby("group"):
        assert (np.diff(g["survival"]) <= 1e-12).all()


def test_groups_and_result_object():
    df = pd.concat(
        [table_from(COURSES, "a"), table_from([(3, False), (1, True)], "b").replace(
            {"client": {"c0": "x0", "c1": "x1"}})],
        ignore_index=True,
    )  # fmt: skip
    km = retention_curve(df, by="arm")
    assert isinstance(km, RetentionCurve)
    b = km.table[km.table["group"] == "b"].set_index("session")
    assert b.loc[1, "survival"] == pytest.approx(0.5)
    med = km.medians().set_index("group")
    assert med.loc["a", "median_sessions"] == 4 and med.loc["b", "median_sessions"] == 1
    assert repr(km).startswith("RetentionCurve(2 group(s), 9 clients, 5 dropouts")
    assert "\n" not in repr(km)
    assert "Kaplan-Meier" in km.summary()
    # the HTML shows the medians (clients, dropouts, median) and the curve (survival, CI)
    assert shows_row(km._repr_html_(), "a", "7", "4", "4.000")
    a = km.table[km.table["group"] == "a"].set_index("session").loc[1]
    shown = (f"{a[c]:.3f}" for c in ("survival", "conf_low", "conf_high"))
    assert shows_row(km._repr_html_(), "a", "1.000", *shown)
    frame = km.to_frame()
    frame.loc[0, "survival"] = -1
    assert km.table.loc[0, "survival"] == 1
    ax = km.plot()
    assert len(ax.get_lines()) == 2 and ax.get_legend() is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        km.by = "x"  # frozen


def test_no_dropouts_gives_flat_curve():
    km = retention_curve(table_from([(3, False), (4, False)]))
    assert (km.table["survival"] == 1).all() and (km.table["conf_low"] == 1).all()


def test_dropout_before_n_definition():
    km = retention_curve(table_from(COURSES), definition="dropout_before_n", n=3)
    assert km.clients["event"].tolist() == [1, 1, 1, 0, 0, 0, 0]


def test_clinic_overall_dropout_share_matches_truth():
    km = retention_curve(datasets.load("clinic"))
    share = datasets.truth("clinic")["realised"]["dropout_share"]
    assert km.clients["event"].mean() == pytest.approx(share)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"by": "nope"}, "nope"),
        ({"by": "session"}, "changes within a client"),
        ({"definition": "next_session"}, "time to"),
        ({"conf_level": 95}, "conf_level"),
        ({"definition": "dropout_before_n"}, "needs n"),
        ({"attended": "therapist"}, "True/False"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        retention_curve(table_from(COURSES), **kwargs)


def test_rejects_missing_required_column():
    with pytest.raises(InputError, match="session"):
        retention_curve(table_from(COURSES).drop(columns="session"))
