"""The power-analysis driver: :func:`power_analysis`, :func:`power_curve` and their checks."""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError
from alliance_stats.power.checkpoint import config_fingerprint, load_checkpoint, save_checkpoint
from alliance_stats.power.design import Design, Effect, as_design, as_effects, check_number
from alliance_stats.power.execution import Executor, NoProgress
from alliance_stats.power.replicates import MODELS, analytic_power
from alliance_stats.power.result import REPLICATE_COLUMNS, TABLE_COLUMNS, PowerResult
from alliance_stats.power.summary import MC_INTERVALS, monte_carlo_interval, summarise

CURVE_DIMENSIONS = ("n_therapists", "clients_per_therapist", "max_sessions")


def _check_run_args(n_sims, n_jobs, precision, batch_size, alpha, conf_level, model,
                    mc_interval, null, progress):  # fmt: skip
    check_number("n_sims", n_sims, 1, 10_000_000, True, owner="power_analysis")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise InputError(f"n_jobs must be a non-zero integer (-1 = all cores); got {n_jobs!r}")
    if precision is not None:
        check_number("precision", precision, 1e-4, 0.5, owner="power_analysis")
    check_number("batch_size", batch_size, 1, 10_000_000, True, owner="power_analysis")
    check_number("alpha", alpha, 1e-6, 0.5, owner="power_analysis")
    check_number("conf_level", conf_level, 0.5, 0.9999, owner="power_analysis")
    if model not in MODELS:
        raise InputError(f"model must be one of {MODELS}; got {model!r}")
    if mc_interval not in MC_INTERVALS:
        raise InputError(f"mc_interval must be one of {MC_INTERVALS}; got {mc_interval!r}")
    if not isinstance(null, bool) or not isinstance(progress, bool):
        raise InputError("null and progress must be True or False")


def recorded_seed(seed) -> int:
    """The seed a power run records (its checkpoints and notes name it): an int as given, the
    entropy of a plain SeedSequence, or one draw from a Generator (so the run can be repeated
    from the recorded number).

    Examples
    --------
    >>> recorded_seed(7), recorded_seed(np.random.SeedSequence(7))
    (7, 7)
    >>> recorded_seed(np.random.default_rng(3)) == recorded_seed(np.random.default_rng(3))
    True
    """
    if isinstance(seed, np.random.SeedSequence) and not seed.spawn_key:
        seed = seed.entropy
    elif isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(
            "seed must be a non-negative integer, a numpy SeedSequence (not a spawned child) "
            f"or a numpy Generator; got {seed!r}"
        )
    return int(seed)


def _run(designs, effects, over, values, *, n_sims, n_jobs, scheduler, seed, precision,
         batch_size, alpha, conf_level, model, mc_interval, null, checkpoint,
         progress) -> PowerResult:  # fmt: skip
    seed = recorded_seed(seed)
    _check_run_args(n_sims, n_jobs, precision, batch_size, alpha, conf_level, model,
                    mc_interval, null, progress)  # fmt: skip
    n_sims, batch_size = int(n_sims), int(batch_size)
    if null:
        extra = [e.null() for e in effects if not e.is_null]
        effects = effects + [e for e in dict.fromkeys(extra) if e not in effects]
    if model == "mixed":
        needed = {c for d in designs for c in d.covariates}
        from alliance_stats.scoring import score
        from alliance_stats.simulate import simulate_study

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sessions = simulate_study(2, 2, 3, seed=0).sessions
            cols = set(score(sessions, "wai_sr", items="wai_{}").columns)
        missing = sorted(needed - cols)
        if missing:
            raise InputError(
                f"Design.covariates {missing} are not columns of the simulated session table "
                f"(with the WAI-SR scored); choose from {sorted(cols)}"
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
    fp = config_fingerprint(config)
    ck_path = Path(os.fspath(checkpoint)) if checkpoint is not None else None
    done = load_checkpoint(ck_path, fp) if ck_path is not None else {}
    n_resumed = len(done)
    seeds = np.random.SeedSequence(int(seed)).spawn(n_sims)
    streams = [(p, e) for p in range(len(designs)) for e in range(len(effects))]
    active = dict.fromkeys(streams, True)
    n_run = dict.fromkeys(streams, 0)
    bar = NoProgress()
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_sims * len(streams), desc="power", unit="fit", initial=0)
    t0 = time.perf_counter()
    with Executor(n_jobs, scheduler) as ex:
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
                save_checkpoint(ck_path, fp, config, done)
            for s in todo:
                n_run[s] = stop
                if precision is not None and stop < n_sims:
                    recs = [done[(s[0], effects[s[1]].label, i)] for i in range(stop)]
                    k = sum(bool(r["reject"]) for r in recs)
                    lo, hi = monte_carlo_interval(k, stop, conf_level, mc_interval)
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
        row.update(summarise(recs, eff.log_or, conf_level, mc_interval))
        rows.append(row)
    table = pd.DataFrame(rows)[list(TABLE_COLUMNS)]
    replicates = pd.DataFrame(reps, columns=list(REPLICATE_COLUMNS))
    notes = [
        f"Replicate i uses child i of numpy SeedSequence({seed}).spawn({n_sims}); the same "
        "children serve every effect and design point (common random numbers).",
    ]
    if model == "mixed":
        d0 = designs[0]
        covs = "".join(f" + {c}_within + {c}_between" for c in d0.covariates)
        notes.append(
            "Analysis model per replicate: the dropout hazard model (alliance_stats.engagement) "
            f"on person-period rows, <outcome> ~ ns(period) + s_within + s_between{covs} + "
            "(1 | therapist), with running (past-only) within/between splits; Laplace ML with "
            "the fixed effects bias-reduced (Firth-type penalty), as the analysis fits it "
            "(fit_mixed, restarts=False; lme4's scaled-gradient and singular-fit checks "
            f"recorded); Wald test of the {d0.component}-client term."
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
    seed : int, numpy SeedSequence or numpy Generator, default 1
        Same seed, same result, serially, in parallel and on a cluster (a Generator is
        drawn from once; the number drawn is recorded: :func:`recorded_seed`).
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
        ``"mixed"``: the real analysis model (see the package docstring). ``"logistic"``: the
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
        [as_design(design)],
        as_effects(effects),
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
    base = as_design(design)
    designs = [dataclasses.replace(base, **{over: v}) for v in values]
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(f"unknown option(s) {unknown}; allowed: {sorted(_OPTIONS)}")
    opts = {**_OPTIONS, **options}
    return _run(designs, as_effects(effects), over, [int(v) for v in values], n_sims=n_sims,
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
