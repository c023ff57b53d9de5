"""Figures for alliance, retention, strategy and therapist-effect results.

Every function takes ``ax=`` (a matplotlib Axes to draw into; a new figure is made when it is
``None``) and returns the Axes, or the Figure for multi-panel plots. Plotting functions take
tidy DataFrames, so they work on model results (``res.coefficients``, ``StrategyResult.table``,
:func:`random_effects`) as well as on your own tables.

Colours come from the Okabe-Ito palette (:data:`PALETTE`), distinguishable with the common
colour-vision deficiencies; sizes follow journal column widths (:data:`JOURNAL_SIZES`).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import alliance_stats as als
>>> from alliance_stats import plots
>>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
>>> ax = plots.trajectories(df, "wai_sr_total", by="gender")
>>> ax.get_ylabel()
'wai_sr_total'
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd

from alliance_stats.display import format_p
from alliance_stats.errors import InputError

__all__ = [
    "JOURNAL_SIZES",
    "PALETTE",
    "caterpillar",
    "client_trajectory",
    "diagnostics",
    "dropout_by_status",
    "figure",
    "forest_plot",
    "get_axes",
    "qq_plot",
    "random_effects",
    "residual_plot",
    "retention",
    "style",
    "trajectories",
    "within_between",
]

#: Okabe & Ito (2008) colour-blind-safe palette: blue, vermillion, green, purple, orange,
#: sky blue, yellow, black.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000")  # fmt: skip

#: Figure sizes in inches: single column (~89 mm), one-and-a-half (~140 mm), double (~183 mm).
JOURNAL_SIZES = {
    "single": (3.5, 2.8),
    "onehalf": (5.5, 3.6),
    "double": (7.2, 4.0),
    "double_tall": (7.2, 6.0),
}

_RC = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # set below
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "svg.hashsalt": "alliance_stats",
}


def _rc() -> dict:
    from cycler import cycler

    rc = dict(_RC)
    rc["axes.prop_cycle"] = cycler(color=list(PALETTE))
    return rc


@contextmanager
def style():
    """Context manager applying the package's journal style (small fonts, palette, no top/right
    spines).

    Examples
    --------
    >>> from alliance_stats import plots
    >>> with plots.style():
    ...     fig = plots.figure("single")
    """
    import matplotlib as mpl

    with mpl.rc_context(_rc()):
        yield


def figure(size: str | tuple[float, float] = "onehalf", nrows: int = 1, ncols: int = 1):
    """A new matplotlib Figure (not registered with pyplot) of a journal size, with Axes.

    Parameters
    ----------
    size : str or (width, height)
        A key of :data:`JOURNAL_SIZES` or a size in inches.
    nrows, ncols : int
        Grid of Axes (``fig.axes``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from alliance_stats import plots
    >>> fig = plots.figure("double", ncols=3)
    >>> len(fig.axes), fig.get_size_inches().tolist()
    (3, [7.2, 4.0])
    """
    from matplotlib.figure import Figure

    if isinstance(size, str):
        if size not in JOURNAL_SIZES:
            raise InputError(f"size must be one of {sorted(JOURNAL_SIZES)} or (width, height)")
        size = JOURNAL_SIZES[size]
    fig = Figure(figsize=size, layout="constrained")
    fig.subplots(nrows, ncols)
    return fig


def get_axes(ax=None, size: str = "onehalf"):
    """``ax``, or new Axes of a journal figure size (a key of ``JOURNAL_SIZES``).

    Examples
    --------
    >>> ax = get_axes()
    >>> ax.figure.get_layout_engine() is not None
    True
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=JOURNAL_SIZES[size], layout="constrained")
    return ax


