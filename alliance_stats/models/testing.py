"""Deprecated: the worked examples live in :mod:`alliance_stats.models.examples`. This alias
warns and will be removed."""

from __future__ import annotations

import warnings

from alliance_stats.models.examples import fitted_example, sleepstudy

__all__ = ["fitted_example", "sleepstudy"]

warnings.warn(
    "alliance_stats.models.testing is deprecated: import sleepstudy and fitted_example from "
    "alliance_stats.models.examples instead",
    DeprecationWarning,
    stacklevel=2,
)
