"""Parametric bootstrap intervals (models/bootstrap.py): reproducible from the seed whatever
n_jobs, the parameters labelled, refits that fail counted, bad arguments refused. The
comparison with lme4's bootMer is in tests/reference/test_lme4_boot.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from html_cells import shows_row

from alliance_stats.errors import InputError
from alliance_stats.models import fit_mixed
from alliance_stats.models.bootstrap import COLUMNS, bootstrap
from alliance_stats.models.examples import fitted_example


def test_reproducible_from_the_seed_whatever_n_jobs():
    res = fitted_example()
    a = bootstrap(res, n_boot=12, seed=5)
    b = bootstrap(res, n_boot=12, seed=5, n_jobs=2)
    c = bootstrap(res, n_boot=12, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not a.to_frame()["conf_low"].equals(bootstrap(res, n_boot=12, seed=6).table["conf_low"])
    assert list(a.to_frame().columns) == list(COLUMNS)
    assert a.n_failed == 0 and c.n_boot == 12
    t = a.to_frame().set_index("parameter")
    assert list(t["kind"]) == ["fixed", "fixed", "sd", "sd", "cor", "sigma", "icc", "icc"]
    assert (t["conf_low"] < t["conf_high"]).all()
    fixed = t[t["kind"] == "fixed"]
    assert (
        (fixed["conf_low"] < fixed["estimate"]) & (fixed["estimate"] < fixed["conf_high"])
    ).all()
    assert t.loc["sigma", "estimate"] == pytest.approx(res.varcorr["sdcor"].iloc[-1])
    assert repr(a) == "BootstrapIntervals(8 parameters, n_boot=12, n_failed=0, conf_level=0.95)"
    assert "of 12 replicates" in a.summary()
    low, high = (f"{t.loc['Days', end]:.3f}" for end in ("conf_low", "conf_high"))
    assert shows_row(a._repr_html_(), "Days", "fixed", low, high)


def test_binomial_with_trials_and_a_narrower_level():
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(15), 4)
    n = rng.integers(5, 20, len(g))
    p = 1 / (1 + np.exp(-(-0.5 + rng.normal(0, 0.7, 15)[g])))
    df = pd.DataFrame({"prop": rng.binomial(n, p) / n, "n": n, "g": g.astype(str)})
    res = fit_mixed("prop ~ 1 + (1 | g)", df, family="binomial", weights="n")
    wide = bootstrap(res, n_boot=20, seed=1)
    narrow = bootstrap(res, n_boot=20, seed=1, conf_level=0.5)
    w, s = wide.to_frame().set_index("parameter"), narrow.to_frame().set_index("parameter")
    assert (s["conf_high"] - s["conf_low"] <= w["conf_high"] - w["conf_low"] + 1e-12).all()
    assert list(w.index) == ["(Intercept)", "sd_(Intercept)|g", "icc|g", "icc|adjusted"]


def test_bad_arguments_are_refused():
    res = fitted_example()
    with pytest.raises(InputError, match="n_boot"):
        bootstrap(res, n_boot=3)
    with pytest.raises(InputError, match="conf_level"):
        bootstrap(res, n_boot=10, conf_level=95)
    with pytest.raises(InputError, match="n_jobs"):
        bootstrap(res, n_boot=10, n_jobs=0)
