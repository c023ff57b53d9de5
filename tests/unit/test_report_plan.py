"""The example report's analysis plan: every model converges, none is singular, no deviation.

Methods lists each planned model's formula and the Deviations paragraph, in the HTML and in
the fallback (matplotlib) PDF alike.
"""

from __future__ import annotations

import re
import sys
import warnings

import pytest

from alliance_stats.config import example_config
from alliance_stats.report import build_report


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.slow
def test_example_report_plan_holds_in_html_and_fallback_pdf(tmp_path, monkeypatch):
    pypdf = pytest.importorskip("pypdf")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # force the fallback PDF
    cfg = example_config(output={"formats": ("html", "pdf"), "tables": ()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rp = build_report(config=cfg, out=tmp_path / "example")
    assert rp.pdf_engine == "matplotlib"
    planned = ("alliance", "dropout", "strategies")
    assert set(planned) <= set(rp.models)
    for key in planned:
        res = rp.models[key]
        assert res.converged and not res.singular, (key, res.notes)
    assert "(1 | client)" not in rp.models["dropout"].formula
    assert "(1 | client)" not in rp.models["strategies"].formula
    html = rp.html.read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'")
    pdf = "\n".join(page.extract_text() for page in pypdf.PdfReader(rp.pdf).pages)
    for where, body in (("html", text), ("pdf", pdf)):
        flat = _squash(body)
        assert _squash("Analysis plan.") in flat, where
        for key in planned:
            assert _squash(f"formula: {rp.models[key].formula}") in flat, (where, key)
        assert _squash("Deviations from the plan: none") in flat, where
    assert "All 3 planned models were fitted as planned" in html  # the summary box
