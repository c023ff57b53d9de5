"""Recovery of planted effects by the engagement models, by simulation.

Each replicate simulates a study with :func:`alliance_stats.simulate_study` (SIMULATED data,
known truth), builds the rows of a catalogue model (:mod:`alliance_stats.engagement`), fits
it, and compares every estimate with the true coefficient under the same term name
(``truth["estimands"]``). :func:`recovery_study` summarises many replicates: bias, empirical
SE, mean model SE, 95% CI coverage, and the rejection rate (power for planted effects, type I
error for null ones), each with its Monte Carlo SE, plus the Holm family-wise error over the
null strategy terms.

Scenarios (:data:`SCENARIOS`)
-----------------------------
``dropout_hazard``
    The simulator's defaults; the dropout hazard model is the data-generating model.
``next_session_attendance``
    The simulator's defaults with dropout switched off (``dropout_share=0``), so that
    attending the next session follows exactly the attendance model (with dropout, a missed
    next session mixes no-shows and dropouts).
``dropout_hazard_frailty``
    Misspecified: a client frailty (variance 0.5) is in the truth but not in the model; shows
    how far the hazard estimates move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alliance_stats.arguments import seed_sequence
from alliance_stats.errors import InputError

__all__ = ["RECOVERY_STRATEGIES", "SCENARIOS", "RecoveryResult", "Scenario", "recovery_study"]

#: Strategies in the recovery model: two with planted effects, two null.
RECOVERY_STRATEGIES = ("validation", "feedback_checkin", "offering_choices", "explaining_rationale")

#: Columns of :attr:`RecoveryResult.table`.
TABLE_COLUMNS = (
    "term", "truth", "planted", "n", "mean_estimate", "bias", "bias_mc_se", "empirical_se",
    "mean_model_se", "coverage", "coverage_mc_se", "rejection_rate", "rejection_mc_se",
)  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """A data-generating scenario and the catalogue model fitted to it.

    Examples
    --------
    >>> from alliance_stats.recovery import SCENARIOS
    >>> s = SCENARIOS["dropout_hazard_frailty"]
    >>> s.model, s.overrides, s.misspecified
    ('dropout_hazard', {'client_dropout_var': 0.5}, True)
    """

    name: str
    model: str
    overrides: dict = field(default_factory=dict)
    misspecified: bool = False
    description: str = ""


SCENARIOS = {
    "dropout_hazard": Scenario(
        "dropout_hazard", "dropout_hazard", {}, False, "simulator defaults; model = truth"
    ),
    "next_session_attendance": Scenario(
        "next_session_attendance",
        "next_session_attendance",
        {"dropout_share": 0.0},
        False,
        "simulator defaults without dropout; model = truth",
    ),
    "dropout_hazard_frailty": Scenario(
        "dropout_hazard_frailty",
        "dropout_hazard",
        {"client_dropout_var": 0.5},
        True,
        "client frailty (variance 0.5) in the truth, not in the model",
    ),
}


@dataclass(frozen=True)
class RecoveryResult:
    """Summary of a recovery study (see :func:`recovery_study`).

    Attributes
    ----------
    table : DataFrame
        One row per term with a known truth; columns :data:`TABLE_COLUMNS` (log-odds scale).
    replicates : DataFrame
        Every replicate's estimate, std_error, conf_low, conf_high, p_value per term, with
        ``replicate``, ``converged`` and ``singular``.
    scenario : Scenario
    n_reps : int
    family_wise_error : float
        Share of replicates in which Holm's method over all strategy terms rejected at least
        one null strategy term at 0.05.
    flagged : float
        Share of replicate fits not converged or singular.

    Examples
    --------
    >>> from alliance_stats.recovery import recovery_study
    >>> r = recovery_study(n_reps=2, strategies=["validation", "offering_choices"],
    ...                    design={"n_therapists": 10, "clients_per_therapist": 6,
    ...                            "max_sessions": 10})
    >>> r
    <RecoveryResult: dropout_hazard, 2 replicates>
    >>> r.table[["term", "truth", "planted", "n"]]
                           term  truth  planted  n
    0         validation_within  -0.30     True  2
    1        validation_between  -0.50     True  2
    2   offering_choices_within   0.00    False  2
    3  offering_choices_between   0.00    False  2
    4       wai_sr_total_within  -0.07     True  2
    5      wai_sr_total_between  -0.05     True  2
    >>> r.replicates.shape, 0 <= r.family_wise_error <= 1
    ((12, 10), True)
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    scenario: Scenario
    n_reps: int
    family_wise_error: float
    flagged: float

    def to_frame(self) -> pd.DataFrame:
        """The summary table (a copy)."""
        return self.table.copy()

    def summary(self, digits: int = 3) -> str:
        """Plain-text summary with Monte Carlo SEs."""
        n = self.n_reps
        fwe_se = np.sqrt(self.family_wise_error * (1 - self.family_wise_error) / n)
        lines = [
            f"Recovery: {self.scenario.name} ({self.scenario.description}); {n} replicates "
            "of SIMULATED studies",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}"),
            f"Holm family-wise error over the null strategy terms: "
            f"{self.family_wise_error:.3f} (MC SE {fwe_se:.3f}); fits flagged (not converged "
            f"or singular): {self.flagged:.1%}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<RecoveryResult: {self.scenario.name}, {self.n_reps} replicates>"


