"""Alliance ruptures from session ratings: episodes, depth, repair, and the link to dropout.

:func:`detect_ruptures` finds rupture episodes in each client's series of session ratings under
one of three published-style rules, every threshold a parameter; :func:`rupture_dropout_link`
relates each client's ruptures (and their repair) to later dropout.

Rules
-----
Only attended sessions with a score are used, in session order: a missed session is skipped
(it is neither a drop nor a repair), so "the previous session" means the previous *rated* one.

``method="stiles"`` (Stiles et al. 2004) and ``method="strauss"`` (Strauss et al. 2006)
    The *running level* at a rated session is the mean (``level="mean"``) or median of the client's
    previous ``window`` rated sessions that were not inside a rupture episode (at least
    ``min_previous`` of them; earlier sessions have no level and cannot start a rupture). A rupture
    starts when ``score <= level - threshold`` with ``threshold = sd_multiplier * SD``
    (``sd_multiplier`` 1 for Stiles, 2 for Strauss). ``sd="client"`` uses the client's own SD of the
    score across all their rated sessions (ddof 1; clients with fewer than 2 distinct values have no
    SD and no ruptures); a number uses that SD for everyone (e.g. a published norm).
    The episode lasts while the score stays below the repair line; it is *repaired* at the first
    later rated session with ``score > pre_level - threshold`` (``repair="threshold"``: back within
    the threshold of the pre-rupture level) or ``score >= pre_level`` (``repair="level"``: back to
    the pre-rupture running level). Never repaired: ``repaired`` False, ``repair_session`` NaN and
    the episode runs to the client's last rated session.

``method="srs_alert"`` (Duncan, Miller et al. 2003 practice)
    A session is an alert when the total is below ``cutoff`` (``side="below"``: ``< cutoff``;
    ``side="at_or_below"``: ``<= cutoff``) or has dropped by at least ``drop_points`` from the
    previous rated session. An episode starts at an alert session that is not already in an episode;
    ``pre_level`` is the previous rated score (NaN at a client's first session). It is repaired at
    the first later session that is not below the cutoff and is within ``drop_points`` of
    ``pre_level`` (i.e. would not alert against the pre-rupture session).

Every episode row records the rule in words in ``rule``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.arguments import UNSET, renamed_argument
from alliance_stats.errors import InputError
from alliance_stats.prep import (
    DROPOUT,
    attended_mask,
    check_frame,
    check_numeric,
    check_unique_sessions,
    client_group_codes,
    require_columns,
    retention_outcomes,
    session_numbers,
)

__all__ = ["EPISODE_COLUMNS", "METHODS", "RuptureDropoutLink", "detect_ruptures",
           "rupture_dropout_link"]  # fmt: skip

METHODS = ("stiles", "strauss", "srs_alert")
_DEFAULT_MULTIPLIER = {"stiles": 1.0, "strauss": 2.0}

#: Columns of the episode table returned by :func:`detect_ruptures`, in order.
EPISODE_COLUMNS = (
    "client",
    "therapist",
    "method",
    "start_session",
    "pre_level",
    "threshold",
    "min_score",
    "depth",
    "depth_sd",
    "end_session",
    "duration",
    "repaired",
    "repair_session",
    "client_sd",
    "rule",
)


def _number(value, name: str, func: str, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{func}: '{name}' must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or (positive and value <= 0):
        raise InputError(f"{func}: '{name}' must be a finite number > 0, got {value}")
    return value


def _whole(value, name: str, func: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{func}: '{name}' must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _choice(value, name: str, allowed: Sequence[str], func: str) -> str:
    if value not in allowed:
        raise InputError(f"{func}: unknown {name} {value!r}; choose one of {list(allowed)}")
    return value


def detect_ruptures(
    data: pd.DataFrame,
    score: str = "alliance",
    method: str = "stiles",
    *,
    sd_multiplier: float | None = None,
    sd: str | float = "client",
    window: int = 3,
    level: str = "mean",
    min_previous: int = 1,
    repair: str = "threshold",
    cutoff: float = 36.0,
    side: str = "below",
    drop_points: float = 1.0,
    client: str = "client",
    session: str = "session",
    attended: str | None = "attended",
    by=UNSET,
    order=UNSET,
) -> pd.DataFrame:
    """Rupture episodes in each client's session ratings.

    See the module docstring for the exact rules. All thresholds are parameters and the rule
    actually applied is written into every row (``rule``).

    Parameters
    ----------
    data : DataFrame
        Session table, one row per scheduled session.
    score : str, default "alliance"
        Numeric score column (e.g. ``wai_sr_total`` or ``srs_total`` from :func:`als.score`).
    method : {"stiles", "strauss", "srs_alert"}
        Rule (module docstring).
    sd_multiplier : float, optional
        Drop size in SDs; default 1 (Stiles) or 2 (Strauss). Not used by ``srs_alert``.
    sd : "client" or float, default "client"
        Which SD: the client's own SD of the score across their rated sessions, or a given SD.
    window : int, default 3
        Number of previous (non-rupture) rated sessions forming the running level.
    level : {"mean", "median"}, default "mean"
        Running level statistic.
    min_previous : int, default 1
        Fewest previous sessions needed for a running level (1 lets session 2 start a rupture).
    repair : {"threshold", "level"}, default "threshold"
        Repair when the score is back within the threshold of the pre-rupture level, or back to
        the pre-rupture level itself.
    cutoff : float, default 36
        ``srs_alert``: SRS total alert cutoff.
    side : {"below", "at_or_below"}, default "below"
        ``srs_alert``: whether the cutoff itself is an alert.
    drop_points : float, default 1
        ``srs_alert``: a drop of at least this many points from the previous session is an alert.
    client, session : str
        Client and session-number columns (``by=`` and ``order=`` are their deprecated names).
    attended : str or None, default "attended"
        Attendance column; non-attended sessions are skipped. ``None`` uses every row.

    Returns
    -------
    DataFrame
        One row per episode with columns :data:`EPISODE_COLUMNS`: ``client``, ``therapist``
        (if the table has one), ``method``, ``start_session``, ``pre_level`` (running level or
        previous score before the rupture), ``threshold`` (points), ``min_score`` (lowest score in
        the episode), ``depth`` (``pre_level - min_score``, points), ``depth_sd`` (depth in client
        SDs, or in the given SD), ``end_session`` (last session below the repair line),
        ``duration`` (rated sessions from start to end, inclusive), ``repaired`` (bool),
        ``repair_session`` (NaN if never), ``client_sd`` (the SD used), ``rule`` (text).

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> df = pd.DataFrame({"client": "a", "therapist": "t", "session": range(1, 8),
    ...                    "attended": True, "alliance": [50, 51, 50, 40, 42, 50, 51.0]})
    >>> ep = detect_ruptures(df, "alliance", "stiles")
    >>> ep[["start_session", "end_session", "duration", "repaired", "repair_session"]]
       start_session  end_session  duration  repaired  repair_session
    0              4            5         2      True             6.0
    >>> round(ep["depth"].iloc[0], 2)
    np.float64(10.33)
    """
    client = renamed_argument("detect_ruptures", "client", client, "client", "by", by)
    session = renamed_argument("detect_ruptures", "session", session, "session", "order", order)
    func = "detect_ruptures"
    data = check_frame(data, func)
    method = _choice(method, "method", METHODS, func)
    if not isinstance(score, str):
        raise InputError(f"{func}: 'score' must be one column name, got {score!r}")
    require_columns(data, [score], func, "score column")
    y_all = check_numeric(data, score, func)
    codes = client_group_codes(data, client, func)
    sess = session_numbers(data, session, func)
    check_unique_sessions(codes, sess, client, session, func)
    use = attended_mask(data, attended, func)
    level = _choice(level, "level", ("mean", "median"), func)
    repair = _choice(repair, "repair", ("threshold", "level"), func)
    side = _choice(side, "side", ("below", "at_or_below"), func)
    window = _whole(window, "window", func)
    min_previous = _whole(min_previous, "min_previous", func)
    if min_previous > window:
        raise InputError(f"{func}: 'min_previous' ({min_previous}) must not exceed 'window'")
    if isinstance(sd, str):
        if sd != "client":
            raise InputError(f"{func}: 'sd' must be 'client' or a positive number, got {sd!r}")
        fixed_sd = None
    else:
        fixed_sd = _number(sd, "sd", func)
    cutoff = _number(cutoff, "cutoff", func, positive=False)
    drop_points = _number(drop_points, "drop_points", func)
    if method == "srs_alert":
        if sd_multiplier is not None:
            raise InputError(f"{func}: 'sd_multiplier' is not used by method 'srs_alert'")
        mult = np.nan
        op = "<" if side == "below" else "<="
        rule = (
            f"srs_alert: alert when {score} {op} {cutoff:g} or drops >= {drop_points:g} point(s) "
            "from the previous rated session; repaired when not below the cutoff and within "
            f"{drop_points:g} point(s) of the pre-rupture score; missed sessions skipped"
        )
    else:
        mult = _DEFAULT_MULTIPLIER[method] if sd_multiplier is None else sd_multiplier
        mult = _number(mult, "sd_multiplier", func)
        which = "client's own SD" if fixed_sd is None else f"SD {fixed_sd:g}"
        back = (
            "back within the threshold of the pre-rupture level"
            if repair == "threshold"
            else "back to the pre-rupture level"
        )
        rule = (
            f"{method}: {score} <= running {level} of previous {window} non-rupture rated "
            f"session(s) (at least {min_previous}) minus {mult:g} x {which}; repaired when "
            f"{back}; missed sessions skipped"
        )

    has_ther = schema.THERAPIST in data.columns
    ther = data[schema.THERAPIST].to_numpy() if has_ther else np.full(len(data), None)
    client_vals = data[client].to_numpy()
    ok = use & np.isfinite(y_all)
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((sess[idx], codes[idx]))]
    rows: list[dict] = []
    bounds = np.flatnonzero(np.diff(codes[idx])) + 1
    for g in np.split(idx, bounds):
        if not len(g):
            continue
        y = y_all[g]
        s = sess[g]
        if fixed_sd is None:
            csd = float(np.std(y, ddof=1)) if len(y) > 1 else np.nan
        else:
            csd = fixed_sd
        base = {"client": client_vals[g[0]], "therapist": ther[g[0]], "method": method}
        if method == "srs_alert":
            episodes = _srs_episodes(y, s, cutoff, side, drop_points)
            thr = drop_points
        else:
            if not np.isfinite(csd) or csd <= 0:
                continue
            thr = mult * csd
            episodes = _sd_episodes(y, s, thr, window, level, min_previous, repair)
        for ep in episodes:
            depth = ep["pre_level"] - ep["min_score"]
            rows.append(
                base
                | ep
                | {
                    "threshold": thr,
                    "depth": depth,
                    "depth_sd": depth / csd if np.isfinite(csd) and csd > 0 else np.nan,
                    "client_sd": csd,
                    "rule": rule,
                }
            )
    out = pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))
    if not has_ther:
        out = out.drop(columns="therapist")
    for c in ("start_session", "end_session", "duration"):
        out[c] = out[c].astype(np.int64)
    out["repaired"] = out["repaired"].astype(bool)
    for c in ("pre_level", "threshold", "min_score", "depth", "depth_sd", "repair_session",
              "client_sd"):  # fmt: skip
        out[c] = out[c].astype(float)
    for c in ("method", "rule"):
        out[c] = out[c].astype("str")
    return out


def _close(start: int, end: int, y, s, pre: float, repair_at: int | None) -> dict:
    seg = y[start : end + 1]
    return {
        "start_session": int(s[start]),
        "pre_level": pre,
        "min_score": float(np.min(seg)),
        "end_session": int(s[end]),
        "duration": end - start + 1,
        "repaired": repair_at is not None,
        "repair_session": float(s[repair_at]) if repair_at is not None else np.nan,
    }


def _sd_episodes(y, s, thr, window, level, min_previous, repair) -> list[dict]:
    stat = np.mean if level == "mean" else np.median
    history: list[float] = []  # rated, non-rupture scores
    out = []
    i, n = 0, len(y)
    while i < n:
        recent = history[-window:]
        if len(recent) >= min_previous:
            pre = float(stat(recent))
            if y[i] <= pre - thr:
                line = pre - thr if repair == "threshold" else pre
                j = i + 1
                while j < n and not (y[j] > line if repair == "threshold" else y[j] >= line):
                    j += 1
                out.append(_close(i, j - 1, y, s, pre, j if j < n else None))
                i = j
                continue
        history.append(float(y[i]))
        i += 1
    return out


def _srs_episodes(y, s, cutoff, side, drop) -> list[dict]:
    def low(v):
        return v < cutoff if side == "below" else v <= cutoff

    out = []
    i, n = 0, len(y)
    while i < n:
        prev = y[i - 1] if i > 0 else np.nan
        alert = low(y[i]) or (i > 0 and prev - y[i] >= drop)
        if not alert:
            i += 1
            continue
        pre = float(prev)
        j = i + 1
        while j < n:
            ok = not low(y[j]) and (np.isnan(pre) or pre - y[j] < drop)
            if ok:
                break
            j += 1
        out.append(_close(i, j - 1, y, s, pre, j if j < n else None))
        i = j
    return out


# --------------------------------------------------------------------------------------------
# link to dropout


@dataclass(frozen=True)
class RuptureDropoutLink:
    """Clients' ruptures and repair against their later dropout.

    Attributes
    ----------
    clients : DataFrame
        One row per client: ``client``, ``therapist``, ``n_episodes``, ``ruptured`` (bool),
        ``all_repaired`` (bool; NaN-free: False when not ruptured), ``status`` ("no rupture",
        "repaired", "unrepaired": unrepaired when any episode was never repaired),
        ``first_rupture_session``, ``last_attended_session``, ``dropout`` (0/1) and
        ``dropout_after_rupture`` (0/1: dropped out after the first rupture started).
    table : DataFrame
        Index ``status``; ``clients``, ``dropouts``, ``dropout_share``.
    odds_ratio, conf_low, conf_high, p_value : float
        Odds of dropout for ruptured versus not-ruptured clients (Woolf log CI, 0.5 added to
        every cell when one is zero; Fisher exact p-value).
    definition : str
        Dropout definition used (see :func:`alliance_stats.prep.retention_outcomes`).
    conf_level : float
        Confidence level of ``conf_low``/``conf_high`` (``1 - alpha`` of the call).

    Examples
    --------
    >>> import alliance_stats as als
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> link = als.rupture_dropout_link(als.detect_ruptures(df, "wai_sr_total"), df)
    >>> link.table.round(3)
                clients  dropouts  dropout_share
    status
    no rupture       14        10          0.714
    repaired         36         4          0.111
    unrepaired       46        13          0.283
    >>> round(link.odds_ratio, 2), link.p_value < 0.05
    (0.1, True)
    """

    clients: pd.DataFrame
    table: pd.DataFrame
    odds_ratio: float
    conf_low: float
    conf_high: float
    p_value: float
    definition: str
    conf_level: float = 0.95

    def __repr__(self) -> str:
        n = len(self.clients)
        k = int(self.clients["ruptured"].sum())
        return (
            f"RuptureDropoutLink({n} clients, {k} with a rupture; dropout OR "
            f"{self.odds_ratio:.2f} [{self.conf_low:.2f}, {self.conf_high:.2f}], "
            f"p = {self.p_value:.3g}; definition={self.definition!r})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The status table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """Cross-table and odds ratio as text."""
        t = self.table.copy()
        t["dropout_share"] = t["dropout_share"].round(3)
        return (
            f"Rupture and later dropout (dropout definition: {self.definition})\n"
            f"{t.to_string()}\n"
            f"Odds ratio of dropout, ruptured vs not: {self.odds_ratio:.2f} "
            f"[{self.conf_low:.2f}, {self.conf_high:.2f}] ({100 * self.conf_level:.3g}% Woolf "
            "CI), Fisher p = "
            f"{self.p_value:.3g}. Association only: ruptures are not randomised, and clients "
            "who attend more sessions have more chances to rupture (and have not dropped out "
            "early); for an adjusted analysis enter rupture status as a time-varying predictor "
            "in person_period() rows."
        )

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"

    def plot(self, ax=None):
        """Bar chart of the dropout share by rupture status; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 3.2))
        t = self.table
        ax.bar(t.index.astype(str), t["dropout_share"], color=["#0072B2", "#009E73", "#D55E00"])
        for x, (share, n) in enumerate(zip(t["dropout_share"], t["clients"])):
            ax.annotate(f"n={n}", (x, share), ha="center", va="bottom", fontsize=8)
        ax.set_ylabel("Dropout share")
        ax.set_xlabel("Rupture status")
        return ax


