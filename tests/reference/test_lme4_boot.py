"""Parametric bootstrap intervals against lme4's bootMer percentile intervals
(tests/reference/R/lme4_boot.R, 1,000 replicates each), within Monte Carlo error.

Acceptance (issue 15): bootstrap intervals within Monte Carlo error. The Monte Carlo SE of a
2.5% or 97.5% percentile from B replicates is about 2.67 SD / sqrt(B) (normal approximation);
each end must agree within four combined SEs (ours with 300 replicates, lme4's with 1,000).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_lme4_models import load_data

from alliance_stats.models import fit_mixed

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "confint_boot.json").read_text())
N_BOOT = 300


def _lme4_label(label: str) -> str | None:
    """lme4's 'grp var1 var2' row labels as ours (sd_<term>|<grp>, cor_..., sigma)."""
    if label == "sigma_unused":
        return None
    parts = label.split(" ")
    if len(parts) == 1:
        return label
    grp, var1, var2 = (parts + ["", ""])[:3]
    if grp == "Residual":
        return "sigma"
    return f"cor_{var1}.{var2}|{grp}" if var2 else f"sd_{var1}|{grp}"


def _reference(name: str) -> pd.DataFrame:
    block = FIXTURE[name]
    ref = pd.DataFrame(
        {k: block[k] for k in ("parameter", "estimate", "conf_low", "conf_high", "boot_sd")}
    )
    ref["parameter"] = [_lme4_label(p) for p in ref["parameter"]]
    return ref.dropna(subset=["parameter"]).set_index("parameter")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,formula,data,kwargs",
    [
        ("sleepstudy_reml", "Reaction ~ Days + (Days | Subject)", "sleepstudy", {}),
        (
            "cbpp_trials",
            "prop ~ period + (1 | herd)",
            "cbpp",
            dict(family="binomial", weights="size"),
        ),
    ],
)
def test_bootstrap_within_monte_carlo_error_of_lme4(name, formula, data, kwargs):
    res = fit_mixed(formula, load_data(data), **kwargs)
    ours = res.bootstrap(n_boot=N_BOOT, seed=20261203, n_jobs=2).to_frame().set_index("parameter")
    ref = _reference(name)
    assert set(ref.index) <= set(ours.index)
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=2e-3, atol=1e-3)
    mc_se = 2.67 * ref["boot_sd"] * np.sqrt(1 / N_BOOT + 1 / FIXTURE[name]["nsim"])
    for end in ("conf_low", "conf_high"):
        gap = (ours[end] - ref[end]).abs()
        assert (gap <= 4 * mc_se).all(), pd.DataFrame({"gap": gap, "4 MC SE": 4 * mc_se})
    # and the bootstrap SDs agree (their MC relative error is about 1 / sqrt(2 B))
    np.testing.assert_allclose(ours["std_error"], ref["boot_sd"], rtol=4 / np.sqrt(2 * N_BOOT))
