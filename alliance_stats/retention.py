"""Retention: Kaplan-Meier curves of sessions attended until dropout.

:func:`retention_curve` estimates, per group, the share of clients still engaged after each
number of attended sessions, with pointwise log-log confidence bands. The estimates come from
``statsmodels.duration.survfunc.SurvfuncRight`` (lifelines is avoided: it forces pandas < 3).

Time and event
--------------
Time is the number of sessions a client attended. ``event`` = 1 for a client who dropped out
under the chosen definition (:func:`alliance_stats.prep.retention_outcomes`; default
``"unplanned_end"``: the client's last scheduled session was not attended); completers are
right-censored at their number of attended sessions. Missed sessions (no-shows followed by a
return) do not count as time.

Confidence bands
----------------
Pointwise, on the log(-log S) scale with Greenwood's variance (R ``survfit(conf.type =
"log-log")``): with ``se`` the Greenwood standard error of ``S`` and
``w = z * se / (S * |log S|)``, the band is ``[S ** exp(w), S ** exp(-w)]``. At ``S = 1`` the band
is ``[1, 1]``; at ``S = 0`` it is ``[0, 0]``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.display import html_table
from alliance_stats.errors import InputError
from alliance_stats.prep import (
    DROPOUT,
    attended_mask,
    check_frame,
    client_order,
    require_columns,
    retention_outcomes,
)

__all__ = ["TABLE_COLUMNS", "RetentionCurve", "retention_curve"]

#: Columns of :attr:`RetentionCurve.table`.
TABLE_COLUMNS = ("group", "session", "at_risk", "events", "censored", "survival", "std_error",
                 "conf_low", "conf_high")  # fmt: skip


@dataclass(frozen=True)
class RetentionCurve:
    """Kaplan-Meier retention curves (result of :func:`retention_curve`).

    Attributes
    ----------
    table : DataFrame
        Columns :data:`TABLE_COLUMNS`. One row per group at ``session`` 0 (survival 1, everyone at
        risk) and at every number of attended sessions where a client dropped out or was censored.
        ``at_risk``: clients with at least that many attended sessions; ``events``: dropouts after
        exactly that many; ``censored``: completers with exactly that many; ``survival``: share
        still engaged after that many sessions; ``std_error``: Greenwood SE; ``conf_low``,
        ``conf_high``: pointwise log-log band.
    clients : DataFrame
        One row per client: ``client``, ``group``, ``time`` (attended sessions), ``event``.
    by : str or None
        Grouping column.
    definition : str
        Dropout definition.
    conf_level : float
        Confidence level of the bands.

    Examples
    --------
    >>> import alliance_stats as als
    >>> km = als.retention_curve(als.datasets.load("teaching"), by="gender")
    >>> km
    RetentionCurve(3 group(s), 96 clients, 27 dropouts; by='gender', definition='unplanned_end')
    >>> km.medians()
            group  clients  dropouts  median_sessions
    0      female       62        19              NaN
    1        male       30         8              NaN
    2  non-binary        4         0              NaN
    >>> km.table.shape
    (23, 9)
    """

    table: pd.DataFrame
    clients: pd.DataFrame
    by: str | None
    definition: str
    conf_level: float

    def __repr__(self) -> str:
        n = len(self.clients)
        k = int(self.clients["event"].sum())
        g = self.table["group"].nunique()
        return (
            f"RetentionCurve({g} group(s), {n} clients, {k} dropouts; by={self.by!r}, "
            f"definition={self.definition!r})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The Kaplan-Meier table (a copy)."""
        return self.table.copy()

    def medians(self) -> pd.DataFrame:
        """Per group: clients, dropouts, and the median number of sessions until dropout.

        The median is the smallest session count with survival <= 0.5 (NaN when the curve never
        falls to 0.5, as usual when most clients complete).
        """
        rows = []
        for g, d in self.clients.groupby("group", sort=False):
            t = self.table[self.table["group"] == g]
            below = t.loc[t["survival"] <= 0.5, "session"]
            rows.append(
                {
                    "group": g,
                    "clients": len(d),
                    "dropouts": int(d["event"].sum()),
                    "median_sessions": float(below.min()) if len(below) else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Per-group counts and survival at a few session counts, as text."""
        lines = [
            f"Kaplan-Meier retention (dropout definition: {self.definition}; "
            f"{self.conf_level:.0%} pointwise log-log bands)",
            self.medians().to_string(index=False),
            "",
        ]
        t = self.table.copy()
        for c in ("survival", "std_error", "conf_low", "conf_high"):
            t[c] = t[c].round(3)
        lines.append(t.to_string(index=False))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return (
            f"<p>{html.escape(repr(self))}</p>"
            + html_table(self.medians(), where=".medians()")
            + html_table(self.table, where=".table")
        )

    def plot(self, ax=None, *, bands: bool = True):
        """Step curves of retention by group with shaded confidence bands; returns the Axes.

        The same figure as :func:`alliance_stats.plots.retention`.
        """
        from alliance_stats import plots

        return plots.retention(self, bands=bands, ax=ax)


def _loglog_band(s: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(s, dtype=float)
    low = s.copy()
    high = s.copy()
    inner = (s > 0) & (s < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = z * se[inner] / (s[inner] * np.abs(np.log(s[inner])))
    low[inner] = s[inner] ** np.exp(w)
    high[inner] = s[inner] ** np.exp(-w)
    return low, high


def retention_curve(
    data: pd.DataFrame,
    by: str | None = None,
    *,
    definition: str = "unplanned_end",
    n: int | None = None,
    planned_sessions: str | None = None,
    conf_level: float = 0.95,
    attended: str = "attended",
) -> RetentionCurve:
    """Kaplan-Meier curves of sessions attended until dropout, by group.

    Parameters
    ----------
    data : DataFrame
        Session table (one row per scheduled session).
    by : str, optional
        Client-level grouping column (constant within client), e.g. ``therapist`` or a condition.
    definition : {"unplanned_end", "dropout_before_n"}
        Dropout definition (:func:`alliance_stats.prep.retention_outcomes`).
    n, planned_sessions
        As in :func:`alliance_stats.prep.retention_outcomes`.
    conf_level : float, default 0.95
        Level of the pointwise log-log confidence bands.
    attended : str, default "attended"
        Attendance column.

    Returns
    -------
    RetentionCurve

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": list("aabbbcc"), "therapist": "t",
    ...                    "session": [1, 2, 1, 2, 3, 1, 2],
    ...                    "attended": [True, False, True, True, True, True, True]})
    >>> km = retention_curve(df)
    >>> km.table[["session", "at_risk", "events", "survival"]].round(3)
       session  at_risk  events  survival
    0      0.0      3.0     0.0     1.000
    1      1.0      3.0     1.0     0.667
    2      2.0      2.0     0.0     0.667
    3      3.0      1.0     0.0     0.667

    R equivalent: ``survival::survfit(Surv(time, event) ~ group, conf.type = "log-log")``.
    """
    from scipy import stats
    from statsmodels.duration.survfunc import SurvfuncRight

    func = "retention_curve"
    data = check_frame(data, func)
    if definition not in ("unplanned_end", "dropout_before_n"):
        raise InputError(
            f"{func}: definition must be 'unplanned_end' or 'dropout_before_n' (a time to "
            f"dropout), got {definition!r}"
        )
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, (int, float))
        or not 0 < conf_level < 1
    ):
        raise InputError(f"{func}: 'conf_level' must be between 0 and 1, got {conf_level!r}")
    if by is not None:
        if not isinstance(by, str):
            raise InputError(f"{func}: 'by' must be one column name or None, got {by!r}")
        require_columns(data, [by], func, "grouping column 'by'")
    codes, _, att, _ = client_order(data, func, attended)
    attended_mask(data, attended, func)
    ro = retention_outcomes(data, definition, n=n, planned_sessions=planned_sessions,
                            attended=attended)  # fmt: skip
    n_groups = codes.max() + 1 if len(codes) else 0
    time = np.bincount(codes, weights=att.astype(float), minlength=n_groups)
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    event = ro[DROPOUT].to_numpy(dtype=float)[first]
    if by is None:
        group = np.array(["all"] * n_groups, dtype=object)
    else:
        gser = data[by]
        if gser.isna().any():
            raise InputError(f"{func}: grouping column '{by}' has missing values")
        if (gser.groupby(codes).nunique() > 1).any():
            raise InputError(
                f"{func}: grouping column '{by}' changes within a client; Kaplan-Meier groups "
                "must be client-level (one value per client)"
            )
        group = gser.to_numpy()[first]
    clients = pd.DataFrame(
        {
            schema.CLIENT: data[schema.CLIENT].to_numpy()[first],
            "group": group,
            "time": time,
            "event": event.astype(np.int64),
        }
    )
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    parts = []
    for g, d in clients.groupby("group", sort=False):
        t = d["time"].to_numpy(dtype=float)
        e = d["event"].to_numpy(dtype=float)
        times = np.unique(np.concatenate([[0.0], t]))
        at_risk = np.array([(t >= x).sum() for x in times])
        events = np.array([((t == x) & (e == 1)).sum() for x in times])
        censored = np.array([((t == x) & (e == 0)).sum() for x in times])
        surv = np.ones(len(times))
        se = np.zeros(len(times))
        if e.sum() > 0:
            sf = SurvfuncRight(t, e)
            pos = np.searchsorted(sf.surv_times, times, side="right") - 1
            has = pos >= 0
            surv[has] = sf.surv_prob[pos[has]]
            se[has] = sf.surv_prob_se[pos[has]]
        low, high = _loglog_band(surv, se, z)
        parts.append(
            pd.DataFrame(
                {
                    "group": g,
                    "session": times,
                    "at_risk": at_risk.astype(float),
                    "events": events.astype(float),
                    "censored": censored.astype(float),
                    "survival": surv,
                    "std_error": se,
                    "conf_low": low,
                    "conf_high": high,
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)[list(TABLE_COLUMNS)]
    if by is not None:
        table = table.sort_values(["group", "session"], kind="stable").reset_index(drop=True)
    return RetentionCurve(
        table=table, clients=clients, by=by, definition=definition, conf_level=float(conf_level)
    )
