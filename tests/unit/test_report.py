"""build_report on the bundled clinic data: sections, figures, methods facts, privacy.

One report is built per module (about 20 s) and shared by the tests.
"""

import re
import sys

import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.config import example_config
from alliance_stats.report import SECTIONS, Report, build_report
from alliance_stats.report.privacy import strip_embedded

STRATEGIES = ["validation", "offering_choices", "co_created_goals"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("clinic") / "study"
    cfg = example_config(strategies={"columns": STRATEGIES, "sensitivity": False})
    rp = build_report(config=cfg, out=out)
    return rp, rp.html.read_text(encoding="utf-8")


def test_files_and_report_object(built):
    rp, _ = built
    assert isinstance(rp, Report)
    assert rp.html.is_file() and rp.pdf.is_file() and (rp.out / "provenance.json").is_file()
    assert rp.pdf.read_bytes().startswith(b"%PDF")
    for name in rp.tables:
        for ext in ("csv", "md", "tex", "html"):
            assert (rp.out / "tables" / f"{name}.{ext}").is_file()
    assert not [p for p in rp.out.parent.iterdir() if p.name.startswith(".")]
    assert "sections" in repr(rp) and "built in" in rp.summary()


def test_every_section_is_present_and_ok(built):
    rp, html = built
    for sid, title in SECTIONS:
        assert f'<section id="{sid}" class="ok">' in html, sid
        assert title in html
    assert (rp.sections["status"] == "ok").all()


def test_at_least_six_embedded_figures_and_no_external_files(built):
    rp, html = built
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 6 and len(images) == len(rp.figures)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # nothing external
    assert "<link" not in html and "<script" not in html


def test_no_client_or_therapist_identifier_appears(built):
    _, html = built
    df = als.datasets.load("clinic")
    visible = strip_embedded(html)
    ids = set(df["client"].astype(str)) | set(df["therapist"].astype(str))
    leaked = [i for i in ids if re.search(rf"(?<![A-Za-z0-9_]){re.escape(i)}(?![A-Za-z0-9_])",
                                          visible)]  # fmt: skip
    assert leaked == []
    assert re.search(r"Client \d+: ruptures and repairs", html) is None  # in the figure, not text
    assert "pseudonym" in html


def test_methods_paragraph_matches_the_fitted_models(built):
    rp, html = built
    methods = rp.methods
    assert set(rp.models) >= {"alliance", "dropout", "strategies"}
    for res in rp.models.values():
        if res is rp.models["strategies"]:
            continue
        assert res.formula in methods
        assert f"{res.nobs:,} observations" in methods
        assert f"({res.estimator})" in methods
        for grp, n in res.n_groups.items():
            assert f"{n:,} {grp}s" in methods
        # the model's own sentence (the first "The model ..." after its formula) gives its status
        status = "converged" if res.converged else "did not meet the convergence criterion"
        after = methods[methods.index(f"model formula {res.formula};") :]
        assert after[after.index("The model ") :].startswith(f"The model {status}"), res.formula
    assert "restricted maximum likelihood (REML)" in methods
    assert "Laplace" in methods
    st = rp.strategy
    assert f"p-values of the {len(st.table)} strategy terms" in methods
    assert "Holm's step-down method" in methods
    assert "running rate of the strategy so far" in methods
    # the plan: every planned model's formula, then the Deviations paragraph
    plan = [p for p in methods.split("\n\n") if p.startswith("Model ")]
    assert len(plan) == 3
    for res in rp.models.values():
        assert f"formula: {res.formula}" in methods
    assert "(1 | client)" not in rp.models["dropout"].formula
    assert "Deviations from the plan: none" in methods
    assert "All 3 planned models were fitted as planned" in html
    versions = rp.provenance["versions"]
    assert f"mixedlm {versions['mixedlm']}" in methods and f"pandas {versions['pandas']}" in methods
    first = methods.split("\n\n")[0]
    assert "4,894 scheduled sessions" in first and "400 clients" in first
    assert first.split(". ")[0] in html  # the same text is in the report


def test_tables_match_the_models(built):
    rp, _ = built
    t = rp.tables["alliance_model"].frame
    res = rp.models["alliance"]
    row = t[t["Parameter"].str.strip() == "session_c"].iloc[0]
    assert row["b"] == f"{res.coefficients.loc['session_c', 'estimate']:,.2f}"
    strat = rp.tables["strategies"].frame
    assert len(strat) == 2 * len(STRATEGIES)


def test_provenance_block(built):
    rp, html = built
    p = rp.provenance
    assert re.fullmatch(r"[0-9a-f]{64}", p["input_sha256"])
    assert p["input_sha256"] in html
    assert p["seed"] == 20240611 and p["date"] == "2024-06-30"
    assert "Report date 2024-06-30" in html
    # the cover says where the date came from, and the span of the sessions separately
    dates = pd.to_datetime(als.datasets.load("clinic")["date"])
    span = f"sessions dated {dates.min().date()} to {dates.max().date()}"
    assert "Report date 2024-06-30 (set in the configuration) \u00b7 " + span in html
    assert p["date_line"].endswith(span)
    assert p["config"]["strategies"]["columns"] == STRATEGIES


def test_small_cells_are_suppressed_in_group_tables(tmp_path):
    from alliance_stats.report import tables as T

    df = als.datasets.load("clinic")
    drop = df.groupby("client")["attended"].last().eq(False).astype(float)
    t = T.group_table(df, "gender", drop, min_cell=20)
    nb = t.frame[t.frame["gender"] == "non-binary"].iloc[0]
    assert nb["Clients"] == "< 20"


def test_report_degrades_when_the_model_layer_is_missing(tmp_path, monkeypatch):
    small = als.simulate_study(n_therapists=4, clients_per_therapist=5, max_sessions=6, seed=2)
    for name in [m for m in sys.modules if m.startswith("alliance_stats.models")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "alliance_stats.models", None)
    monkeypatch.setitem(sys.modules, "alliance_stats.strategies", None)
    cfg = {"strategies": {"columns": ["validation"]}, "output": {"formats": ["html"]},
           "study": {"date": "2024-01-01"}}  # fmt: skip
    rp = build_report(small.sessions, config=cfg, out=tmp_path / "r")
    status = dict(zip(rp.sections["id"], rp.sections["status"]))
    assert status["strategies"] == "unavailable" and status["therapists"] == "unavailable"
    assert status["data"] == status["retention"] == "ok"
    html = rp.html.read_text()
    assert "Not available." in html and "not available in this installation" in html
    assert rp.pdf is None and rp.models == {}


def test_results_are_written_at_full_precision(built):
    """Beside the rounded display tables, results/ holds each model's coefficients and
    variance components as they were estimated (CSV, and Parquet with pyarrow)."""
    import numpy as np
    import pandas as pd

    rp, _ = built
    folder = rp.out / "results"
    for name in ("alliance", "dropout"):
        written = pd.read_csv(folder / f"{name}_coefficients.csv")
        fitted = rp.models[name].to_frame()
        assert list(written.columns) == list(fitted.columns)
        np.testing.assert_array_equal(written["estimate"], fitted["estimate"])  # every digit
        assert (folder / f"{name}_variance_components.csv").is_file()
    assert (folder / "strategies.csv").is_file() and (folder / "retention_curve.csv").is_file()
    parquet = pd.read_parquet(folder / "alliance_coefficients.parquet")
    pd.testing.assert_frame_equal(parquet, rp.models["alliance"].to_frame())


def test_optimiser_details_are_in_the_technical_appendix(built):
    """The body says in plain words whether each fit can be read; how the optimum was found
    and checked is in the technical appendix only."""
    _, html = built
    sections = dict(re.findall(r'<section id="(\w+)"[^>]*>(.*?)</section>', html, re.S))
    assert "scaled gradient at the optimum" in sections["appendix"]
    assert "The dropout model: fitted with our own Laplace deviance" in sections["appendix"]
    body = "".join(text for sid, text in sections.items() if sid != "appendix")
    assert "scaled gradient at the optimum" not in body and "L-BFGS-B" not in body
    assert "The dropout model converged, with no variance at its boundary" in body
    assert "The alliance model converged" in body
