"""Session Rating Scale (SRS): four 0-10 visual-analogue items, total 0-40, with an alert flag.

Items: 1 relationship, 2 goals and topics, 3 approach or method, 4 overall (wording not
recorded). The total is the sum (0-40). ``srs_alert`` is True when the total is a
concern: below the cutoff (``alert_side="below"``, the default, cutoff 36) or at or below it
(``alert_side="at_or_below"``); sources disagree on whether 36 itself is a concern, so both
are parameters. The alert is missing when the total is.

Prorating: the SRS default is ``max_missing=0`` (an incomplete form is not scored), because
a prorated item could move the total across the alert cutoff; pass ``max_missing=0.25`` to
prorate one missing item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats.instruments.base import Instrument, InstrumentDefinitionError

ALERT_SIDES = ("below", "at_or_below")

SRS_CITATION = (
    "Duncan, B. L., Miller, S. D., Sparks, J. A., Claud, D. A., Reynolds, L. R., Brown, J., "
    "& Johnson, L. D. (2003). The Session Rating Scale: Preliminary psychometric properties of "
    "a 'working' alliance measure. Journal of Brief Therapy, 3(1), 3-12."
)


@dataclass(frozen=True)
class AlertInstrument(Instrument):
    """An item instrument that also flags totals beyond a cutoff (``<name>_alert``)."""

    alert_cutoff: float = 36.0
    alert_side: str = "below"

    def _check(self) -> None:
        super()._check()
        if self.alert_side not in ALERT_SIDES:
            raise InstrumentDefinitionError(
                f"instrument {self.name!r}: alert_side {self.alert_side!r} is not one of "
                f"{list(ALERT_SIDES)}"
            )
        cutoff = self.alert_cutoff
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)):
            raise InstrumentDefinitionError(
                f"instrument {self.name!r}: alert_cutoff must be a number, got {cutoff!r}"
            )
        if not self.total:
            raise InstrumentDefinitionError(f"instrument {self.name!r}: an alert needs total=True")

    @property
    def score_columns(self) -> tuple[str, ...]:
        return (*super().score_columns, f"{self.name}_alert")

    def compute(self, values, max_missing):
        scores, reasons, prorated = super().compute(values, max_missing)
        total = scores[f"{self.name}_total"]
        with np.errstate(invalid="ignore"):
            flag = (
                total < self.alert_cutoff
                if self.alert_side == "below"
                else (total <= self.alert_cutoff)
            )
        scores[f"{self.name}_alert"] = pd.array(
            np.where(np.isnan(total), None, flag), dtype="boolean"
        )
        return scores, reasons, prorated


def srs(alert_cutoff: float = 36.0, alert_side: str = "below", max_missing: float = 0.0):
    """SRS: 4 items 0-10 (decimals allowed), total 0-40, ``srs_alert`` below the cutoff.

    Parameters
    ----------
    alert_cutoff
        Total that marks a concern (default 36).
    alert_side
        ``"below"``: alert when total < cutoff (default); ``"at_or_below"``: total <= cutoff.
    max_missing
        Share of items that may be missing and prorated (default 0: no prorating).

    Examples
    --------
    >>> srs().score_columns
    ('srs_total', 'srs_alert')
    >>> srs(alert_side="at_or_below").alert_side
    'at_or_below'
    """
    return AlertInstrument(
        name="srs",
        label="Session Rating Scale",
        items=(1, 2, 3, 4),
        response_min=0,
        response_max=10,
        rule="sum",
        max_missing=max_missing,
        integer=False,
        citation=SRS_CITATION,
        notes="Items: relationship, goals/topics, approach/method, overall. Alert cutoff and "
        "side are parameters (default: total below 36).",
        alert_cutoff=alert_cutoff,
        alert_side=alert_side,
    )
