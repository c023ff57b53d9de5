"""SCORE: totals and subscales from item responses, and the reliability of the scales.

- :mod:`~alliance_stats.scoring.totals`: :func:`score` (instrument totals and subscales, with
  the prorating and range checks of each manual) and the item-column helpers;
- :mod:`~alliance_stats.scoring.psychometrics`: :func:`reliability` (alpha, omega),
  :func:`item_statistics` and :func:`multilevel_reliability`, each matching R ``psych``.

Examples
--------
>>> import alliance_stats as als
>>> from alliance_stats.scoring import reliability, score
>>> scored = score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")
>>> "wai_sr_total" in scored.columns
True
"""

from __future__ import annotations

from alliance_stats.scoring.psychometrics import (
    item_statistics,
    multilevel_reliability,
    reliability,
)
from alliance_stats.scoring.totals import ItemsSpec, item_columns, read_items, score

__all__ = [
    "ItemsSpec",
    "item_columns",
    "item_statistics",
    "multilevel_reliability",
    "read_items",
    "reliability",
    "score",
]
