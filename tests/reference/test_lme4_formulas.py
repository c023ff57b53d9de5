"""lme4 formula forms against lmer fits recorded by tests/reference/R/lme4_formulas.R (nlme's
Orthodont): function-call terms (factor, I with ^ and *, log, sqrt, poly, scale, relevel),
no-intercept models, interactions, (0 + x | g), (1 | a:b), (1 | a/b) and || with a numeric
slope. Term names exactly as lme4 prints them; fixed effects 1e-4 relative, log-likelihood
1e-3."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance_stats.models import fit_mixed

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "lmer_formulas.json").read_text(encoding="utf-8")
)
DATA = pd.read_csv(
    Path(__file__).parent / "fixtures" / "public_orthodont.csv.gz",
    dtype={"Sex": "str", "Subject": "str"},
)
FITS = {f["formula"]: f for f in FIXTURE["fits"]}


@pytest.mark.parametrize("formula", list(FITS))
def test_formula_form_matches_lme4(formula):
    ref = FITS[formula]
    before = DATA.copy()
    res = fit_mixed(formula, DATA)
    pd.testing.assert_frame_equal(DATA, before)  # the input is not changed
    want = pd.Series({c["term"]: c["estimate"] for c in ref["fixef"]})
    assert list(res.coefficients.index) == list(want.index)
    np.testing.assert_allclose(res.coefficients["estimate"], want, rtol=1e-4, atol=1e-8)
    se = pd.Series({c["term"]: c["std_error"] for c in ref["fixef"]})
    np.testing.assert_allclose(res.coefficients["std_error"], se, rtol=1e-3)
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-3)
    vc = pd.DataFrame(ref["varcorr"])
    assert res.varcorr["grp"].tolist() == vc["grp"].tolist()
    assert res.varcorr["var1"].fillna("").tolist() == vc["var1"].fillna("").tolist()
    assert res.formula == " ".join(formula.split())
