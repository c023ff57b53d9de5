"""Therapist effects: how much therapists differ, and which ones stand out.

:func:`therapist_effects` takes a fitted :class:`~alliance_stats.models.MixedResult` with a
``therapist`` grouping factor, or a session table plus an outcome (and fits the model itself),
and returns a :class:`TherapistEffects`: the therapist share of variance (ICC) and a table of
each therapist's conditional mode (BLUP) with its conditional SD and interval.

Examples
--------
>>> import alliance_stats as als
>>> from alliance_stats.therapists import therapist_effects
>>> sim = als.simulate_study(n_therapists=12, clients_per_therapist=6, max_sessions=8, seed=3)
>>> te = therapist_effects(sim.sessions, outcome="srs_1")
>>> te.table.columns.tolist()[:3]
['therapist', 'estimate', 'std_error']
>>> 0 <= te.icc < 1
True
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.display import html_notes, html_table
from alliance_stats.errors import InputError

__all__ = ["TABLE_COLUMNS", "TherapistEffects", "therapist_effects"]

TABLE_COLUMNS = (
    "therapist",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "n_clients",
    "n_sessions",
    "rank",
)
DROPOUT_OUTCOMES = ("dropout_event", "dropout", "event")
#: Okabe & Ito (2008) colour-blind-safe colours: blue, vermillion, grey.
_BLUE, _VERMILLION, _GREY = "#0072B2", "#D55E00", "#999999"


@dataclass(frozen=True)
class TherapistEffects:
    """Therapist variance share and per-therapist conditional modes.

    Attributes
    ----------
    icc : float
        Therapist share of variance. Linear model: ``var_therapist / (sum of random-intercept
        variances + residual variance)``. Logistic model: the latent-scale share
        ``var_therapist / (sum of random-intercept variances + pi^2/3)`` (Snijders & Bosker;
        the convention in the therapist-effects literature). :attr:`icc_definition` says
        which. With random slopes, variances are those of the intercepts (covariates at 0).
    table : pandas.DataFrame
        One row per therapist: ``therapist, estimate`` (conditional mode / BLUP, the
        therapist's deviation from the average on the model's scale: outcome units, or
        log-odds for a logistic model), ``std_error`` (conditional SD), ``conf_low,
        conf_high`` (``estimate -+ z * std_error`` at ``conf_level``), ``n_clients,
        n_sessions`` (rows used by the model), ``rank`` (1 = largest estimate).
    variance, sd : float
        Therapist random-intercept variance and SD.
    family, formula, outcome, conf_level, icc_definition, notes
        What was fitted and how to read it.
    model : MixedResult
        The fitted model.

    Examples
    --------
    >>> import alliance_stats as als
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> te = als.therapist_effects(df, outcome="wai_sr_total")
    >>> te.formula
    'wai_sr_total ~ session + (1 | therapist) + (1 | client)'
    >>> round(te.icc, 3), te.table.shape
    (0.263, (16, 8))
    >>> te.table.sort_values("rank")["therapist"].head(3).tolist()
    ['T14', 'T09', 'T13']
    """

    icc: float
    table: pd.DataFrame
    variance: float
    sd: float
    family: str
    formula: str
    outcome: str
    conf_level: float
    icc_definition: str
    notes: tuple[str, ...] = ()
    model: Any = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"TherapistEffects({self.family}, outcome={self.outcome!r}, "
            f"therapists={len(self.table)}, icc={self.icc:.3f}, sd={self.sd:.3f})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The per-therapist table (unrounded), a copy.

        Examples
        --------
        >>> from alliance_stats.therapists import _example
        >>> _example().to_frame().columns.tolist()[-1]
        'rank'
        """
        return self.table.copy()

    def _scale(self) -> str:
        return "log-odds" if self.family == "binomial" else "outcome units"

    def summary(self, digits: int = 3) -> str:
        """A text summary (rounded; attributes stay unrounded).

        Examples
        --------
        >>> from alliance_stats.therapists import _example
        >>> print(_example().summary().splitlines()[0])
        Therapist effects on 'srs_1' (linear mixed model)
        """
        kind = "logistic" if self.family == "binomial" else "linear"
        lines = [f"Therapist effects on {self.outcome!r} ({kind} mixed model)"]
        lines.append(f"Formula: {self.formula}")
        lines.append(
            f"Therapists: {len(self.table)}; therapist SD {self.sd:.{digits}f} "
            f"({self._scale()}); therapist share (ICC) {self.icc:.{digits}f}"
        )
        lines.append(f"ICC = {self.icc_definition}")
        n_out = int(((self.table["conf_low"] > 0) | (self.table["conf_high"] < 0)).sum())
        lines.append(
            f"{n_out} therapist(s) with a {self.conf_level:.0%} interval excluding 0 "
            "(intervals are conditional, not adjusted for multiplicity)"
        )
        lines.append("")
        with pd.option_context("display.width", 200, "display.max_rows", 500):
            lines.append(self.table.round(digits).to_string(index=False))
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        kind = "Logistic" if self.family == "binomial" else "Linear"
        head = (
            f"<p><b>Therapist effects</b> on <code>{html.escape(self.outcome)}</code> "
            f"({kind} mixed model: <code>{html.escape(self.formula)}</code>)<br>"
            f"{len(self.table)} therapists; SD {self.sd:.3f} ({self._scale()}); "
            f"ICC {self.icc:.3f} = {html.escape(self.icc_definition)}</p>"
        )
        table = html_table(self.table, where=".table")
        return f"<div>{head}{table}{html_notes(self.notes)}</div>"

    def plot(self, ax=None):
        """Caterpillar plot: therapists sorted by their conditional mode, with intervals.

        Intervals that exclude 0 are drawn in vermillion, others in blue (Okabe-Ito colours);
        a horizontal line marks 0 (the average therapist). Returns the matplotlib Axes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from alliance_stats.therapists import _example
        >>> ax = _example().plot()
        """
        import matplotlib.pyplot as plt

        t = self.table.sort_values("estimate", kind="mergesort").reset_index(drop=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(max(4.0, 0.18 * len(t) + 1.5), 3.5))
        x = np.arange(len(t))
        off = ((t["conf_low"] > 0) | (t["conf_high"] < 0)).to_numpy()
        for mask, colour, label in (
            (~off, _BLUE, f"{self.conf_level:.0%} interval includes 0"),
            (off, _VERMILLION, f"{self.conf_level:.0%} interval excludes 0"),
        ):
            if not mask.any():
                continue
            est = t["estimate"].to_numpy()[mask]
            ax.errorbar(
                x[mask],
                est,
                yerr=[est - t["conf_low"].to_numpy()[mask], t["conf_high"].to_numpy()[mask] - est],
                fmt="o",
                ms=3.5,
                color=colour,
                elinewidth=1,
                capsize=0,
                label=label,
            )
        ax.axhline(0.0, color=_GREY, lw=0.8, ls="--")
        if len(t) <= 40:
            ax.set_xticks(x, t["therapist"].astype(str).tolist(), rotation=90, fontsize=7)
        else:
            ax.set_xticks([])
        ax.set_xlabel("therapist (sorted by estimate)")
        ax.set_ylabel(f"therapist effect ({self._scale()})")
        ax.legend(frameon=False, fontsize=7, loc="upper left")
        return ax


