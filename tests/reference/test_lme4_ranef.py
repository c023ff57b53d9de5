"""MixedResult.ranef() against lme4's as.data.frame(ranef(m, condVar = TRUE)).

Fixtures: tests/reference/R/lme4_ranef.R (linear models at tight lme4 tolerances; the dropout
model's lme4 modes evaluated at glmmTMB's optimum, where ours lands). Tolerances: condval 1e-4
relative / 1e-5 absolute, condsd 1e-3 relative. A variance on its boundary (therapist SD in the
dropout model: ours 0, glmmTMB 1.2e-4) is compared absolutely (modes and SDs within 2e-4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_lme4_models import load_data  # same directory (pytest rootdir import mode)

from alliance_stats.models import fit_mixed
from alliance_stats.models.result import RANEF_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = [
    "sleepstudy_reml",
    "clinic_wai_slope",
    "clinic_wai_default",
    "clinic_wai_nested",
    "clinic_dropout",
]


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"ranef_lme4_{name}.json").read_text())


@pytest.mark.parametrize("name", MODELS)
def test_ranef_matches_lme4(name):
    fx = _fixture(name)
    res = fit_mixed(fx["formula"], load_data(fx["data"]), family=fx["family"], REML=fx["REML"])
    ours = res.ranef()
    ref = pd.DataFrame(fx["ranef"])
    assert ours.columns.tolist() == list(RANEF_COLUMNS)
    # same rows, same order as lme4 (grouping factor, term, level)
    keys = ["grpvar", "term", "grp"]
    assert ours[keys].to_numpy().tolist() == ref[keys].to_numpy().tolist()
    tol = fx["tolerance"]
    boundary = (ref["condsd"] < 1e-3).to_numpy()
    np.testing.assert_allclose(
        ours["condval"][~boundary],
        ref["condval"][~boundary],
        rtol=tol["condval_rel"],
        atol=tol["condval_abs"],
    )
    np.testing.assert_allclose(
        ours["condsd"][~boundary], ref["condsd"][~boundary], rtol=tol["condsd_rel"]
    )
    np.testing.assert_allclose(ours["condval"][boundary], ref["condval"][boundary], atol=2e-4)
    np.testing.assert_allclose(ours["condsd"][boundary], ref["condsd"][boundary], atol=2e-4)
    z = 1.959963984540054
    np.testing.assert_allclose(ours["conf_high"] - ours["condval"], z * ours["condsd"])
