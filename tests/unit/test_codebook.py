"""The strategy codebook: the shipped default, labels, extending, and the TOML loader."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.codebook import COLUMNS, RESISTANCE_TYPES, StrategyCodebook, load_codebook
from alliance_stats.errors import InputError
from alliance_stats.simulate import STRATEGIES

DEFAULT_CODES = (
    "validation",
    "open_questions",
    "reflections",
    "offering_choices",
    "explaining_rationale",
    "slowed_pacing",
    "feedback_checkin",
    "co_created_goals",
    "transparent_contract",
    "normalising_pauses",
    "naming_nonverbal_cues",
    "self_disclosure",
    "cultural_exploration",
    "small_tasks",
    "person_not_behaviour",
    "predictable_structure",
    "reviewing_coping",
)

ENTRY = """
[[strategy]]
code = "humour"
label = "Humour"
definition = "Uses light, kind humour to ease tension."
resistance_type = "stigma"
"""


def to_toml(table):
    """The codebook table as TOML text (JSON strings are valid TOML basic strings)."""
    entries = (
        "[[strategy]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in zip(COLUMNS, row))
        for row in table.itertuples(index=False)
    )
    return "\n".join(entries)


def write(tmp_path, text, name="codebook.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_default_has_the_17_codes_in_order():
    codebook = als.default_codebook()
    assert codebook.codes == DEFAULT_CODES
    assert len(codebook) == 17 and codebook.table["code"].is_unique
    assert codebook.source == "default"


def test_default_table_layout_and_content():
    table = als.default_codebook().table
    assert tuple(table.columns) == COLUMNS
    assert all(pd.api.types.is_string_dtype(table[c]) for c in COLUMNS)
    lengths = table["definition"].str.strip().str.len()
    assert lengths.gt(0).all() and lengths.lt(200).all()
    assert not table["definition"].str.contains("\n").any()
    assert table["resistance_type"].isin(RESISTANCE_TYPES).all()
    assert table["label"].str.len().gt(0).all()


def test_default_resistance_types_of_the_examples():
    row = als.default_codebook().table.set_index("code")["resistance_type"]
    assert row["slowed_pacing"] == "fear"
    assert row["offering_choices"] == "ambivalence"
    assert row["cultural_exploration"] == "stigma"
    assert row["feedback_checkin"] == "any"


def test_simulator_strategies_are_all_in_the_default():
    codebook = als.default_codebook()
    assert all(code in codebook for code in STRATEGIES)
    assert codebook.codes[: len(STRATEGIES)] == STRATEGIES


def test_default_is_cached_and_to_frame_is_a_copy():
    codebook = als.default_codebook()
    assert als.default_codebook() is codebook
    frame = codebook.to_frame()
    frame.loc[0, "label"] = "changed"
    assert codebook.label("validation") == "Validation"


def test_labels_known_and_unknown():
    codebook = als.default_codebook()
    assert codebook.label("slowed_pacing") == "Stepped pacing"
    assert codebook.label("reflections") == "Reflections and summaries"
    assert codebook.label("breathing_exercise") == "Breathing exercise"
    assert codebook.labels(["feedback_checkin", "my_code"]) == {
        "feedback_checkin": "Feedback check-ins",
        "my_code": "My code",
    }
    assert "breathing_exercise" not in codebook


def test_repr_summary_and_html():
    codebook = als.default_codebook()
    assert repr(codebook) == "<StrategyCodebook: 17 strategies from default>"
    assert str(codebook) == codebook.summary()
    lines = codebook.summary().splitlines()
    assert len(lines) == 1 + 1 + 17 and lines[1].split() == list(COLUMNS)
    html = codebook._repr_html_()
    assert html.count("<tr>") == 18 and "client&#x27;s" in html


def test_html_escapes_text():
    codebook = als.default_codebook().extend(
        [{"code": "x", "label": "<b>", "definition": "a & b", "resistance_type": "any"}]
    )
    html = codebook._repr_html_()
    assert "&lt;b&gt;" in html and "a &amp; b" in html and "<b>" not in html


def test_extend_adds_and_replaces():
    base = als.default_codebook()
    extra = [
        {"code": "validation", "label": "Validating", "definition": "N.", "resistance_type": "any"},
        {"code": "humour", "label": "Humour", "definition": "Jokes.", "resistance_type": "stigma"},
    ]
    extended = base.extend(extra)
    assert extended.codes == (*DEFAULT_CODES, "humour")
    assert extended.label("validation") == "Validating"
    assert extended.table.set_index("code").loc["validation", "resistance_type"] == "any"
    assert extended.source == "default + entries"
    assert base.label("validation") == "Validation" and len(base) == 17


def test_extend_with_a_path_and_a_codebook(tmp_path):
    path = write(tmp_path, ENTRY)
    from_path = als.default_codebook().extend(path)
    assert from_path.codes[-1] == "humour" and from_path.source == f"default + {path}"
    from_codebook = als.default_codebook().extend(load_codebook(path))
    pd.testing.assert_frame_equal(from_codebook.table, from_path.table)
    assert isinstance(from_codebook, StrategyCodebook)


def test_extend_checks_list_entries():
    with pytest.raises(InputError, match=r"extend\(\), entry 1 \(code 'x'\): key 'label'"):
        als.default_codebook().extend([{"code": "x", "definition": "d", "resistance_type": "any"}])


def test_load_round_trip(tmp_path):
    path = write(tmp_path, to_toml(als.default_codebook().table))
    loaded = load_codebook(path)
    pd.testing.assert_frame_equal(loaded.table, als.default_codebook().table)
    assert loaded.source == str(path)
    assert repr(loaded) == f"<StrategyCodebook: 17 strategies from {path}>"


def test_load_does_not_change_the_file(tmp_path):
    path = write(tmp_path, "# my codebook\n" + ENTRY)
    before = path.read_bytes()
    load_codebook(path)
    als.default_codebook().extend(path)
    assert path.read_bytes() == before


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(InputError, match="nope.toml") as err:
        load_codebook(path)
    assert "No such file" in str(err.value) and "check the path" in str(err.value)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(ENTRY.replace("Humour", "Humør").encode("latin-1"))
    with pytest.raises(InputError, match="latin.toml' is not UTF-8"):
        load_codebook(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[strategy]]\ncode = "x\n', ["is not valid TOML", "line 2"]),
        ("# nothing here\n", ["has no [[strategy]] entries", "code, label, definition"]),
        ('[strategies]\ncode = "x"\n', ["unknown top-level key(s) ['strategies']"]),
        ('strategy = ["x"]\n', ["entry 1: expected a table of keys", "[[strategy]] table"]),
        (
            ENTRY.replace('label = "Humour"\n', ""),
            ["entry 1 (code 'humour'): key 'label' is missing", 'add label = "..."'],
        ),
        (
            ENTRY.replace('label = "Humour"', 'label = "  "'),
            ["entry 1 (code 'humour'): key 'label' is empty ('  ')", "fill it in"],
        ),
        (
            ENTRY + 'lable = "Typo"\n',
            ["entry 1 (code 'humour'): unknown key 'lable' (value 'Typo')", "allowed keys"],
        ),
        (
            ENTRY.replace('label = "Humour"', "label = 5"),
            ["key 'label' must be text, got int 5", "double quotes"],
        ),
        (
            ENTRY.replace('code = "humour"', "code = 7"),
            ["entry 1: key 'code' must be text, got int 7"],
        ),
        (
            ENTRY + ENTRY.replace('label = "Humour"', 'label = "Jokes"'),
            ["entry 2 (code 'humour'): code 'humour' duplicates entry 1", "its own code"],
        ),
        (
            ENTRY.replace('code = "humour"', 'code = "Open Questions"'),
            ["code 'Open Questions' is not a valid code", "lower-case letters"],
        ),
        (
            ENTRY.replace('code = "humour"', 'code = "2nd_try"'),
            ["code '2nd_try' is not a valid code", "starting with a letter"],
        ),
        (
            ENTRY.replace('resistance_type = "stigma"', 'resistance_type = "fearful"'),
            ["resistance_type 'fearful' is not allowed", "'fear', 'ambivalence', 'stigma', 'any'"],
        ),
    ],
)
def test_bad_files_raise_input_error_naming_file_and_problem(tmp_path, text, expected):
    path = write(tmp_path, text, name="bad_codebook.toml")
    before = path.read_bytes()
    with pytest.raises(InputError) as err:
        load_codebook(path)
    message = str(err.value)
    assert f"codebook file '{path}'" in message
    for part in expected:
        assert part in message
    assert path.read_bytes() == before