def rupture_dropout_link(
    episodes: pd.DataFrame,
    data: pd.DataFrame,
    *,
    definition: str = "unplanned_end",
    n: int | None = None,
    planned_sessions: str | None = None,
    conf_level: float = 0.95,
    alpha=UNSET,
) -> RuptureDropoutLink:
    """Relate each client's rupture episodes (and their repair) to later dropout.

    Parameters
    ----------
    episodes : DataFrame
        Output of :func:`detect_ruptures` on ``data``.
    data : DataFrame
        The session table (every client, with or without ruptures).
    definition, n, planned_sessions
        Dropout definition, as in :func:`alliance_stats.prep.retention_outcomes`
        (``"unplanned_end"`` or ``"dropout_before_n"``).
    conf_level : float, default 0.95
        Confidence level of the odds-ratio interval (``alpha=``, one minus it, is its
        deprecated spelling).

    Returns
    -------
    RuptureDropoutLink

    Notes
    -----
    The cross-table is descriptive. Exposure differs: a client who drops out after two sessions
    had little chance to show a rupture, which can make "no rupture" look riskier (on the bundled
    ``clinic`` data the crude odds ratio is below 1 for this reason). Adjust by entering rupture
    status as a time-varying predictor in :func:`alliance_stats.prep.person_period` rows.

    Examples
    --------
    >>> import alliance_stats as als
    >>> from alliance_stats import datasets
    >>> df = als.score(datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> link = rupture_dropout_link(detect_ruptures(df, "wai_sr_total"), df)
    >>> list(link.table.index)
    ['no rupture', 'repaired', 'unrepaired']
    """
    conf_level = renamed_argument(
        "rupture_dropout_link", "conf_level", conf_level, 0.95, "alpha", alpha, lambda a: 1.0 - a
    )
    from scipy import stats
    from statsmodels.stats.contingency_tables import Table2x2

    func = "rupture_dropout_link"
    episodes = check_frame(episodes, func)
    data = check_frame(data, func)
    require_columns(episodes, ["client", "start_session", "repaired"], func, "episode column")
    if definition not in ("unplanned_end", "dropout_before_n"):
        raise InputError(
            f"{func}: definition must be 'unplanned_end' or 'dropout_before_n', got {definition!r}"
        )
    conf_level = _number(conf_level, "conf_level", func)
    if not 0 < conf_level < 1:
        raise InputError(f"{func}: 'conf_level' must be between 0 and 1, got {conf_level}")
    alpha = 1.0 - conf_level
    ro = retention_outcomes(data, definition, n=n, planned_sessions=planned_sessions)
    att = ro[schema.ATTENDED].to_numpy(dtype=bool)
    cols = [schema.CLIENT] + ([schema.THERAPIST] if schema.THERAPIST in ro.columns else [])
    clients = ro.groupby(schema.CLIENT, sort=False)[cols[1:] + [DROPOUT]].first().reset_index()
    last_att = ro[att].groupby(schema.CLIENT, sort=False)[schema.SESSION].max()
    clients["last_attended_session"] = clients[schema.CLIENT].map(last_att).astype(float).to_numpy()
    unknown = set(episodes["client"]) - set(clients[schema.CLIENT])
    if unknown:
        raise InputError(
            f"{func}: episodes name client(s) not in data, e.g. {sorted(map(str, unknown))[:5]}; "
            "pass the table the episodes were detected in"
        )
    g = episodes.groupby("client", sort=False)
    n_ep = g.size()
    all_rep = g["repaired"].all()
    first = g["start_session"].min()
    cid = clients[schema.CLIENT]
    clients["n_episodes"] = cid.map(n_ep).fillna(0).astype(np.int64).to_numpy()
    clients["ruptured"] = clients["n_episodes"] > 0
    clients["all_repaired"] = (cid.map(all_rep).fillna(False).astype(bool)).to_numpy()
    clients["status"] = pd.array(
        np.where(
            ~clients["ruptured"],
            "no rupture",
            np.where(clients["all_repaired"], "repaired", "unrepaired"),
        ),
        dtype="str",
    )
    clients["first_rupture_session"] = cid.map(first).astype(float).to_numpy()
    clients[DROPOUT] = clients[DROPOUT].astype(np.int64)
    clients["dropout_after_rupture"] = (
        (clients[DROPOUT] == 1)
        & clients["ruptured"]
        & (clients["last_attended_session"] >= clients["first_rupture_session"])
    ).astype(np.int64)
    statuses = ["no rupture", "repaired", "unrepaired"]
    grp = clients.groupby("status")[DROPOUT]
    table = pd.DataFrame(
        {
            "clients": grp.size().reindex(statuses, fill_value=0),
            "dropouts": grp.sum().reindex(statuses, fill_value=0),
        }
    )
    table.index.name = "status"
    with np.errstate(invalid="ignore", divide="ignore"):
        table["dropout_share"] = table["dropouts"] / table["clients"]
    r = clients["ruptured"].to_numpy()
    d = clients[DROPOUT].to_numpy() == 1
    cells = np.array([[(r & d).sum(), (r & ~d).sum()], [(~r & d).sum(), (~r & ~d).sum()]])
    t22 = Table2x2(cells.astype(float), shift_zeros=True)
    lo, hi = t22.oddsratio_confint(alpha=alpha)
    p = float(stats.fisher_exact(cells)[1])
    return RuptureDropoutLink(
        clients=clients,
        table=table,
        odds_ratio=float(t22.oddsratio),
        conf_low=float(lo),
        conf_high=float(hi),
        p_value=p,
        definition=definition,
        conf_level=conf_level,
    )