def _replicate(scenario: Scenario, design: dict, strategies, seed) -> pd.DataFrame:
    import warnings

    from alliance_stats.engagement import CATALOGUE, engagement_rows
    from alliance_stats.models import fit_mixed
    from alliance_stats.scoring import score
    from alliance_stats.simulate import simulate_study

    study = simulate_study(**design, seed=seed, **scenario.overrides)
    truth = study.truth["estimands"][
        "next_session_attendance" if scenario.model == "next_session_attendance" else
        "dropout_hazard"
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = score(study.sessions, "wai_sr", items="wai_{}")
        rows, terms, _ = engagement_rows(data, scenario.model, strategies, ["wai_sr_total"])
        spec = CATALOGUE[scenario.model]
        res = fit_mixed(spec.formula(terms), rows, **spec.fit_options())
    coefs = res.coefficients
    known = [t for t in terms if t in truth]
    out = coefs.loc[known, ["estimate", "std_error", "conf_low", "conf_high", "p_value"]]
    out = out.rename_axis("term").reset_index()
    out["truth"] = [truth[t] for t in known]
    out["converged"] = res.converged
    out["singular"] = res.singular
    return out


def recovery_study(
    scenario: str = "dropout_hazard",
    n_reps: int = 500,
    *,
    seed: int = 2026,
    n_jobs: int = 1,
    strategies: Sequence[str] = RECOVERY_STRATEGIES,
    design: dict | None = None,
) -> RecoveryResult:
    """Simulate, fit and compare with the truth, ``n_reps`` times.

    Parameters
    ----------
    scenario : str
        A key of :data:`SCENARIOS`.
    n_reps : int
        Replicates (500 or more for the benchmark; Monte Carlo SEs are reported).
    seed : int, numpy SeedSequence or numpy Generator
        Replicate ``i`` uses the ``i``-th child of the seed's SeedSequence: the same results
        serially and with ``n_jobs``.
    n_jobs : int
        Parallel processes (joblib).
    strategies : list of str
        Strategy columns in the model.
    design : dict, optional
        ``n_therapists``, ``clients_per_therapist``, ``max_sessions`` (default: the
        simulator's default design, 30 x 10 x 16).

    Examples
    --------
    >>> from alliance_stats.recovery import recovery_study
    >>> r = recovery_study(n_reps=2, design={"n_therapists": 10, "clients_per_therapist": 6})
    >>> r.table["term"].tolist()[:2]
    ['validation_within', 'validation_between']
    """
    if scenario not in SCENARIOS:
        raise InputError(f"scenario must be one of {sorted(SCENARIOS)}; got {scenario!r}")
    if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or n_reps < 2:
        raise InputError(f"n_reps must be a whole number >= 2; got {n_reps!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise InputError(f"n_jobs must be a whole number >= 1; got {n_jobs!r}")
    from alliance_stats.simulate import STRATEGIES

    spec = SCENARIOS[scenario]
    design = dict(design or {})
    unknown = [s for s in strategies if s not in STRATEGIES] if not isinstance(
        strategies, str) else [strategies]  # fmt: skip
    if unknown or not strategies:
        raise InputError(
            f"strategies must be a non-empty list of simulator strategies {list(STRATEGIES)}; "
            f"got {strategies!r}"
        )
    strategies = list(strategies)
    seeds = seed_sequence(seed, "recovery_study").spawn(int(n_reps))
    if n_jobs == 1:
        parts = [_replicate(spec, design, strategies, s) for s in seeds]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(
            delayed(_replicate)(spec, design, strategies, s) for s in seeds
        )
    reps = pd.concat([p.assign(replicate=i) for i, p in enumerate(parts)], ignore_index=True)
    return RecoveryResult(
        table=_summarise(reps),
        replicates=reps,
        scenario=spec,
        n_reps=int(n_reps),
        family_wise_error=_holm_fwe(reps, strategies),
        flagged=float(
            (
                ~reps.groupby("replicate")["converged"].first()
                | reps.groupby("replicate")["singular"].first()
            ).mean()
        ),  # fmt: skip
    )


def _summarise(reps: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for term, g in reps.groupby("term", sort=False):
        n = len(g)
        truth = float(g["truth"].iloc[0])
        est = g["estimate"].to_numpy()
        covered = ((g["conf_low"] <= truth) & (truth <= g["conf_high"])).to_numpy()
        reject = (g["p_value"] < 0.05).to_numpy()
        emp_se = float(np.std(est, ddof=1))
        cov = float(covered.mean())
        rej = float(reject.mean())
        rows.append(
            {
                "term": term,
                "truth": truth,
                "planted": truth != 0,
                "n": n,
                "mean_estimate": float(est.mean()),
                "bias": float(est.mean() - truth),
                "bias_mc_se": emp_se / np.sqrt(n),
                "empirical_se": emp_se,
                "mean_model_se": float(g["std_error"].mean()),
                "coverage": cov,
                "coverage_mc_se": float(np.sqrt(cov * (1 - cov) / n)),
                "rejection_rate": rej,
                "rejection_mc_se": float(np.sqrt(rej * (1 - rej) / n)),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _holm_fwe(reps: pd.DataFrame, strategies: Sequence[str]) -> float:
    from statsmodels.stats.multitest import multipletests

    family = reps[reps["term"].str.rsplit("_", n=1).str[0].isin(strategies)]
    hits = []
    for _, g in family.groupby("replicate"):
        reject = multipletests(g["p_value"].to_numpy(), alpha=0.05, method="holm")[0]
        hits.append(bool((reject & (g["truth"].to_numpy() == 0)).any()))
    return float(np.mean(hits)) if hits else float("nan")
