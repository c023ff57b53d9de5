"""Simulation-based power analysis for multilevel retention studies.

:func:`power_analysis` answers "how many therapists and clients do we need to detect a
strategy's effect on retention?" by simulation: each replicate draws a study with
:func:`alliance_stats.simulate_study`, builds the discrete-time person-period rows
(:func:`alliance_stats.person_period`), splits the focal strategy (and the covariates, by
default the WAI-SR total) into running within- and between-client parts from the past only
(:func:`alliance_stats.decompose_running`) and fits the dropout hazard model a real study
uses (:mod:`alliance_stats.engagement`, :func:`alliance_stats.strategy_effects`)::

    dropout_event ~ ns(period, df) + s_within + s_between [+ covariates] + (1 | therapist)

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

One job per module: :mod:`~alliance_stats.power.design` (the study and effect and their
input checks), :mod:`~alliance_stats.power.replicates` (one simulated replicate, and
:func:`analytic_power`), :mod:`~alliance_stats.power.execution` (serial, joblib or Dask
runs), :mod:`~alliance_stats.power.summary` (Monte Carlo intervals and per-row summaries),
:mod:`~alliance_stats.power.checkpoint` (resumable JSON checkpoints),
:mod:`~alliance_stats.power.result` (:class:`PowerResult`) and
:mod:`~alliance_stats.power.run` (:func:`power_analysis`, :func:`power_curve`).
"""

from __future__ import annotations

from alliance_stats.power.design import COMPONENTS, SCALES, Design, Effect
from alliance_stats.power.replicates import MODELS, analytic_power
from alliance_stats.power.result import REPLICATE_COLUMNS, TABLE_COLUMNS, PowerResult
from alliance_stats.power.run import CURVE_DIMENSIONS, power_analysis, power_curve
from alliance_stats.power.summary import MC_INTERVALS

__all__ = [
    "COMPONENTS",
    "CURVE_DIMENSIONS",
    "MC_INTERVALS",
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
