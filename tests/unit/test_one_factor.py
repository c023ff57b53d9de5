"""The Laplace deviance of models whose random terms share one grouping factor
(alliance_stats.models.one_factor): equal to the engine's (mixedlm's own PIRLS) where that
converges, its analytic gradient equal to central differences, finite where the engine's
PIRLS diverges."""

from __future__ import annotations

import warnings
from pathlib import Path

import mixedlm as ml
import numpy as np
import pandas as pd
import pytest
from mixedlm.estimation.joint_glmm import JointGLMMObjective

from alliance_stats.models.engines import engine_family
from alliance_stats.models.one_factor import BlockLaplace, BlockLMM
from alliance_stats.models.robust import numerical_gradient


def rows(family: str, seed: int = 3) -> pd.DataFrame:
    """Simulated rows: 12 groups of 25, two covariates with group-varying slopes."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(12), 25)
    x1, x2 = rng.normal(size=300), rng.normal(size=300)
    b = rng.normal(scale=[0.8, 0.5, 0.4], size=(12, 3))
    eta = -0.3 + 0.5 * x1 - 0.2 * x2 + b[g, 0] + b[g, 1] * x1 + b[g, 2] * x2
    if family == "poisson":
        y = rng.poisson(np.exp(eta - 0.5))
    else:
        y = (rng.random(300) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": [f"g{k:02d}" for k in g]})


CASES = [
    ("binomial", "logit", "y ~ x1 + x2 + (1 + x1 | g)", [(2, True)]),
    ("binomial", "cloglog", "y ~ x1 + x2 + (1 + x1 | g)", [(2, True)]),
    ("poisson", "log", "y ~ x1 + x2 + (1 + x1 | g)", [(2, True)]),
    ("binomial", "logit", "y ~ x1 + x2 + (1 + x1 + x2 | g)", [(3, True)]),
    ("binomial", "logit", "y ~ x1 + x2 + (1 | g) + (0 + x1 | g)", [(1, False), (1, False)]),
]


@pytest.mark.parametrize("family, link, formula, layout", CASES)
def test_deviance_and_gradient_match_the_engine_and_differences(family, link, formula, layout):
    m = ml.glmer(formula, rows(family), family=engine_family(family, link))
    engine = JointGLMMObjective(m.matrices, m.family, 1)
    own = BlockLaplace.from_mixedlm(m.matrices, link)
    assert own.layout == layout
    x_hat = np.r_[np.asarray(m.theta), np.asarray(m.beta)]
    rng = np.random.default_rng(0)
    for x in (x_hat, x_hat + rng.normal(scale=0.1, size=len(x_hat))):
        assert own(x) == pytest.approx(engine(x), abs=1e-7)
        value, grad = own.value_and_gradient(x)
        assert value == pytest.approx(own(x), abs=1e-12)
        numeric = numerical_gradient(own, x, np.ones(len(x), bool))
        np.testing.assert_allclose(grad, numeric, atol=2e-5, rtol=1e-5)


def test_finite_where_the_engine_pirls_diverges():
    """The clinic dropout hazard with a therapist slope of the alliance (the reference rows of
    tests/reference): past an intercept SD of about 3 the engine's PIRLS gives up (inf); the
    step-halving Newton here does not, and the deviance keeps rising with the SD."""
    path = Path(__file__).parents[1] / "reference" / "fixtures" / "lme4_clinic_dropout_pp.csv"
    formula = "dropout ~ wai_c + validation + (1 + wai_c | therapist)"
    m = ml.glmer(formula, pd.read_csv(path), family=engine_family("binomial", "logit"))
    engine = JointGLMMObjective(m.matrices, m.family, 1)
    own = BlockLaplace.from_mixedlm(m.matrices)
    x = np.r_[np.asarray(m.theta), np.asarray(m.beta)]
    values = []
    for sd in (2.0, 4.0, 8.0, 16.0):
        x[0] = sd
        values.append(own(x))
        if sd > 3:
            assert engine(x) == np.inf
        else:
            assert values[-1] == pytest.approx(engine(x), abs=1e-7)
    assert np.all(np.isfinite(values)) and np.all(np.diff(values) > 0)


def test_two_grouping_factors_are_not_built():
    data = rows("binomial")
    data["h"] = [f"h{k}" for k in np.arange(300) % 5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a singular fit: h has no effect in these rows)
        m = ml.glmer(
            "y ~ x1 + (1 + x1 | g) + (1 | h)", data, family=engine_family("binomial", "logit")
        )
    assert BlockLaplace.from_mixedlm(m.matrices) is None


LINEAR = [
    ("y ~ x1 + x2 + (1 + x1 | g)", [(2, True)]),
    ("y ~ x1 + x2 + (1 + x1 + x2 | g)", [(3, True)]),
    ("y ~ x1 + (x1 || g)", [(2, False)]),
    ("y ~ x1 + (1 | g)", [(1, False)]),  # with an offset
]


@pytest.mark.parametrize("formula, layout", LINEAR)
def test_linear_parts_match_the_engine(formula, layout):
    """BlockLMM's log-determinant and penalised residual sum of squares equal the engine's
    penalised least squares at the optimum and away from it."""
    from alliance_stats.models.engines import lmm_deviance_parts

    data = rows("binomial")
    data["y"] = data["y"] + data["x1"] * np.repeat(np.linspace(-1, 1, 12), 25)
    offset = data["x2"].to_numpy() if "x2" not in formula else None
    m = ml.lmer(formula, data, REML=False, offset=offset)
    own = BlockLMM.from_mixedlm(m.matrices)
    assert own.layout == layout
    theta = np.asarray(m.theta)
    for t in (theta, theta * 1.5 + 0.05, np.zeros_like(theta)):
        np.testing.assert_allclose(own.deviance_parts(t), lmm_deviance_parts(t, m.matrices))
