"""Parametric bootstrap intervals for a fitted mixed model (lme4's ``confint(method = "boot")``).

New outcomes are simulated from the fitted model (random effects drawn from their estimated
distribution, then the outcome from the family given the linear predictor), the model is
refitted to each with the same settings, and the percentile interval of every parameter over
the replicates is reported: fixed effects, random-effect SDs and correlations, the residual
SD and, for linear and binomial models, the ICCs. Each replicate has its own random stream
(spawned from ``seed``), so the result is the same whatever ``n_jobs``.

Examples
--------
>>> from alliance_stats.models.examples import fitted_example
>>> boot = bootstrap(fitted_example(), n_boot=20, seed=1)
>>> boot.to_frame()["parameter"].tolist()[:3]
['(Intercept)', 'Days', 'sd_(Intercept)|Subject']
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from alliance_stats.arguments import seed_sequence
from alliance_stats.errors import InputError, ModelFitError

#: columns of :meth:`BootstrapIntervals.to_frame`
COLUMNS = ("parameter", "kind", "estimate", "std_error", "conf_low", "conf_high")


@dataclass(frozen=True)
class BootstrapIntervals:
    """Percentile intervals from a parametric bootstrap (:func:`bootstrap`).

    ``table`` has one row per parameter: ``parameter`` (lme4 term names; ``sd_<term>|<group>``,
    ``cor_<term>.<term>|<group>``, ``sigma``, ``icc|<group>``), ``kind`` (``fixed``, ``sd``,
    ``cor``, ``sigma``, ``icc``), ``estimate`` (the fitted model's), ``std_error`` (the SD over
    replicates) and ``conf_low``/``conf_high`` on the parameter's own scale (log odds or log
    rate for fixed effects of GLMMs).
    """

    table: pd.DataFrame
    n_boot: int
    n_failed: int
    conf_level: float
    seed: int | None
    method: str = "parametric bootstrap, percentile intervals"

    def to_frame(self) -> pd.DataFrame:
        """The intervals, one row per parameter (columns :data:`COLUMNS`)."""
        return self.table.copy()

    def summary(self, digits: int = 3) -> str:
        """The intervals as text, with the number of replicates and of failed refits."""
        head = (
            f"{self.method}: {self.conf_level:.0%} intervals from {self.n_boot - self.n_failed}"
            f" of {self.n_boot} replicates ({self.n_failed} refits failed), seed {self.seed}"
        )
        with pd.option_context("display.width", 200):
            return head + "\n" + self.table.round(digits).to_string(index=False)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"BootstrapIntervals({len(self.table)} parameters, n_boot={self.n_boot}, "
            f"n_failed={self.n_failed}, conf_level={self.conf_level})"
        )

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + self.table.round(3).to_html(index=False, escape=True)


def parameter_estimates(res) -> tuple[pd.Series, dict[str, str]]:
    """The parameters of a fit as one labelled vector and each label's kind (the labels of
    :class:`BootstrapIntervals`: lme4 term names, ``sd_<term>|<group>``, ``cor_...``,
    ``sigma``, ``icc|<group>``)."""
    values = dict(res.coefficients["estimate"].items())
    kinds = dict.fromkeys(values, "fixed")
    for row in res.varcorr.itertuples(index=False):
        if row.grp == "Residual":
            label, kind = "sigma", "sigma"
        elif isinstance(row.var2, str):
            label, kind = f"cor_{row.var1}.{row.var2}|{row.grp}", "cor"
        else:
            label, kind = f"sd_{row.var1}|{row.grp}", "sd"
        values[label], kinds[label] = float(row.sdcor), kind
    if res.family in ("gaussian", "binomial"):
        icc = res.icc()
        for row in icc.itertuples(index=False):
            label = f"icc|{row.group}"
            values[label], kinds[label] = float(row.icc), "icc"
    return pd.Series(values), kinds


def _simulation_spec(res) -> dict:
    """What a replicate needs: the model's simulation inputs, the family's settings and the
    refit's arguments."""
    inputs = res.simulation_inputs()
    weights = inputs["weights"]
    return dict(
        inputs,
        family=res.family,
        link=res.link,
        sigma=inputs["sigma"] if res.family == "gaussian" else 1.0,
        size=res.nb_size,
        formula=res.formula,
        fit_args=dict(
            family=res.family,
            REML=res.REML if res.family == "gaussian" else None,
            nagq=res.nagq,
            link=res.link if res.family == "binomial" else "logit",
            conf_level=res.conf_level,
            weights=weights,
        ),
        response=inputs["frame"].columns[0],
    )


