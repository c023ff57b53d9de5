"""The report's privacy check reads what a reader sees (issue 17): identifiers with HTML
special characters (``O'Brien``, ``Smith & Jones``) are found in the unescaped text, in
every table file and in the figures' text; grouping by the therapist column shows pseudonyms;
a group column that holds identifiers stops the run before anything is written."""

from __future__ import annotations

import html

import pytest

import alliance_stats as als
from alliance_stats.errors import AllianceStatsError
from alliance_stats.report import build_report

HTML_ONLY = {"output": {"formats": ["html"]}}


def clinic_with_names():
    """The bundled (simulated) clinic rows, therapists renamed with HTML special characters."""
    data = als.datasets.load("clinic")
    ids = sorted(data["therapist"].unique())
    names = {t: (f"Dr. O'Brien-{i}" if i % 2 else f"Smith & Jones {i}") for i, t in enumerate(ids)}
    return data.assign(therapist=data["therapist"].map(names)), set(names.values())


def every_output_text(out) -> dict[str, str]:
    text = (".html", ".csv", ".md", ".tex", ".json", ".txt")
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in text]
    return {p.name: html.unescape(p.read_text(encoding="utf-8")) for p in files}


@pytest.mark.slow
def test_grouping_by_therapist_shows_pseudonyms_not_names(tmp_path):
    data, names = clinic_with_names()
    config = {"analysis": {"group": "therapist"}, **HTML_ONLY}
    rp = build_report(data, config, tmp_path / "report")
    texts = every_output_text(rp.out)
    assert "groups.csv" in texts and "report.html" in texts
    leaked = {f for f, text in texts.items() for n in names if n in text}
    assert leaked == set()
    assert "Therapist " in texts["groups.csv"]


@pytest.mark.slow
def test_a_group_column_holding_identifiers_stops_the_run(tmp_path):
    data, names = clinic_with_names()
    # a column of the user's that repeats five of the names (few enough for a legend)
    five = sorted(names)[:5]
    codes = data["therapist"].astype("category").cat.codes
    data["site"] = [five[c % 5] for c in codes]
    out = tmp_path / "report"
    config = {"analysis": {"group": "site"}, **HTML_ONLY}
    with pytest.raises(AllianceStatsError, match="identifiers would appear in") as caught:
        build_report(data, config, out)
    message = str(caught.value)
    assert "the HTML report" in message and "figure fig_trajectories" in message
    assert not any(n in message for n in names)  # the error names outputs, not the ids
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no staging folder left behind


def test_identifiers_are_found_in_unescaped_text_and_figures():
    import matplotlib.pyplot as plt

    from alliance_stats.report.privacy import figure_text, find_identifiers

    ids = ["Dr. O'Brien", "Smith & Jones", "T01"]
    escaped = "<td>Dr. O&#x27;Brien</td><td>Smith &amp; Jones</td>"
    assert find_identifiers(escaped, ids) == ["Dr. O'Brien", "Smith & Jones"]
    fig, ax = plt.subplots()
    ax.set_title("Caseload of T01")
    ax.set_xticks([0, 1], ["Smith & Jones", "other"])
    assert find_identifiers(figure_text(fig), ids) == ["Smith & Jones", "T01"]
    plt.close(fig)


def test_data_errors_of_a_report_name_rows_not_identifiers(tmp_path):
    """A report's data errors end up in job logs: the identifiers are masked, the rows stay."""
    from alliance_stats.errors import DataValidationError

    data = als.datasets.load("clinic")
    first = data["client"].iloc[0]
    data["client"] = data["client"].replace({first: "Jane O'Doe"})
    data.loc[1, "session"] = data.loc[0, "session"]  # a repeated session of that client
    with pytest.raises(DataValidationError) as caught:
        build_report(data, HTML_ONLY, tmp_path / "report")
    message = str(caught.value)
    assert "duplicate_session" in message and "index 1" in message
    assert "O'Doe" not in message and "<client id> has session" in message
    assert "als.validate_sessions" in message
    assert not (tmp_path / "report").exists()
    # the unmasked problems are one call away
    assert "Jane O'Doe" in als.validate_sessions(data).errors["message"].iloc[0]


@pytest.mark.slow
def test_paths_in_the_outputs_are_relative_to_the_study_folder(tmp_path):
    """The configuration's and the data's paths as typed (absolute, under a home folder) do
    not reach the report: the study folder's relative paths do."""
    import json

    study = tmp_path / "home" / "jane" / "study"
    (study / "data").mkdir(parents=True)
    als.datasets.load("clinic").to_csv(study / "data" / "sessions.csv", index=False)
    config = study / "study.toml"
    config.write_text(
        f'[data]\npath = "{(study / "data" / "sessions.csv").as_posix()}"\n'
        '[output]\nformats = ["html"]\n',
        encoding="utf-8",
    )
    rp = build_report(config=str(config), out=tmp_path / "report")
    prov = json.loads((rp.out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["input"] == "data/sessions.csv" and prov["config_source"] == "study.toml"
    assert prov["config"]["data"]["path"] == "data/sessions.csv"
    for text in every_output_text(rp.out).values():
        assert "jane" not in text and str(tmp_path) not in text
