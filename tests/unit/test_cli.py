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
