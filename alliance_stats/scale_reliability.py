"""Deprecated: the reliability functions live in :mod:`alliance_stats.scoring.psychometrics`
(``from alliance_stats.scoring import reliability``). This alias warns and will be removed."""

from __future__ import annotations

import warnings

from alliance_stats.scoring.psychometrics import *  # noqa: F403
from alliance_stats.scoring.psychometrics import (  # noqa: F401
    item_statistics,
    multilevel_reliability,
    reliability,
)

warnings.warn(
    "alliance_stats.scale_reliability is deprecated: import from alliance_stats.scoring "
    "(reliability, item_statistics, multilevel_reliability) instead",
    DeprecationWarning,
    stacklevel=2,
)
