"""alliance_stats.scoring.psychometrics against R psych 2.2.9 (R/psych_reliability.R).

The suite never needs R: the script's outputs are committed in tests/reference/fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alliance_stats.instruments import Instrument
from alliance_stats.scoring.psychometrics import (
    item_statistics,
    multilevel_reliability,
    reliability,
)

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "psych_reliability.json").read_text(encoding="utf-8"))
TOL = REFERENCE["meta"]["tolerance"]
SCALES = [k for k in REFERENCE["alpha"] if k != "total"]


@pytest.fixture(scope="module")
def bfi():
    items = pd.read_csv(FIXTURES / "bfi_items.csv")
    ref = REFERENCE["alpha"]
    inst = Instrument(
        "bfi",
        items=tuple(ref["total"]["items"]),
        response_min=1,
        response_max=6,
        reverse=tuple(ref["total"]["reversed"]),
        subscales={k: tuple(ref[k]["items"]) for k in SCALES},
    )
    rel = reliability(items, inst, items="{}").set_index("scale")
    stats = item_statistics(items, inst, items="{}")
    return rel, stats


def test_fixture_meta_records_versions_and_tolerances():
    meta = REFERENCE["meta"]
    assert meta["psych_version"] and meta["r_version"].startswith("R version")
    assert TOL["alpha"] == 1e-6 and TOL["omega"] == 1e-3 and TOL["multilevel"] == 1e-4


@pytest.mark.parametrize("scale", ["total", *SCALES])
def test_alpha_matches_psych(bfi, scale):
    rel, _ = bfi
    ref = REFERENCE["alpha"][scale]
    row = rel.loc[f"bfi_{scale}"]
    assert ref["n_all_missing"] == 0 and row["n_obs"] == ref["n_rows"]
    assert row["alpha"] == pytest.approx(ref["raw_alpha"], abs=TOL["alpha"])
    assert row["alpha_standardized"] == pytest.approx(ref["std_alpha"], abs=TOL["alpha"])
    assert row["average_r"] == pytest.approx(ref["average_r"], abs=TOL["alpha"])
    assert row["alpha_se"] == pytest.approx(ref["ase"], abs=TOL["alpha"])
    assert row["alpha_conf_low"] == pytest.approx(ref["feldt_lower"], abs=TOL["alpha_ci"])
    assert row["alpha_conf_high"] == pytest.approx(ref["feldt_upper"], abs=TOL["alpha_ci"])


@pytest.mark.parametrize("scale", ["total", *SCALES])
def test_omega_total_matches_psych(bfi, scale):
    rel, _ = bfi
    ref = REFERENCE["alpha"][scale]
    assert rel.loc[f"bfi_{scale}", "omega_total"] == pytest.approx(
        ref["omega_tot"], abs=TOL["omega"]
    )


@pytest.mark.parametrize("scale", ["total", *SCALES])
def test_item_statistics_match_psych(bfi, scale):
    _, stats = bfi
    ref = REFERENCE["alpha"][scale]
    mine = stats[stats["scale"] == f"bfi_{scale}"].set_index("item")
    for item in ref["items"]:
        assert mine.loc[item, "r_drop"] == pytest.approx(ref["r_drop"][item], abs=TOL["item_stats"])
        assert mine.loc[item, "alpha_if_deleted"] == pytest.approx(
            ref["alpha_drop"][item], abs=TOL["item_stats"]
        )
        assert mine.loc[item, "reversed"] == (item in ref["reversed"])


def test_multilevel_reliability_matches_psych_mlr():
    ref = REFERENCE["mlr"]
    data = pd.read_csv(FIXTURES / "mlr_sessions.csv")
    task = Instrument("task", items=(1, 2, 10, 12), response_min=1, response_max=5)
    ml = multilevel_reliability(data, task, items="wai_{}").iloc[0]
    assert (ml["n_clients"], ml["n_sessions"], ml["n_items"]) == (
        ref["n_obs"],
        ref["n_time"],
        ref["n_items"],
    )
    for mine, theirs in (("r_kf", "RkF"), ("r_1r", "R1R"), ("r_kr", "RkR"), ("r_c", "Rc")):
        assert ml[mine] == pytest.approx(ref[theirs], abs=TOL["multilevel"])
    pairs = {
        "var_client": "id",
        "var_session": "time",
        "var_item": "items",
        "var_client_session": "id_x_time",
        "var_client_item": "id_x_items",
        "var_session_item": "time_x_items",
        "var_residual": "residual",
    }
    for mine, theirs in pairs.items():
        assert ml[mine] == pytest.approx(ref["components"][theirs], abs=TOL["multilevel"])