def _icc(res, therapist: str) -> tuple[float, float, str]:
    vc = res.varcorr
    ints = vc[(vc["var1"] == "(Intercept)") & vc["var2"].isna()]
    row = ints[ints["grp"] == therapist]
    var_t = float(row["vcov"].iloc[0])
    groups = " + ".join(f"var_{g}" for g in ints["grp"])
    if res.family == "binomial":
        total = float(ints["vcov"].sum()) + np.pi**2 / 3
        definition = (
            f"var_{therapist} / ({groups} + pi^2/3): latent-scale share for a logistic model "
            "(level-1 variance pi^2/3)"
        )
    else:
        resid = float(vc.loc[vc["grp"] == "Residual", "vcov"].iloc[0])
        total = float(ints["vcov"].sum()) + resid
        definition = f"var_{therapist} / ({groups} + var_residual)"
    return var_t / total, var_t, definition


def _counts(res, therapist: str, client: str) -> pd.DataFrame:
    frame = res.model_frame
    if frame is None or therapist not in frame.columns:
        return pd.DataFrame(columns=["therapist", "n_clients", "n_sessions"])
    g = frame.groupby(frame[therapist].astype(str), sort=False)
    out = pd.DataFrame({"n_sessions": g.size()})
    if client in frame.columns:
        out["n_clients"] = g[client].nunique()
    else:
        out["n_clients"] = pd.NA
    out.index.name = "therapist"
    return out.reset_index()


