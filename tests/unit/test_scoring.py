"""Scoring of every built-in instrument against hand-computed values; item-column errors;
utterance codes aggregated to sessions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alliance_stats import instruments
from alliance_stats.errors import AllianceStatsError, DataValidationError, InputError
from alliance_stats.scoring import item_columns, score
from alliance_stats.utterances import session_codes

# items 1..12; task = 1, 2, 10, 12; bond = 3, 5, 7, 9; goal = 4, 6, 8, 11
WAI_ROW = [5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5, 4]


def wai_frame(rows, index=None):
    return pd.DataFrame(
        [dict(zip([f"wai_{i}" for i in range(1, 13)], r)) for r in rows], index=index
    ).astype("float64")


# ----------------------------------------------------------------------------- WAI-SR
def test_wai_sr_complete_row_hand_computed():
    out = score(wai_frame([WAI_ROW]), "wai_sr", items="wai_{}", max_missing=0.25)
    row = out.iloc[0]
    assert row["wai_sr_task"] == 5 + 4 + 1 + 4
    assert row["wai_sr_bond"] == 3 + 1 + 4 + 2
    assert row["wai_sr_goal"] == 2 + 5 + 3 + 5
    assert row["wai_sr_total"] == 39
    assert pd.isna(row["wai_sr_missing_reason"])
    assert not row["wai_sr_prorated"]


def test_wai_sr_keeps_items_and_does_not_modify_input():
    df = wai_frame([WAI_ROW, WAI_ROW])
    before = df.copy()
    out = score(df, "wai_sr", items="wai_{}")
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns[:12]) == list(df.columns)
    assert list(out.columns[12:]) == [
        "wai_sr_total",
        "wai_sr_task",
        "wai_sr_bond",
        "wai_sr_goal",
        "wai_sr_missing_reason",
        "wai_sr_prorated",
    ]


def test_wai_sr_prorating_one_missing_item():
    row = list(WAI_ROW)
    row[9] = np.nan  # item 10 (task), value 1
    out = score(wai_frame([row]), "wai_sr", items="wai_{}").iloc[0]
    assert out["wai_sr_task"] == pytest.approx((5 + 4 + 4) / 3 * 4)
    assert out["wai_sr_total"] == pytest.approx((39 - 1) / 11 * 12)
    assert out["wai_sr_bond"] == 10
    assert out["wai_sr_prorated"]
    assert pd.isna(out["wai_sr_missing_reason"])


def test_wai_sr_missing_beyond_limit_gives_nan_and_reason():
    row = list(WAI_ROW)
    row[9] = row[11] = np.nan  # items 10 and 12: 2 of 4 task items
    out = score(wai_frame([row]), "wai_sr", items="wai_{}").iloc[0]
    assert math.isnan(out["wai_sr_task"])
    # total: 2 of 12 missing is within 25 % (3 allowed)
    assert out["wai_sr_total"] == pytest.approx((39 - 1 - 4) / 10 * 12)
    assert "task: 2 of 4 items missing" in out["wai_sr_missing_reason"]
    assert "at most 1 allowed" in out["wai_sr_missing_reason"]


def test_wai_sr_max_missing_zero_and_all_missing_row():
    row = list(WAI_ROW)
    row[0] = np.nan
    empty = [np.nan] * 12
    out = score(wai_frame([row, empty]), "wai_sr", items="wai_{}", max_missing=0)
    assert math.isnan(out.loc[0, "wai_sr_total"]) and math.isnan(out.loc[0, "wai_sr_task"])
    assert out.loc[0, "wai_sr_bond"] == 10
    assert "total: 1 of 12" in out.loc[0, "wai_sr_missing_reason"]
    assert out.loc[1, "wai_sr_missing_reason"] == "no items answered"
    assert out.loc[1, ["wai_sr_total", "wai_sr_task"]].isna().all()


def test_wai_sr_reverse_keys_configurable():
    out = score(wai_frame([WAI_ROW]), "wai_sr", items="wai_{}", reverse=(5,)).iloc[0]
    assert out["wai_sr_bond"] == 3 + (6 - 1) + 4 + 2
    assert out["wai_sr_total"] == 39 - 1 + 5


def test_wai_sr_default_pattern_mapping_and_list():
    df = wai_frame([WAI_ROW]).rename(columns=lambda c: c.replace("wai_", "wai_sr_"))
    assert score(df, "wai_sr")["wai_sr_total"].iloc[0] == 39
    mapping = {i: f"wai_sr_{i}" for i in range(1, 13)}
    assert score(df, "wai_sr", items=mapping)["wai_sr_total"].iloc[0] == 39
    assert score(df, "wai_sr", items=list(mapping.values()))["wai_sr_total"].iloc[0] == 39


def test_wai_sr_therapist_form_same_structure():
    out = score(wai_frame([WAI_ROW]), "wai_sr_t", items="wai_{}").iloc[0]
    assert (out["wai_sr_t_task"], out["wai_sr_t_bond"], out["wai_sr_t_goal"]) == (14, 10, 15)


def test_wai_s_user_subscales_and_range():
    keys = {"task": (1, 2, 3, 4), "bond": (5, 6, 7, 8), "goal": (9, 10, 11, 12)}
    row = [7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3]
    out = score(wai_frame([row]), "wai_s", items="wai_{}", subscales=keys).iloc[0]
    assert out["wai_s_task"] == 22 and out["wai_s_bond"] == 13 and out["wai_s_goal"] == 18
    assert out["wai_s_total"] == 53
    assert list(score(wai_frame([row]), "wai_s", items="wai_{}").filter(like="wai_s_")) == [
        "wai_s_total",
        "wai_s_missing_reason",
        "wai_s_prorated",
    ]


def test_wai_full_36_items():
    df = pd.DataFrame({f"w{i}": [float(1 + i % 7)] for i in range(1, 37)})
    expected = sum(1 + i % 7 for i in range(1, 37))
    assert score(df, "wai", items="w{}")["wai_total"].iloc[0] == expected


# ----------------------------------------------------------------------------- SRS
def srs_frame(rows):
    return pd.DataFrame(rows, columns=[f"srs_{i}" for i in range(1, 5)], dtype="float64")


def test_srs_total_and_alert_sides():
    df = srs_frame([[9, 9, 9, 9], [9, 9, 9, 8.5], [10, 10, 10, 10]])
    out = score(df, "srs")
    assert out["srs_total"].tolist() == [36.0, 35.5, 40.0]
    assert out["srs_alert"].tolist() == [False, True, False]
    at = score(df, "srs", alert_side="at_or_below")
    assert at["srs_alert"].tolist() == [True, True, False]
    cut = score(df, "srs", alert_cutoff=35.5, alert_side="below")
    assert cut["srs_alert"].tolist() == [False, False, False]


def test_srs_no_prorating_by_default_but_optional():
    df = srs_frame([[8, 9, 9, np.nan]])
    out = score(df, "srs").iloc[0]
    assert math.isnan(out["srs_total"]) and pd.isna(out["srs_alert"])
    assert "1 of 4 items missing" in out["srs_missing_reason"]
    pro = score(df, "srs", max_missing=0.25).iloc[0]
    assert pro["srs_total"] == pytest.approx(26 / 3 * 4)
    assert pro["srs_alert"] == True  # noqa: E712 (pandas boolean scalar)
    assert pro["srs_prorated"]


def test_srs_out_of_range_never_clipped():
    with pytest.raises(DataValidationError) as err:
        score(srs_frame([[11, 9, 9, 9], [-1, 9, 9, 9]]), "srs")
    assert err.value.report.errors["rule"].tolist() == ["out_of_range", "out_of_range"]


# ----------------------------------------------------------------------------- HAq-II
def test_haq_ii_default_reverse_keys():
    df = pd.DataFrame({f"haq_ii_{i}": [6.0, 2.0] for i in range(1, 20)})
    out = score(df, "haq_ii")
    # reversed items 4, 8, 11, 16, 19: 1 + 6 - value
    assert out["haq_ii_total"].tolist() == [14 * 6 + 5 * 1, 14 * 2 + 5 * 5]
    assert score(df, "haq_ii", reverse=())["haq_ii_total"].iloc[0] == 19 * 6
    assert score(df, "haq_ii", rule="mean")["haq_ii_total"].iloc[0] == pytest.approx(89 / 19)


def test_haq_ii_prorating_with_reverse_item_missing():
    df = pd.DataFrame({f"haq_ii_{i}": [6.0] for i in range(1, 20)})
    df.loc[0, "haq_ii_4"] = np.nan
    total = score(df, "haq_ii")["haq_ii_total"].iloc[0]
    assert total == pytest.approx((14 * 6 + 4 * 1) / 18 * 19)


# ----------------------------------------------------------------------------- MITI
def miti_frame(rows):
    cols = ["cct", "sst", "partnership", "empathy", "sr", "cr", "q"]
    return pd.DataFrame(rows, columns=[f"miti_{c}" for c in cols], dtype="float64")


def test_miti_summary_scores():
    out = score(miti_frame([[4, 3, 4, 5, 10, 10, 5], [3, 2, 3.5, 4, 6, 2, 16]]), "miti")
    assert out["miti_relational"].tolist() == [4.5, 3.75]
    assert out["miti_technical"].tolist() == [3.5, 2.5]
    assert out["miti_pct_cr"].tolist() == [50.0, 25.0]
    assert out["miti_r_q"].tolist() == [4.0, 0.5]
    assert out["miti_missing_reason"].isna().all()
    assert "miti_prorated" not in out


def test_miti_zero_denominators_and_missing_inputs():
    out = score(miti_frame([[4, 3, np.nan, 5, 0, 0, 0]]), "miti").iloc[0]
    assert math.isnan(out["miti_relational"]) and out["miti_technical"] == 3.5
    assert math.isnan(out["miti_pct_cr"]) and math.isnan(out["miti_r_q"])
    reason = out["miti_missing_reason"]
    assert "relational: partnership missing" in reason
    assert "pct_cr: no reflections coded (SR + CR = 0)" in reason
    assert "r_q: no questions coded (Q = 0)" in reason


def test_miti_rejects_max_missing_and_bad_globals():
    with pytest.raises(InputError, match="max_missing does not apply"):
        score(miti_frame([[4, 3, 4, 5, 1, 1, 1]]), "miti", max_missing=0.25)
    with pytest.raises(DataValidationError) as err:
        score(miti_frame([[6, 3, 4, 5, -1, 1, 1]]), "miti")
    assert err.value.report.errors["column"].tolist() == ["miti_cct", "miti_sr"]


def test_observer_resistance_rate():
    df = pd.DataFrame({"res_count": [6.0, 3.0], "res_utterances": [120.0, 0.0]})
    out = score(df, "observer_resistance", items="res_{}")
    assert out["observer_resistance_per_100"].iloc[0] == 5.0
    assert math.isnan(out["observer_resistance_per_100"].iloc[1])
    assert "no utterances" in out["observer_resistance_missing_reason"].iloc[1]


# ----------------------------------------------------------------------------- bad input
def test_missing_item_column_named():
    df = wai_frame([WAI_ROW]).drop(columns=["wai_7", "wai_9"])
    with pytest.raises(InputError, match=r"wai_7.*wai_9"):
        score(df, "wai_sr", items="wai_{}")


def test_all_bad_values_reported_at_once_with_row_labels():
    df = wai_frame([WAI_ROW, WAI_ROW, WAI_ROW], index=["s1", "s2", "s3"]).astype(object)
    df.loc["s1", "wai_4"] = 7
    df.loc["s2", "wai_6"] = "often"
    df.loc["s3", "wai_7"] = 2.5
    df.loc["s3", "wai_1"] = 0
    df.loc["s2", "wai_2"] = " 3 "  # numeric text is read
    with pytest.raises(DataValidationError) as err:
        score(df, "wai_sr", items="wai_{}")
    errors = err.value.report.errors
    got = set(map(tuple, errors[["row", "column", "value", "rule"]].values.tolist()))
    assert got == {
        ("index s1", "wai_4", "7", "out_of_range"),
        ("index s2", "wai_6", "often", "non_numeric"),
        ("index s3", "wai_1", "0", "out_of_range"),
        ("index s3", "wai_7", "2.5", "not_whole_number"),
    }
    assert isinstance(err.value, AllianceStatsError)
    assert "1..5" in errors.loc[errors["column"] == "wai_4", "message"].iloc[0]


def test_text_column_of_numbers_is_scored():
    df = wai_frame([WAI_ROW]).astype("str")
    assert score(df, "wai_sr", items="wai_{}")["wai_sr_total"].iloc[0] == 39


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"items": "wai"}, "is not a pattern"),
        ({"items": ["wai_1", "wai_2"]}, "lists 2 columns"),
        ({"items": {1: "wai_1"}}, "no column given"),
        ({"items": {**{i: f"wai_{i}" for i in range(1, 13)}, 13: "x"}}, "unknown item"),
        ({"items": "wai_{}", "max_missing": 1.5}, "max_missing"),
        ({"items": "wai_{}", "max_missing": True}, "max_missing"),
        ({"items": "wai_{}", "alert_cutoff": 3}, "does not take option"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InputError, match=match):
        score(wai_frame([WAI_ROW]), "wai_sr", **kwargs)


def test_unknown_instrument_and_non_frame():
    with pytest.raises(InputError, match="unknown instrument 'wai_xx'"):
        score(wai_frame([WAI_ROW]), "wai_xx")
    with pytest.raises(InputError, match="DataFrame"):
        score([1, 2], "wai_sr")


def test_rescoring_replaces_score_columns():
    once = score(wai_frame([WAI_ROW]), "wai_sr", items="wai_{}")
    twice = score(once, "wai_sr", items="wai_{}")
    assert list(twice.columns) == list(once.columns)


def test_item_columns_pattern():
    assert item_columns(instruments.get("srs"), "s{}_pre") == {
        1: "s1_pre",
        2: "s2_pre",
        3: "s3_pre",
        4: "s4_pre",
    }


# ----------------------------------------------------------------------------- utterances
def utterance_table():
    return pd.DataFrame(
        {
            "client": [101] * 7 + [102] * 3,
            "session": [1] * 7 + [3] * 3,
            "speaker": ["T", "T", "T", "C", "C", "T", "C", "T", "C", "C"],
            "code": ["SR", "CR", "Q", "CT", "ST", "CR", None, "SR", None, "CT"],
        }
    )


def test_session_codes_counts_rates_and_miti_ratios():
    out = session_codes(utterance_table()).set_index(["client", "session"])
    a = out.loc[("101", 1)]
    assert a["n_utterances"] == 7
    assert a["n_utterances_t"] == 4 and a["n_utterances_c"] == 3
    assert a["cr_count"] == 2 and a["sr_count"] == 1 and a["q_count"] == 1
    assert a["cr_per_100"] == pytest.approx(100 * 2 / 4)  # therapist base
    assert a["ct_per_100"] == pytest.approx(100 * 1 / 3)  # client base
    assert a["pct_cr"] == pytest.approx(100 * 2 / 3)
    assert a["r_q"] == pytest.approx(3.0)
    assert a["pct_ct"] == pytest.approx(50.0)
    b = out.loc[("102", 3)]
    assert b["cr_count"] == 0 and b["q_count"] == 0 and b["sr_count"] == 1
    assert b["pct_cr"] == 0.0
    assert math.isnan(b["r_q"])
    assert b["codes_missing_reason"] == "r_q: no questions coded (Q = 0)"
    assert b["pct_ct"] == 100.0


def test_session_codes_merge_into_session_table():
    sessions = pd.DataFrame(
        {"client": ["101", "101", "102"], "session": [1, 2, 3], "therapist": ["t"] * 3}
    )
    merged = sessions.merge(session_codes(utterance_table()), on=["client", "session"], how="left")
    assert merged["n_utterances"].tolist()[0] == 7
    assert math.isnan(merged["n_utterances"].iloc[1])
    assert merged["n_utterances"].iloc[2] == 3


def test_session_codes_without_speaker_and_selected_codes_with_utterance_ids():
    u = pd.DataFrame(
        {
            "client": ["a"] * 4,
            "session": [1] * 4,
            "utt": [1, 1, 2, 3],
            "code": ["SR", "Q", "CR", "GI"],
        }
    )
    out = session_codes(u, utterance="utt", codes=["SR", "CR", "Q", "CT"]).iloc[0]
    assert out["n_utterances"] == 3
    assert out["sr_per_100"] == pytest.approx(100 / 3)
    assert out["ct_count"] == 0
    assert "gi_count" not in out.index
    assert out["r_q"] == 2.0


def test_session_codes_errors():
    with pytest.raises(InputError, match="code"):
        session_codes(utterance_table().drop(columns="code"))
    bad = utterance_table()
    bad.loc[0, "session"] = 0
    with pytest.raises(InputError, match="whole session number"):
        session_codes(bad)
