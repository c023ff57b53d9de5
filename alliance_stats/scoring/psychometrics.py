"""Reliability of questionnaire scales: alpha, omega, item statistics, multilevel reliability.

Every figure reproduces an R ``psych`` function on the same data (tested against committed
fixtures made by ``tests/reference/R/psych_reliability.R``, psych 2.2.9):

========================  =============================================================
figure                    matches
========================  =============================================================
``alpha``                 ``psych::alpha(x, keys=...)$total$raw_alpha`` (to 1e-6)
``alpha_standardized``    ``$total$std.alpha``
``average_r``             ``$total$average_r``
``alpha_se``              ``$total$ase`` (Duhachek & Iacobucci 2004 asymptotic SE)
``alpha_conf_low/high``   Feldt (1965) interval, ``psych::alpha(...)$feldt`` (``alpha.ci``);
                          ``ci_method="duhachek"`` gives alpha +/- z * ase instead
``omega_total``           ``psych::omega(x, nfactors=1, fm="minres", key=...)$omega.tot``
                          (to 1e-3)
``r_drop``                ``$item.stats$r.drop`` (corrected item-total correlation)
``alpha_if_deleted``      ``$alpha.drop$raw_alpha``
multilevel ``r_kf`` ...   ``psych::mlr(..., aov=TRUE, lme=FALSE)`` RkF, R1R, RkR, Rc
========================  =============================================================

Missing values are handled as psych does by default: covariances (and, for omega,
correlations) from pairwise-complete observations (``use="pairwise"``); ``use="complete"``
drops every row with a missing item first. ``n_obs`` counts the rows with at least one
answered item of the scale (psych counts every row; the two agree when no row is empty, and
only the Feldt interval and the standard error depend on it).

Reverse-keyed items (from the instrument) are reversed as ``min + max - x`` before anything
is computed, which is what psych's ``keys`` do to the covariance matrix.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from alliance_stats.arguments import UNSET, renamed_argument
from alliance_stats.errors import DataWarning, InputError
from alliance_stats.instruments.base import ComputedInstrument, Instrument, ItemId
from alliance_stats.instruments.registry import get
from alliance_stats.scoring.totals import ItemsSpec, item_columns, read_items

CI_METHODS = ("feldt", "duhachek")
USES = ("pairwise", "complete")
OMEGA_METHOD = "omega_total, one minres factor (psych::omega nfactors=1)"
MULTILEVEL_METHOD = "generalizability ANOVA (Shrout & Lane 2012; psych::mlr aov)"


# ------------------------------------------------------------------------------- helpers
def _keyed_items(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: ItemsSpec,
    options: Mapping[str, Any],
    scales: Sequence[str] | None = None,
) -> tuple[Instrument, dict[ItemId, str], pd.DataFrame, dict[str, tuple[ItemId, ...]]]:
    inst = get(instrument, **options)
    if isinstance(inst, ComputedInstrument):
        raise InputError(
            f"{inst.name!r} scores are formulas of ratings and counts, not a multi-item scale; "
            "reliability needs an item instrument such as 'wai_sr'"
        )
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(data).__name__}")
    chosen = _choose_scales(inst, scales)
    needed = {i for members in chosen.values() for i in members}
    columns = {i: c for i, c in item_columns(inst, items).items() if i in needed}
    absent = [c for c in columns.values() if c not in data.columns]
    if absent:
        raise InputError(
            f"{len(absent)} item column(s) of {inst.name!r} not in the table: {absent[:12]}; "
            "pass scales= to use some scales only, or "
            "pass items= (a pattern such as 'wai_{}', a mapping or a list)"
        )
    values = read_items(data, inst, columns)
    lo, hi = inst.response_min, inst.response_max
    keyed = {i: (lo + hi - v) if i in inst.reverse else v for i, v in values.items()}
    frame = pd.DataFrame(keyed, index=data.index)
    return inst, columns, frame, chosen


def _choose_scales(inst: Instrument, scales: Sequence[str] | None):
    if scales is None:
        return inst.scales
    if isinstance(scales, str):
        scales = [scales]
    names = {s: s for s in inst.scales} | {f"{inst.name}_{s}": s for s in inst.scales}
    unknown = [s for s in scales if s not in names]
    if unknown:
        raise InputError(
            f"scales {unknown} are not scales of {inst.name!r}; choose from {list(inst.scales)}"
        )
    return {names[s]: inst.scales[names[s]] for s in scales}


def _check_options(conf_level: float, ci_method: str, use: str) -> None:
    if (
        isinstance(conf_level, bool)
        or not isinstance(conf_level, (int, float))
        or not 0 < conf_level < 1
    ):
        raise InputError(
            f"conf_level must be a confidence level between 0 and 1 (e.g. 0.95), got {conf_level!r}"
        )
    if ci_method not in CI_METHODS:
        raise InputError(f"ci_method {ci_method!r} is not one of {list(CI_METHODS)}")
    if use not in USES:
        raise InputError(f"use {use!r} is not one of {list(USES)}")


def _prepare(block: pd.DataFrame, use: str) -> pd.DataFrame:
    block = block.loc[block.notna().any(axis=1)]
    if use == "complete":
        block = block.dropna()
    return block


def _alpha_of(C: np.ndarray) -> float:
    n = C.shape[0]
    return (1 - np.trace(C) / C.sum()) * n / (n - 1)


def alpha_stats(block: pd.DataFrame, conf_level: float = 0.95, ci_method: str = "feldt") -> dict:
    """Alpha and its companions for keyed item values (columns = items), as ``psych::alpha``.

    Parameters
    ----------
    block
        Keyed item values, one column per item (missing values allowed: pairwise).
    conf_level, ci_method
        Confidence level and interval (``"feldt"`` or ``"duhachek"``).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(float(alpha_stats(x)["alpha"]), 4)
    0.9538
    """
    C = block.cov().to_numpy()
    n = C.shape[0]
    nsub = len(block)
    out = {"n_obs": nsub, "n_items": n}
    if n < 2 or nsub < 2 or not np.all(np.isfinite(C)) or np.any(np.diag(C) <= 0):
        return out | dict.fromkeys(
            [
                "alpha",
                "alpha_conf_low",
                "alpha_conf_high",
                "alpha_se",
                "alpha_standardized",
                "average_r",
            ],
            np.nan,
        )
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    total = C.sum()
    alpha = _alpha_of(C)
    sum_r = R.sum()
    std = (1 - n / sum_r) * n / (n - 1)
    av_r = (sum_r - n) / (n * (n - 1))
    CC = C @ C
    tr = np.trace(C)
    Q = (2 * n**2 / ((n - 1) ** 2 * total**3)) * (
        total * (np.trace(CC) + tr**2) - 2 * tr * CC.sum()
    )
    ase = math.sqrt(Q / nsub)
    p = 1 - conf_level
    if ci_method == "feldt":
        df1, df2 = nsub - 1, (nsub - 1) * (n - 1)
        low = 1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)
        high = 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2)
    else:
        z = stats.norm.ppf(1 - p / 2)
        low, high = alpha - z * ase, alpha + z * ase
    return out | {
        "alpha": alpha,
        "alpha_conf_low": low,
        "alpha_conf_high": high,
        "alpha_se": ase,
        "alpha_standardized": std,
        "average_r": av_r,
    }


def _smc(R: np.ndarray) -> np.ndarray:
    return 1 - 1 / np.diag(np.linalg.pinv(R))


def minres_one_factor(R: np.ndarray) -> np.ndarray:
    """Loadings of one minres factor, as ``psych::fa(R, nfactors=1, fm="minres")``.

    psych's algorithm: uniquenesses ``psi`` start at ``1 - smc``; L-BFGS-B (bounds 0.005..1,
    parameter scale 0.01) minimises the sum of squared off-diagonal residuals of the first
    principal axis of ``R`` with ``1 - psi`` on the diagonal, using psych's gradient
    ``h2 + psi - 1``; the loadings are that axis at the solution, signed to sum positive.

    Examples
    --------
    >>> import numpy as np
    >>> R = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> np.round(minres_one_factor(R), 3)
    array([0.816, 0.612, 0.49 ])
    """
    R = np.asarray(R, dtype=float)
    n = R.shape[0]
    lower = np.tril_indices(n, -1)
    scale = 0.01

    def axis(psi: np.ndarray) -> np.ndarray:
        S = R.copy()
        np.fill_diagonal(S, 1 - psi)
        values, vectors = np.linalg.eigh(S)
        top = values[-1]
        return vectors[:, -1] * math.sqrt(max(top, 0.0))

    def fun(z: np.ndarray) -> float:
        psi = z * scale
        S = R.copy()
        np.fill_diagonal(S, 1 - psi)
        values, vectors = np.linalg.eigh(S)
        top = max(values[-1], 100 * np.finfo(float).eps)
        load = vectors[:, -1] * math.sqrt(top)
        resid = (S - np.outer(load, load))[lower]
        return float(np.sum(resid**2))

    def grad(z: np.ndarray) -> np.ndarray:
        psi = z * scale
        load = axis(psi)
        return (load**2 + psi - 1) * scale

    start = 1 - _smc(R)
    upper = max(float(np.max(_smc(R))), 1.0)
    res = optimize.minimize(
        fun,
        start / scale,
        jac=grad,
        method="L-BFGS-B",
        bounds=[(0.005 / scale, upper / scale)] * n,
        options={"maxcor": 5, "ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxiter": 100},
    )
    load = axis(res.x * scale)
    if load.sum() < 0:
        load = -load
    return load


def omega_total(block: pd.DataFrame) -> float:
    """McDonald's omega total of keyed items, as psych's ``omega(x, nfactors=1)$omega.tot``.

    One minres factor is fitted to the pairwise correlation matrix ``R`` (see
    :func:`minres_one_factor`); with communalities ``h2 = loading**2`` and
    ``u2 = 1 - h2``, ``omega_total = 1 - sum(u2) / sum(R)``. NaN with fewer than 3 items.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [2, 2, 3, 5, 5, 1],
    ...                   "c": [1, 3, 3, 4, 4, 2]})
    >>> round(omega_total(x), 3)
    0.955
    """
    if block.shape[1] < 3:
        return np.nan
    R = block.corr().to_numpy()
    if not np.all(np.isfinite(R)):
        return np.nan
    load = minres_one_factor(R)
    u2 = 1 - load**2
    return float(1 - u2.sum() / R.sum())


def _drop_stats(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = C.shape[0]
    r_drop = np.full(n, np.nan)
    a_drop = np.full(n, np.nan)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        sub = C[np.ix_(keep, keep)]
        r_drop[i] = (C[:, i].sum() - C[i, i]) / math.sqrt(C[i, i] * sub.sum())
        if n > 2:
            a_drop[i] = _alpha_of(sub)
    return r_drop, a_drop


# ------------------------------------------------------------------------------- public
def reliability(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: ItemsSpec = None,
    *,
    conf_level: float = 0.95,
    ci_method: str = "feldt",
    use: str = "pairwise",
    scales: Sequence[str] | None = None,
    ci=UNSET,
    **options: Any,
) -> pd.DataFrame:
    """Cronbach's alpha (with a confidence interval) and omega total per scale and subscale.

    Parameters
    ----------
    data
        One row per completed questionnaire (e.g. the session table).
    instrument
        Name or :class:`~alliance_stats.instruments.Instrument`; its reverse keys are applied.
    items
        Item columns: pattern (``"wai_{}"``), mapping or list (as in :func:`score`).
    conf_level
        Confidence level of the alpha interval (``ci=`` is its deprecated name).
    ci_method
        ``"feldt"`` (default; F-distribution interval of Feldt 1965, ``psych::alpha.ci``)
        or ``"duhachek"`` (alpha +/- z * asymptotic SE, Duhachek & Iacobucci 2004).
    use
        ``"pairwise"`` (psych's default) or ``"complete"`` (rows with every item).
    scales
        Only these scales (``"task"`` or ``"wai_sr_task"``); only their items are needed.
    **options
        Instrument options (e.g. ``reverse=`` for the HAq-II).

    Returns
    -------
    DataFrame
        One row per scale (``total`` first, then subscales): ``instrument``, ``scale``
        (the score column, e.g. ``wai_sr_task``), ``n_items``, ``n_obs``, ``alpha``,
        ``alpha_conf_low``, ``alpha_conf_high``, ``alpha_se``, ``alpha_standardized``,
        ``average_r``, ``omega_total`` (NaN below 3 items), ``ci_method``, ``omega_method``.
        Repeated sessions are treated as independent rows; see
        :func:`multilevel_reliability` for within- and between-client reliability.

    Notes
    -----
    R equivalents: ``psych::alpha(x, keys = reversed)`` and
    ``psych::omega(x, nfactors = 1, key = ...)$omega.tot``; see the module docstring.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alliance_stats import reliability
    >>> rng = np.random.default_rng(1)
    >>> true = rng.normal(size=(200, 1))
    >>> raw = np.clip(np.rint(3 + true + rng.normal(scale=.8, size=(200, 12))), 1, 5)
    >>> df = pd.DataFrame(raw, columns=[f"wai_{i}" for i in range(1, 13)])
    >>> rel = reliability(df, "wai_sr", items="wai_{}")   # als.reliability(...)
    >>> rel["scale"].tolist()
    ['wai_sr_total', 'wai_sr_task', 'wai_sr_bond', 'wai_sr_goal']
    >>> bool((rel["alpha"] > 0.8).all())
    True
    """
    conf_level = renamed_argument("reliability", "conf_level", conf_level, 0.95, "ci", ci)
    _check_options(conf_level, ci_method, use)
    inst, columns, frame, chosen = _keyed_items(data, instrument, items, options, scales)
    rows = []
    for scale, members in chosen.items():
        block = _prepare(frame[list(members)], use)
        row = {"instrument": inst.name, "scale": f"{inst.name}_{scale}"}
        row |= alpha_stats(block, conf_level, ci_method)
        constant = [str(columns[c]) for c in members if frame[c].dropna().nunique() <= 1]
        if constant:
            warnings.warn(
                f"reliability: {row['scale']}: item(s) {', '.join(constant)} have no variance "
                "(every answer the same), so alpha and omega are not defined (NaN) for this "
                "scale; check the item columns or the rows used",
                DataWarning,
                stacklevel=2,
            )
        row["omega_total"] = omega_total(block) if len(block) > 2 else np.nan
        row["ci_method"] = ci_method
        row["omega_method"] = OMEGA_METHOD
        rows.append(row)
    return pd.DataFrame(rows)


def item_statistics(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: ItemsSpec = None,
    *,
    use: str = "pairwise",
    scales: Sequence[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Item-total correlations (corrected) and alpha if item deleted, per scale.

    Parameters
    ----------
    data, instrument, items, use, scales, **options
        As in :func:`reliability`.

    Returns
    -------
    DataFrame
        One row per scale and item: ``scale``, ``item``, ``column``, ``reversed``, ``n``,
        ``mean`` and ``sd`` (after reverse keying), ``r_drop`` (correlation of the item with
        the sum of the scale's other items, psych's ``r.drop``), ``alpha_if_deleted``
        (psych's ``alpha.drop$raw_alpha``; NaN for 2-item scales).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alliance_stats import item_statistics
    >>> rng = np.random.default_rng(2)
    >>> raw = np.clip(np.rint(3 + rng.normal(size=(100, 1)) + rng.normal(size=(100, 4))), 0, 10)
    >>> df = pd.DataFrame(raw, columns=[f"srs_{i}" for i in range(1, 5)])
    >>> st = item_statistics(df, "srs")
    >>> st[["item", "column"]].values.tolist()[:2]
    [[1, 'srs_1'], [2, 'srs_2']]
    """
    _check_options(0.95, "feldt", use)
    inst, columns, frame, chosen = _keyed_items(data, instrument, items, options, scales)
    rows = []
    for scale, members in chosen.items():
        block = _prepare(frame[list(members)], use)
        C = block.cov().to_numpy()
        if len(members) >= 2 and len(block) >= 2:
            r_drop, a_drop = _drop_stats(C)
        else:
            r_drop = a_drop = np.full(len(members), np.nan)
        for k, item in enumerate(members):
            rows.append(
                {
                    "instrument": inst.name,
                    "scale": f"{inst.name}_{scale}",
                    "item": item,
                    "column": columns[item],
                    "reversed": item in inst.reverse,
                    "n": int(block[item].notna().sum()),
                    "mean": float(block[item].mean()),
                    "sd": float(block[item].std()),
                    "r_drop": r_drop[k],
                    "alpha_if_deleted": a_drop[k],
                }
            )
    return pd.DataFrame(rows)


def multilevel_reliability(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: ItemsSpec = None,
    *,
    client: str = "client",
    session: str = "session",
    drop_incomplete: bool = False,
    scales: Sequence[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Between-client and within-client (change) reliability of each scale over sessions.

    The generalizability analysis of Shrout & Lane (2012), as ``psych::mlr(x, grp, Time,
    items, aov=TRUE, lme=FALSE)``: a three-way ANOVA (client x session x item, one rating
    per cell) gives variance components, from which

    * ``r_kf`` (RkF): between-client reliability of the scale averaged over the k items and
      all the (fixed) sessions;
    * ``r_1r`` (R1R): between-client reliability of one session's score, sessions random;
    * ``r_kr`` (RkR): between-client reliability of the average over sessions, sessions random;
    * ``r_c`` (Rc): within-client reliability of change from session to session.

    The ANOVA needs a balanced design: every client rated at every session on every item
    (as psych; with gaps psych's ANOVA components are wrong). Restrict the table to the
    sessions all clients share, or pass ``drop_incomplete=True`` to leave out clients with
    a missing session or item (their number is in ``n_clients_dropped``).

    Parameters
    ----------
    data
        Long table, one row per client and session, items in columns.
    instrument, items, scales, **options
        As in :func:`reliability`; reverse keys use the instrument's response range
        (psych's mlr uses the observed min and max, the same when both ends are used).
    client, session
        Column names of the client id and session number.
    drop_incomplete
        Leave out clients without a complete set of ratings instead of raising.

    Returns
    -------
    DataFrame
        One row per scale: ``instrument``, ``scale``, ``n_clients``, ``n_sessions``,
        ``n_items``, ``n_clients_dropped``, ``r_kf``, ``r_1r``, ``r_kr``, ``r_c``, the variance
        components ``var_client``, ``var_session``, ``var_item``, ``var_client_session``,
        ``var_client_item``, ``var_session_item``, ``var_residual`` (negative estimates are
        kept, as in psych), and ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alliance_stats import multilevel_reliability
    >>> rng = np.random.default_rng(3)
    >>> rows = []
    >>> for c in range(20):
    ...     level = rng.normal()
    ...     for s in range(1, 6):
    ...         occ = rng.normal(scale=.5)
    ...         rows.append({"client": c, "session": s, **{f"srs_{i}": np.clip(
    ...             np.round(7 + level + occ + rng.normal(scale=.5)), 0, 10) for i in range(1, 5)}})
    >>> ml = multilevel_reliability(pd.DataFrame(rows), "srs")
    >>> ml[["n_clients", "n_sessions", "n_items"]].values.tolist()
    [[20, 5, 4]]
    """
    inst, columns, frame, chosen = _keyed_items(data, instrument, items, options, scales)
    for name in (client, session):
        if name not in data.columns:
            raise InputError(f"column {name!r} not in the table; pass {name}= the right column")
    ids = data[client].to_numpy()
    sess = data[session].to_numpy()
    if pd.isna(ids).any() or pd.isna(sess).any():
        raise InputError(f"{client!r} and {session!r} must not be missing")
    key = pd.DataFrame({"c": ids, "s": sess})
    if key.duplicated().any():
        dup = key[key.duplicated()].head(5).values.tolist()
        raise InputError(f"(client, session) pairs appear more than once, e.g. {dup}")
    rows = []
    for scale, members in chosen.items():
        block = frame[list(members)]
        sessions = pd.unique(sess)
        complete = block.notna().all(axis=1).to_numpy()
        per_client = pd.Series(complete).groupby(ids).agg(["sum", "size"])
        full = per_client["sum"] == len(sessions)
        bad_clients = per_client.index[~full].tolist()
        if bad_clients and not drop_incomplete:
            raise InputError(
                f"{inst.name}_{scale}: the multilevel ANOVA needs every client rated on every "
                f"item at each of the {len(sessions)} sessions; {len(bad_clients)} client(s) "
                f"are incomplete (e.g. {bad_clients[:5]}). Restrict the sessions, or pass "
                "drop_incomplete=True"
            )
        keep = np.isin(ids, per_client.index[full].to_numpy())
        if keep.sum() == 0:
            raise InputError(f"{inst.name}_{scale}: no client has a complete set of ratings")
        row = {
            "instrument": inst.name,
            "scale": f"{inst.name}_{scale}",
            "n_clients_dropped": len(bad_clients),
        }
        row |= _mlr_anova(block.to_numpy()[keep], ids[keep], sess[keep])
        row["method"] = MULTILEVEL_METHOD
        rows.append(row)
    return pd.DataFrame(rows)


def _mlr_anova(y: np.ndarray, ids: np.ndarray, sess: np.ndarray) -> dict:
    pc, p_idx = np.unique(ids, return_inverse=True)
    tc, t_idx = np.unique(sess, return_inverse=True)
    P, T, k = len(pc), len(tc), y.shape[1]
    cube = np.full((P, T, k), np.nan)
    cube[p_idx, t_idx, :] = y
    m = cube.mean()
    mp = cube.mean(axis=(1, 2))
    mt = cube.mean(axis=(0, 2))
    mi = cube.mean(axis=(0, 1))
    mpt = cube.mean(axis=2)
    mpi = cube.mean(axis=1)
    mti = cube.mean(axis=0)
    ss = {
        "id": T * k * np.sum((mp - m) ** 2),
        "time": P * k * np.sum((mt - m) ** 2),
        "items": P * T * np.sum((mi - m) ** 2),
        "pt": k * np.sum((mpt - mp[:, None] - mt[None, :] + m) ** 2),
        "pi": T * np.sum((mpi - mp[:, None] - mi[None, :] + m) ** 2),
        "ti": P * np.sum((mti - mt[:, None] - mi[None, :] + m) ** 2),
    }
    ss["res"] = np.sum((cube - m) ** 2) - sum(ss.values())
    df = {
        "id": P - 1,
        "time": T - 1,
        "items": k - 1,
        "pt": (P - 1) * (T - 1),
        "pi": (P - 1) * (k - 1),
        "ti": (T - 1) * (k - 1),
        "res": (P - 1) * (T - 1) * (k - 1),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        ms = {name: ss[name] / df[name] if df[name] > 0 else np.nan for name in ss}
    v_id = (ms["id"] - ms["pt"] - ms["pi"] + ms["res"]) / (T * k)
    v_time = (ms["time"] - ms["pt"] - ms["ti"] + ms["res"]) / (P * k)
    v_items = (ms["items"] - ms["pi"] - ms["ti"] + ms["res"]) / (P * T)
    v_pt = (ms["pt"] - ms["res"]) / k
    v_pi = (ms["pi"] - ms["res"]) / T
    v_ti = (ms["ti"] - ms["res"]) / P
    err = ms["res"]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = v_id + v_pi / k
        r_kf = between / (between + err / (T * k))
        r_1r = between / (between + v_time + v_pt + err / k)
        r_kr = between / (between + v_time / T + v_pt / T + err / (T * k))
        r_c = v_pt / (v_pt + err / k)
    return {
        "n_clients": P,
        "n_sessions": T,
        "n_items": k,
        "r_kf": r_kf,
        "r_1r": r_1r,
        "r_kr": r_kr,
        "r_c": r_c,
        "var_client": v_id,
        "var_session": v_time,
        "var_item": v_items,
        "var_client_session": v_pt,
        "var_client_item": v_pi,
        "var_session_item": v_ti,
        "var_residual": err,
    }
