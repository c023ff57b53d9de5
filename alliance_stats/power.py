"""Simulation-based power analysis for multilevel retention studies.

:func:`power_analysis` answers "how many therapists and clients do we need to detect a
strategy's effect on retention?" by simulation: each replicate draws a study with
:func:`alliance_stats.simulate_study`, builds the discrete-time person-period rows
(:func:`alliance_stats.person_period`), splits the focal strategy into its within- and
between-client parts (:func:`alliance_stats.decompose`) and fits the analysis model used in a
real study (:func:`alliance_stats.strategy_effects`)::

    event ~ s_cwc + s_cm [+ covariates] + (1 | therapist) + (1 | client)      (binomial)

with :func:`alliance_stats.models.fit_mixed`. Power is the share of replicates whose Wald test
of the focal term rejects at ``alpha``, with a Monte Carlo confidence interval (Wilson or
exact); the table also gives the bias and CI coverage of the estimate against the true value,
and the share of fits with convergence or singular-fit warnings. With ``null=True`` the same
replicates are run at an odds ratio of 1 to estimate the type I error.

Speed. Replicate fits use ``fit_mixed(..., restarts=False, se="auto")``: the engine's optimum
is polished once but not restarted from other variance values (restarts triple the cost and
rarely move the *fixed-effect* test); lme4's scaled-gradient convergence check and the
singular-fit check are still run and recorded for every replicate (``converged``,
``singular``, ``warning`` columns). Standard errors come from the numerical Hessian (lme4's
default) when it is positive definite, otherwise the model-based ones (``se_method``).

Reproducibility. Replicate ``i`` uses child ``i`` of ``np.random.SeedSequence(seed).spawn(
n_sims)``, whatever runs it, so serial, joblib (``n_jobs``) and Dask (``scheduler``) runs give
identical results. Every effect and every design point of a power curve uses the same children
(common random numbers: differences between effects or sample sizes are not blurred by
different draws). Early stopping (``precision``) is checked after each batch of
``batch_size`` replicates, in replicate order, so it is deterministic too. A ``checkpoint``
file (JSON, written atomically after each batch) lets an interrupted run continue where it
stopped with the same final result.

Parallel speed-up. Replicates are independent, so the speed-up on ``k`` cores is close to
``k`` once a batch holds many more replicates than workers (process start-up costs about a
second per worker with joblib's loky backend; Dask adds a few milliseconds per task).

The analytic check mode ``model="logistic"`` reuses the same replicate, parallel, stopping
and checkpoint machinery on a single-level logistic regression whose power is known in closed
form (:func:`analytic_power`); the test suite uses it to check the engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from alliance_stats.errors import InputError

__all__ = [
    "COMPONENTS",
    "CURVE_DIMENSIONS",
    "MODELS",
    "REPLICATE_COLUMNS",
    "SCALES",
    "TABLE_COLUMNS",
    "Design",
    "Effect",
    "PowerResult",
    "analytic_power",
    "power_analysis",
    "power_curve",
]

MODELS = ("mixed", "logistic")
SCALES = ("hazard", "returning")
COMPONENTS = ("within", "between")
MC_INTERVALS = ("wilson", "exact")
CURVE_DIMENSIONS = ("n_therapists", "clients_per_therapist", "max_sessions")
_CHECKPOINT_VERSION = 1

#: Columns of ``PowerResult.table`` (one row per design point and effect).
TABLE_COLUMNS = (
    "point",
    "over",
    "value",
    "n_therapists",
    "clients_per_therapist",
    "n_clients",
    "max_sessions",
    "effect",
    "strategy",
    "scale",
    "component",
    "odds_ratio",
    "true_value",
    "is_null",
    "n_sims",
    "n_rejected",
    "power",
    "power_conf_low",
    "power_conf_high",
    "analytic_power",
    "mean_estimate",
    "bias",
    "empirical_se",
    "mean_std_error",
    "coverage",
    "warning_share",
    "nonconverged_share",
    "singular_share",
    "failed_share",
    "stopped_early",
    "mean_rows",
    "mean_events",
)

#: Columns of ``PowerResult.replicates`` (one row per fitted replicate).
REPLICATE_COLUMNS = (
    "point",
    "effect",
    "replicate",
    "estimate",
    "std_error",
    "p_value",
    "conf_low",
    "conf_high",
    "reject",
    "covered",
    "converged",
    "singular",
    "warning",
    "failed",
    "se_method",
    "n_rows",
    "n_events",
    "message",
)


# ---------------------------------------------------------------------------------- inputs


def _number(name, value, low, high, integer=False, owner="Design"):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not np.isfinite(value) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise InputError(f"{owner}.{name} must be {kind} from {low} to {high}; got {value!r}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class Design:
    """A planned study: size, dropout level, variances and how often the strategy is used.

    Defaults describe a typical study (the simulator's defaults: 30 therapists with 10 clients
    each, up to 16 weekly sessions, 19.7% dropout).

    Parameters
    ----------
    n_therapists : int, default 30
        Therapists (2 or more).
    clients_per_therapist : int, default 10
        Clients per therapist.
    max_sessions : int, default 16
        Planned sessions per client.
    dropout_share : float, default 0.197
        Expected share of clients who drop out (Swift & Greenberg 2012).
    therapist_var : float, default 0.1
        Variance of therapists' random intercepts of the dropout log-odds.
    client_var : float, default 0.25
        Variance of clients' random intercepts of the dropout log-odds.
    strategy_use : float, default 0.4
        Share of sessions in which the focal strategy is used (average therapist).
    within_alliance_log_or, between_alliance_log_or : float, default -0.5
        Dropout log odds ratios of the within- and between-client alliance in the simulated
        data (nuisance effects the analysis model does not include).
    component : {"within", "between"}, default "within"
        Which part of the strategy is tested: ``within`` (the session's deviation from the
        client's own rate: ``s_cwc``) or ``between`` (the client's rate: ``s_cm``).
    covariates : tuple of str, default ()
        Further session-table columns entered as fixed effects (e.g. ``("resistance",)``).
    simulation : dict, default {}
        Any other :class:`alliance_stats.simulate.StudyParameters` field, passed to the
        simulator (e.g. ``{"no_show_rate": 0.1}``).

    Notes
    -----
    The simulator gives each strategy one per-session effect on the dropout hazard, so the true
    within- and between-client log odds ratios are both equal to it. By default the focal
    strategy is not used more in resistant sessions and does not shift the alliance (it is
    unconfounded and has no indirect path), so that effect is also what the analysis model
    estimates; override ``simulation["strategy_resistance_log_or"]`` or
    ``simulation["strategy_alliance_effect"]`` to study confounding or mediation (bias and
    coverage are then judged against the direct effect).

    Examples
    --------
    >>> Design(clients_per_therapist=12).n_clients
    360
    """

    n_therapists: int = 30
    clients_per_therapist: int = 10
    max_sessions: int = 16
    dropout_share: float = 0.197
    therapist_var: float = 0.1
    client_var: float = 0.25
    strategy_use: float = 0.4
    within_alliance_log_or: float = -0.5
    between_alliance_log_or: float = -0.5
    component: str = "within"
    covariates: tuple[str, ...] = ()
    simulation: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "n_therapists", _number("n_therapists", self.n_therapists, 2, 100_000, True))
        set_(
            self,
            "clients_per_therapist",
            _number("clients_per_therapist", self.clients_per_therapist, 1, 100_000, True),
        )
        set_(self, "max_sessions", _number("max_sessions", self.max_sessions, 2, 500, True))
        set_(self, "dropout_share", _number("dropout_share", self.dropout_share, 0.001, 0.95))
        set_(self, "therapist_var", _number("therapist_var", self.therapist_var, 0.0, 4.0))
        set_(self, "client_var", _number("client_var", self.client_var, 0.0, 4.0))
        set_(self, "strategy_use", _number("strategy_use", self.strategy_use, 0.001, 0.999))
        for name in ("within_alliance_log_or", "between_alliance_log_or"):
            set_(self, name, _number(name, getattr(self, name), -5.0, 5.0))
        if self.component not in COMPONENTS:
            raise InputError(
                f"Design.component must be one of {COMPONENTS}; got {self.component!r}"
            )
        cov = self.covariates
        if isinstance(cov, str):
            cov = (cov,)
        if not isinstance(cov, Sequence) or not all(isinstance(c, str) for c in cov):
            raise InputError(
                f"Design.covariates must be a list of column names; got {self.covariates!r}"
            )
        set_(self, "covariates", tuple(cov))
        if not isinstance(self.simulation, Mapping):
            raise InputError(
                "Design.simulation must be a dict of StudyParameters fields, e.g. "
                f"{{'no_show_rate': 0.1}}; got {type(self.simulation).__name__}"
            )
        reserved = {
            "dropout_share",
            "therapist_dropout_var",
            "client_dropout_var",
            "within_alliance_log_or",
            "between_alliance_log_or",
            "strategy_use",
        }
        clash = sorted(reserved & set(self.simulation))
        if clash:
            raise InputError(
                f"Design.simulation must not set {clash}: use the Design fields (dropout_share, "
                "therapist_var, client_var, within/between_alliance_log_or, strategy_use)"
            )
        set_(self, "simulation", dict(self.simulation))

    @property
    def n_clients(self) -> int:
        """Total number of clients."""
        return self.n_therapists * self.clients_per_therapist

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the design."""
        out = dataclasses.asdict(self)
        out["covariates"] = list(self.covariates)
        out["simulation"] = _jsonable(dict(self.simulation))
        return out

    def simulation_arguments(self, strategy: str, hazard_log_or: float) -> dict[str, Any]:
        """Keyword arguments of :func:`alliance_stats.simulate_study` for one replicate."""
        from alliance_stats.simulate import _DEFAULT_RESPONSIVE

        sim = dict(self.simulation)
        dropout = dict(sim.pop("strategy_dropout_log_or", {}))
        dropout[strategy] = hazard_log_or
        responsive = {k: v for k, v in _DEFAULT_RESPONSIVE.items() if k != strategy}
        responsive.update(sim.pop("strategy_resistance_log_or", {}))
        alliance = dict(sim.pop("strategy_alliance_effect", {}))
        return dict(
            n_therapists=self.n_therapists,
            clients_per_therapist=self.clients_per_therapist,
            max_sessions=self.max_sessions,
            dropout_share=self.dropout_share,
            therapist_dropout_var=self.therapist_var,
            client_dropout_var=self.client_var,
            within_alliance_log_or=self.within_alliance_log_or,
            between_alliance_log_or=self.between_alliance_log_or,
            strategy_use={strategy: self.strategy_use},
            strategy_dropout_log_or=dropout,
            strategy_resistance_log_or=responsive,
            strategy_alliance_effect=alliance,
            **sim,
        )


