"""The alliance-stats command: exit 0 on success, 2 on bad input, never a traceback."""

import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from alliance_stats.cli import main

GOOD = "client,therapist,session,attended\na,t,1,yes\na,t,2,no\nb,t,1,yes\nb,t,2,yes\n"
BAD = "client,therapist,session,attended\na,t,1,yes\na,t,1,maybe\n"


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_validate_example_succeeds():
    result = run("validate", "--example")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Validation of 'clinic (bundled example dataset, SIMULATED)'")
    assert "0 errors" in result.output


def test_validate_good_file(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output


def test_validate_bad_data_exits_2_and_writes_all_problems(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    out = tmp_path / "problems.csv"
    result = run("validate", str(path), "--problems", str(out))
    assert result.exit_code == 2
    assert "line 3" in result.output and "[invalid_boolean]" in result.output
    problems = pd.read_csv(out)
    assert set(problems["rule"]) == {"duplicate_session", "invalid_boolean"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["validate", "no_such_file.csv"], "no_such_file.csv"),
        (["validate"], "give a FILE"),
        (["validate", "--example", "x.csv"], "not both"),
        (["validate", "--example", "--map", "nonsense"], "NAME=CANONICAL"),
        (["validate", "--example", "--map", "NotAColumn=client"], "NotAColumn"),
    ],
)
def test_bad_input_exits_2_with_one_message(args, needle):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_problems_file_in_missing_folder_is_a_clear_error(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    result = run("validate", str(path), "--problems", str(tmp_path / "nope" / "p.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_simulate_writes_a_valid_file(tmp_path):
    out = tmp_path / "sim.csv"
    truth = tmp_path / "truth.json"
    result = run(
        "simulate",
        "--therapists",
        "4",
        "--clients-per-therapist",
        "3",
        "--seed",
        "3",
        "--out",
        str(out),
        "--truth",
        str(truth),
    )
    assert result.exit_code == 0, result.output
    assert "SIMULATED" in result.output
    assert run("validate", str(out)).exit_code == 0
    assert truth.read_text().startswith("{")


@pytest.mark.skipif(shutil.which("alliance-stats") is None, reason="console script not installed")
def test_console_script_is_installed():
    done = subprocess.run(["alliance-stats", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "validate" in done.stdout


def test_fit_family_choices_are_the_model_families():
    from alliance_stats.cli import main
    from alliance_stats.models.frame import FAMILIES

    fit = main.commands["fit"]
    family = next(p for p in fit.params if p.name == "family")
    assert tuple(family.type.choices) == FAMILIES


def test_score_list_shows_the_instruments_it_names():
    result = run("score", "--list")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines()]
    assert {"wai_sr", "srs", "haq_ii"} <= set(names)
    assert "--list" in run("score", "--help").output
    missing = run("score", "--example", "--out", "x.csv")
    assert missing.exit_code == 2 and "score --list" in missing.output


def test_fit_without_scores_says_how_to_make_them():
    result = run("fit", "wai_sr_total ~ session + (1 | client)", "--example")
    assert result.exit_code == 2
    assert '--score "wai_sr=wai_{}"' in result.output


def test_simulate_takes_the_apis_option_name(tmp_path):
    out = tmp_path / "s.csv"
    args = ["--clients-per-therapist", "2", "--max-sessions", "4", "--out", str(out)]
    assert run("simulate", "--n-therapists", "3", *args).exit_code == 0
    assert pd.read_csv(out)["therapist"].nunique() == 3
    assert run("simulate", "--therapists", "4", *args).exit_code == 0  # the old name
    assert pd.read_csv(out)["therapist"].nunique() == 4


def test_power_example_design_is_shipped_and_runs(tmp_path):
    import tomllib

    shown = run("power", "--show-example")
    assert shown.exit_code == 0
    design = tomllib.loads(shown.output)
    assert design["design"]["n_therapists"] == 30 and design["effects"][0]["odds_ratio"] == 0.74
    out = tmp_path / "power"
    result = run("power", "--example", "--out", str(out), "--n-sims", "4", "--quiet")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "power.csv")
    assert table["n_sims"].tolist() == [4, 4]  # the effect and the null
    assert run("power", "--out", str(out)).exit_code == 2  # neither --design nor --example


def test_report_example_says_which_configuration_it_runs():
    text = " ".join(run("report", "--help").output.split())
    assert "packaged example configuration" in text and "edit a copy and pass --config" in text
