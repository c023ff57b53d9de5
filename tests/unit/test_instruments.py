"""Instrument definitions, registry and the TOML loader (including every malformed case)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from alliance_stats import instruments
from alliance_stats.errors import AllianceStatsError, InputError
from alliance_stats.instruments import Instrument, InstrumentDefinitionError
from alliance_stats.scoring import score

BUILT_IN = ["wai_sr", "wai_sr_t", "wai_s", "wai", "srs", "haq_ii", "miti", "observer_resistance"]


def test_available_lists_every_built_in():
    table = instruments.available()
    assert table["name"].tolist()[: len(BUILT_IN)] == BUILT_IN
    for column in ("label", "n_items", "response_range", "rule", "reverse", "scores", "citation"):
        assert column in table
    assert table["citation"].str.len().gt(10).all()


def test_built_in_facts():
    wai_sr = instruments.get("wai_sr")
    assert wai_sr.items == tuple(range(1, 13))
    assert (wai_sr.response_min, wai_sr.response_max, wai_sr.reverse) == (1, 5, ())
    assert wai_sr.subscales == {"task": (1, 2, 10, 12), "bond": (3, 5, 7, 9), "goal": (4, 6, 8, 11)}
    assert wai_sr.score_range("bond") == (4.0, 20.0) and wai_sr.score_range() == (12.0, 60.0)
    srs = instruments.get("srs")
    assert (srs.alert_cutoff, srs.alert_side, srs.score_range()) == (36.0, "below", (0.0, 40.0))
    haq = instruments.get("haq_ii")
    assert len(haq.items) == 19 and haq.reverse == (4, 8, 11, 16, 19)
    assert (haq.response_min, haq.response_max) == (1, 6)
    assert instruments.get("wai_s").response_max == 7 and len(instruments.get("wai").items) == 36
    assert instruments.get("miti").score_columns == (
        "miti_relational",
        "miti_technical",
        "miti_pct_cr",
        "miti_r_q",
    )


def test_definitions_record_no_item_wording():
    for name in BUILT_IN:
        inst = instruments.get(name)
        assert all(isinstance(i, (int, str)) and len(str(i)) <= 12 for i in inst.items)


def test_get_with_options_and_errors():
    assert instruments.get("haq_ii", reverse=(4, 8)).reverse == (4, 8)
    assert instruments.get("srs", alert_side="at_or_below").alert_side == "at_or_below"
    with pytest.raises(InputError, match="unknown instrument 'nope'"):
        instruments.get("nope")
    with pytest.raises(InputError, match="does not take option"):
        instruments.get("wai_sr", cutoff=3)
    with pytest.raises(InstrumentDefinitionError, match="alert_side"):
        instruments.get("srs", alert_side="above")
    with pytest.raises(InstrumentDefinitionError, match="reverse key"):
        instruments.get("haq_ii", reverse=(20,))


def test_register_and_unregister():
    inst = Instrument("my_scale", items=(1, 2, 3), response_min=0, response_max=4)
    try:
        instruments.register(inst)
        assert instruments.get("my_scale") is inst
        assert "my_scale" in instruments.available()["name"].tolist()
        with pytest.raises(InputError, match="already registered"):
            instruments.register(inst)
        df = pd.DataFrame({"my_scale_1": [1.0], "my_scale_2": [2.0], "my_scale_3": [3.0]})
        assert score(df, "my_scale")["my_scale_total"].iloc[0] == 6
    finally:
        instruments.unregister("my_scale")
    with pytest.raises(InputError, match="built-in"):
        instruments.register(inst.with_options(name="srs"))


# ------------------------------------------------------------------------- malformed (Python)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"items": ()}, "items is empty"),
        ({"items": (1, 1, 2)}, "more than once"),
        ({"response_min": 5, "response_max": 1}, "bad response range"),
        ({"response_min": "1"}, "response_min must be a number"),
        ({"reverse": (9,)}, r"reverse key\(s\) \['9'\] are not among the items"),
        ({"subscales": {"a": (1, 7)}}, r"subscale 'a' lists unknown item\(s\) \['7'\]"),
        ({"subscales": {"a": ()}}, "has no items"),
        ({"subscales": {"Task A": (1,)}}, "snake_case"),
        ({"subscales": {"total": (1,)}}, "reserved"),
        ({"rule": "median"}, "rule 'median'"),
        ({"max_missing": 2}, "max_missing"),
        ({"name": "My Scale"}, "snake_case"),
        ({"total": False}, "nothing would be scored"),
        ({"items": "1234"}, "list of item ids"),
        ({"items": (1.5, 2)}, "item id 1.5"),
        ({"default_pattern": "x_"}, "must contain"),
    ],
)
def test_malformed_python_definitions(kwargs, match):
    base = {"name": "mini", "items": (1, 2, 3, 4), "response_min": 1, "response_max": 5}
    with pytest.raises(InstrumentDefinitionError, match=match) as err:
        Instrument(**(base | kwargs))
    assert isinstance(err.value, AllianceStatsError)


# ------------------------------------------------------------------------- TOML
GOOD_TOML = """
name = "mini_alliance"
label = "Mini alliance scale"
items = [1, 2, 3, 4, 5, 6]
response_min = 1
response_max = 5
reverse = [3, 6]
rule = "sum"
max_missing = 0.34
citation = "Invented for the tests"

