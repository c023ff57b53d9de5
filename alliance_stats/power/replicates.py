"""One simulated replicate (simulate, prepare, fit, Wald test); the check model's power."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special, stats

from alliance_stats.power.design import Design, Effect, as_design, as_effects, check_number

MODELS = ("mixed", "logistic")


def run_replicate(task: tuple) -> dict:
    """Simulate and analyse one replicate. ``task`` = (key, model, design, effect, alpha, seed).

    Module-level (picklable) so joblib and Dask workers can run it. Returns a JSON-ready record.
    """
    key, model, design, effect, alpha, seed_seq = task
    point, label, i = key
    record = {"point": point, "effect": label, "replicate": i}
    if model == "logistic":
        record.update(_logistic_replicate(design, effect, alpha, seed_seq))
    else:
        record.update(_mixed_replicate(design, effect, alpha, seed_seq))
    return record


def _wald(estimate, se, alpha, truth) -> dict:
    z = stats.norm.ppf(1 - alpha / 2)
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        return dict(p_value=math.nan, conf_low=math.nan, conf_high=math.nan, reject=False,
                    covered=False)  # fmt: skip
    p = float(2 * stats.norm.sf(abs(estimate / se)))
    lo, hi = estimate - z * se, estimate + z * se
    return dict(
        p_value=p,
        conf_low=float(lo),
        conf_high=float(hi),
        reject=bool(p < alpha),
        covered=bool(lo <= truth <= hi),
    )


def _failed(message: str, n_rows=0, n_events=0) -> dict:
    return dict(
        estimate=math.nan,
        std_error=math.nan,
        p_value=math.nan,
        conf_low=math.nan,
        conf_high=math.nan,
        reject=False,
        covered=False,
        converged=False,
        singular=False,
        warning=True,
        failed=True,
        se_method="",
        n_rows=int(n_rows),
        n_events=int(n_events),
        message=message[:300],
    )


def _mixed_replicate(design: Design, effect: Effect, alpha: float, seed_seq) -> dict:
    """The dropout hazard model of the catalogue (:mod:`alliance_stats.engagement`)."""
    from alliance_stats.engagement import CATALOGUE, engagement_rows
    from alliance_stats.errors import AllianceStatsError
    from alliance_stats.models import fit_mixed
    from alliance_stats.scoring import score
    from alliance_stats.simulate import simulate_study

    s = effect.strategy
    sim = simulate_study(seed=seed_seq, **design.simulation_arguments(s, effect.hazard_log_or))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = score(sim.sessions, "wai_sr", items="wai_{}")
        rows, terms, _ = engagement_rows(data, "dropout_hazard", [s], list(design.covariates))
    outcome = "dropout_event"
    if effect.scale == "returning":
        rows["returned"] = 1 - rows["dropout_event"]
        outcome = "returned"
    n_rows, n_events = len(rows), int(rows["dropout_event"].sum())
    term = f"{s}_within" if design.component == "within" else f"{s}_between"
    spec = CATALOGUE["dropout_hazard"]
    formula = spec.formula(terms).replace("dropout_event", outcome, 1)
    if n_events == 0 or n_events == n_rows:
        return _failed("no dropout (or no return) in the simulated study", n_rows, n_events)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = fit_mixed(formula, rows, **spec.fit_options(), restarts=False, se="auto")
    except AllianceStatsError as exc:
        return _failed(f"{type(exc).__name__}: {exc}", n_rows, n_events)
    est = float(res.coefficients.loc[term, "estimate"])
    se = float(res.coefficients.loc[term, "std_error"])
    out = dict(estimate=est, std_error=se)
    out.update(_wald(est, se, alpha, effect.log_or))
    msgs = [n for n in res.notes if "doubtful" in n or "not positive definite" in n]
    out.update(
        converged=bool(res.converged),
        singular=bool(res.singular),
        warning=bool((not res.converged) or res.singular),
        failed=False,
        se_method=res.se_method,
        n_rows=n_rows,
        n_events=n_events,
        message="; ".join(msgs)[:300],
    )
    return out


def _logistic_replicate(design: Design, effect: Effect, alpha: float, seed_seq) -> dict:
    """Single-level logistic check model: one row per client, binary strategy, closed-form fit."""
    rng = np.random.default_rng(seed_seq)
    n = design.n_clients
    x = rng.random(n) < design.strategy_use
    eta = special.logit(design.dropout_share) + effect.hazard_log_or * x
    y = rng.random(n) < special.expit(eta)
    if effect.scale == "returning":
        y = ~y
    a, b = np.sum(y & x), np.sum(~y & x)  # exposed: events, non-events
    c, d = np.sum(y & ~x), np.sum(~y & ~x)
    if min(a, b, c, d) == 0:
        return _failed("a zero cell in the 2x2 table: the logistic MLE does not exist", n, a + c)
    est = float(np.log(a * d / (b * c)))
    se = float(np.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    out = dict(estimate=est, std_error=se)
    out.update(_wald(est, se, alpha, effect.log_or))
    out.update(converged=True, singular=False, warning=False, failed=False, se_method="exact",
               n_rows=int(n), n_events=int(a + c), message="")  # fmt: skip
    return out


def analytic_power(design: Design | None = None, effect: Effect | float | None = None,
                   alpha: float = 0.05) -> float:  # fmt: skip
    """Large-sample power of the Wald test in the ``model="logistic"`` check model.

    One row per client (``design.n_clients``), a binary predictor used with probability
    ``strategy_use``, baseline event probability ``dropout_share``; the variance of the log
    odds ratio is ``1/(n q p1 (1-p1)) + 1/(n (1-q) p0 (1-p0))``.

    Examples
    --------
    >>> round(analytic_power(Design(n_therapists=20), Effect(0.5)), 3)
    0.37
    """
    design = as_design(design)
    effect = as_effects(effect)[0]
    check_number("alpha", alpha, 1e-6, 0.5, owner="analytic_power")
    q, p0 = design.strategy_use, design.dropout_share
    p1 = float(special.expit(special.logit(p0) + effect.hazard_log_or))
    n = design.n_clients
    se = math.sqrt(1 / (n * q * p1 * (1 - p1)) + 1 / (n * (1 - q) * p0 * (1 - p0)))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(effect.log_or) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))