def _need(data: pd.DataFrame, columns: Sequence[str], func: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{func}: expected a DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise InputError(
            f"{func}: column(s) {missing} are not in the table; columns are {list(data.columns)}"
        )


# ----------------------------------------------------------------------------- trajectories
#: the most groups a by-group figure names in its legend
LEGEND_MAX_ENTRIES = 10


def trajectories(
    data: pd.DataFrame,
    score: str,
    *,
    by: str | None = None,
    client: str = "client",
    session: str = "session",
    attended: str | None = "attended",
    max_clients: int = 40,
    conf_level: float = 0.95,
    min_n: int = 5,
    seed: int = 0,
    ax=None,
):
    """Alliance trajectories: thin lines for a random sample of clients (spaghetti) and the mean
    per session with a confidence band, by group.

    Parameters
    ----------
    data : DataFrame
        Session table with ``score``.
    score : str
        Score column (e.g. ``wai_sr_total``).
    by : str, optional
        Grouping column (one colour per level).
    max_clients : int
        Clients drawn as thin lines per group (a seeded random sample; 0 for none).
    conf_level : float
        Level of the t-based band around the session means.
    min_n : int
        Session means resting on fewer ratings are not drawn (also protects small cells).
    seed : int
        Seed of the client sample.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import alliance_stats as als
    >>> from alliance_stats import plots
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> ax = plots.trajectories(df, "wai_sr_total", max_clients=5)
    >>> len(ax.lines), ax.get_legend_handles_labels()[1]
    (6, ['mean'])
    >>> plt.close("all")
    """
    from scipy import stats

    func = "trajectories"
    _need(data, [score, client, session, by, attended], func)
    ax = get_axes(ax)
    d = data
    if attended is not None:
        d = d[d[attended].astype(bool)]
    d = d[[c for c in (client, session, score, by) if c is not None]].dropna(subset=[score])
    groups = [(None, d)] if by is None else list(d.groupby(by, sort=True, observed=True))
    rng = np.random.default_rng(seed)
    for i, (level, g) in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        ids = pd.unique(g[client])
        if max_clients and len(ids):
            pick = rng.choice(len(ids), size=min(max_clients, len(ids)), replace=False)
            for cid in ids[np.sort(pick)]:
                c = g[g[client] == cid].sort_values(session)
                ax.plot(c[session], c[score], color=colour, alpha=0.18, lw=0.6)
        s = g.groupby(session)[score].agg(["mean", "std", "count"])
        s = s[s["count"] >= min_n]
        if s.empty:
            continue
        half = stats.t.ppf(0.5 + conf_level / 2, np.maximum(s["count"] - 1, 1)) * s["std"]
        half = half / np.sqrt(s["count"])
        x = s.index.to_numpy(dtype=float)
        label = "mean" if by is None else f"{level} (n = {g[client].nunique()})"
        ax.fill_between(x, s["mean"] - half, s["mean"] + half, color=colour, alpha=0.25, lw=0)
        ax.plot(x, s["mean"], color=colour, lw=2, label=label)
    ax.set_xlabel("Session")
    ax.set_ylabel(score)
    ax.set_title(f"Trajectories of {score} (mean, {conf_level:.0%} CI)")
    if len(groups) <= LEGEND_MAX_ENTRIES:
        ax.legend(frameon=False, title=by)
    else:  # a legend of dozens of groups would crowd out the plot
        ax.text(0.99, 0.02, f"{len(groups)} groups of {by}: one line each, no legend",
                transform=ax.transAxes, ha="right", va="bottom", fontsize="small")  # fmt: skip
    return ax


def client_trajectory(
    data: pd.DataFrame,
    score: str,
    episodes: pd.DataFrame | None = None,
    *,
    client_id=None,
    label: str | None = None,
    client: str = "client",
    session: str = "session",
    attended: str | None = "attended",
    ax=None,
):
    """One client's session scores with detected rupture episodes shaded, rupture starts
    (downward triangles) and repairs (upward triangles) marked.

    Parameters
    ----------
    data : DataFrame
        Session table (all clients, or only this client's rows).
    score : str
        Score column.
    episodes : DataFrame, optional
        Output of :func:`alliance_stats.detect_ruptures` (any clients; this client's are used).
    client_id
        Which client (default: the only one in ``data``).
    label : str, optional
        Name shown in the title (e.g. a pseudonym); default the client id.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import alliance_stats as als
    >>> from alliance_stats import plots
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> ep = als.detect_ruptures(df, "wai_sr_total")
    >>> ax = plots.client_trajectory(df, "wai_sr_total", ep, client_id="C001", label="Client A")
    >>> ax.get_title(), ax.get_legend_handles_labels()[1]
    ('Client A: ruptures and repairs', ['wai_sr_total', 'rupture', 'repair'])
    >>> plt.close("all")
    """
    func = "client_trajectory"
    _need(data, [score, client, session, attended], func)
    if client_id is None:
        ids = pd.unique(data[client])
        if len(ids) != 1:
            raise InputError(f"{func}: data has {len(ids)} clients; pass client_id=")
        client_id = ids[0]
    d = data[data[client] == client_id]
    if d.empty:
        raise InputError(f"{func}: client {client_id!r} is not in the data")
    ax = get_axes(ax, "onehalf")
    missed = d[~d[attended].astype(bool)] if attended is not None else d.iloc[:0]
    d = d[d[attended].astype(bool)] if attended is not None else d
    d = d.dropna(subset=[score]).sort_values(session)
    ax.plot(d[session], d[score], "-o", color=PALETTE[0], ms=3.5, lw=1.2, label=score)
    for s in missed[session]:
        ax.axvline(s, color="grey", lw=0.6, ls=":")
    if episodes is not None and len(episodes):
        ep = episodes[episodes["client"] == client_id]
        y = d.set_index(session)[score]
        for k, e in enumerate(ep.itertuples(index=False)):
            ax.axvspan(e.start_session - 0.4, e.end_session + 0.4, color=PALETTE[1], alpha=0.12,
                       lw=0)  # fmt: skip
            if e.start_session in y.index:
                ax.plot(e.start_session, y[e.start_session], "v", color=PALETTE[1], ms=8,
                        label="rupture" if k == 0 else None)  # fmt: skip
            if e.repaired and e.repair_session in y.index:
                rs = e.repair_session
                ax.plot(rs, y[rs], "^", color=PALETTE[2], ms=8,
                        label="repair" if k == 0 else None)  # fmt: skip
            if np.isfinite(e.pre_level):
                ax.hlines(e.pre_level, e.start_session - 1, e.end_session + 1, color="grey",
                          lw=0.8, ls="--")  # fmt: skip
    ax.set_xlabel("Session")
    ax.set_ylabel(score)
    ax.set_title(f"{label if label is not None else client_id}: ruptures and repairs")
    ax.legend(frameon=False, loc="lower left")
    return ax


def within_between(
    data: pd.DataFrame,
    x: str,
    y: str,
    *,
    by: str = "client",
    attended: str | None = "attended",
    max_clients: int = 40,
    seed: int = 0,
    ax=None,
):
    """Within- versus between-client association of ``x`` with ``y``.

    Client means are points, with the between-client OLS line (vermillion); thin lines are the
    within-client OLS lines of a random sample of clients; the pooled within-client slope (the
    slope of person-mean-centred ``y`` on person-mean-centred ``x``) is drawn through the grand
    means (blue). When the two slopes differ, a single pooled slope would mix them
    (Curran & Bauer 2011).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import alliance_stats as als
    >>> from alliance_stats import plots
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> ax = plots.within_between(df, "resistance", "wai_sr_total", max_clients=10)
    >>> ax.get_legend_handles_labels()[1]
    ['client means', 'between clients: slope -0.09', 'within clients: slope -0.22']
    >>> plt.close("all")
    """
    func = "within_between"
    _need(data, [x, y, by, attended], func)
    ax = get_axes(ax)
    d = data
    if attended is not None:
        d = d[d[attended].astype(bool)]
    d = d[[by, x, y]].dropna()
    if d.empty:
        raise InputError(f"{func}: no rows with both '{x}' and '{y}'")
    means = d.groupby(by, sort=True)[[x, y]].mean()
    xc = d[x] - d.groupby(by)[x].transform("mean")
    yc = d[y] - d.groupby(by)[y].transform("mean")
    within = float((xc * yc).sum() / (xc * xc).sum()) if (xc * xc).sum() > 0 else np.nan
    between = np.polyfit(means[x], means[y], 1) if len(means) > 2 else [np.nan, np.nan]
    rng = np.random.default_rng(seed)
    ids = means.index.to_numpy()
    pick = ids[np.sort(rng.choice(len(ids), size=min(max_clients, len(ids)), replace=False))]
    for cid in pick:
        c = d[d[by] == cid]
        if c[x].nunique() < 2:
            continue
        b = np.polyfit(c[x], c[y], 1)
        xs = np.array([c[x].min(), c[x].max()])
        ax.plot(xs, np.polyval(b, xs), color="grey", alpha=0.35, lw=0.6)
    ax.scatter(means[x], means[y], s=8, color=PALETTE[1], alpha=0.6, lw=0, label="client means")
    xs = np.linspace(d[x].min(), d[x].max(), 2)
    if np.isfinite(between[0]):
        ax.plot(xs, np.polyval(between, xs), color=PALETTE[1], lw=2,
                label=f"between clients: slope {between[0]:.2f}")  # fmt: skip
    if np.isfinite(within):
        gx, gy = means[x].mean(), means[y].mean()
        ax.plot(xs, gy + within * (xs - gx), color=PALETTE[0], lw=2,
                label=f"within clients: slope {within:.2f}")  # fmt: skip
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title("Within- and between-client associations")
    ax.legend(frameon=False)
    return ax


# ----------------------------------------------------------------------------- retention
def retention(curve, *, bands: bool = True, ax=None):
    """Kaplan-Meier retention curves from :func:`alliance_stats.retention_curve`.

    Parameters
    ----------
    curve : RetentionCurve or DataFrame
        A RetentionCurve, or its ``table`` (columns ``group, session, survival, conf_low,
        conf_high``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import alliance_stats as als
    >>> from alliance_stats import plots
    >>> km = als.retention_curve(als.datasets.load("teaching"), by="gender")
    >>> ax = plots.retention(km)
    >>> ax.get_legend_handles_labels()[1], ax.get_ylabel()
    (['female', 'male', 'non-binary'], 'Share still engaged')
    >>> plt.close("all")
    """
    table = getattr(curve, "table", curve)
    _need(table, ["group", "session", "survival", "conf_low", "conf_high"], "retention")
    ax = get_axes(ax)
    groups = list(table.groupby("group", sort=False))
    for i, (g, t) in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        xs = t["session"].to_numpy(dtype=float)
        label = "all clients" if len(groups) == 1 and g == "all" else str(g)
        ax.step(xs, t["survival"], where="post", color=colour, label=label)
        if bands:
            ax.fill_between(xs, t["conf_low"], t["conf_high"], step="post", color=colour,
                            alpha=0.2, lw=0)  # fmt: skip
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Sessions attended")
    ax.set_ylabel("Share still engaged")
    ax.set_title("Retention (Kaplan-Meier)")
    by = getattr(curve, "by", None)
    if len(groups) <= LEGEND_MAX_ENTRIES:
        ax.legend(frameon=False, title=by)
    else:  # a legend of dozens of groups would crowd out the plot
        ax.text(0.99, 0.98, f"{len(groups)} groups of {by}: one curve each, no legend",
                transform=ax.transAxes, ha="right", va="top", fontsize="small")  # fmt: skip
    return ax


def dropout_by_status(table: pd.DataFrame, *, min_cell: int = 0, ax=None):
    """Bar chart of the dropout share per rupture status (``RuptureDropoutLink.table``);
    bars resting on fewer than ``min_cell`` clients are suppressed.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import alliance_stats as als
    >>> from alliance_stats import plots
    >>> df = als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
    >>> link = als.rupture_dropout_link(als.detect_ruptures(df, "wai_sr_total"), df)
    >>> ax = plots.dropout_by_status(link.table, min_cell=5)
    >>> [t.get_text() for t in ax.get_xticklabels()], len(ax.patches)
    (['no rupture', 'repaired', 'unrepaired'], 3)
    >>> plt.close("all")
    """
    _need(table, ["clients", "dropout_share"], "dropout_by_status")
    ax = get_axes(ax, "single")
    labels = [str(v) for v in table.index]
    shares = table["dropout_share"].to_numpy(dtype=float)
    counts = table["clients"].to_numpy()
    keep = counts >= max(min_cell, 1)
    colours = [PALETTE[(0, 2, 1)[i % 3]] for i in range(len(labels))]
    xs = np.arange(len(labels))
    ax.bar(xs[keep], shares[keep], color=[c for c, k in zip(colours, keep) if k])
    for i in range(len(labels)):
        if keep[i]:
            ax.annotate(f"n = {counts[i]}", (i, shares[i]), ha="center", va="bottom", fontsize=7)
        else:
            ax.annotate(f"suppressed\n(n < {min_cell})", (i, 0.01), ha="center", va="bottom",
                        fontsize=7, color="grey")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("Dropout share")
    ax.set_xlabel("Rupture status")
    ax.set_title("Dropout by rupture status")
    return ax


# ----------------------------------------------------------------------------- effects
def _pick(table: pd.DataFrame, *names):
    for n in names:
        if n is not None and n in table.columns:
            return n
    return None


def forest_plot(
    table: pd.DataFrame,
    *,
    estimate: str | None = None,
    low: str | None = None,
    high: str | None = None,
    label: str | None = None,
    significant: str | None = "significant",
    p: str | None = None,
    log: bool | None = None,
    title: str | None = None,
    intercept: bool = False,
    ax=None,
):
    """Forest plot: one row per term with its estimate and confidence interval.

    Works on ``StrategyResult.table`` (odds ratios, log axis, terms significant after the
    multiplicity adjustment filled and their adjusted p printed), on ``MixedResult.coefficients``
    (or ``.to_frame()``) and on any tidy table.

    Parameters
    ----------
    table : DataFrame
        One row per term.
    estimate, low, high : str, optional
        Columns; default ``odds_ratio, or_conf_low, or_conf_high`` when present, else
        ``estimate, conf_low, conf_high``.
    label : str, optional
        Row-label column; default ``"label (component)"`` (or ``"strategy (component)"``)
        when those columns exist, else
        ``term`` or the index.
    significant : str, optional
        Boolean column: filled markers when True, open when False.
    p : str, optional
        p-value column printed at the right; default ``p_adjusted`` if present, else
        ``p_value``.
    log : bool, optional
        Log x axis; default True for odds ratios.
    intercept : bool
        Keep the ``(Intercept)`` row.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from alliance_stats import plots
    >>> t = pd.DataFrame({"term": ["a", "b"], "odds_ratio": [0.6, 1.3], "or_conf_low": [0.4, 0.9],
    ...                   "or_conf_high": [0.9, 1.9], "p_adjusted": [0.01, 0.3]})
    >>> plots.forest_plot(t).get_xscale()
    'log'
    """
    func = "forest_plot"
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{func}: expected a DataFrame, got {type(table).__name__}")
    t = table
    if "term" not in t.columns and t.index.name == "term":
        t = t.reset_index()
    if not intercept and "term" in t.columns:
        t = t[t["term"] != "(Intercept)"]
    is_or = estimate is None and "odds_ratio" in t.columns
    estimate = estimate or ("odds_ratio" if is_or else "estimate")
    low = low or ("or_conf_low" if is_or else "conf_low")
    high = high or ("or_conf_high" if is_or else "conf_high")
    _need(t, [estimate, low, high], func)
    if log is None:
        log = is_or
    if label is None:
        if {"strategy", "component"} <= set(t.columns):
            names = t["label"] if "label" in t.columns else t["strategy"]
            labels = (names.astype(str) + " (" + t["component"].astype(str) + ")").tolist()
        elif "term" in t.columns:
            labels = t["term"].astype(str).tolist()
        else:
            labels = [str(v) for v in t.index]
    else:
        labels = t[label].astype(str).tolist()
    p = p or _pick(t, "p_adjusted", "p_value")
    sig = (
        t[significant].fillna(False).astype(bool).to_numpy()
        if significant and significant in t.columns
        else np.ones(len(t), dtype=bool)
    )
    ax = get_axes(ax, "onehalf")
    est = t[estimate].to_numpy(dtype=float)
    lo = t[low].to_numpy(dtype=float)
    hi = t[high].to_numpy(dtype=float)
    yy = np.arange(len(t))[::-1]
    ax.hlines(yy, lo, hi, color=PALETTE[0], lw=1.2)
    ax.scatter(est[sig], yy[sig], color=PALETTE[0], zorder=3, s=18, label="significant")
    ax.scatter(est[~sig], yy[~sig], facecolor="white", edgecolor=PALETTE[0], zorder=3, s=18)
    ax.axvline(1.0 if log else 0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(yy, labels)
    ax.set_ylim(-0.7, len(t) - 0.3)
    if log:
        ax.set_xscale("log")
    if p is not None:
        trans = ax.get_yaxis_transform()
        for yi, pv, s in zip(yy, t[p].to_numpy(dtype=float), sig):
            ax.text(1.01, yi, format_p(pv, symbol=True), transform=trans, va="center", fontsize=6.5,
                    fontweight="bold" if s and significant in t.columns else "normal")  # fmt: skip
    xlabel = "Odds ratio (log scale)" if is_or else "Estimate"
    if p == "p_adjusted":
        xlabel += "; right: adjusted p"
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


def random_effects(result, group: str | None = None, term: str = "(Intercept)") -> pd.DataFrame:
    """Conditional modes (BLUPs) of one random effect of a fitted mixed model, as a tidy table.

    Parameters
    ----------
    result : MixedResult
        From :func:`alliance_stats.models.fit_mixed`.
    group : str, optional
        Grouping factor (default: the first).
    term : str
        Random-effect term, default the intercept.

    Returns
    -------
    DataFrame
        ``group, level, term, estimate, std_error`` (conditional SD), one row per level.

    Examples
    --------
    >>> from alliance_stats import plots
    >>> from alliance_stats.models.examples import fitted_example
    >>> re = plots.random_effects(fitted_example(), "Subject", term="Days")
    >>> re.shape, re["estimate"].round(2).tolist()[:3]
    ((18, 5), [9.2, -8.62, -5.45])
    """
    if callable(getattr(result, "ranef", None)):  # MixedResult.ranef(): lme4's layout
        re_ = result.ranef()
        if group is None:
            group = str(re_["grpvar"].iloc[0])
        sel = re_[(re_["grpvar"] == group) & (re_["term"] == term)]
        if sel.empty:
            raise InputError(f"random_effects: no random effect {term!r} for group {group!r}")
        return pd.DataFrame(
            {
                "group": group,
                "level": sel["grp"].astype(str).to_numpy(),
                "term": term,
                "estimate": sel["condval"].to_numpy(dtype=float),
                "std_error": sel["condsd"].to_numpy(dtype=float),
            }
        )
    raw = getattr(result, "_raw", None)
    if raw is None or not hasattr(raw, "ranef"):
        raise InputError("random_effects: the result keeps no engine fit to take BLUPs from")
    try:
        rr = raw.ranef(condVar=True)
        values, cond = rr.values, rr.condVar
    except (TypeError, AttributeError, ValueError):  # engine without conditional variances
        values, cond = raw.ranef(), None
    if group is None:
        group = next(iter(values))
    if group not in values or term not in values[group]:
        raise InputError(f"random_effects: no random effect {term!r} for group {group!r}")
    est = np.asarray(values[group][term], dtype=float)
    levels = None
    for s in raw.matrices.random_structures:
        if s.grouping_factor == group and getattr(s, "level_map", None):
            inv = sorted(s.level_map.items(), key=lambda kv: kv[1])
            levels = [k for k, _ in inv]
    if levels is None or len(levels) != len(est):
        levels = list(range(len(est)))
    se = (
        np.sqrt(np.asarray(cond[group][term], dtype=float))
        if cond is not None and group in cond
        else np.full(len(est), np.nan)
    )
    return pd.DataFrame(
        {"group": group, "level": levels, "term": term, "estimate": est, "std_error": se}
    )


def caterpillar(
    table: pd.DataFrame,
    *,
    estimate: str = "estimate",
    std_error: str = "std_error",
    label: str | None = "level",
    conf_level: float = 0.95,
    show_labels: bool | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    highlight: str = "bonferroni",
    ax=None,
):
    """Caterpillar plot: random effects (e.g. therapists) sorted, with conditional intervals.

    Parameters
    ----------
    table : DataFrame
        One row per level, e.g. :func:`random_effects` (``level, estimate, std_error``).
    label : str, optional
        Label column (use pseudonyms in shared reports).
    show_labels : bool, optional
        Tick labels; default when there are at most 30 levels.
    highlight : {"bonferroni", "none"}
        Colour the levels whose interval excludes 0 at the Bonferroni-adjusted level over all
        levels (``1 - (1 - conf_level) / K``: with dozens of therapists some unadjusted
        intervals exclude 0 by chance alone), or none.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = pd.DataFrame({"estimate": [-3.0, 0.1, 0.2, 2.5], "std_error": 1.0})
    >>> ax = caterpillar(t, label=None)
    >>> "Bonferroni" in ax.get_xlabel()
    True
    """
    from scipy import stats

    _need(table, [estimate, std_error], "caterpillar")
    if highlight not in ("bonferroni", "none"):
        raise InputError(
            f"caterpillar: highlight must be 'bonferroni' or 'none', got {highlight!r}"
        )
    t = table.sort_values(estimate, kind="stable").reset_index(drop=True)
    ax = get_axes(ax)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    x = np.arange(len(t))
    est = t[estimate].to_numpy(dtype=float)
    se = t[std_error].to_numpy(dtype=float)
    finite = np.isfinite(se)
    k = max(int(finite.sum()), 1)
    z_adj = stats.norm.ppf(1 - (1 - conf_level) / (2 * k))
    excl = finite & ((est - z_adj * se > 0) | (est + z_adj * se < 0))
    if highlight == "none":
        excl[:] = False
    ax.vlines(x, est - z * se, est + z * se, color=np.where(excl, PALETTE[1], PALETTE[0]), lw=1)
    ax.scatter(x, est, s=10, color=np.where(excl, PALETTE[1], PALETTE[0]), zorder=3)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    if show_labels is None:
        show_labels = len(t) <= 30
    if show_labels and label is not None and label in t.columns:
        ax.set_xticks(x, t[label].astype(str), rotation=90)
    else:
        ax.set_xticks([])
    ax.set_xlabel(
        "Levels, sorted"
        if highlight == "none"
        else f"Levels, sorted (vermillion: excludes 0 after a Bonferroni adjustment for {k})"
    )
    ax.set_ylabel(xlabel or f"{estimate} ({conf_level:.0%} interval)")
    if title:
        ax.set_title(title)
    return ax


# ----------------------------------------------------------------------------- diagnostics
def residual_plot(fitted, residuals, *, ax=None):
    """Residuals against fitted values with a LOWESS-free binned mean line. Returns the Axes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from alliance_stats import plots
    >>> from alliance_stats.models.examples import fitted_example, sleepstudy
    >>> fitted = fitted_example().predict()
    >>> ax = plots.residual_plot(fitted, sleepstudy()["Reaction"] - fitted)
    >>> ax.get_xlabel(), ax.get_ylabel(), len(ax.lines)
    ('Fitted', 'Residual', 2)
    >>> plt.close("all")
    """
    f = np.asarray(fitted, dtype=float)
    r = np.asarray(residuals, dtype=float)
    ok = np.isfinite(f) & np.isfinite(r)
    f, r = f[ok], r[ok]
    ax = get_axes(ax, "single")
    ax.scatter(f, r, s=3, alpha=0.3, color=PALETTE[0], lw=0)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    if len(f) > 20:
        edges = np.quantile(f, np.linspace(0, 1, 11))
        idx = np.clip(np.searchsorted(edges, f, side="right") - 1, 0, 9)
        mids = [f[idx == k].mean() for k in range(10) if (idx == k).any()]
        means = [r[idx == k].mean() for k in range(10) if (idx == k).any()]
        ax.plot(mids, means, color=PALETTE[1], lw=1.5)
    ax.set_xlabel("Fitted")
    ax.set_ylabel("Residual")
    ax.set_title("Residuals vs fitted")
    return ax


def qq_plot(values, *, title: str = "Normal QQ", ax=None):
    """Normal quantile-quantile plot of ``values`` (standardised). Returns the Axes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from alliance_stats import plots
    >>> ax = plots.qq_plot(np.random.default_rng(0).normal(size=30), title="Residual QQ")
    >>> ax.get_title(), len(ax.collections[0].get_offsets())
    ('Residual QQ', 30)
    >>> plt.close("all")
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = np.sort(v[np.isfinite(v)])
    ax = get_axes(ax, "single")
    if len(v) < 2:
        ax.set_title(f"{title} (too few values)")
        return ax
    z = (v - v.mean()) / v.std(ddof=1) if v.std(ddof=1) > 0 else v - v.mean()
    q = stats.norm.ppf((np.arange(1, len(v) + 1) - 0.5) / len(v))
    ax.scatter(q, z, s=4, color=PALETTE[0], alpha=0.6, lw=0)
    lim = [min(q.min(), z.min()), max(q.max(), z.max())]
    ax.plot(lim, lim, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("Normal quantile")
    ax.set_ylabel("Standardised value")
    ax.set_title(title)
    return ax


def diagnostics(
    fitted,
    residuals,
    random_effects: pd.DataFrame | Sequence[float] | None = None,
    *,
    ax=None,
    random_label: str = "Random intercepts",
):
    """Model diagnostics in three panels: residuals vs fitted, residual QQ, random-effect QQ.

    Parameters
    ----------
    fitted, residuals : array-like
        E.g. ``res.predict()`` and observed minus it.
    random_effects : DataFrame or array-like, optional
        BLUPs (a table with ``estimate``, e.g. :func:`random_effects`, or the values).
    ax : sequence of 3 Axes, optional
        Where to draw; default a new double-column figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from alliance_stats import plots
    >>> rng = np.random.default_rng(1)
    >>> fig = plots.diagnostics(rng.normal(size=50), rng.normal(size=50), rng.normal(size=10))
    >>> len(fig.axes)
    3
    """
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=JOURNAL_SIZES["double"], layout="constrained")
    else:
        axes = list(ax)
        if len(axes) != 3:
            raise InputError("diagnostics: ax must be a sequence of 3 Axes")
        fig = axes[0].figure
    residual_plot(fitted, residuals, ax=axes[0])
    qq_plot(residuals, title="Residual QQ", ax=axes[1])
    if random_effects is not None:
        values = (
            random_effects["estimate"]
            if isinstance(random_effects, pd.DataFrame)
            else random_effects
        )
        qq_plot(values, title=f"{random_label} QQ", ax=axes[2])
    else:
        axes[2].set_axis_off()
    return fig
