"""Score questionnaires: totals and subscales from item responses.

:func:`score` turns item columns into the scores researchers publish, following the
instrument's key (:mod:`alliance_stats.instruments`): reverse keying, sum or mean rule and
prorating of missing items. The returned frame is a new one that keeps every input column.

Added columns
-------------
``<instrument>_<scale>``
    One per scale: ``total`` first, then the subscales (``wai_sr_task`` ...); computed
    instruments add their formulas (``miti_relational`` ...); the SRS adds ``srs_alert``.
``<instrument>_missing_reason``
    Text saying why a score of that row is missing (``"task: 2 of 4 items missing (at
    most 1 allowed, max_missing=0.25)"``, ``"r_q: no questions coded (Q = 0)"``), several
    reasons joined by ``"; "``; missing (NA) when every score of the row exists. A row whose
    items are all empty (e.g. a missed session) says so too.
``<instrument>_prorated``
    Item instruments only: True when a score of the row was prorated from answered items.

Checks
------
Before scoring, every item value is checked and all problems are raised together in one
:class:`~alliance_stats.DataValidationError` (``err.report.errors`` has row = index label,
column, value, rule): text that is not a number (``non_numeric``), a value outside the
response range (``out_of_range``; never clipped) and a decimal where the instrument has
whole-number responses (``not_whole_number``). Missing item columns raise
:class:`~alliance_stats.InputError` naming them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.errors import DataValidationError, InputError
from alliance_stats.instruments.base import ComputedInstrument, Instrument, ItemId
from alliance_stats.instruments.registry import get
from alliance_stats.validation import PROBLEM_COLUMNS, ValidationReport

ItemsSpec = str | Mapping[Any, str] | Sequence[str] | None


def item_columns(instrument: Instrument | ComputedInstrument, items: ItemsSpec = None):
    """Item id -> column name, from a pattern, a mapping or a list of columns.

    Parameters
    ----------
    instrument
        The instrument.
    items
        ``None`` (the instrument's default pattern, ``"<name>_{}"``), a pattern with
        ``{}`` where the item id goes (``"wai_{}"`` -> ``wai_1``, ``wai_2`` ...), a mapping
        item id -> column, or a list of columns in item order.

    Examples
    --------
    >>> from alliance_stats import instruments
    >>> item_columns(instruments.get("srs"), "srs{}")
    {1: 'srs1', 2: 'srs2', 3: 'srs3', 4: 'srs4'}
    """
    ids = list(instrument.items)
    if items is None:
        items = instrument.pattern
    if isinstance(items, str):
        if "{}" not in items:
            raise InputError(
                f"items={items!r} is not a pattern: put '{{}}' where the item number goes "
                f"(e.g. '{instrument.name}_{{}}'), or pass a mapping item -> column"
            )
        return {i: items.format(i) for i in ids}
    if isinstance(items, Mapping):
        by_text = {str(k): v for k, v in items.items()}
        unknown = [k for k in by_text if k not in {str(i) for i in ids}]
        missing = [i for i in ids if str(i) not in by_text]
        if unknown or missing:
            raise InputError(
                f"items mapping for {instrument.name!r} does not match its items {ids}: "
                + (f"unknown item id(s) {unknown}" if unknown else "")
                + ("; " if unknown and missing else "")
                + (f"no column given for item(s) {missing}" if missing else "")
            )
        out = {i: by_text[str(i)] for i in ids}
    elif isinstance(items, Sequence):
        if len(items) != len(ids):
            raise InputError(
                f"items lists {len(items)} columns but {instrument.name!r} has {len(ids)} "
                f"items ({ids}); list one column per item, in item order"
            )
        out = dict(zip(ids, items))
    else:
        raise InputError(
            f"items must be a pattern such as '{instrument.name}_{{}}', a mapping or a list of "
            f"columns, got {type(items).__name__}"
        )
    bad = [c for c in out.values() if not isinstance(c, str)]
    if bad:
        raise InputError(f"item column names must be text, got {bad}")
    return out


def score(
    data: pd.DataFrame,
    instrument: str | Instrument | ComputedInstrument,
    items: ItemsSpec = None,
    max_missing: float | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Score an instrument: add total and subscale columns to a copy of the table.

    Parameters
    ----------
    data
        One row per rating (e.g. the canonical session table); not modified.
    instrument
        A name from ``als.instruments.available()`` or an
        :class:`~alliance_stats.instruments.Instrument` (e.g. from a TOML file).
    items
        Where the items are: a pattern (``"wai_{}"``), a mapping item id -> column, or a
        list of columns in item order; default ``"<instrument>_{}"``.
    max_missing
        Share of a scale's items that may be missing; such scores are prorated
        (sum rule: mean of the answered items x number of items). Default: the
        instrument's own (0.25 for WAI and HAq-II, 0 for the SRS). Not used by formula
        instruments (MITI, observer resistance), whose scores need all their inputs.
    **options
        Options of the instrument, e.g. ``alert_cutoff=35`` or ``alert_side="at_or_below"``
        for the SRS, ``reverse=(...)`` for the HAq-II, ``subscales={...}`` for the WAI-S.

    Returns
    -------
    DataFrame
        The input columns plus the score columns, ``<instrument>_missing_reason`` and
        (item instruments) ``<instrument>_prorated``. Existing columns of those names are
        replaced.

    Raises
    ------
    DataValidationError
        Item values that are text, out of range or not whole numbers (all listed).
    InputError
        Unknown instrument or option, missing item columns, bad ``max_missing``.

    Notes
    -----
    R equivalent (no prorating): ``psych::scoreItems(keys, items, totals = TRUE)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats.scoring import score      # also als.score
    >>> df = pd.DataFrame({f"wai_{i}": [4, 5] for i in range(1, 13)})
    >>> df.loc[1, "wai_3"] = None                         # one bond item missing
    >>> out = score(df, "wai_sr", items="wai_{}")
    >>> out[["wai_sr_total", "wai_sr_bond", "wai_sr_prorated"]].values.tolist()
    [[48.0, 16.0, False], [60.0, 20.0, True]]
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"score expects a pandas DataFrame, got {type(data).__name__}")
    inst = get(instrument, **options)
    computed = isinstance(inst, ComputedInstrument)
    if max_missing is None:
        max_missing = inst.max_missing
    elif computed:
        raise InputError(
            f"max_missing does not apply to {inst.name!r}: its scores are formulas that need "
            "all their inputs; leave max_missing out"
        )
    elif (
        isinstance(max_missing, bool)
        or not isinstance(max_missing, (int, float))
        or not (0 <= max_missing <= 1)
    ):
        raise InputError(
            f"max_missing must be a share between 0 and 1 (0.25 = a quarter of a scale's "
            f"items may be missing), got {max_missing!r}"
        )
    columns = item_columns(inst, items)
    absent = [c for c in columns.values() if c not in data.columns]
    if absent:
        raise InputError(
            f"{len(absent)} item column(s) of {inst.name!r} not in the table: {absent[:12]}"
            + (" ..." if len(absent) > 12 else "")
            + f". Pass items= (a pattern such as '{inst.name}_{{}}', a mapping or a list); "
            f"columns found: {list(map(str, data.columns))[:15]}"
        )
    dup = pd.Index(data.columns)
    dup = [c for c in set(columns.values()) if (dup == c).sum() > 1]
    if dup:
        raise InputError(f"item column(s) {dup} appear more than once in the table")
    clash = set(inst.score_columns) & set(columns.values())
    if clash:
        raise InputError(f"item column(s) {sorted(clash)} have the name of a score column")

    values = read_items(data, inst, columns)
    scores, reasons, prorated = inst.compute(values, max_missing)

    n = len(data)
    texts: list[list[str]] = [[] for _ in range(n)]
    empty = np.all(np.column_stack([np.isnan(v) for v in values.values()]), axis=1)
    for pos in np.flatnonzero(empty):
        texts[pos].append("no items answered")
    for mask, text in reasons:
        for pos in np.flatnonzero(mask & ~empty):
            texts[pos].append(text)
    reason = pd.Series(["; ".join(t) if t else None for t in texts], index=data.index, dtype="str")

    out = data.copy()
    for name, arr in scores.items():
        out[name] = pd.Series(arr, index=data.index)
    out[inst.reason_column] = reason
    if not computed:
        out[f"{inst.name}_prorated"] = pd.Series(prorated, index=data.index)
    return out


def read_items(
    data: pd.DataFrame, inst: Instrument | ComputedInstrument, columns: Mapping[ItemId, str]
) -> dict[ItemId, np.ndarray]:
    """Item values as float arrays, or :class:`DataValidationError` listing every bad value.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats import instruments
    >>> from alliance_stats.errors import DataValidationError
    >>> srs = instruments.get("srs")
    >>> df = pd.DataFrame({f"srs_{i}": [7.5, None] for i in range(1, 5)})
    >>> read_items(df, srs, item_columns(srs))[1]
    array([7.5, nan])
    >>> df.loc[1, "srs_2"] = 12                           # SRS items are 0..10
    >>> try:
    ...     read_items(df, srs, item_columns(srs))
    ... except DataValidationError as err:
    ...     print(err.report.errors[["row", "column", "rule"]].values.tolist())
    [['index 1', 'srs_2', 'out_of_range']]
    """
    ranges = inst.item_ranges()
    parts: list[pd.DataFrame] = []
    out: dict[ItemId, np.ndarray] = {}
    labels = data.index.to_numpy()
    for item, column in columns.items():
        series = data[column]
        numbers, text_bad = _numbers(series)
        lo, hi = ranges[item]
        with np.errstate(invalid="ignore"):
            outside = (numbers < lo) | (numbers > hi)
            fractional = (
                np.isfinite(numbers) & (np.mod(numbers, 1) != 0)
                if inst.integer
                else np.zeros(len(numbers), dtype=bool)
            )
        fractional &= ~outside
        raw = series.to_numpy()
        what = f"{inst.name} item {item}"
        rng = f"{_num(lo)}..{_num(hi)}" if np.isfinite(hi) else f"{_num(lo)} or more"
        for rule, mask, message in (
            (
                "non_numeric",
                text_bad,
                f"text where {what} needs a number; correct it or leave "
                "the cell empty if it means missing",
            ),
            (
                "out_of_range",
                outside,
                f"{what} must be in {rng}; correct the value or mark it "
                "missing (values are never clipped)",
            ),
            ("not_whole_number", fractional, f"{what} takes whole numbers; correct the value"),
        ):
            if mask.any():
                parts.append(
                    pd.DataFrame(
                        {
                            "severity": "error",
                            "file": "",
                            "row": [f"index {x}" for x in labels[mask]],
                            "column": column,
                            "value": [str(v) for v in raw[mask]],
                            "rule": rule,
                            "message": message,
                            "_pos": np.flatnonzero(mask),
                        }
                    )
                )
        out[item] = numbers
    if parts:
        problems = pd.concat(parts, ignore_index=True).sort_values("_pos", kind="stable")
        problems = problems[list(PROBLEM_COLUMNS)].reset_index(drop=True)
        raise DataValidationError(ValidationReport(problems, len(data), None))
    return out


def _numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values and a mask of text that is not a number (blank text is missing)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(copy=True), np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        arr = series.astype("float64").to_numpy(copy=True)
        return arr, np.zeros(len(arr), dtype=bool)
    text = series.astype("str").str.strip()
    blank = series.isna().to_numpy() | (text == "").to_numpy()
    parsed = (
        pd.to_numeric(text.where(~blank), errors="coerce").astype("float64").to_numpy(copy=True)
    )
    bad = np.isnan(parsed) & ~blank
    return parsed, bad


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
