"""Which therapist strategies predict retained engagement: :func:`strategy_effects`.

For each strategy the session code is split into a within-client part (the session's
deviation from the client's own rate of that strategy) and a between-client part (the
client's rate), following Curran & Bauer (2011). All strategies enter one logistic mixed
model with client and therapist random intercepts (one model adjusts each strategy for the
others and for the covariates); the p-values of the strategy terms are then adjusted for
multiplicity (Holm by default, Benjamini-Hochberg optional) over every strategy term
tested. A population-averaged GEE with exchangeable within-client correlation and robust
standard errors is fitted beside it as a sensitivity analysis.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.display import html_notes, html_table
from alliance_stats.errors import DataWarning, InputError

ADJUST_METHODS = {"holm": "holm", "bh": "fdr_bh", "none": None}
OUTCOMES = ("event", "returned", "dropout")
OUTCOME_LABELS = {
    "event": "the hazard of dropout",
    "returned": "returning next session",
    "dropout": "not returning next session",
}
TABLE_COLUMNS = (
    "strategy",
    "component",
    "moderator_level",
    "term",
    "estimate",
    "std_error",
    "p_value",
    "p_adjusted",
    "odds_ratio",
    "or_conf_low",
    "or_conf_high",
    "significant",
    "gee_odds_ratio",
    "gee_p_value",
)


@dataclass(frozen=True)
class StrategyResult:
    """Within- and between-client associations of strategies with an engagement outcome.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per strategy term: ``strategy, component`` (``within``/``between``/
        ``within x <level>``), ``moderator_level``, ``term`` (model term), ``estimate``
        (log odds), ``std_error``, ``p_value``, ``p_adjusted``, ``odds_ratio`` with
        ``or_conf_low``/``or_conf_high``, ``significant`` (adjusted p below ``alpha``), and
        the GEE sensitivity analysis ``gee_odds_ratio``, ``gee_p_value``.
    model : MixedResult
        The logistic mixed model.
    gee : pandas.DataFrame
        GEE coefficients (log odds, robust SE, p) for every term.
    outcome, adjust, alpha : str, str, float
        What was modelled and how p-values were adjusted.
    notes : tuple of str
        Plain-language notes (data used, multiplicity, model notes).
    """

    table: pd.DataFrame
    model: object
    gee: pd.DataFrame
    outcome: str
    adjust: str
    alpha: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The strategy table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """A plain-text table of odds ratios with adjusted p-values, and the notes."""
        shown = self.table[
            [
                "strategy",
                "component",
                "odds_ratio",
                "or_conf_low",
                "or_conf_high",
                "p_value",
                "p_adjusted",
                "gee_odds_ratio",
            ]
        ]
        lines = [
            f"Strategy effects on '{self.outcome}' (logistic mixed model; p adjusted: "
            f"{self.adjust}; alpha {self.alpha})",
            shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        hits = int(self.table["significant"].sum())
        return (
            f"<StrategyResult: {self.table['strategy'].nunique()} strategies, "
            f"{hits} of {len(self.table)} terms significant after {self.adjust} adjustment>"
        )

    def _repr_html_(self) -> str:
        table = html_table(self.table.drop(columns=["term"]), max_rows=40, where=".table")
        return f"<div><b>{html.escape(repr(self))}</b>{table}{html_notes(self.notes)}</div>"

    def plot(self, ax=None):
        """Forest plot of odds ratios (log axis); terms significant after adjustment filled."""
        from alliance_stats import plots

        return plots.forest_plot(
            self.table, ax=ax, title=f"Strategies and {OUTCOME_LABELS[self.outcome]}"
        )


def _check_arguments(df, strategies, outcome, adjust, covariates, moderator, alpha):
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"df must be a session table (DataFrame); got {type(df).__name__}")
    if not strategies:
        raise InputError(
            "strategies must be a non-empty list of strategy columns, e.g. "
            "['validation', 'offering_choices']"
        )
    if adjust not in ADJUST_METHODS:
        raise InputError(f"adjust must be one of {sorted(ADJUST_METHODS)}; got {adjust!r}")
    if outcome not in OUTCOMES:
        raise InputError(
            f"outcome must be one of {OUTCOMES} ('event' = dropout after the session, from "
            f"person-period rows; 'returned' = came to the next session); got {outcome!r}"
        )
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1; got {alpha!r}")
    needed = [*schema.REQUIRED_COLUMNS, *strategies, *covariates]
    if moderator is not None:
        needed.append(moderator)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(
            f"column(s) {missing} are not in the session table; columns are {list(df.columns)}"
        )
    for column in strategies:
        values = df[column]
        if not pd.api.types.is_numeric_dtype(values) or values.dropna().empty:
            raise InputError(
                f"strategy column '{column}' must hold numbers (0/1 or counts); "
                f"found {values.dtype} with {values.notna().sum()} values"
            )
        if values.dropna().nunique() < 2:
            raise InputError(
                f"strategy column '{column}' has a single value, so its effect cannot be "
                "estimated; leave it out"
            )


def _analysis_rows(df: pd.DataFrame, outcome: str, definition: str) -> pd.DataFrame:
    """Rows at risk for the outcome, with the outcome column present."""
    from alliance_stats import prep

    if outcome == "event":
        return prep.person_period(df, definition=definition)
    rows = prep.retention_outcomes(df, definition="next_session")
    rows = rows[rows[schema.ATTENDED] & rows["returned"].notna()]
    if outcome == "dropout":
        rows = rows.assign(dropout=1.0 - rows["returned"])
    return rows


def strategy_effects(
    df: pd.DataFrame,
    strategies: Sequence[str],
    outcome: str = "event",
    adjust: str = "holm",
    *,
    covariates: Sequence[str] = (),
    moderator: str | None = None,
    definition: str = "unplanned_end",
    alpha: float = 0.05,
    gee: bool = True,
) -> StrategyResult:
    """Each strategy's within- and between-client association with engagement.

    Parameters
    ----------
    df : pandas.DataFrame
        Canonical session table (one row per scheduled session).
    strategies : list of str
        Strategy columns (0/1 per session, or counts).
    outcome : {"event", "returned", "dropout"}
        ``"event"`` (default): dropout after the session, on discrete-time person-period rows
        (:func:`alliance_stats.person_period` with ``definition``); ``"returned"``: came to
        the next scheduled session; ``"dropout"``: did not (``1 - returned``).
    adjust : {"holm", "bh", "none"}
        Multiplicity adjustment over all strategy terms in the table.
    covariates : list of str
        Further fixed effects (e.g. ``["resistance"]``, a confounder of strategy use).
    moderator : str, optional
        A categorical session column (e.g. ``"resistance_type"``): adds, for each strategy,
        the interaction of its within-client part with each non-reference level.
    definition : str
        Dropout definition for ``outcome="event"`` (see :func:`alliance_stats.person_period`).
    alpha : float
        Significance level for ``significant`` (after adjustment).
    gee : bool
        Also fit the population-averaged GEE sensitivity analysis.

    Returns
    -------
    StrategyResult

    Notes
    -----
    R equivalent (lme4)::

        glmer(event ~ s1_cwc + s1_cm + ... + (1 | therapist) + (1 | client),
              family = binomial, data = person_period_rows)
        p.adjust(p, "holm")

    Examples
    --------
    >>> import alliance_stats as als
    >>> df = als.datasets.load("teaching")
    >>> st = als.strategy_effects(df, ["validation"], covariates=["resistance"], gee=False)
    >>> st.table[["strategy", "component"]].values.tolist()
    [['validation', 'within'], ['validation', 'between']]
    """
    from statsmodels.stats.multitest import multipletests

    from alliance_stats import prep
    from alliance_stats.models import fit_mixed

    if isinstance(strategies, str) or not isinstance(strategies, Sequence):
        strategies = None  # rejected with the message below
    strategies, covariates = list(strategies or []), list(covariates)
    _check_arguments(df, strategies, outcome, adjust, covariates, moderator, alpha)
    rows = _analysis_rows(df, outcome, definition)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        rows = prep.decompose(rows, strategies, by=schema.CLIENT)
    terms: list[dict] = []
    for s in strategies:
        terms.append(
            {"strategy": s, "component": "within", "moderator_level": None, "term": f"{s}_cwc"}
        )
        terms.append(
            {"strategy": s, "component": "between", "moderator_level": None, "term": f"{s}_cm"}
        )
    predictors = [t["term"] for t in terms] + covariates
    if moderator is not None:
        rows, moderator_terms = _moderation(rows, strategies, moderator)
        terms += moderator_terms
        predictors += [t["term"] for t in moderator_terms]
        predictors += [c for c in rows.columns if c.startswith(f"{moderator}__")]
    formula = (
        f"{outcome} ~ "
        + " + ".join(dict.fromkeys(predictors))
        + f" + (1 | {schema.THERAPIST}) + (1 | {schema.CLIENT})"
    )
    model = fit_mixed(formula, rows, family="binomial")
    coefs = model.coefficients
    table = pd.DataFrame(terms)
    table = table.join(coefs, on="term")
    table["p_adjusted"] = table["p_value"]
    method = ADJUST_METHODS[adjust]
    if method is not None:
        table["p_adjusted"] = multipletests(table["p_value"].to_numpy(), method=method)[1]
    table["significant"] = table["p_adjusted"] < alpha
    gee_table = _gee(rows, outcome, predictors) if gee else pd.DataFrame()
    if gee:
        table["gee_odds_ratio"] = np.exp(table["term"].map(gee_table["estimate"]))
        table["gee_p_value"] = table["term"].map(gee_table["p_value"])
    else:
        table["gee_odds_ratio"] = np.nan
        table["gee_p_value"] = np.nan
    rows_kind = (
        "person-period rows, event = dropout after the session"
        if outcome == "event"
        else "attended sessions with a next scheduled session"
    )
    notes = [
        f"{model.nobs:,} rows ({rows_kind}) from {model.n_groups.get(schema.CLIENT, 0):,} "
        f"clients and {model.n_groups.get(schema.THERAPIST, 0):,} therapists.",
        "Within = session minus the client's own rate of the strategy (person-mean "
        "centred); between = the client's rate.",
        f"p-values adjusted over {len(table)} strategy terms "
        + (
            "by Holm's method."
            if adjust == "holm"
            else "by Benjamini-Hochberg (false discovery rate)."
            if adjust == "bh"
            else "- none (unadjusted)."
        ),
        *model.notes,
    ]
    if gee:
        notes.append(
            "Sensitivity: GEE (binomial, exchangeable within client, robust SEs) gives "
            "population-averaged odds ratios, usually closer to 1 than the mixed model's."
        )
    return StrategyResult(
        table=table[list(TABLE_COLUMNS)].reset_index(drop=True),
        model=model,
        gee=gee_table,
        outcome=outcome,
        adjust=adjust,
        alpha=alpha,
        notes=tuple(notes),
    )


def _moderation(rows: pd.DataFrame, strategies, moderator):
    values = rows[moderator].astype("str").where(rows[moderator].notna())
    levels = sorted(values.dropna().unique())
    if len(levels) < 2:
        raise InputError(f"moderator '{moderator}' needs at least two levels; found {levels}")
    rows = rows.copy()
    terms = []
    for level in levels[1:]:
        dummy = f"{moderator}__{_safe(level)}"
        rows[dummy] = (values == level).astype("float64").where(values.notna())
        for s in strategies:
            name = f"{s}_cwc__x__{_safe(level)}"
            rows[name] = rows[f"{s}_cwc"] * rows[dummy]
            terms.append(
                {
                    "strategy": s,
                    "component": f"within x {level}",
                    "moderator_level": level,
                    "term": name,
                }
            )
    return rows, terms


def _safe(level: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(level))


def _gee(rows: pd.DataFrame, outcome: str, predictors: list[str]) -> pd.DataFrame:
    import statsmodels.api as sm

    used = rows[[outcome, schema.CLIENT, *predictors]].dropna()
    exog = sm.add_constant(used[predictors].astype("float64"))
    model = sm.GEE(
        used[outcome].astype("float64"),
        exog,
        groups=pd.factorize(used[schema.CLIENT])[0],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.fit()
    return pd.DataFrame(
        {"estimate": fitted.params, "std_error": fitted.bse, "p_value": fitted.pvalues}
    ).rename(index={"const": "(Intercept)"})
