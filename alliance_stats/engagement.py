"""The engagement models: what is fitted by default, on which rows, and why it is identified.

Two questions, two models, each with its own outcome column
(:func:`alliance_stats.retention_outcomes`):

``dropout_hazard`` (default)
    Discrete-time hazard of dropping out after an attended session (a single spell per
    client). Rows: :func:`alliance_stats.person_period`, every attended session at risk up
    to and including the one after which the client dropped out. Formula::

        dropout_event ~ ns(period, df) + x_within + x_between + ... + (1 | therapist)

    ``ns(period, df)`` is the baseline hazard, a natural cubic spline of the session at risk
    (``period`` = attended sessions so far) with ``df`` chosen from the data's length (or
    piecewise-constant bands). Estimand: the log odds ratio of dropping out after a session,
    conditional on the therapist. Identified: the therapist variance by several clients per
    therapist; there is no client intercept, because one event per client identifies a client
    frailty only through the functional form of the hazard.
``next_session_attendance``
    Whether the client came to the next scheduled session, on every attended session with a
    next one scheduled. Formula::

        attended_next ~ ns(period, df) + x_within + x_between + ... + (1 | therapist) + (1 | client)

    Estimand: the log odds ratio of attending the next session, conditional on client and
    therapist. Identified: the client variance by repeated outcomes per client, the therapist
    variance by several clients per therapist.
``dropout_hazard_frailty`` (sensitivity analysis only)
    The dropout hazard with a client frailty ``(1 | client)`` added: weakly identified (by the
    shape of the hazard alone); reported as a sensitivity analysis, never as the main model.

Time-varying exposures (strategy codes, the alliance rating, resistance) enter as the
client's running mean of the sessions so far (``x_between``) and the session's deviation
from it (``x_within``), from :func:`alliance_stats.decompose_running`: nothing from a later
session enters a row. Variables constant within a client enter as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats import prep, schema
from alliance_stats.errors import InputError

__all__ = [
    "BASELINES",
    "CATALOGUE",
    "EngagementModel",
    "baseline_basis",
    "centring_text",
    "choose_baseline_df",
    "engagement_rows",
    "planned_model",
]

#: Baseline hazard forms: a natural cubic spline of the period, or piecewise-constant bands.
BASELINES = ("spline", "bands")


@dataclass(frozen=True)
class EngagementModel:
    """One model of the catalogue: its outcome, rows, random effects and why they are identified.

    Examples
    --------
    >>> from alliance_stats.engagement import CATALOGUE
    >>> CATALOGUE["dropout_hazard"].random
    ('therapist',)
    """

    name: str
    label: str
    outcome: str
    rows: str
    random: tuple[str, ...]
    estimand: str
    identification: str
    sensitivity: bool = False
    bias_reduction: bool = False

    def estimator(self, link: str = "logit") -> str:
        """The estimator, in words (as the plan prints it)."""
        text = ESTIMATOR_BIAS_REDUCED if self.bias_reduction else ESTIMATOR_ML
        if link == "cloglog":
            text += (
                "; cloglog link (grouped-time proportional hazards: exp(estimate) is a hazard "
                "ratio)"
            )
        return text

    def fit_options(self, link: str = "logit") -> dict:
        """Keyword arguments of :func:`alliance_stats.models.fit_mixed` for this model.

        ``link="cloglog"`` (the dropout hazard models only) fits the grouped-time
        proportional-hazards model instead of the logit one.

        Examples
        --------
        >>> CATALOGUE["dropout_hazard"].fit_options("cloglog")
        {'family': 'binomial', 'bias_reduction': True, 'link': 'cloglog'}
        """
        if link not in LINKS:
            raise InputError(f"link must be one of {LINKS}; got {link!r}")
        if link != "logit" and self.outcome != prep.DROPOUT_EVENT:
            raise InputError(f"link={link!r} applies to the dropout hazard models only")
        return {"family": "binomial", "bias_reduction": self.bias_reduction, "link": link}

    def formula(self, terms: Sequence[str]) -> str:
        """The lme4 formula with these fixed-effect terms."""
        bars = " + ".join(f"(1 | {g})" for g in self.random)
        return f"{self.outcome} ~ {' + '.join(terms)} + {bars}"


#: Links of the dropout hazard: logit (default) or cloglog (grouped-time proportional hazards).
LINKS = ("logit", "cloglog")

#: The estimators of the catalogue, in words.
ESTIMATOR_ML = "maximum likelihood, Laplace approximation (nAGQ = 1)"
ESTIMATOR_BIAS_REDUCED = (
    "maximum likelihood, Laplace approximation (nAGQ = 1), with the fixed effects "
    "bias-reduced by a Firth-type penalty (variances at their ML estimates), since a study's "
    "tens of dropouts leave ML log odds ratios biased away from 0"
)

CATALOGUE: dict[str, EngagementModel] = {
    "dropout_hazard": EngagementModel(
        name="dropout_hazard",
        label="Dropout hazard",
        outcome=prep.DROPOUT_EVENT,
        rows="person-period rows: each attended session at risk, up to and including the "
        "session after which the client dropped out",
        random=(schema.THERAPIST,),
        estimand="log odds of dropping out after a session (discrete-time hazard), "
        "conditional on the therapist",
        identification="therapist variance: several clients per therapist; no client "
        "intercept, since one dropout per client identifies a client frailty only through "
        "the shape of the hazard",
        bias_reduction=True,
    ),
    "next_session_attendance": EngagementModel(
        name="next_session_attendance",
        label="Next-session attendance",
        outcome=prep.ATTENDED_NEXT,
        rows="attended sessions with a next scheduled session",
        random=(schema.THERAPIST, schema.CLIENT),
        estimand="log odds of attending the next scheduled session, conditional on client "
        "and therapist",
        identification="client variance: repeated outcomes per client; therapist variance: "
        "several clients per therapist",
    ),
    "dropout_hazard_frailty": EngagementModel(
        name="dropout_hazard_frailty",
        label="Dropout hazard with client frailty (sensitivity)",
        outcome=prep.DROPOUT_EVENT,
        rows="person-period rows, as the dropout hazard",
        random=(schema.THERAPIST, schema.CLIENT),
        estimand="as the dropout hazard, conditional also on a client frailty",
        identification="weakly identified: the client frailty rests on the shape of the "
        "hazard alone (one event per client); a sensitivity analysis only",
        sensitivity=True,
        bias_reduction=True,
    ),
}


def choose_baseline_df(periods: np.ndarray, n_events: int | None = None) -> int:
    """Degrees of freedom of the baseline hazard, chosen from the data's length.

    One per four distinct periods, between 1 and 4, and at most one per 15 events.

    Examples
    --------
    >>> import numpy as np
    >>> choose_baseline_df(np.arange(1, 16))
    3
    """
    periods = np.asarray(periods, dtype=float)
    distinct = int(np.unique(periods[np.isfinite(periods)]).size)
    df = min(4, max(1, distinct // 4))
    if n_events is not None:
        df = min(df, max(1, int(n_events) // 15))
    return df


def baseline_basis(period, df: int, kind: str = "spline") -> pd.DataFrame:
    """Columns of the baseline hazard in ``period``: a natural cubic spline or bands.

    ``"spline"``: a natural cubic spline with ``df`` columns (no intercept; linear beyond the
    boundary knots at the smallest and largest period, interior knots at quantiles of the
    rows' periods), named ``period_ns1``, ..., orthonormalised over the rows (centred,
    uncorrelated, unit SD: the same fitted hazard as R's ``splines::ns``, better conditioned);
    ``df = 1`` is a straight line in period.
    ``"bands"``: ``df + 1`` bands of periods cut at quantiles, as ``df`` indicator columns
    ``period_band2``, ... against the first band.

    Examples
    --------
    >>> import numpy as np
    >>> baseline_basis(np.array([1, 2, 3, 4, 5, 6]), 2).columns.tolist()
    ['period_ns1', 'period_ns2']
    """
    x = np.asarray(period, dtype=float)
    if kind not in BASELINES:
        raise InputError(f"baseline must be one of {BASELINES}; got {kind!r}")
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise InputError(f"baseline_df must be a whole number >= 1; got {df!r}")
    if kind == "bands":
        cuts = np.unique(np.quantile(x, np.linspace(0, 1, df + 2)[1:-1]))
        band = np.searchsorted(cuts, x, side="right")
        return pd.DataFrame(
            {f"period_band{b + 1}": (band == b).astype(float) for b in range(1, len(cuts) + 1)}
        )
    lo, hi = float(x.min()), float(x.max())
    scale = hi - lo if hi > lo else 1.0
    z = (x - lo) / scale
    if df == 1:
        return pd.DataFrame({"period_ns1": z})
    knots = np.unique(np.quantile(z, np.linspace(0, 1, df + 1)))
    if len(knots) < df + 1:  # too few distinct periods for that many knots
        knots = np.linspace(0.0, 1.0, df + 1)
    last = knots[-1]

    def d(k):
        return (np.clip(z - knots[k], 0, None) ** 3 - np.clip(z - last, 0, None) ** 3) / (
            last - knots[k]
        )

    raw = np.column_stack([z] + [d(k) - d(len(knots) - 2) for k in range(len(knots) - 2)])
    # Same column space (with the intercept), but centred, orthogonal and of unit SD: the
    # raw truncated-power columns differ in scale by orders of magnitude, which leaves the
    # likelihood flat along them and the optimizer's convergence check failing.
    q, r = np.linalg.qr(raw - raw.mean(axis=0))
    q = q * np.sign(np.diag(r)) * np.sqrt(len(x))
    return pd.DataFrame({f"period_ns{k + 1}": q[:, k] for k in range(q.shape[1])})


def engagement_rows(
    data: pd.DataFrame,
    model: str,
    exposures: Sequence[str],
    covariates: Sequence[str] = (),
    *,
    definition: str = prep.DEFAULT_DEFINITION,
    n: int | None = None,
    lag: int = 0,
    baseline: str = "spline",
    baseline_df: int | None = None,
) -> tuple[pd.DataFrame, list[str], dict]:
    """The rows a catalogue model is fitted on, its fixed-effect terms and how they were built.

    Exposures, and covariates that vary within a client, are split by
    :func:`alliance_stats.decompose_running` into ``<x>_within`` and ``<x>_between`` (the
    between part centred at its mean over the rows, which leaves its coefficient unchanged);
    covariates constant within every client enter as they are.

    Returns
    -------
    rows : DataFrame
        The analysis rows with the outcome, the split columns and the baseline columns.
    terms : list of str
        Fixed-effect terms in formula order (baseline first).
    info : dict
        ``baseline`` (a readable description), ``baseline_terms``, ``split`` (the columns
        split into within/between), ``constant`` (covariates entered as they are),
        ``centres`` (the mean subtracted from each between part).

    Examples
    --------
    >>> import alliance_stats as als
    >>> from alliance_stats.engagement import engagement_rows
    >>> df = als.simulate_study(n_therapists=6, clients_per_therapist=5, seed=2).sessions
    >>> rows, terms, info = engagement_rows(df, "dropout_hazard", ["validation"])
    >>> terms[-2:]
    ['validation_within', 'validation_between']
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a session table (DataFrame); got {type(data).__name__}")
    if model not in CATALOGUE:
        raise InputError(f"model must be one of {sorted(CATALOGUE)}; got {model!r}")
    spec = CATALOGUE[model]
    for name, value in (("exposures", exposures), ("covariates", covariates)):
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{name} must be a list of column names; got {value!r}")
    exposures, covariates = list(exposures), list(covariates)
    if not exposures:
        raise InputError("exposures must name at least one column (e.g. ['validation'])")
    if baseline not in BASELINES:
        raise InputError(f"baseline must be one of {BASELINES}; got {baseline!r}")
    codes = pd.factorize(data[schema.CLIENT])[0]
    varying = [c for c in covariates if _varies_within(data, c, codes)]
    constant = [c for c in covariates if c not in varying]
    split = list(dict.fromkeys([*exposures, *varying]))
    table = prep.decompose_running(data, split, lag=lag) if split else data
    if spec.outcome == prep.DROPOUT_EVENT:
        rows = prep.person_period(table, definition, n=n)
    else:
        rows = prep.retention_outcomes(table, definition, n=n)
        rows = rows[rows[schema.ATTENDED].astype(bool) & rows[spec.outcome].notna()]
        rows = rows.reset_index(drop=True)
        rows[spec.outcome] = rows[spec.outcome].astype(np.int64)
    if rows.empty:
        raise InputError(f"{spec.label}: the data have no rows to fit ({spec.rows})")
    period = rows[prep.PERIOD].to_numpy(dtype=float)
    events = int(rows[spec.outcome].sum())
    if spec.outcome == prep.ATTENDED_NEXT:
        events = min(events, len(rows) - events)
    df = choose_baseline_df(period, events) if baseline_df is None else baseline_df
    if np.unique(period).size < 2:  # one period only: the intercept is the whole baseline
        basis = pd.DataFrame(index=rows.index)
    else:
        basis = baseline_basis(period, df, baseline)
    rows = pd.concat([rows, basis], axis=1)
    centres = {}
    terms = list(basis.columns)
    for col in split:
        between = f"{col}{prep.BETWEEN_SUFFIX}"
        centres[between] = float(rows[between].mean())
        rows[between] = rows[between] - centres[between]
        terms += [f"{col}{prep.WITHIN_SUFFIX}", between]
    terms += constant
    kind = "natural cubic spline" if baseline == "spline" else "piecewise-constant bands"
    described = (
        f"{kind} of the session at risk (period), {basis.shape[1]} df"
        if basis.shape[1]
        else "constant (every row is at the same period)"
    )
    info = {
        "baseline": described,
        "baseline_terms": list(basis.columns),
        "split": split,
        "constant": constant,
        "centres": centres,
    }
    return rows, terms, info


def _varies_within(data: pd.DataFrame, column: str, codes: np.ndarray) -> bool:
    if column not in data.columns:
        raise InputError(
            f"covariate '{column}' is not a column of the session table; columns are "
            f"{list(map(str, data.columns))}"
        )
    values = data[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    spread = pd.Series(values.to_numpy(dtype=float, na_value=np.nan)).groupby(codes).nunique()
    return bool((spread > 1).any())


def centring_text(info: dict) -> str:
    """How the predictors of an engagement model were built (``info`` of
    :func:`engagement_rows`), in one sentence.

    Examples
    --------
    >>> from alliance_stats import datasets
    >>> df = datasets.load("teaching")  # simulated
    >>> _, _, info = engagement_rows(df, "dropout_hazard", ["validation"], covariates=["age"])
    >>> print(centring_text(info))
    validation split into the client's running mean of the sessions so far (_between, centred
    at its mean over the rows) and the session's deviation from it (_within); nothing from
    later sessions; age entered as they are (constant per client)
    """
    parts = []
    if info["split"]:
        parts.append(
            f"{', '.join(info['split'])} split into the client's running mean of the sessions "
            "so far (_between, centred at its mean over the rows) and the session's deviation "
            "from it (_within); nothing from later sessions"
        )
    if info["constant"]:
        parts.append(f"{', '.join(info['constant'])} entered as they are (constant per client)")
    return "; ".join(parts)


def planned_model(
    model: str, info: dict, terms: Sequence[str], definition: str, name: str, purpose: str,
    role: str = "", link: str = "logit",
):  # fmt: skip
    """The :class:`~alliance_stats.plan.PlannedModel` of a catalogue model whose rows and
    terms :func:`engagement_rows` built (nothing is fitted).

    Examples
    --------
    >>> import alliance_stats as als
    >>> df = als.simulate_study(n_therapists=6, clients_per_therapist=5, seed=2).sessions
    >>> rows, terms, info = engagement_rows(df, "dropout_hazard", ["validation"])
    >>> planned_model("dropout_hazard", info, terms, "unplanned_end", "d", "Dropout").formula
    'dropout_event ~ period_ns1 + validation_within + validation_between + (1 | therapist)'
    """
    from alliance_stats.plan import PlannedModel

    spec = CATALOGUE[model]
    options = spec.fit_options(link)
    return PlannedModel(
        name=name,
        purpose=purpose,
        formula=spec.formula(terms),
        outcome=f"{spec.outcome} ({spec.estimand})",
        rows=spec.rows,
        definition=definition if spec.outcome == prep.DROPOUT_EVENT else "",
        centring=centring_text(info),
        baseline=info["baseline"],
        random_effects=" and ".join(f"{g} random intercept" for g in spec.random),
        identification=spec.identification,
        estimator=spec.estimator(link),
        bias_reduction=options["bias_reduction"],
        link=link,
        role=role or ("sensitivity analysis" if spec.sensitivity else ""),
    )