[subscales]
task = [1, 2, 3]
bond = [4, 5, 6]
"""

PYTHON_TWIN = Instrument(
    name="mini_alliance",
    label="Mini alliance scale",
    items=(1, 2, 3, 4, 5, 6),
    response_min=1,
    response_max=5,
    reverse=(3, 6),
    subscales={"task": (1, 2, 3), "bond": (4, 5, 6)},
    rule="sum",
    max_missing=0.34,
    citation="Invented for the tests",
)


def write(tmp_path, text, name="scale.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_toml_instrument_scores_identically_to_python(tmp_path):
    loaded = instruments.load(write(tmp_path, GOOD_TOML))
    assert loaded == PYTHON_TWIN
    rng = np.random.default_rng(7)
    data = rng.integers(1, 6, size=(50, 6)).astype(float)
    data[rng.random(data.shape) < 0.15] = np.nan
    df = pd.DataFrame(data, columns=[f"m{i}" for i in range(1, 7)])
    a = score(df, loaded, items="m{}")
    b = score(df, PYTHON_TWIN, items="m{}")
    pd.testing.assert_frame_equal(a, b)
    assert a["mini_alliance_missing_reason"].notna().any()  # some beyond the limit
    # hand check one complete row: items 3 and 6 reversed (6 - x)
    row = pd.DataFrame([[5, 4, 2, 3, 3, 1]], columns=df.columns, dtype=float)
    out = score(row, loaded, items="m{}").iloc[0]
    assert (out["mini_alliance_task"], out["mini_alliance_bond"]) == (5 + 4 + 4, 3 + 3 + 5)
    assert out["mini_alliance_total"] == 24


def test_toml_items_as_count(tmp_path):
    text = 'name = "c"\nitems = 3\nresponse_min = 0\nresponse_max = 2\n'
    assert instruments.load(write(tmp_path, text)).items == (1, 2, 3)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\nitems = [1, 2\n', "not valid TOML"),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\ncolour = 1\n',
            r"unknown key\(s\) \['colour'\]",
        ),
        ('name = "x"\nresponse_min = 1\nresponse_max = 5\n', r"required key\(s\) \['items'\]"),
        ('name = "x"\nitems = []\nresponse_min = 1\nresponse_max = 5\n', "items is empty"),
        ('name = "x"\nitems = [1, 2]\nresponse_min = 5\nresponse_max = 5\n', "bad response range"),
        ('name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = "5"\n', "wrong type"),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\nreverse = [3]\n',
            r"reverse key\(s\) \['3'\]",
        ),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\n'
            "[subscales]\na = [1, 9]\n",
            r"subscale 'a' lists unknown item\(s\) \['9'\]",
        ),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\n'
            'subscales = { a = "1" }\n',
            "must be a list",
        ),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\ntotal = "yes"\n',
            "wrong type",
        ),
        ('name = "x"\nitems = 0\nresponse_min = 1\nresponse_max = 5\n', "at least 1 item"),
        (
            'name = "x"\nitems = [1, 2]\nresponse_min = 1\nresponse_max = 5\nrule = "max"\n',
            "rule 'max'",
        ),
    ],
)
def test_malformed_toml(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(InstrumentDefinitionError, match=match) as err:
        instruments.load(path)
    assert isinstance(err.value, AllianceStatsError)
    if "valid TOML" not in match:
        assert str(path) in str(err.value)


def test_toml_unreadable_file(tmp_path):
    with pytest.raises(InstrumentDefinitionError, match="cannot read"):
        instruments.load(tmp_path / "absent.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name = "é"'.encode("latin-1"))
    with pytest.raises(InstrumentDefinitionError, match="UTF-8"):
        instruments.load(bad)