@dataclass(frozen=True)
class Effect:
    """The effect to detect: an odds ratio of one focal strategy.

    Parameters
    ----------
    odds_ratio : float, default 0.74
        ``scale="hazard"``: odds ratio of dropping out after a session where the strategy was
        used (below 1 = better retention; the default 0.74 = exp(-0.30) is the simulator's
        validation effect). ``scale="returning"``: odds ratio of coming back (above 1 = better).
    strategy : str, default "validation"
        A simulator strategy column (see ``alliance_stats.simulate.STRATEGIES``).
    scale : {"hazard", "returning"}
        Returning after a session is the complement of the discrete-time dropout hazard, so
        an odds ratio on returning is the inverse of the odds ratio on the hazard; the analysis
        model then has ``returned = 1 - event`` as its outcome.

    Examples
    --------
    >>> round(Effect(1.35, scale="returning").hazard_log_or, 3)
    -0.3
    """

    odds_ratio: float = 0.74
    strategy: str = "validation"
    scale: str = "hazard"

    def __post_init__(self):
        from alliance_stats.simulate import STRATEGIES

        odds = _number("odds_ratio", self.odds_ratio, 0.01, 100.0, owner="Effect")
        object.__setattr__(self, "odds_ratio", odds)
        if self.strategy not in STRATEGIES:
            raise InputError(
                f"Effect.strategy must be one of the simulator's strategies {list(STRATEGIES)}; "
                f"got {self.strategy!r}"
            )
        if self.scale not in SCALES:
            raise InputError(f"Effect.scale must be one of {SCALES}; got {self.scale!r}")

    @property
    def log_or(self) -> float:
        """True log odds ratio on the analysis scale (the value bias and coverage use)."""
        return float(np.log(self.odds_ratio))

    @property
    def hazard_log_or(self) -> float:
        """The log odds ratio on the dropout hazard that the simulator is given."""
        return self.log_or if self.scale == "hazard" else -self.log_or

    @property
    def is_null(self) -> bool:
        return self.odds_ratio == 1.0

    @property
    def label(self) -> str:
        return f"{self.strategy} OR={self.odds_ratio:g} ({self.scale})"

    def null(self) -> Effect:
        """The same strategy and scale at an odds ratio of 1."""
        return dataclasses.replace(self, odds_ratio=1.0)


