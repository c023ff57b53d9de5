"""Reliability: hand-computed alpha, keying, options and errors (psych parity is in
tests/reference/test_psych_reliability.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import alliance_stats as als
from alliance_stats.errors import InputError
from alliance_stats.instruments import Instrument
from alliance_stats.scoring.psychometrics import (
    item_statistics,
    multilevel_reliability,
    omega_total,
    reliability,
)

THREE = Instrument("three", items=(1, 2, 3), response_min=1, response_max=5)
DATA = pd.DataFrame(
    {"three_1": [1, 2, 3, 4, 5], "three_2": [2, 2, 3, 5, 5], "three_3": [1, 3, 3, 4, 4]},
    dtype=float,
)


def hand_alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    return k / (k - 1) * (1 - item_var / total_var)


def test_alpha_hand_computed_with_feldt_interval():
    row = reliability(DATA, THREE).iloc[0]
    assert row["scale"] == "three_total" and row["n_items"] == 3 and row["n_obs"] == 5
    a = hand_alpha(DATA.to_numpy())
    assert row["alpha"] == pytest.approx(a, abs=1e-12)
    f_hi = stats.f.ppf(0.975, 4, 8)
    f_lo = stats.f.ppf(0.025, 4, 8)
    assert row["alpha_conf_low"] == pytest.approx(1 - (1 - a) * f_hi)
    assert row["alpha_conf_high"] == pytest.approx(1 - (1 - a) * f_lo)
    assert row["ci_method"] == "feldt"
    assert "minres" in row["omega_method"]


def test_duhachek_interval():
    row = reliability(DATA, THREE, ci_method="duhachek", conf_level=0.9).iloc[0]
    z = stats.norm.ppf(0.95)
    assert row["alpha_conf_low"] == pytest.approx(row["alpha"] - z * row["alpha_se"])
    assert row["alpha_conf_high"] == pytest.approx(row["alpha"] + z * row["alpha_se"])


def test_reverse_keyed_item_handled():
    keyed = Instrument("three", items=(1, 2, 3), response_min=1, response_max=5, reverse=(2,))
    flipped = DATA.assign(three_2=6 - DATA["three_2"])
    a = reliability(flipped, keyed).iloc[0]
    b = reliability(DATA, THREE).iloc[0]
    assert a["alpha"] == pytest.approx(b["alpha"])
    assert a["omega_total"] == pytest.approx(b["omega_total"])
    unkeyed = reliability(flipped, THREE).iloc[0]
    assert unkeyed["alpha"] < 0


def test_scales_and_subscales_of_wai_sr():
    rng = np.random.default_rng(11)
    true = rng.normal(size=(300, 1))
    raw = np.clip(np.rint(3 + true + rng.normal(scale=0.8, size=(300, 12))), 1, 5)
    df = pd.DataFrame(raw, columns=[f"wai_{i}" for i in range(1, 13)])
    rel = reliability(df, "wai_sr", items="wai_{}")
    assert rel["scale"].tolist() == ["wai_sr_total", "wai_sr_task", "wai_sr_bond", "wai_sr_goal"]
    assert rel["n_items"].tolist() == [12, 4, 4, 4]
    task = df[[f"wai_{i}" for i in (1, 2, 10, 12)]].to_numpy()
    assert rel.loc[1, "alpha"] == pytest.approx(hand_alpha(task))
    assert (rel["omega_total"] >= rel["alpha"] - 0.02).all()
    only = reliability(
        df[["wai_3", "wai_5", "wai_7", "wai_9"]], "wai_sr", items="wai_{}", scales=["bond"]
    )
    assert only["scale"].tolist() == ["wai_sr_bond"]
    assert only.loc[0, "alpha"] == pytest.approx(rel.loc[2, "alpha"])


def test_pairwise_versus_complete_and_empty_rows():
    df = DATA.copy()
    df.loc[5] = [np.nan, np.nan, np.nan]  # an empty row does not count
    df.loc[6] = [2, np.nan, 3]
    pair = reliability(df, THREE).iloc[0]
    comp = reliability(df, THREE, use="complete").iloc[0]
    assert pair["n_obs"] == 6 and comp["n_obs"] == 5
    assert comp["alpha"] == pytest.approx(hand_alpha(DATA.to_numpy()))


def test_item_statistics_hand_computed():
    st = item_statistics(DATA, THREE)
    assert st["item"].tolist() == [1, 2, 3]
    x = DATA.to_numpy()
    rest = x[:, 1:].sum(axis=1)
    assert st.loc[0, "r_drop"] == pytest.approx(np.corrcoef(x[:, 0], rest)[0, 1])
    assert st.loc[0, "alpha_if_deleted"] == pytest.approx(hand_alpha(x[:, 1:]))
    assert st.loc[0, "mean"] == 3 and st.loc[0, "column"] == "three_1"


def test_omega_below_three_items_is_nan_and_two_item_alpha_if_deleted():
    two = Instrument("two", items=(1, 2), response_min=1, response_max=5)
    df = DATA[["three_1", "three_2"]].set_axis(["two_1", "two_2"], axis=1)
    assert math.isnan(reliability(df, two).loc[0, "omega_total"])
    assert item_statistics(df, two)["alpha_if_deleted"].isna().all()
    assert math.isnan(omega_total(df.iloc[:, :2]))


def test_errors():
    with pytest.raises(InputError, match="formulas"):
        reliability(DATA, "miti")
    with pytest.raises(InputError, match="ci_method"):
        reliability(DATA, THREE, ci_method="bootstrap")
    with pytest.raises(InputError, match="confidence level"):
        reliability(DATA, THREE, conf_level=95)
    with pytest.raises(InputError, match="use"):
        reliability(DATA, THREE, use="all")
    with pytest.raises(InputError, match="not scales"):
        reliability(DATA, THREE, scales=["task"])
    with pytest.raises(InputError, match="three_3"):
        reliability(DATA.drop(columns="three_3"), THREE)


def test_package_exports_the_function():
    import alliance_stats.scoring.psychometrics  # noqa: F401  (the module must not shadow it)

    assert als.reliability(DATA, THREE).equals(reliability(DATA, THREE))
    assert als.scoring.reliability is reliability


def test_old_module_name_still_works_with_a_warning():
    import importlib
    import sys

    sys.modules.pop("alliance_stats.scale_reliability", None)
    with pytest.warns(DeprecationWarning, match="alliance_stats.scoring"):
        old = importlib.import_module("alliance_stats.scale_reliability")
    assert old.reliability is reliability


# ----------------------------------------------------------------------------- multilevel
def long_table(n_clients=12, n_sessions=5, seed=5):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        level = rng.normal()
        for s in range(1, n_sessions + 1):
            occ = rng.normal(scale=0.6)
            rows.append(
                {
                    "client": f"c{c}",
                    "session": s,
                    **{
                        f"three_{i}": float(
                            np.clip(np.rint(3 + level + occ + rng.normal(scale=0.5)), 1, 5)
                        )
                        for i in (1, 2, 3)
                    },
                }
            )
    return pd.DataFrame(rows)


def test_multilevel_components_hand_checked():
    df = long_table()
    ml = multilevel_reliability(df, THREE).iloc[0]
    assert (ml["n_clients"], ml["n_sessions"], ml["n_items"]) == (12, 5, 3)
    assert "Shrout & Lane" in ml["method"]
    # RkF from its definition with the reported components
    k, t = 3, 5
    between = ml["var_client"] + ml["var_client_item"] / k
    assert ml["r_kf"] == pytest.approx(between / (between + ml["var_residual"] / (t * k)))
    assert ml["r_c"] == pytest.approx(
        ml["var_client_session"] / (ml["var_client_session"] + ml["var_residual"] / k)
    )
    # total variance decomposes: sum of squares identity through the components is exact
    # for balanced data, so shuffling rows changes nothing
    shuffled = multilevel_reliability(df.sample(frac=1, random_state=1), THREE).iloc[0]
    assert shuffled["r_kf"] == pytest.approx(ml["r_kf"])


def test_multilevel_needs_balanced_data():
    df = long_table()
    df.loc[3, "three_2"] = np.nan
    with pytest.raises(InputError, match="incomplete"):
        multilevel_reliability(df, THREE)
    ml = multilevel_reliability(df, THREE, drop_incomplete=True).iloc[0]
    assert ml["n_clients"] == 11 and ml["n_clients_dropped"] == 1
    with pytest.raises(InputError, match="more than once"):
        multilevel_reliability(pd.concat([df, df.head(1)]), THREE, drop_incomplete=True)
    with pytest.raises(InputError, match="'visit'"):
        multilevel_reliability(df, THREE, session="visit")


def test_constant_items_warn_instead_of_a_silent_nan():
    import alliance_stats as als

    df = als.datasets.load("teaching")
    df = df[df["attended"]].assign(wai_1=3.0)  # item 1 (task) answered the same by everyone
    with pytest.warns(als.DataWarning) as caught:
        rel = als.reliability(df, "wai_sr", items="wai_{}")
    messages = sorted(str(w.message).split(":")[1].strip() for w in caught)
    assert messages == ["wai_sr_task", "wai_sr_total"]  # the scales holding item 1
    assert "item(s) wai_1 have no variance" in str(caught[0].message)
    assert rel.set_index("scale").loc["wai_sr_bond", "alpha"] > 0  # other scales unaffected