def _simulate(spec: dict, rng: np.random.Generator) -> np.ndarray:
    """One outcome vector from the fitted model."""
    b = np.concatenate(
        [(rng.standard_normal((n, f.shape[0])) @ f.T).ravel() for n, f in spec["blocks"]]
    )
    eta = spec["eta"] + spec["Z"] @ b
    family, w = spec["family"], spec["weights"]
    if family == "gaussian":
        scale = spec["sigma"] if w is None else spec["sigma"] / np.sqrt(w)
        return eta + scale * rng.standard_normal(len(eta))
    if family == "binomial":
        p = special.expit(eta) if spec["link"] == "logit" else -np.expm1(-np.exp(eta))
        if w is None:
            return (rng.random(len(p)) < p).astype(float)
        trials = np.round(w).astype(int)
        return rng.binomial(trials, p) / np.maximum(trials, 1)
    mu = np.exp(np.minimum(eta, 700.0))
    if family == "poisson":
        return rng.poisson(mu).astype(float)
    k = spec["size"]
    return rng.negative_binomial(k, k / (k + mu)).astype(float)


def _replicate(spec: dict, seed: np.random.SeedSequence, labels: list[str]) -> np.ndarray:
    """The refitted parameters for one simulated outcome (NaN where the refit fails)."""
    from alliance_stats.models.fit import fit_mixed

    frame = spec["frame"].copy()
    frame[spec["response"]] = _simulate(spec, np.random.default_rng(seed))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refit = fit_mixed(spec["formula"], frame, **spec["fit_args"])
        values, _ = parameter_estimates(refit)
    except (ModelFitError, InputError, np.linalg.LinAlgError, FloatingPointError):
        return np.full(len(labels), np.nan)
    return values.reindex(labels).to_numpy(dtype=float)


def _seed_sequence(seed) -> np.random.SeedSequence:
    """A fresh sequence for ``None``, else :func:`alliance_stats.arguments.seed_sequence`."""
    return np.random.SeedSequence() if seed is None else seed_sequence(seed, "bootstrap")


def bootstrap(res, n_boot: int = 1000, seed=None, n_jobs: int = 1, conf_level=None):
    """Parametric bootstrap percentile intervals for a :class:`MixedResult`.

    Parameters
    ----------
    res : MixedResult
        A model from :func:`~alliance_stats.models.fit_mixed`.
    n_boot : int
        Replicates (lme4's ``nsim``); 1,000 or more for 95% intervals to two digits.
    seed : int, numpy SeedSequence, numpy Generator or None
        The random stream; replicate ``i`` uses the ``i``-th spawned stream, so results do
        not depend on ``n_jobs``.
    n_jobs : int
        Parallel worker processes (joblib).
    conf_level : float, optional
        Default: the model's ``conf_level``.

    Returns
    -------
    BootstrapIntervals

    R equivalent::

        confint(m, method = "boot", nsim = 1000, boot.type = "perc")
    """
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 10):
        raise InputError(f"n_boot must be a whole number of at least 10, got {n_boot!r}")
    if not (isinstance(n_jobs, (int, np.integer)) and n_jobs >= 1):
        raise InputError(f"n_jobs must be a whole number >= 1, got {n_jobs!r}")
    level = res.conf_level if conf_level is None else conf_level
    if not (isinstance(level, float) and 0.5 <= level < 1):
        raise InputError(f"conf_level must be a float in [0.5, 1), got {level!r}")
    if "cbind(" in res.formula.replace(" ", ""):
        raise InputError(
            "bootstrap() of a cbind(successes, failures) outcome is not supported: fit the "
            "proportion of successes with weights= the number of trials (the same model)"
        )
    estimate, kinds = parameter_estimates(res)
    labels = list(estimate.index)
    spec = _simulation_spec(res)
    streams = _seed_sequence(seed).spawn(int(n_boot))
    if n_jobs == 1:
        rows = [_replicate(spec, s, labels) for s in streams]
    else:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=int(n_jobs))(delayed(_replicate)(spec, s, labels) for s in streams)
    draws = np.vstack(rows)
    failed = int(np.sum(np.all(np.isnan(draws), axis=1)))
    alpha = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a parameter NaN in every replicate)
        low, high = np.nanquantile(draws, [alpha, 1 - alpha], axis=0)
        sd = np.nanstd(draws, axis=0, ddof=1)
    table = pd.DataFrame(
        {
            "parameter": labels,
            "kind": [kinds[p] for p in labels],
            "estimate": estimate.to_numpy(dtype=float),
            "std_error": sd,
            "conf_low": low,
            "conf_high": high,
        }
    )
    return BootstrapIntervals(
        table, int(n_boot), failed, float(level), seed if isinstance(seed, int) else None
    )
