"""Firth's logistic regression against brglm2 (tests/reference/R/firth_glm.R).

With every variance at 0, :class:`alliance_stats.models.laplace.FirthPenalised` is Firth's
penalised likelihood; on the `endometrial` data (quasi-separated by NV, so that ML has no
finite estimate) its minimum and the inverse information there must equal brglm2's
``type = "AS_mean"`` estimates and standard errors, and with the cloglog link brglm2's
``type = "MPL_Jeffreys"`` ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from alliance_stats.models.laplace import FirthPenalised, InterceptLaplace

FIXTURE = Path(__file__).parent / "fixtures" / "firth_endometrial.json"


@pytest.mark.parametrize("link, key", [("logit", "coefficients"), ("cloglog", "cloglog")])
def test_firth_penalised_deviance_at_zero_variance_is_brglm2(link, key):
    fx = json.loads(FIXTURE.read_text())
    data = {k: np.asarray(v, dtype=float) for k, v in fx["data"].items()}
    X = np.column_stack([np.ones(len(data["HG"])), data["NV"], data["PI"], data["EH"]])
    laplace = InterceptLaplace(data["HG"], X, [np.arange(len(X)) // 4], link=link)
    pen = FirthPenalised(laplace)
    opt = optimize.minimize(
        lambda b: pen(np.r_[0.0, b]), np.zeros(4), method="BFGS", options={"gtol": 1e-10}
    )
    se = np.sqrt(np.diag(np.linalg.inv(laplace.fixed_information(np.r_[0.0, opt.x]))))
    tol = fx["tolerance"]
    for i, row in enumerate(fx[key]):
        assert opt.x[i] == pytest.approx(row["estimate"], abs=tol["estimate_abs"]), row
        assert se[i] == pytest.approx(row["std_error"], rel=tol["se_rel"]), row