def _as_design(design) -> Design:
    if design is None:
        return Design()
    if isinstance(design, Design):
        return design
    if isinstance(design, Mapping):
        unknown = sorted(set(design) - {f.name for f in dataclasses.fields(Design)})
        if unknown:
            raise InputError(
                f"design has unknown field(s) {unknown}; allowed: "
                f"{[f.name for f in dataclasses.fields(Design)]}"
            )
        return Design(**design)
    raise InputError(f"design must be a Design, a dict of its fields or None; got {design!r}")


def _as_effects(effects) -> list[Effect]:
    if effects is None:
        return [Effect()]
    if isinstance(effects, (Effect, Mapping, int, float, np.number)) and not isinstance(
        effects, bool
    ):
        effects = [effects]
    if isinstance(effects, str) or not isinstance(effects, Sequence) or not effects:
        raise InputError(
            "effects must be an Effect, an odds ratio, a dict of Effect fields, or a non-empty "
            f"list of those; got {effects!r}"
        )
    out = []
    for e in effects:
        if isinstance(e, Effect):
            out.append(e)
        elif isinstance(e, Mapping):
            unknown = sorted(set(e) - {"odds_ratio", "strategy", "scale"})
            if unknown:
                raise InputError(
                    f"effect has unknown field(s) {unknown}; allowed: odds_ratio, strategy, scale"
                )
            out.append(Effect(**e))
        elif isinstance(e, (int, float, np.number)) and not isinstance(e, bool):
            out.append(Effect(float(e)))
        else:
            raise InputError(f"each effect must be an Effect, a dict or an odds ratio; got {e!r}")
    labels = [e.label for e in out]
    if len(set(labels)) != len(labels):
        raise InputError(f"effects are listed twice: {labels}")
    return out


# ------------------------------------------------------------------------------ replicates