def _from_result(res, therapist: str, client: str, outcome: str | None) -> TherapistEffects:
    from alliance_stats.models.result import MixedResult

    if not isinstance(res, MixedResult):
        raise InputError(f"expected a MixedResult or a DataFrame, got {type(res).__name__}")
    vc = res.varcorr
    has = ((vc["grp"] == therapist) & (vc["var1"] == "(Intercept)") & vc["var2"].isna()).any()
    if not has:
        groups = sorted(set(vc["grp"]) - {"Residual"})
        raise InputError(
            f"the model has no random intercept for therapist={therapist!r} (its grouping "
            f"factors: {groups}); add '(1 | {therapist})' to the formula or pass therapist="
            "the name of the therapist grouping factor"
        )
    icc, var_t, definition = _icc(res, therapist)
    re = res.ranef()
    re = re[(re["grpvar"] == therapist) & (re["term"] == "(Intercept)")]
    table = pd.DataFrame(
        {
            "therapist": re["grp"].astype(str).to_numpy(),
            "estimate": re["condval"].to_numpy(),
            "std_error": re["condsd"].to_numpy(),
            "conf_low": re["conf_low"].to_numpy(),
            "conf_high": re["conf_high"].to_numpy(),
        }
    )
    table = table.merge(_counts(res, therapist, client), on="therapist", how="left")
    table["n_clients"] = table["n_clients"].astype("Int64")
    table["n_sessions"] = table["n_sessions"].astype("Int64")
    table["rank"] = (
        table["estimate"].rank(ascending=False, method="min").astype("int64")
        if len(table)
        else pd.Series(dtype="int64")
    )
    notes = list(res.notes)
    if var_t == 0:
        notes.append(
            "the therapist variance is estimated at 0: all conditional modes are 0 (no "
            "detectable therapist differences in this model)"
        )
    response = outcome or res.formula.split("~")[0].strip()
    return TherapistEffects(
        icc=float(icc),
        table=table[list(TABLE_COLUMNS)],
        variance=var_t,
        sd=float(np.sqrt(var_t)),
        family=res.family,
        formula=res.formula,
        outcome=response,
        conf_level=res.conf_level,
        icc_definition=definition,
        notes=tuple(notes),
        model=res,
    )


