"""Instrument definitions: items, response range, reverse keys, subscales and scoring rule.

An :class:`Instrument` records how a questionnaire is scored, never its item wording
(the wording of the alliance measures is copyrighted). Two kinds exist:

* :class:`Instrument` -- item-summed (or item-averaged) scales such as the WAI-SR, SRS
  and HAq-II, and any user-defined scale (Python or TOML);
* :class:`ComputedInstrument` -- observer instruments whose scores are formulas of
  ratings and counts (MITI 4.2.1 summary scores, observer resistance rates).

Scoring rules
-------------
``rule="sum"``
    A scale score is the sum of its (reverse-keyed) items. With missing items (up to the
    allowed share, see *prorating*), the prorated sum is ``mean(answered) * n_items``,
    so it stays on the scale's published range.
``rule="mean"``
    A scale score is the mean of its answered items.

Prorating
---------
A scale is scored when at most ``floor(max_missing * n_items)`` of its items are missing
(``max_missing=0.25``: 1 of 4 items, 3 of 12 items). Otherwise the score is missing and
the reason is written to ``<instrument>_missing_reason``. The total is scored from all the
instrument's items with the same rule (not as the sum of subscale scores), so a total can
exist when one subscale is missing.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alliance_stats.errors import InputError

RULES = ("sum", "mean")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

ItemId = int | str


class InstrumentDefinitionError(InputError):
    """An instrument definition (Python or TOML) is malformed; the message names the problem.

    Examples
    --------
    >>> from alliance_stats.errors import InputError
    >>> from alliance_stats.instruments import Instrument, InstrumentDefinitionError
    >>> issubclass(InstrumentDefinitionError, InputError)
    True
    >>> try:
    ...     Instrument("mini", items=(1, 2), response_min=1, response_max=5, reverse=(3,))
    ... except InstrumentDefinitionError as err:
    ...     print(err)
    instrument 'mini': reverse key(s) ['3'] are not among the items ['1', '2']
    """


def _item_label(item: ItemId) -> str:
    return str(item)


@dataclass(frozen=True)
class Instrument:
    """How one questionnaire is scored.

    Parameters
    ----------
    name
        Identifier, snake_case (``"wai_sr"``); prefixes every output column.
    items
        Item identifiers in order, usually ``1..k`` (``range(1, 13)``) or short names.
    response_min, response_max
        The response range; values outside are errors when scoring (never clipped).
    reverse
        Reverse-keyed items, scored as ``response_min + response_max - value``.
    subscales
        Subscale name -> its items. Every item must belong to ``items``.
    rule
        ``"sum"`` or ``"mean"`` (see the module notes).
    total
        Also score the whole instrument as ``<name>_total``.
    max_missing
        Default share of a scale's items that may be missing and prorated (0 to 1).
    integer
        Responses are whole numbers (a value such as 2.5 is an error).
    label
        Human-readable name.
    citation
        Where the scoring key comes from.
    notes
        Caveats shown by :func:`available`, e.g. a key the user should confirm.
    default_pattern
        Item-column pattern used when ``score(..., items=None)``; default ``"<name>_{}"``.

    Examples
    --------
    >>> from alliance_stats.instruments import Instrument
    >>> inst = Instrument("mini", items=(1, 2, 3, 4), response_min=1, response_max=5,
    ...                   reverse=(4,), subscales={"a": (1, 2), "b": (3, 4)})
    >>> inst.score_columns
    ('mini_total', 'mini_a', 'mini_b')
    """

    name: str
    items: tuple[ItemId, ...]
    response_min: float
    response_max: float
    reverse: tuple[ItemId, ...] = ()
    subscales: Mapping[str, tuple[ItemId, ...]] = field(default_factory=dict)
    rule: str = "sum"
    total: bool = True
    max_missing: float = 0.25
    integer: bool = True
    label: str = ""
    citation: str = ""
    notes: str = ""
    default_pattern: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _as_items(self.items, "items", self.name))
        object.__setattr__(self, "reverse", _as_items(self.reverse, "reverse", self.name))
        subs = self.subscales
        if subs is None:
            subs = {}
        if not isinstance(subs, Mapping):
            raise InstrumentDefinitionError(
                f"instrument {self.name!r}: subscales must map a subscale name to its items, "
                f"got {type(subs).__name__}"
            )
        object.__setattr__(
            self,
            "subscales",
            {str(k): _as_items(v, f"subscale {k!r}", self.name) for k, v in subs.items()},
        )
        self._check()

    # -- checks -------------------------------------------------------------------------
    def _check(self) -> None:
        name = self.name
        if not isinstance(name, str) or not _NAME.match(name):
            raise InstrumentDefinitionError(
                f"instrument name {name!r} must be snake_case: lower-case letters, digits "
                "and underscores, starting with a letter (e.g. 'my_scale')"
            )
        where = f"instrument {name!r}"
        if not self.items:
            raise InstrumentDefinitionError(f"{where}: items is empty; list the item ids")
        dupes = sorted({_item_label(i) for i in self.items if self.items.count(i) > 1})
        if dupes:
            raise InstrumentDefinitionError(f"{where}: items listed more than once: {dupes}")
        for bound in ("response_min", "response_max"):
            value = getattr(self, bound)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InstrumentDefinitionError(f"{where}: {bound} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise InstrumentDefinitionError(f"{where}: {bound} must be finite, got {value!r}")
        if not self.response_min < self.response_max:
            raise InstrumentDefinitionError(
                f"{where}: bad response range {self.response_min}..{self.response_max}; "
                "response_min must be below response_max"
            )
        if self.rule not in RULES:
            raise InstrumentDefinitionError(
                f"{where}: rule {self.rule!r} is not one of {list(RULES)}"
            )
        _check_share(self.max_missing, where)
        known = set(self.items)
        unknown = [_item_label(i) for i in self.reverse if i not in known]
        if unknown:
            raise InstrumentDefinitionError(
                f"{where}: reverse key(s) {unknown} are not among the items "
                f"{[_item_label(i) for i in self.items]}"
            )
        for sub, members in self.subscales.items():
            if not _NAME.match(sub):
                raise InstrumentDefinitionError(
                    f"{where}: subscale name {sub!r} must be snake_case (e.g. 'task')"
                )
            if sub in ("total", "missing_reason", "prorated"):
                raise InstrumentDefinitionError(
                    f"{where}: {sub!r} is reserved and cannot name a subscale"
                )
            if not members:
                raise InstrumentDefinitionError(f"{where}: subscale {sub!r} has no items")
            bad = [_item_label(i) for i in members if i not in known]
            if bad:
                raise InstrumentDefinitionError(
                    f"{where}: subscale {sub!r} lists unknown item(s) {bad}; items are "
                    f"{[_item_label(i) for i in self.items]}"
                )
            dup = sorted({_item_label(i) for i in members if members.count(i) > 1})
            if dup:
                raise InstrumentDefinitionError(
                    f"{where}: subscale {sub!r} lists item(s) {dup} more than once"
                )
        if not self.total and not self.subscales:
            raise InstrumentDefinitionError(
                f"{where}: total=false and no subscales: nothing would be scored"
            )
        if self.default_pattern is not None and "{}" not in self.default_pattern:
            raise InstrumentDefinitionError(
                f"{where}: default_pattern {self.default_pattern!r} must contain '{{}}'"
            )

    # -- derived ----------------------------------------------------------------------
    @property
    def scales(self) -> dict[str, tuple[ItemId, ...]]:
        """Scale name (``"total"`` first, then subscales) -> items."""
        out: dict[str, tuple[ItemId, ...]] = {}
        if self.total:
            out["total"] = self.items
        out.update(self.subscales)
        return out

    @property
    def score_columns(self) -> tuple[str, ...]:
        """Names of the score columns :func:`alliance_stats.score` adds."""
        return tuple(f"{self.name}_{s}" for s in self.scales)

    @property
    def reason_column(self) -> str:
        """Name of the column that says why a score is missing."""
        return f"{self.name}_missing_reason"

    @property
    def pattern(self) -> str:
        """Default item-column pattern."""
        return self.default_pattern or f"{self.name}_{{}}"

    def score_range(self, scale: str = "total") -> tuple[float, float]:
        """Lowest and highest possible score of a scale.

        Examples
        --------
        >>> from alliance_stats import instruments
        >>> instruments.get("wai_sr").score_range("task")
        (4.0, 20.0)
        """
        k = len(self.scales[scale]) if self.rule == "sum" else 1
        return (float(self.response_min * k), float(self.response_max * k))

    def item_ranges(self) -> dict[ItemId, tuple[float, float]]:
        """Allowed range of every item."""
        return {i: (self.response_min, self.response_max) for i in self.items}

    def with_options(self, **changes: Any) -> Instrument:
        """A copy with some fields changed (e.g. ``reverse=(4, 8)`` after checking the key)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        unknown = set(changes) - set(fields)
        if unknown:
            raise InputError(
                f"instrument {self.name!r} has no option(s) {sorted(unknown)}; "
                f"options are {sorted(fields)}"
            )
        fields.update(changes)
        return type(self)(**fields)

    def describe(self) -> dict[str, Any]:
        """One row for :func:`alliance_stats.instruments.available`."""
        return {
            "name": self.name,
            "label": self.label,
            "n_items": len(self.items),
            "response_range": f"{_num(self.response_min)}-{_num(self.response_max)}",
            "rule": self.rule,
            "reverse": ", ".join(_item_label(i) for i in self.reverse),
            "scores": ", ".join(self.score_columns),
            "citation": self.citation,
            "notes": self.notes,
        }

    # -- scoring ----------------------------------------------------------------------
    def compute(
        self, values: Mapping[ItemId, np.ndarray], max_missing: float
    ) -> tuple[dict[str, np.ndarray], list[tuple[np.ndarray, str]], np.ndarray]:
        """Score checked, numeric item values.

        Returns the score arrays by column name, a list of (row mask, reason) pairs for
        missing scores, and a boolean array: the row has a prorated score.
        """
        _check_share(max_missing, "max_missing")
        lo, hi = self.response_min, self.response_max
        keyed = {i: (lo + hi - v) if i in self.reverse else v for i, v in values.items()}
        n = len(next(iter(values.values())))
        scores: dict[str, np.ndarray] = {}
        reasons: list[tuple[np.ndarray, str]] = []
        prorated = np.zeros(n, dtype=bool)
        for scale, members in self.scales.items():
            block = np.column_stack([keyed[i] for i in members])
            k = block.shape[1]
            missing = np.isnan(block).sum(axis=1)
            allowed = math.floor(max_missing * k + 1e-9)
            answered = k - missing
            total = np.nansum(block, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                # sum of answered items x k / answered: the exact sum when all are answered
                score = total * k / answered if self.rule == "sum" else total / answered
            too_many = (missing > allowed) | (missing == k)
            score = np.where(too_many, np.nan, score)
            scores[f"{self.name}_{scale}"] = score
            prorated |= (missing > 0) & ~too_many
            for count in np.unique(missing[too_many]):
                mask = too_many & (missing == count)
                reasons.append(
                    (
                        mask,
                        f"{scale}: {count} of {k} items missing "
                        f"(at most {allowed} allowed, max_missing={max_missing:g})",
                    )
                )
        return scores, reasons, prorated


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_share(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InstrumentDefinitionError(
            f"{where}: max_missing must be a share between 0 and 1 (0.25 = a quarter of the "
            f"items), got {value!r}"
        )


def _as_items(value: Any, what: str, name: str) -> tuple[ItemId, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InstrumentDefinitionError(
            f"instrument {name!r}: {what} must be a list of item ids, got {value!r}"
        )
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, str, np.integer)):
            raise InstrumentDefinitionError(
                f"instrument {name!r}: {what} has item id {item!r}; item ids are whole "
                "numbers or short names"
            )
        out.append(int(item) if isinstance(item, np.integer) else item)
    return tuple(out)


@dataclass(frozen=True)
class ComputedInstrument:
    """An instrument whose scores are formulas of its inputs (ratings and counts).

    Subclasses define :meth:`compute`. Inputs have their own ranges
    (``item_ranges``); counts have no upper bound.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats import instruments, score
    >>> inst = instruments.get("observer_resistance")
    >>> isinstance(inst, instruments.ComputedInstrument), inst.items, inst.score_columns
    (True, ('count', 'utterances'), ('observer_resistance_per_100',))
    >>> df = pd.DataFrame({"observer_resistance_count": [3, 0],
    ...                    "observer_resistance_utterances": [60, 0]})
    >>> score(df, inst)["observer_resistance_per_100"].tolist()
    [5.0, nan]
    """

    name: str
    inputs: Mapping[str, tuple[float, float]]
    outputs: tuple[str, ...]
    label: str = ""
    citation: str = ""
    notes: str = ""
    integer: bool = True
    max_missing: float = 0.0
    default_pattern: str | None = None
    range_text: str = ""

    @property
    def items(self) -> tuple[str, ...]:
        """Input identifiers (used to find columns)."""
        return tuple(self.inputs)

    @property
    def reverse(self) -> tuple[ItemId, ...]:
        return ()

    @property
    def subscales(self) -> dict[str, tuple[ItemId, ...]]:
        return {}

    @property
    def score_columns(self) -> tuple[str, ...]:
        return tuple(f"{self.name}_{o}" for o in self.outputs)

    @property
    def reason_column(self) -> str:
        return f"{self.name}_missing_reason"

    @property
    def pattern(self) -> str:
        return self.default_pattern or f"{self.name}_{{}}"

    def item_ranges(self) -> dict[ItemId, tuple[float, float]]:
        return dict(self.inputs)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "n_items": len(self.inputs),
            "response_range": self.range_text,
            "rule": "formula",
            "reverse": "",
            "scores": ", ".join(self.score_columns),
            "citation": self.citation,
            "notes": self.notes,
        }

    def compute(self, values, max_missing):  # pragma: no cover - abstract
        raise NotImplementedError


def ratio(
    num: np.ndarray, den: np.ndarray, reason: str
) -> tuple[np.ndarray, tuple[np.ndarray, str]]:
    """``num / den`` with NaN (and a reason) where the denominator is 0."""
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(zero, np.nan, num / np.where(zero, 1.0, den))
    return out, (zero, reason)


def missing_inputs(
    values: Mapping[str, np.ndarray], needed: Sequence[str], output: str
) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """Rows where any of ``needed`` is missing, and one reason per missing input."""
    mask = np.zeros(len(next(iter(values.values()))), dtype=bool)
    reasons = []
    for n in needed:
        gone = np.isnan(values[n])
        mask |= gone
        if gone.any():
            reasons.append((gone, f"{output}: {n} missing"))
    return mask, reasons
