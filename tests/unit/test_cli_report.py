"""`alliance-stats report|score|fit`: exit 0 on good input, 2 with one message on bad input,
no half-written output, byte-identical tables on re-runs."""

import json
import os
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import alliance_stats as als
from alliance_stats.cli import main
from alliance_stats.report import build_report

CONFIG = """
[study]
title = "Small study"
seed = 5
date = "2024-01-31"
[data]
path = "{data}"
[[instruments]]
name = "wai_sr"
items = "wai_{{}}"
[analysis]
group = "gender"
predictor = "resistance"
covariates = ["resistance"]
[strategies]
columns = ["validation", "offering_choices"]
sensitivity = false
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    sim = als.simulate_study(n_therapists=8, clients_per_therapist=6, max_sessions=10, seed=3)
    sim.sessions.to_csv(folder / "small.csv", index=False)
    (folder / "study.toml").write_text(CONFIG.format(data="small.csv"))
    return folder


@pytest.fixture(scope="module")
def good_run(study):
    out = study / "out"
    result = run("report", "--config", study / "study.toml", "--out", out)
    return result, out


def _assert_clean(folder, out_name="rep"):
    assert not (folder / out_name).exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(f".{out_name}")]


def test_report_good_input(good_run):
    result, out = good_run
    assert result.exit_code == 0, result.output
    assert "Report written to" in result.output
    for name in ("report.html", "report.pdf", "provenance.json", "tables/descriptives.csv",
                 "tables/strategies.tex", "tables/alliance_model.md"):  # fmt: skip
        assert (out / name).is_file(), name
    assert "strategy effects" in result.output  # progress lines (stderr is mixed in)


def test_rerun_gives_byte_identical_tables_and_pdf_fallback_works(good_run, study, monkeypatch):
    _, first = good_run
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as on a machine without weasyprint
    lines = []
    rp = build_report(config=study / "study.toml", out=study / "again", progress=lines.append)
    assert rp.pdf_engine == "matplotlib"
    assert rp.pdf.read_bytes().startswith(b"%PDF")
    assert any("pip install" in x and "pango" in x for x in lines)  # the printed note
    names = sorted(p.name for p in (first / "tables").iterdir())
    assert names == sorted(p.name for p in (rp.out / "tables").iterdir()) and len(names) >= 36
    for name in names:
        assert (first / "tables" / name).read_bytes() == (rp.out / "tables" / name).read_bytes()
    html1 = (first / "report.html").read_text()
    assert html1 == rp.html.read_text()  # same numbers, same figures, same date


def test_rerun_replaces_an_earlier_report_folder(good_run, study):
    _, out = good_run
    result = run("report", "--config", study / "study.toml", "--out", out, "--no-pdf", "-q")
    assert result.exit_code == 0, result.output
    assert not (out / "report.pdf").exists() and (out / "report.html").is_file()


def _bad_values(study):
    df = pd.read_csv(study / "small.csv")
    df.loc[3, "wai_2"] = 9
    df.to_csv(study / "badvals.csv", index=False)
    return CONFIG.format(data="badvals.csv")


def _empty(study):
    pd.read_csv(study / "small.csv").iloc[:0].to_csv(study / "empty.csv", index=False)
    return CONFIG.format(data="empty.csv")


BAD = {
    "missing data file": (lambda s: CONFIG.format(data="nothere.csv"), "does not exist"),
    "bad TOML": (lambda s: "[study\ntitle = 1\n", "not valid TOML"),
    "unknown column in mapping": (
        lambda s: CONFIG.format(data="small.csv") + '[data.columns]\nClientNo = "client"\n',
        "ClientNo",
    ),
    "unknown strategy column": (
        lambda s: CONFIG.format(data="small.csv").replace('"validation",', '"validashun",'),
        "validashun",
    ),
    "invalid instrument values": (_bad_values, "must be in 1..5"),
    "empty data": (_empty, "no data rows"),
    "unknown key": (
        lambda s: CONFIG.format(data="small.csv") + "[privacy]\nmin_cel = 3\n",
        "min_cel",
    ),  # fmt: skip
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_report_bad_input_exits_2_with_one_message(kind, study):
    make, needle = BAD[kind]
    cfg = study / f"bad_{kind.replace(' ', '_')}.toml"
    cfg.write_text(make(study))
    result = run("report", "--config", cfg, "--out", study / "rep", "-q")
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    _assert_clean(study)


def test_report_missing_config_file(study):
    result = run("report", "--config", study / "none.toml", "--out", study / "rep")
    assert result.exit_code == 2 and "does not exist" in result.output
    _assert_clean(study)


def test_report_unwritable_output_folder(study):
    blocker = study / "blocker"
    blocker.write_text("a file, not a folder")
    result = run("report", "--config", study / "study.toml", "--out", blocker / "rep", "-q")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert "Traceback" not in result.output
    result = run("report", "--config", study / "study.toml", "--out", study / "no" / "rep", "-q")
    assert result.exit_code == 2 and "does not exist" in result.output
    existing = study / "mine"
    existing.mkdir()
    (existing / "thesis.docx").write_text("precious")
    result = run("report", "--config", study / "study.toml", "--out", existing, "-q")
    assert result.exit_code == 2 and "not a report folder alliance_stats wrote" in result.output
    assert (existing / "thesis.docx").read_text() == "precious"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_report_read_only_output_folder(study):
    ro = study / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        result = run("report", "--config", study / "study.toml", "--out", ro / "rep", "-q")
        assert result.exit_code == 2 and "not writable" in result.output
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_report_needs_config_or_example():
    result = run("report")
    assert result.exit_code == 2 and "--example" in result.output


def test_report_help_has_examples():
    result = run("report", "--help")
    assert result.exit_code == 0 and "alliance-stats report --example" in result.output


def test_score_command(study, tmp_path):
    out = tmp_path / "scored.csv"
    result = run("score", study / "small.csv", "--instrument", "wai_sr", "--items", "wai_{}",
                 "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wai_sr_total" in pd.read_csv(out).columns
    bad = run("score", study / "small.csv", "--instrument", "nope", "--out", out)
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_fit_command(study, tmp_path):
    pytest.importorskip("alliance_stats.models")
    out = tmp_path / "coefs.csv"
    result = run("fit", "wai_sr_total ~ session + (1 | therapist) + (1 | client)",
                 study / "small.csv", "--score", "wai_sr=wai_{}", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Linear mixed model (REML)" in result.output
    assert list(pd.read_csv(out)["term"]) == ["(Intercept)", "session"]
    bad = run("fit", "nope ~ session + (1 | client)", study / "small.csv")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_fit_help_examples_converge_and_write_their_status(tmp_path):
    """The binomial example of `fit --help`, run as printed: converged, status in the CSV."""
    help_text = run("fit", "--help").output
    assert "dropout_event ~ period + wai_sr_total_within + wai_sr_total_between" in help_text
    out = tmp_path / "coefs.csv"
    formula = "dropout_event ~ period + wai_sr_total_within + wai_sr_total_between + (1|therapist)"
    result = run(
        "fit", formula, "--example", "--score", "wai_sr=wai_{}", "--person-period",
        "--decompose-running", "wai_sr_total", "--family", "binomial", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    coefs = pd.read_csv(out)
    assert coefs["converged"].all() and not coefs["singular"].any()
    assert "WARNING" not in result.output


def test_fit_flags_a_singular_fit_next_to_the_coefficients(study, tmp_path):
    out = tmp_path / "coefs.csv"
    # one event per client: a client intercept beside the therapist one is not identified
    result = run(
        "fit", "dropout_event ~ period + (1 | client) + (1 | therapist)", study / "small.csv",
        "--person-period", "--family", "binomial", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    coefs = pd.read_csv(out)
    flagged = (~coefs["converged"]) | coefs["singular"]
    assert flagged.all()
    assert "WARNING: the fit" in result.output


def test_report_summary_box_names_a_deviation(study, tmp_path):
    """A planned model that ends singular is a deviation: in the summary box and in Methods."""
    from alliance_stats.config import load_config
    from alliance_stats.report.builder import plan_status

    cfg = load_config(study / "study.toml")
    cfg = cfg.replace(plan={"frailty_sensitivity": True}, output={"formats": ("html",)})
    rp = build_report(config=cfg, out=tmp_path / "rep")
    frailty = rp.models["dropout_frailty"]
    # one dropout per client: the frailty SD runs to the cap and the fit does not converge
    assert not frailty.converged
    html = rp.html.read_text()
    box = html[html.index('class="plan-status"') :].split("</p>")[0]
    assert "1 deviation(s) from the analysis plan (4 planned models)" in box
    assert "client frailty: the fit did not converge" in box
    assert "Deviations from the plan: none" not in rp.methods
    assert "Deviations from the plan: Sensitivity: the dropout hazard" in rp.methods
    assert plan_status([object()], []).startswith("All 1 planned models")


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "{data}", "--problems", "{data}"),
        ("score", "{data}", "--instrument", "wai_sr", "--items", "wai_{{}}", "--out", "{data}"),
        ("fit", "wai_sr_total ~ session + (1 | client)", "{data}", "--score", "wai_sr=wai_{{}}",
         "--out", "{data}"),
    ],
)  # fmt: skip
def test_an_output_option_never_overwrites_the_input(study, tmp_path, args):
    data = tmp_path / "s.csv"
    data.write_bytes((study / "small.csv").read_bytes())
    before = data.read_bytes()
    result = run(*(a.format(data=data) for a in args))
    assert result.exit_code == 2, result.output
    assert "is an input file of this command" in result.output
    assert "Traceback" not in result.output
    assert data.read_bytes() == before


def test_report_refuses_a_folder_that_holds_its_data_or_config(study, tmp_path):
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "small.csv").write_bytes((study / "small.csv").read_bytes())
    (folder / "study.toml").write_text((study / "study.toml").read_text())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run("report", "--config", folder / "study.toml", "--out", folder)
    assert result.exit_code == 2, result.output
    assert "holds an input of this command" in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_report_rerun_keeps_files_a_user_added(good_run, study):
    _, out = good_run
    note = out / "my_notes.txt"
    note.write_text("do not delete")
    try:
        result = run("report", "--config", study / "study.toml", "--out", out)
        assert result.exit_code == 2, result.output
        assert "holds 1 file(s) alliance_stats did not write (my_notes.txt)" in result.output
        assert note.read_text() == "do not delete" and (out / "report.html").is_file()
    finally:
        note.unlink()
    listed = json.loads((out / ".alliance_stats_report.json").read_text())["files"]
    assert "report.html" in listed and "tables/descriptives.csv" in listed


def test_report_refuses_a_non_empty_folder_it_did_not_write(study, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "provenance.json").write_text("{}")  # looks like a report, but no manifest
    result = run("report", "--config", study / "study.toml", "--out", folder)
    assert result.exit_code == 2 and "not a report folder alliance_stats wrote" in result.output
    assert (folder / "provenance.json").read_text() == "{}"


def test_simulate_and_power_outputs_do_not_overwrite_other_files(tmp_path):
    same = tmp_path / "s.csv"
    result = run("simulate", "--out", same, "--truth", same)
    assert result.exit_code == 2 and "give the truth its own file" in result.output
    design = tmp_path / "power.csv"  # a design file named like an output
    design.write_text("[design]\nn_therapists = 4\n")
    result = run("power", "--design", design, "--out", tmp_path, "--n-sims", "2", "-q")
    assert result.exit_code == 2 and "is an input file of this command" in result.output
    assert design.read_text() == "[design]\nn_therapists = 4\n"


def test_power_rerun_replaces_its_own_files_but_never_a_users(tmp_path):
    design = tmp_path / "design.toml"
    design.write_text("[design]\nn_therapists = 4\nclients_per_therapist = 3\n")
    out = tmp_path / "power"
    args = ("power", "--design", design, "--out", out, "--n-sims", "2", "-q")
    assert run(*args).exit_code == 0
    assert run(*args).exit_code == 0, "a re-run replaces the files it wrote"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "replicates.csv").write_text("my own table")
    result = run("power", "--design", design, "--out", theirs, "--n-sims", "2", "-q")
    assert result.exit_code == 2 and "holds replicates.csv, which alliance_stats did not" in (
        result.output
    )
    assert (theirs / "replicates.csv").read_text() == "my own table"