def therapist_effects(
    data: Any,
    outcome: str | None = None,
    *,
    formula: str | None = None,
    family: str | None = None,
    therapist: str = "therapist",
    client: str = "client",
    session: str = "session",
    conf_level: float = 0.95,
    REML: bool | None = None,
) -> TherapistEffects:
    """Therapist variance share (ICC) and each therapist's conditional mode.

    Parameters
    ----------
    data : MixedResult or pandas.DataFrame
        A fitted model with a ``(1 | therapist)`` term (used as is), or a session table
        (canonical layout: ``client``, ``therapist``, ``session``, ``attended``, scores).
    outcome : str, optional
        Table input: the column to model. ``"dropout_event"`` (or ``"dropout"``, ``"event"``)
        fits a discrete-time dropout hazard on :func:`alliance_stats.person_period` rows
        (binomial, ``dropout_event ~ period + (1 | therapist)``: no client intercept, which one
        dropout per client does not identify); any other column fits
        ``<outcome> ~ session + (1 | therapist) + (1 | client)`` (gaussian, REML) on the
        attended rows (all rows when there is no ``attended`` column).
    formula : str, optional
        Table input: an lme4 formula to fit instead of the default (fitted on ``data`` as
        given, or on person-period rows when ``outcome`` is a dropout outcome).
    family : {"gaussian", "binomial"}, optional
        Default: binomial for a dropout outcome, else gaussian.
    therapist, client, session : str
        Column / grouping-factor names.
    conf_level : float, default 0.95
        Level of the conditional intervals (table input; a result keeps its own).
    REML : bool, optional
        Gaussian fits: REML (the default, as lme4's) or ML (``False``).

    Returns
    -------
    TherapistEffects

    Raises
    ------
    InputError
        Neither ``outcome`` nor ``formula`` for a table, a missing column, fewer than two
        therapists, or a model without a therapist random intercept.

    Notes
    -----
    The dropout default has no client random intercept: every client has at most one event,
    so a client frailty is barely identified and trades off against the time trend (on the
    bundled clinic data it runs to SD 3 without converging). Pass ``formula=`` to fit one.

    Examples
    --------
    >>> import alliance_stats as als
    >>> sim = als.simulate_study(n_therapists=12, clients_per_therapist=6, max_sessions=8, seed=3)
    >>> te = therapist_effects(sim.sessions, outcome="srs_1")
    >>> te.table["rank"].min()
    np.int64(1)

    R equivalent::

        m <- lme4::lmer(srs_1 ~ session + (1 | therapist) + (1 | client), data = d)
        re <- as.data.frame(lme4::ranef(m, condVar = TRUE))
        re[re$grpvar == "therapist", ]
    """
    from alliance_stats.models.result import MixedResult

    if isinstance(data, MixedResult):
        if formula is not None or family is not None:
            raise InputError(
                "formula= and family= apply to a session table; a fitted MixedResult is used as is"
            )
        return _from_result(data, therapist, client, outcome)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            "data must be a fitted MixedResult or a session table (pandas DataFrame), got "
            f"{type(data).__name__}"
        )
    if outcome is None and formula is None:
        raise InputError(
            "give outcome= (a score column, or 'dropout' for a dropout hazard) or formula= "
            "(an lme4 formula with '(1 | therapist)')"
        )
    if family not in (None, "gaussian", "binomial"):
        raise InputError(f"family must be 'gaussian', 'binomial' or None, got {family!r}")
    if therapist not in data.columns:
        raise InputError(
            f"data has no therapist column {therapist!r}; pass therapist= the column name "
            f"(columns: {list(data.columns)[:12]})"
        )
    n_t = data[therapist].nunique(dropna=True)
    if n_t < 2:
        raise InputError(
            f"column {therapist!r} has {n_t} therapist(s); therapist effects need at least 2 "
            "(in practice 20 or more for a usable variance estimate)"
        )
    from alliance_stats.models import fit_mixed

    notes: list[str] = []
    dropout = outcome in DROPOUT_OUTCOMES
    if dropout:
        from alliance_stats.prep import person_period

        family = family or "binomial"
        if family != "binomial":
            raise InputError(f"outcome={outcome!r} is a dropout hazard: use family='binomial'")
        rows = person_period(data)
        formula = formula or f"dropout_event ~ period + (1 | {therapist})"
        notes.append(
            f"dropout hazard on {len(rows)} person-period rows (alliance_stats.person_period); "
            "therapist effects are on the log-odds scale"
        )
    else:
        family = family or "gaussian"
        if formula is None:
            missing = [c for c in (outcome, client, session) if c not in data.columns]
            if missing:
                raise InputError(
                    f"data lacks the column(s) {missing} needed for the default model "
                    f"'{outcome} ~ {session} + (1 | {therapist}) + (1 | {client})'; pass "
                    "client=/session= names or formula="
                )
            formula = f"{outcome} ~ {session} + (1 | {therapist}) + (1 | {client})"
            rows = data
            if "attended" in data.columns:
                rows = data[data["attended"].astype("boolean").fillna(False).to_numpy(bool)]
        else:
            rows = data
    res = fit_mixed(formula, rows, family=family, REML=REML, conf_level=conf_level)
    out = _from_result(res, therapist, client, outcome)
    if notes:
        out = dataclasses.replace(out, notes=tuple(notes) + out.notes)
    return out


def _example() -> TherapistEffects:
    """A small fitted example for the docstrings."""
    import alliance_stats as als

    sim = als.simulate_study(n_therapists=12, clients_per_therapist=6, max_sessions=8, seed=3)
    return therapist_effects(sim.sessions, outcome="srs_1")
