"""Simulation-based power analysis: statistical checks, reproducibility, resume, errors."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from html_cells import shows_row

import alliance_stats.power as pw
from alliance_stats.errors import InputError
from alliance_stats.power import execution, summary

matplotlib.use("Agg")

# A small multilevel design whose fits take a fraction of a second.
SMALL = pw.Design(n_therapists=10, clients_per_therapist=6, max_sessions=10, dropout_share=0.4)


def _same(a: pw.PowerResult, b: pw.PowerResult) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    assert (a.designs, a.effects, a.notes) == (b.designs, b.effects, b.notes)


# ------------------------------------------------------------------ statistical acceptance


def test_type_i_error_within_monte_carlo_ci_of_nominal_check_model():
    res = pw.power_analysis(pw.Design(n_therapists=30), 1.0, n_sims=2000, model="logistic")
    row = res.table.iloc[0]
    assert row["is_null"]
    assert row["power_conf_low"] <= 0.05 <= row["power_conf_high"]
    assert abs(row["coverage"] - 0.95) < 0.02


@pytest.mark.slow
def test_type_i_error_within_monte_carlo_ci_of_nominal_mixed_model():
    # the real analysis model (logistic mixed model on person-period rows), null run alongside
    res = pw.power_analysis(SMALL, 0.6, n_sims=40, null=True, seed=3)
    null = res.type_i_error.iloc[0]
    assert null["odds_ratio"] == 1.0 and null["n_sims"] == 40
    assert null["power_conf_low"] <= 0.05 <= null["power_conf_high"]
    assert null["failed_share"] < 0.2
    # the alternative row rejects more often than the null on the same replicates
    alt = res.table[~res.table["is_null"]].iloc[0]
    assert alt["power"] >= null["power"]


def test_simulated_power_matches_analytic_power():
    design = pw.Design(n_therapists=40)  # 400 clients: the large-sample formula is accurate
    # 4000 closed-form replicates take well under a second; 99% Monte Carlo band
    res = pw.power_analysis(design, 0.6, n_sims=4000, model="logistic", batch_size=500)
    row = res.table.iloc[0]
    expected = pw.analytic_power(design, pw.Effect(0.6))
    assert row["analytic_power"] == pytest.approx(expected)
    mc_se = math.sqrt(expected * (1 - expected) / row["n_sims"])
    assert abs(row["power"] - expected) < 2.58 * mc_se
    assert abs(row["bias"]) < 0.05 and abs(row["coverage"] - 0.95) < 0.02


def test_returning_scale_is_the_inverse_odds_ratio():
    d = pw.Design(n_therapists=40)
    hazard = pw.power_analysis(d, pw.Effect(0.6), n_sims=200, model="logistic")
    back = pw.power_analysis(d, pw.Effect(1 / 0.6, scale="returning"), n_sims=200,
                             model="logistic")  # fmt: skip
    assert hazard.table["power"].iloc[0] == back.table["power"].iloc[0]
    assert np.allclose(hazard.replicates["estimate"], -back.replicates["estimate"])


# ------------------------------------------------------------------ reproducibility


def test_serial_joblib_and_dask_give_identical_results():
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install "
        "'alliance_stats[distributed]')"
    )  # fmt: skip
    kw = dict(design=SMALL, effects=0.6, n_sims=4, seed=5, batch_size=2)
    serial = pw.power_analysis(**kw)
    assert serial.backend == "serial"
    parallel = pw.power_analysis(**kw, n_jobs=2)
    assert parallel.backend == "joblib"
    _same(serial, parallel)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster) as client:
            on_client = pw.power_analysis(**kw, scheduler=client)
        on_address = pw.power_analysis(**kw, scheduler=cluster.scheduler_address)
    assert on_client.backend == on_address.backend == "dask"
    _same(serial, on_client)
    _same(serial, on_address)
    assert serial.replicates["failed"].sum() == 0


def test_early_stopping_is_deterministic_and_stops():
    kw = dict(design=pw.Design(n_therapists=40), effects=0.6, n_sims=2000, model="logistic",
              precision=0.04, batch_size=100)  # fmt: skip
    a = pw.power_analysis(**kw)
    b = pw.power_analysis(**kw, n_jobs=2)
    _same(a, b)
    row = a.table.iloc[0]
    assert row["stopped_early"] and row["n_sims"] < 2000 and row["n_sims"] % 100 == 0
    assert (row["power_conf_high"] - row["power_conf_low"]) / 2 <= 0.04
    assert len(a.replicates) == row["n_sims"]


def test_resume_from_checkpoint_gives_identical_results(tmp_path, monkeypatch):
    ck = tmp_path / "power.json"
    kw = dict(design=SMALL, effects=0.6, n_sims=6, seed=2, batch_size=2, null=True)
    full = pw.power_analysis(**kw)
    # patched where the executor looks it up (serial runs call it in this process)
    real = execution.run_replicate

    def interrupted(task):
        if task[0][2] >= 4:  # replicate index 4: the third batch
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(execution, "run_replicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pw.power_analysis(**kw, checkpoint=ck)
    saved = json.loads(ck.read_text())
    assert len(saved["records"]) == 8  # two batches x two effects
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file
    monkeypatch.setattr(execution, "run_replicate", real)
    resumed = pw.power_analysis(**kw, checkpoint=ck)
    assert any("Resumed from checkpoint" in n for n in resumed.notes)
    pd.testing.assert_frame_equal(resumed.table, full.table)
    pd.testing.assert_frame_equal(resumed.replicates, full.replicates)
    # a finished checkpoint replays without fitting anything
    monkeypatch.setattr(execution, "run_replicate", interrupted)
    again = pw.power_analysis(**kw, checkpoint=ck)
    pd.testing.assert_frame_equal(again.table, full.table)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ck = tmp_path / "power.json"
    pw.power_analysis(pw.Design(), 0.5, n_sims=20, model="logistic", checkpoint=ck)
    with pytest.raises(InputError, match="other settings"):
        pw.power_analysis(pw.Design(), 0.5, n_sims=20, model="logistic", checkpoint=ck, seed=9)


# ------------------------------------------------------------------ curve, result, plot


def test_power_curve_grows_with_sample_size_and_plots():
    res = pw.power_curve("n_therapists", [10, 30, 60], effects=0.6, n_sims=300,
                         model="logistic", null=True)  # fmt: skip
    assert list(res.table.columns) == list(pw.TABLE_COLUMNS)
    alt = res.table[~res.table["is_null"]]
    assert alt["value"].tolist() == [10.0, 30.0, 60.0]
    assert alt["power"].is_monotonic_increasing
    assert res.type_i_error["value"].tolist() == [10.0, 30.0, 60.0]
    ax = res.plot()
    assert any(np.allclose(line.get_ydata(), 0.8) for line in ax.get_lines())
    assert ax.get_xlabel() == "Therapists"
    matplotlib.pyplot.close("all")


def test_result_display():
    res = pw.power_analysis(effects=[0.5, 0.8], n_sims=50, model="logistic", null=True)
    assert "\n" not in repr(res) and repr(res).startswith("<PowerResult")
    assert "Type I error" in res.summary()
    first = res.to_frame().iloc[0]
    shown = (f"{first[c]:.3f}" for c in ("power", "power_conf_low", "power_conf_high"))
    assert shows_row(res._repr_html_(), first["effect"], *shown)
    frame = res.to_frame()
    frame.loc[0, "power"] = -1
    assert res.table.loc[0, "power"] >= 0
    assert len(res.table) == 3 and list(res.replicates.columns) == list(pw.REPLICATE_COLUMNS)
    with pytest.raises(AttributeError):
        res.alpha = 0.1
    lo, hi = summary.monte_carlo_interval(5, 50, 0.95, "exact")
    assert lo < 0.1 < hi


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(design=pw.Design(), n_sims=0),
        dict(n_sims=10, n_jobs=0),
        dict(n_sims=10, seed=-1),
        dict(n_sims=10, model="probit"),
        dict(n_sims=10, precision=2.0),
        dict(n_sims=10, alpha=1.5),
        dict(n_sims=10, mc_interval="jeffreys"),
        dict(n_sims=10, effects="big"),
        dict(n_sims=10, effects=[]),
        dict(n_sims=10, effects=-1.0),
        dict(n_sims=10, design={"therapists": 30}),
        dict(n_sims=10, design={"n_therapists": 1}),
        dict(n_sims=10, scheduler=42),
        dict(n_sims=10, design=pw.Design(covariates=("not_a_column",))),
    ],
)
def test_bad_arguments_raise_input_error(kwargs):
    with pytest.raises(InputError):
        pw.power_analysis(**kwargs)


@pytest.mark.parametrize(
    "make",
    [
        lambda: pw.Design(component="both"),
        lambda: pw.Design(strategy_use=1.0),
        lambda: pw.Design(simulation={"dropout_share": 0.3}),
        lambda: pw.Effect(0.5, strategy="hugging"),
        lambda: pw.Effect(0.5, scale="survival"),
        lambda: pw.power_curve("therapists", [5, 10]),
        lambda: pw.power_curve("n_therapists", [5, 5]),
        lambda: pw.power_curve("n_therapists", [5, 10], colour="red"),
    ],
)
def test_bad_design_effect_or_curve_raise_input_error(make):
    with pytest.raises(InputError):
        make()


# ------------------------------------------------------------------ command line


def test_cli_writes_table_and_figure(tmp_path):
    from alliance_stats.cli.power import power

    design = tmp_path / "design.toml"
    design.write_text(
        '[design]\nn_therapists = 20\n\n[[effects]]\nodds_ratio = 0.5\n\n'
        '[run]\nn_sims = 40\nnull = true\nmodel = "logistic"\n\n'
        '[curve]\nover = "n_therapists"\nvalues = [10, 20]\n'
    )  # fmt: skip
    out = tmp_path / "out"
    result = CliRunner().invoke(power, ["--design", str(design), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "power.csv")
    assert len(table) == 4 and "power_conf_low" in table
    assert (out / "power_curve.png").stat().st_size > 1000
    assert (out / "replicates.csv").exists()


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[design]\nn_therapists = 1\n", "n_therapists"),
        ("[design\n", "TOML"),
        ("[desing]\n", "desing"),
        ("[run]\nn_sims = 'many'\n", "n_sims"),
    ],
)
def test_cli_bad_input_exits_2_with_one_message(tmp_path, text, needle):
    from alliance_stats.cli.power import power

    design = tmp_path / "design.toml"
    design.write_text(text)
    result = CliRunner().invoke(power, ["--design", str(design), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert needle in result.output and "Traceback" not in result.output


def test_cli_missing_design_file_exits_2(tmp_path):
    from alliance_stats.cli.power import power

    result = CliRunner().invoke(power, ["--design", str(tmp_path / "no.toml"), "--out", "x"])
    assert result.exit_code == 2
