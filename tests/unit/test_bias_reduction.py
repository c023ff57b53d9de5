"""Bias reduction (Firth-type penalty) and the cloglog link of our Laplace deviance.

The R references are in tests/reference (brglm2 at zero variance; lme4's deviance function for
the dropout hazard); these tests check the pieces: the fixed effects' information against a
dense computation, the cloglog deviance against the engine's, separation, and arguments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_stats.errors import InputError
from alliance_stats.models import fit_mixed
from alliance_stats.models.laplace import FirthPenalised, InterceptLaplace, working_parts


@pytest.fixture(scope="module")
def nested():
    """Rare binary outcomes, clients crossed with a second factor (a dense Schur complement)."""
    rng = np.random.default_rng(5)
    n_c, per = 60, 6
    client = np.repeat(np.arange(n_c), per)
    x = rng.normal(size=n_c * per)
    z = rng.binomial(1, 0.3, size=n_c * per)
    eta = -2 + 0.5 * x - 0.4 * z + np.repeat(rng.normal(scale=0.7, size=n_c), per)
    y = (rng.uniform(size=len(x)) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, np.column_stack([np.ones(len(x)), x, z]), [client, client % 7]


def _dense_information(own: InterceptLaplace, x: np.ndarray) -> np.ndarray:
    """X' V^-1 X from dense matrices: the Schur complement of the (beta, u) Hessian block."""
    _, u, _ = own.evaluate(x)
    theta, beta = x[: own.n_theta], x[own.n_theta :]
    lam = np.repeat(theta, own.n_levels)
    Z = own.Z.toarray() * lam[None, :]
    W = own.w * working_parts(own.X @ beta + Z @ u, own.link)[2]
    A = Z.T @ (W[:, None] * Z) + np.eye(Z.shape[1])
    C = Z.T @ (W[:, None] * own.X)
    return own.X.T @ (W[:, None] * own.X) - C.T @ np.linalg.solve(A, C)


@pytest.mark.parametrize("link", ["logit", "cloglog"])
def test_fixed_information_equals_dense_schur_complement(nested, link):
    y, X, groups = nested
    own = InterceptLaplace(y, X, groups, link=link)
    for theta in ([0.8, 0.3], [0.0, 0.5], [1.5, 0.0]):
        x = np.r_[theta, -2.0, 0.4, -0.3]
        np.testing.assert_allclose(
            own.fixed_information(x), _dense_information(own, x), rtol=1e-9, atol=1e-9
        )


def test_cloglog_laplace_agrees_with_engine(nested):
    """Our cloglog Laplace deviance equals mixedlm's (lme4's) at random points where the
    engine's is finite (its PIRLS fails at some; ours always finds the mode)."""
    import mixedlm as ml
    from mixedlm.estimation.joint_glmm import JointGLMMObjective
    from mixedlm.families.binomial import Binomial

    y, X, groups = nested
    df = pd.DataFrame({"y": y, "x": X[:, 1], "z": X[:, 2],
                       "client": [f"c{c:02d}" for c in groups[0]]})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = ml.glmer("y ~ x + z + (1 | client)", df, family=Binomial(link="cloglog"))
    eng = JointGLMMObjective(raw.matrices, raw.family, 1)
    own = InterceptLaplace.from_mixedlm(raw.matrices, "cloglog")
    rng = np.random.default_rng(1)
    n_finite = 0
    for _ in range(8):
        x = np.r_[rng.uniform(0.1, 1.5), raw.beta + rng.normal(scale=0.3, size=3)]
        assert np.isfinite(own(x))
        if np.isfinite(eng(x)):
            n_finite += 1
            assert own(x) == pytest.approx(eng(x), abs=1e-6)
    assert n_finite >= 4


def test_penalty_is_minus_log_det_information(nested):
    y, X, groups = nested
    own = InterceptLaplace(y, X, groups)
    x = np.r_[0.7, 0.2, -2.0, 0.5, -0.4]
    sign, logdet = np.linalg.slogdet(_dense_information(own, x))
    assert sign > 0
    assert FirthPenalised(own)(x) == pytest.approx(own(x) - logdet, abs=1e-8)


def test_bias_reduction_keeps_estimates_finite_under_separation():
    """z = 1 always has y = 0: ML runs off towards -infinity, the penalised fit stays finite."""
    rng = np.random.default_rng(2)
    n_g, per = 20, 10
    g = np.repeat([f"g{i}" for i in range(n_g)], per)
    z = rng.binomial(1, 0.2, size=n_g * per)
    x = rng.normal(size=n_g * per)
    eta = -1 + 0.5 * x + np.repeat(rng.normal(scale=0.5, size=n_g), per)
    y = np.where(z == 1, 0, (rng.uniform(size=len(x)) < 1 / (1 + np.exp(-eta)))).astype(int)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml_fit = fit_mixed("y ~ x + z + (1 | g)", df, family="binomial")
        br = fit_mixed("y ~ x + z + (1 | g)", df, family="binomial", bias_reduction=True)
    assert ml_fit.coefficients.loc["z", "estimate"] < -8
    est, se = br.coefficients.loc["z", ["estimate", "std_error"]]
    assert -6 < est < -1 and np.isfinite(se) and se < 3
    assert br.converged and br.bias_reduction
    assert any("bias-reduced" in n for n in br.notes)
    assert br.estimator.startswith("bias-reduced")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "gaussian", "bias_reduction": True}, "binomial"),
        ({"family": "binomial", "bias_reduction": "yes"}, "True or False"),
        ({"family": "binomial", "bias_reduction": True, "nagq": 5}, "nagq=1"),
        ({"family": "binomial", "link": "probit"}, "logit', 'cloglog"),
        ({"family": "gaussian", "link": "cloglog"}, "binomial"),
    ],
)
def test_bad_arguments(kwargs, match):
    from alliance_stats.models.examples import sleepstudy

    df = sleepstudy().assign(y=lambda d: (d["Reaction"] > 300).astype(int))
    with pytest.raises(InputError, match=match):
        fit_mixed("y ~ Days + (1 | Subject)", df, **kwargs)


def test_bias_reduction_refuses_random_slopes():
    from alliance_stats.models.examples import sleepstudy

    df = sleepstudy().assign(y=lambda d: (d["Reaction"] > 300).astype(int))
    with warnings.catch_warnings(), pytest.raises(InputError, match="random intercepts"):
        warnings.simplefilter("ignore")
        fit_mixed("y ~ Days + (Days | Subject)", df, family="binomial", bias_reduction=True)


def test_catalogue_link_option():
    from alliance_stats.engagement import CATALOGUE

    assert CATALOGUE["dropout_hazard"].fit_options()["bias_reduction"] is True
    assert CATALOGUE["next_session_attendance"].fit_options()["bias_reduction"] is False
    assert "cloglog" in CATALOGUE["dropout_hazard"].estimator("cloglog")
    with pytest.raises(InputError, match="dropout hazard models only"):
        CATALOGUE["next_session_attendance"].fit_options("cloglog")
    with pytest.raises(InputError, match="link must be one of"):
        CATALOGUE["dropout_hazard"].fit_options("probit")