def _replicate(task: tuple) -> dict:
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
    from alliance_stats import prep
    from alliance_stats.errors import AllianceStatsError
    from alliance_stats.models import fit_mixed
    from alliance_stats.simulate import simulate_study

    s = effect.strategy
    sim = simulate_study(seed=seed_seq, **design.simulation_arguments(s, effect.hazard_log_or))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = prep.person_period(sim.sessions)
        rows = prep.decompose(rows, s, by="client")
    outcome = "event"
    if effect.scale == "returning":
        rows["returned"] = 1 - rows["event"]
        outcome = "returned"
    n_rows, n_events = len(rows), int(rows["event"].sum())
    term = f"{s}_cwc" if design.component == "within" else f"{s}_cm"
    predictors = [f"{s}_cwc", f"{s}_cm", *design.covariates]
    formula = f"{outcome} ~ {' + '.join(predictors)} + (1 | therapist) + (1 | client)"
    if n_events == 0 or n_events == n_rows:
        return _failed("no dropout (or no return) in the simulated study", n_rows, n_events)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = fit_mixed(formula, rows, family="binomial", restarts=False, se="auto")
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
    design = _as_design(design)
    effect = _as_effects(effect)[0]
    _number("alpha", alpha, 1e-6, 0.5, owner="analytic_power")
    q, p0 = design.strategy_use, design.dropout_share
    p1 = float(special.expit(special.logit(p0) + effect.hazard_log_or))
    n = design.n_clients
    se = math.sqrt(1 / (n * q * p1 * (1 - p1)) + 1 / (n * (1 - q) * p0 * (1 - p0)))
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(effect.log_or) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


# ----------------------------------------------------------------------------- execution


