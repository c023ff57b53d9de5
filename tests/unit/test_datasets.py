"""Tests of alliance_stats.datasets and the bundled files."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from alliance_stats import datasets, schema
from alliance_stats.errors import InputError

NAMES = ["clinic", "teaching"]


def test_available_lists_both():
    table = datasets.available()
    assert list(table.columns) == ["name", "description", "rows", "clients", "simulated"]
    assert sorted(table["name"]) == NAMES
    assert table["simulated"].all()
    assert (table["rows"] > table["clients"]).all()


@pytest.mark.parametrize("name", NAMES)
def test_load_canonical_and_matches_build(name):
    df = datasets.load(name)
    assert list(df.columns[:5]) == list(schema.FIXED_COLUMNS)
    assert df["client"].dtype == "str" and df["session"].dtype == "int64"
    assert df["date"].dtype == "datetime64[ns]" and df["attended"].dtype == bool
    build = importlib.import_module("alliance_stats.bundled.build")
    rebuilt = build.build(name).sessions
    pd.testing.assert_frame_equal(df, rebuilt)
    row = datasets.available().set_index("name").loc[name]
    assert row["rows"] == len(df) and row["clients"] == df["client"].nunique()


def test_clinic_is_valid_and_imperfect():
    df = datasets.load("clinic")
    assert 300 <= df["client"].nunique() <= 600
    assert df["session"].max() <= 20 + 1  # 20 planned, + a make-up after a missed last one
    assert not df.duplicated(["client", "session"]).any()
    ratings = [c for c in df.columns[5:] if c not in ("age", "gender", "reactance", "outcome")]
    assert df.loc[~df["attended"], ratings].isna().all().all()
    att = df[df["attended"]]
    assert att[[f"wai_{i}" for i in range(1, 13)]].isna().any().any()  # a few blank items
    assert df["outcome"].isna().any()  # some dropouts have no post score


def test_teaching_is_small_and_clean():
    df = datasets.load("teaching")
    assert df["client"].nunique() == 96 and df["session"].max() <= 10 + 1
    att = df[df["attended"]]
    assert att.drop(columns=["date"]).notna().all().all()


@pytest.mark.parametrize("name", NAMES)
def test_truth_keys(name):
    t = datasets.truth(name)
    for key in (
        "parameters",
        "strategy_dropout_log_or",
        "within_alliance_log_or",
        "between_alliance_log_or",
        "dropout_intercept",
        "realised",
        "ruptures",
    ):
        assert key in t, key
    assert t["simulated"] is True
    assert isinstance(t["ruptures"], pd.DataFrame) and len(t["ruptures"]) > 0
    assert 0 < t["realised"]["dropout_share"] < 1


def test_teaching_truth_has_strong_effects():
    t = datasets.truth("teaching")
    assert t["strategy_dropout_log_or"]["validation"] == -1.2
    assert t["within_alliance_log_or"] < 0 < t["between_alliance_log_or"]


@pytest.mark.parametrize("name", NAMES)
def test_describe_mentions_simulated_and_every_column(name):
    text = datasets.describe(name)
    assert text.splitlines()[0].startswith("SIMULATED")
    assert "no real client" in text.splitlines()[0]
    for col in datasets.load(name).columns:
        assert f"`{col}`" in text, col


@pytest.mark.parametrize("func", [datasets.load, datasets.truth, datasets.describe])
def test_unknown_name(func):
    with pytest.raises(InputError, match="clinic, teaching"):
        func("nonexistent")


def test_bundled_files_live_inside_the_package_folder():
    """The data sit in ``alliance_stats/bundled/`` itself, so a checkout imported from its own
    root (where the README sends users) finds them as an installed wheel does."""
    import pathlib
    from importlib import resources

    package = pathlib.Path(datasets.__file__).resolve().parent
    bundled = pathlib.Path(str(resources.files("alliance_stats.bundled"))).resolve()
    assert bundled == package / "bundled"
    assert (bundled / "clinic.csv.gz").is_file()


def test_bundled_data_load_from_the_repository_root():
    """Started in the checkout (where the README sends users), ``import alliance_stats`` finds
    the checkout's package, whose bundled files must be there as in an install."""
    root = Path(__file__).resolve().parents[2]
    code = (
        "import alliance_stats as als; d = als.datasets.load('clinic'); "
        "print(als.__file__); print(len(d))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    where, rows = run.stdout.split()
    assert Path(where).resolve().is_relative_to(root / "alliance_stats")
    assert int(rows) == len(datasets.load("clinic"))