class _Executor:
    """Runs lists of tasks serially, with joblib or on Dask; always returns results in order."""

    def __init__(self, n_jobs, scheduler):
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.client = None
        self.own_client = False
        self.pool = None

    def __enter__(self):
        if self.scheduler is not None:
            from alliance_stats.errors import require

            distributed = require("distributed", "distributed", "Running on a Dask cluster")
            if isinstance(self.scheduler, str):
                try:
                    self.client = distributed.Client(self.scheduler, timeout="20s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise InputError(
                        f"could not connect to the Dask scheduler {self.scheduler!r} ({exc}); "
                        "give its address as 'tcp://host:port' or pass a dask.distributed.Client"
                    ) from exc
                self.own_client = True
            elif isinstance(self.scheduler, distributed.Client):
                self.client = self.scheduler
            else:
                raise InputError(
                    "scheduler must be a Dask scheduler address ('tcp://host:port'), a "
                    f"dask.distributed.Client or None; got {self.scheduler!r}"
                )
        elif self.n_jobs != 1:
            import joblib

            self.pool = joblib.Parallel(n_jobs=self.n_jobs, return_as="generator")
            self.pool.__enter__()
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.__exit__(*exc)
        if self.own_client and self.client is not None:
            self.client.close()

    @property
    def kind(self) -> str:
        if self.client is not None:
            return "dask"
        return "joblib" if self.pool is not None else "serial"

    def run(self, tasks: list, progress) -> list:
        if not tasks:
            return []
        if self.client is not None:
            from distributed import as_completed

            futures = self.client.map(_replicate, tasks, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            out: list = [None] * len(tasks)
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                progress.update(1)
            return out
        if self.pool is not None:
            import joblib

            out = []
            for rec in self.pool(joblib.delayed(_replicate)(t) for t in tasks):
                out.append(rec)
                progress.update(1)
            return out
        out = []
        for t in tasks:
            out.append(_replicate(t))
            progress.update(1)
        return out


class _NoProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass


# ---------------------------------------------------------------------------- statistics


def _mc_interval(k: int, n: int, conf: float, method: str) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    a = 1 - conf
    if method == "exact":
        lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
        return lo, hi
    z = stats.norm.ppf(1 - a / 2)
    p = k / n
    den = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def _summarise(records: list[dict], truth: float, conf: float, method: str) -> dict:
    n = len(records)
    k = sum(bool(r["reject"]) for r in records)
    lo, hi = _mc_interval(k, n, conf, method)
    est = np.array([r["estimate"] for r in records], dtype=float)
    se = np.array([r["std_error"] for r in records], dtype=float)
    ok = np.isfinite(est)
    fitted = [r for r in records if not r["failed"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(
            n_sims=n,
            n_rejected=k,
            power=k / n if n else math.nan,
            power_conf_low=lo,
            power_conf_high=hi,
            mean_estimate=float(np.mean(est[ok])) if ok.any() else math.nan,
            bias=float(np.mean(est[ok]) - truth) if ok.any() else math.nan,
            empirical_se=float(np.std(est[ok], ddof=1)) if ok.sum() > 1 else math.nan,
            mean_std_error=float(np.mean(se[ok])) if ok.any() else math.nan,
            coverage=(sum(bool(r["covered"]) for r in fitted) / len(fitted))
            if fitted
            else math.nan,
            warning_share=sum(bool(r["warning"]) for r in records) / n if n else math.nan,
            nonconverged_share=sum(not r["converged"] for r in records) / n if n else math.nan,
            singular_share=sum(bool(r["singular"]) for r in records) / n if n else math.nan,
            failed_share=sum(bool(r["failed"]) for r in records) / n if n else math.nan,
            mean_rows=float(np.mean([r["n_rows"] for r in records])) if n else math.nan,
            mean_events=float(np.mean([r["n_events"] for r in records])) if n else math.nan,
        )


# ---------------------------------------------------------------------------- checkpoint


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fingerprint(config: dict) -> str:
    text = json.dumps(_jsonable(config), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _load_checkpoint(path: Path, fingerprint: str) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"checkpoint '{path}' cannot be read ({exc}); delete it to start afresh"
        ) from exc
    if not isinstance(data, dict) or data.get("version") != _CHECKPOINT_VERSION:
        raise InputError(f"'{path}' is not an alliance_stats power checkpoint; delete it or "
                         "choose another checkpoint file")  # fmt: skip
    if data.get("fingerprint") != fingerprint:
        raise InputError(
            f"checkpoint '{path}' belongs to a run with other settings (design, effects, "
            "n_sims, seed, alpha, model, precision or batch size); delete it or use another file"
        )
    return {(r["point"], r["effect"], r["replicate"]): r for r in data["records"]}


def _save_checkpoint(path: Path, fingerprint: str, config: dict, done: dict) -> None:
    from alliance_stats.files import atomic_write

    payload = {
        "version": _CHECKPOINT_VERSION,
        "fingerprint": fingerprint,
        "config": _jsonable(config),
        "records": [done[k] for k in sorted(done, key=lambda k: (k[0], k[1], k[2]))],
    }
    text = json.dumps(payload)
    atomic_write(path, lambda p: p.write_text(text))


# -------------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class PowerResult:
    """Simulated power, type I error, bias and coverage; frozen.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design point and effect, columns :data:`TABLE_COLUMNS`: design size,
        effect (``odds_ratio`` on its ``scale``; ``true_value`` = its log), ``n_sims`` run,
        ``power`` with its Monte Carlo interval ``power_conf_low``/``power_conf_high`` (for the
        null row, ``is_null``, this is the type I error), ``analytic_power`` (check model
        only), ``bias`` and ``coverage`` of the estimate and its Wald CI, ``empirical_se``
        against ``mean_std_error``, shares of replicates with warnings (non-convergence or a
        singular fit), and ``stopped_early`` (the ``precision`` was reached).
    replicates : pandas.DataFrame
        One row per replicate, columns :data:`REPLICATE_COLUMNS`.
    designs : tuple of Design
        The design points (one for :func:`power_analysis`).
    effects : tuple of Effect
        The effects, including the null when ``null=True``.
    over : str or None
        The design field varied by :func:`power_curve`.
    model, alpha, seed, n_sims, precision, conf_level, mc_interval
        Settings of the run.
    notes : tuple of str
        Plain-language notes.

    Results compare by identity (they hold DataFrames); compare ``table`` and ``replicates``
    with :func:`pandas.testing.assert_frame_equal`.
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    designs: tuple
    effects: tuple
    over: str | None
    model: str
    alpha: float
    seed: int
    n_sims: int
    precision: float | None
    conf_level: float
    mc_interval: str
    notes: tuple[str, ...]
    elapsed_seconds: float = field(default=math.nan, compare=False)
    backend: str = field(default="serial", compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The power table (a copy, unrounded)."""
        return self.table.copy()

    @property
    def type_i_error(self) -> pd.DataFrame:
        """Rows of the table at a null effect (empty unless ``null=True``)."""
        return self.table[self.table["is_null"]].reset_index(drop=True)

    def summary(self) -> str:
        """Plain-text summary: power with its Monte Carlo CI, type I error, bias, coverage."""
        pct = f"{self.conf_level:.0%}"
        cols = ["effect", "n_sims", "power", "power_conf_low", "power_conf_high", "bias",
                "coverage", "warning_share"]  # fmt: skip
        if self.over is not None:
            cols = ["value", *cols]
        shown = self.table[cols].rename(columns={"value": self.over or "value"})
        if self.over is not None:
            shown[self.over] = shown[self.over].astype("int64")
        lines = [
            f"Simulated power ({self.model} model, alpha {self.alpha}, Wald test; "
            f"{pct} Monte Carlo CI: {self.mc_interval})",
            shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        null = self.type_i_error
        if len(null):
            for _, r in null.iterrows():
                lines.append(
                    f"Type I error ({r['strategy']}, OR=1"
                    + (f", {self.over}={r['value']:g}" if self.over else "")
                    + f"): {r['power']:.3f} [{r['power_conf_low']:.3f}, {r['power_conf_high']:.3f}]"
                    f" vs nominal {self.alpha}"
                )
        else:
            lines.append("Type I error not estimated (pass null=True to run the null alongside).")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        alt = self.table[~self.table["is_null"]]
        if alt.empty:
            alt = self.table
        if len(alt) == 1:
            r = alt.iloc[0]
            what = f"power {r['power']:.3f} [{r['power_conf_low']:.3f}, {r['power_conf_high']:.3f}]"
        else:
            what = f"power {alt['power'].min():.3f}-{alt['power'].max():.3f} over {len(alt)} rows"
        return (
            f"<PowerResult: {what}; {int(self.table['n_sims'].max())} replicates, "
            f"{self.model} model, alpha {self.alpha}>"
        )

    def _repr_html_(self) -> str:
        cols = ["effect", "value", "n_clients", "n_sims", "power", "power_conf_low",
                "power_conf_high", "bias", "coverage", "warning_share"]  # fmt: skip
        table = self.table[cols].to_html(index=False, float_format=lambda v: f"{v:.3f}")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<div><b>{html.escape(repr(self))}</b>{table}<ul>{notes}</ul></div>"

    def plot(self, ax=None, target: float = 0.8):
        """Power (with Monte Carlo CIs) against sample size, with a line at ``target`` (80%).

        For a power curve the x axis is the varied design field; for a single design, the
        effects' odds ratios. Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        tab = self.table
        x_name = self.over or "odds_ratio"
        for label, part in tab.groupby("effect", sort=False):
            part = part.sort_values(x_name)
            x = part[x_name].to_numpy(dtype=float)
            y = part["power"].to_numpy(dtype=float)
            err = np.vstack([y - part["power_conf_low"], part["power_conf_high"] - y])
            null = bool(part["is_null"].iloc[0])
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3,
                        linestyle="--" if null else "-",
                        label=f"{label} (type I error)" if null else label)  # fmt: skip
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax.text(ax.get_xlim()[0], target, f" {target:.0%}", va="bottom", color="grey")
        if any(tab["is_null"]):
            ax.axhline(self.alpha, color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"Power (alpha {self.alpha}, {self.conf_level:.0%} MC CI)")
        ax.set_xlabel(
            {
                "clients_per_therapist": "Clients per therapist",
                "n_therapists": "Therapists",
                "max_sessions": "Planned sessions",
            }.get(x_name, "Odds ratio")  # fmt: skip
        )
        ax.set_title("Simulated power" + (f" by {x_name.replace('_', ' ')}" if self.over else ""))
        ax.legend(fontsize="small")
        return ax


# ------------------------------------------------------------------------------- driver


def _check_run_args(n_sims, n_jobs, seed, precision, batch_size, alpha, conf_level, model,
                    mc_interval, null, progress):  # fmt: skip
    _number("n_sims", n_sims, 1, 10_000_000, True, owner="power_analysis")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise InputError(f"n_jobs must be a non-zero integer (-1 = all cores); got {n_jobs!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    if precision is not None:
        _number("precision", precision, 1e-4, 0.5, owner="power_analysis")
    _number("batch_size", batch_size, 1, 10_000_000, True, owner="power_analysis")
    _number("alpha", alpha, 1e-6, 0.5, owner="power_analysis")
    _number("conf_level", conf_level, 0.5, 0.9999, owner="power_analysis")
    if model not in MODELS:
        raise InputError(f"model must be one of {MODELS}; got {model!r}")
    if mc_interval not in MC_INTERVALS:
        raise InputError(f"mc_interval must be one of {MC_INTERVALS}; got {mc_interval!r}")
    if not isinstance(null, bool) or not isinstance(progress, bool):
        raise InputError("null and progress must be True or False")


def _run(designs, effects, over, values, *, n_sims, n_jobs, scheduler, seed, precision,
         batch_size, alpha, conf_level, model, mc_interval, null, checkpoint,
         progress) -> PowerResult:  # fmt: skip
    _check_run_args(n_sims, n_jobs, seed, precision, batch_size, alpha, conf_level, model,
                    mc_interval, null, progress)  # fmt: skip
    n_sims, batch_size = int(n_sims), int(batch_size)
    if null:
        extra = [e.null() for e in effects if not e.is_null]
        effects = effects + [e for e in dict.fromkeys(extra) if e not in effects]
    if model == "mixed":
        needed = {c for d in designs for c in d.covariates}
        from alliance_stats.simulate import simulate_study

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cols = set(simulate_study(2, 2, 3, seed=0).sessions.columns)
        missing = sorted(needed - cols)
        if missing:
            raise InputError(
                f"Design.covariates {missing} are not columns of the simulated session table; "
                f"choose from {sorted(cols)}"
            )
    config = dict(
        designs=[d.to_dict() for d in designs],
        effects=[dataclasses.asdict(e) for e in effects],
        over=over,
        values=list(values) if values is not None else None,
        n_sims=n_sims,
        seed=int(seed),
        precision=precision,
        batch_size=batch_size,
        alpha=float(alpha),
        model=model,
        conf_level=float(conf_level),
        mc_interval=mc_interval,
    )
    fp = _fingerprint(config)
    ck_path = Path(os.fspath(checkpoint)) if checkpoint is not None else None
    done = _load_checkpoint(ck_path, fp) if ck_path is not None else {}
    n_resumed = len(done)
    seeds = np.random.SeedSequence(int(seed)).spawn(n_sims)
    streams = [(p, e) for p in range(len(designs)) for e in range(len(effects))]
    active = dict.fromkeys(streams, True)
    n_run = dict.fromkeys(streams, 0)
    bar = _NoProgress()
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_sims * len(streams), desc="power", unit="fit", initial=0)
    t0 = time.perf_counter()
    with _Executor(n_jobs, scheduler) as ex:
        for start in range(0, n_sims, batch_size):
            todo = [s for s in streams if active[s]]
            if not todo:
                break
            stop = min(n_sims, start + batch_size)
            tasks = []
            for p, e in todo:
                for i in range(start, stop):
                    key = (p, effects[e].label, i)
                    if key in done:
                        bar.update(1)
                        continue
                    tasks.append((key, model, designs[p], effects[e], float(alpha), seeds[i]))
            for rec in ex.run(tasks, bar):
                done[(rec["point"], rec["effect"], rec["replicate"])] = rec
            if tasks and ck_path is not None:
                _save_checkpoint(ck_path, fp, config, done)
            for s in todo:
                n_run[s] = stop
                if precision is not None and stop < n_sims:
                    recs = [done[(s[0], effects[s[1]].label, i)] for i in range(stop)]
                    k = sum(bool(r["reject"]) for r in recs)
                    lo, hi = _mc_interval(k, stop, conf_level, mc_interval)
                    if (hi - lo) / 2 <= precision:
                        active[s] = False
        backend = ex.kind
    bar.close()
    elapsed = time.perf_counter() - t0

    rows, reps = [], []
    for p, e in streams:
        d, eff = designs[p], effects[e]
        recs = [done[(p, eff.label, i)] for i in range(n_run[(p, e)])]
        reps += recs
        row = dict(
            point=p,
            over=over,
            value=float(getattr(d, over)) if over else math.nan,
            n_therapists=d.n_therapists,
            clients_per_therapist=d.clients_per_therapist,
            n_clients=d.n_clients,
            max_sessions=d.max_sessions,
            effect=eff.label,
            strategy=eff.strategy,
            scale=eff.scale,
            component=d.component if model == "mixed" else "single-level",
            odds_ratio=eff.odds_ratio,
            true_value=eff.log_or,
            is_null=eff.is_null,
            analytic_power=analytic_power(d, eff, alpha) if model == "logistic" else math.nan,
            stopped_early=n_run[(p, e)] < n_sims,
        )
        row.update(_summarise(recs, eff.log_or, conf_level, mc_interval))
        rows.append(row)
    table = pd.DataFrame(rows)[list(TABLE_COLUMNS)]
    replicates = pd.DataFrame(reps, columns=list(REPLICATE_COLUMNS))
    notes = [
        f"Replicate i uses child i of numpy SeedSequence({seed}).spawn({n_sims}); the same "
        "children serve every effect and design point (common random numbers).",
    ]
    if model == "mixed":
        d0 = designs[0]
        notes.append(
            "Analysis model per replicate: logistic mixed model on person-period rows, "
            f"<outcome> ~ s_cwc + s_cm{''.join(' + ' + c for c in d0.covariates)} + "
            "(1 | therapist) + (1 | client), Laplace ML (fit_mixed, restarts=False; lme4's "
            "scaled-gradient and singular-fit checks recorded); Wald test of the "
            f"{d0.component}-client term."
        )
        notes.append(
            "Failed fits count as non-rejections (power is not overstated); warnings = "
            "non-convergence or a singular fit."
        )
    else:
        notes.append(
            "Check model: single-level logistic regression with a binary predictor, one row "
            "per client, fitted in closed form; analytic_power is the large-sample Wald power."
        )
    if precision is not None:
        notes.append(
            f"Early stopping: after each batch of {batch_size} replicates, a row stops once its "
            f"Monte Carlo CI half-width is at most {precision}."
        )
    if n_resumed:
        notes.append(f"Resumed from checkpoint '{ck_path}' ({n_resumed} replicate(s) reused).")
    return PowerResult(
        table=table,
        replicates=replicates,
        designs=tuple(designs),
        effects=tuple(effects),
        over=over,
        model=model,
        alpha=float(alpha),
        seed=int(seed),
        n_sims=n_sims,
        precision=precision,
        conf_level=float(conf_level),
        mc_interval=mc_interval,
        notes=tuple(notes),
        elapsed_seconds=elapsed,
        backend=backend,
    )


def power_analysis(
    design: Design | Mapping | None = None,
    effects: Effect | float | Sequence | None = None,
    n_sims: int = 500,
    n_jobs: int = 1,
    scheduler: Any = None,
    seed: int = 1,
    *,
    null: bool = False,
    precision: float | None = None,
    batch_size: int = 50,
    checkpoint: str | os.PathLike | None = None,
    alpha: float = 0.05,
    conf_level: float = 0.95,
    mc_interval: str = "wilson",
    model: str = "mixed",
    progress: bool = False,
) -> PowerResult:
    """Simulated power to detect a strategy's effect on retention in a multilevel study.

    Parameters
    ----------
    design : Design or dict, optional
        The planned study; default :class:`Design` () (a typical study: 30 therapists x 10
        clients, 16 sessions, 19.7% dropout).
    effects : Effect, float, dict or list of those, optional
        Effect(s) to detect; a float is an odds ratio on the dropout hazard of ``validation``.
        Default ``Effect()`` (hazard OR 0.74).
    n_sims : int, default 500
        Replicates per effect (the most run when ``precision`` stops a row early).
    n_jobs : int, default 1
        Local worker processes (joblib, loky backend); ``-1`` = all cores.
    scheduler : str or dask.distributed.Client, optional
        Run on an existing Dask cluster: its address (``"tcp://host:port"``) or a Client
        (needs ``alliance_stats[distributed]``). Overrides ``n_jobs``.
    seed : int, default 1
        Same seed, same result, serially, in parallel and on a cluster.
    null : bool, default False
        Also run each effect's strategy at an odds ratio of 1 on the same replicates: its
        "power" row is the type I error.
    precision : float, optional
        Stop a row early once the half-width of its Monte Carlo CI of power is at most this
        (checked after each batch, so deterministic for a seed).
    batch_size : int, default 50
        Replicates per batch (stopping checks and checkpoint writes happen between batches).
    checkpoint : path, optional
        JSON file of finished replicates, written atomically after each batch; a run with
        the same settings continues from it and gives the same result as an uninterrupted run.
    alpha : float, default 0.05
        Level of the two-sided Wald test.
    conf_level : float, default 0.95
        Level of the Monte Carlo CIs of power and of the estimate's CI (coverage).
    mc_interval : {"wilson", "exact"}
        Wilson score or Clopper-Pearson interval for power.
    model : {"mixed", "logistic"}
        ``"mixed"``: the real analysis model (see the module docstring). ``"logistic"``: the
        single-level check model whose power is known (:func:`analytic_power`).
    progress : bool, default False
        Show a tqdm progress bar.

    Returns
    -------
    PowerResult
        ``.table`` (power, Monte Carlo CI, type I error, bias, coverage, warning shares),
        ``.replicates``, ``.plot()``, ``.summary()``.

    Raises
    ------
    InputError
        A bad design, effect or option, or a checkpoint from a different run.

    Notes
    -----
    R equivalent: ``simr::powerSim(glmer(...), fixed("validation_cwc", "z"), nsim = 500)``,
    which refits lme4 per replicate but does not simulate dropout or therapist nesting.

    Examples
    --------
    >>> res = power_analysis(Design(n_therapists=20), 0.5, n_sims=40, model="logistic")
    >>> res.table[["power", "analytic_power"]].round(2).values.tolist()
    [[0.38, 0.37]]
    """
    return _run(
        [_as_design(design)],
        _as_effects(effects),
        None,
        None,
        n_sims=n_sims,
        n_jobs=n_jobs,
        scheduler=scheduler,
        seed=seed,
        precision=precision,
        batch_size=batch_size,
        alpha=alpha,
        conf_level=conf_level,
        model=model,
        mc_interval=mc_interval,
        null=null,
        checkpoint=checkpoint,
        progress=progress,
    )


def power_curve(
    over: str = "clients_per_therapist",
    values: Sequence[int] = (5, 10, 15, 20),
    design: Design | Mapping | None = None,
    effects: Effect | float | Sequence | None = None,
    n_sims: int = 500,
    n_jobs: int = 1,
    scheduler: Any = None,
    seed: int = 1,
    **options: Any,
) -> PowerResult:
    """Power over one design dimension (e.g. clients per therapist); ``.plot()`` draws the curve.

    Parameters
    ----------
    over : {"n_therapists", "clients_per_therapist", "max_sessions"}
        The design field to vary.
    values : list of int
        Its values (distinct).
    design, effects, n_sims, n_jobs, scheduler, seed, **options
        As in :func:`power_analysis` (``null``, ``precision``, ``checkpoint``, ...).

    Returns
    -------
    PowerResult
        One table row per value and effect (``value`` column); ``plot()`` shows power against
        ``over`` with the 80% line.

    Examples
    --------
    >>> res = power_curve("n_therapists", [10, 40], effects=0.5, n_sims=30, model="logistic")
    >>> res.table["value"].tolist()
    [10.0, 40.0]
    """
    if over not in CURVE_DIMENSIONS:
        raise InputError(f"over must be one of {CURVE_DIMENSIONS}; got {over!r}")
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise InputError(f"values must be a non-empty list of {over} values; got {values!r}")
    if len(set(values)) != len(values):
        raise InputError(f"values must be distinct; got {list(values)}")
    base = _as_design(design)
    designs = [dataclasses.replace(base, **{over: v}) for v in values]
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(f"unknown option(s) {unknown}; allowed: {sorted(_OPTIONS)}")
    opts = {**_OPTIONS, **options}
    return _run(designs, _as_effects(effects), over, [int(v) for v in values], n_sims=n_sims,
                n_jobs=n_jobs, scheduler=scheduler, seed=seed, **opts)  # fmt: skip


_OPTIONS = dict(
    null=False,
    precision=None,
    batch_size=50,
    checkpoint=None,
    alpha=0.05,
    conf_level=0.95,
    mc_interval="wilson",
    model="mixed",
    progress=False,
)
