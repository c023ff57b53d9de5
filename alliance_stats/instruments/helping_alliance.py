"""Revised Helping Alliance Questionnaire (HAq-II): 19 items on a 6-point scale.

Five items are negatively worded; the default reverse key is items 4, 8, 11, 16 and 19
(read from the wording of the published form). Confirm it against your copy and pass
``reverse=`` when it differs. The total is the sum of the keyed items (19-114);
``rule="mean"`` gives the item mean (1-6) instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from alliance_stats.instruments.base import Instrument, ItemId

HAQ_II_REVERSE = (4, 8, 11, 16, 19)

HAQ_II_CITATION = (
    "Luborsky, L., Barber, J. P., Siqueland, L., Johnson, S., Najavits, L. M., Frank, A., & "
    "Daley, D. (1996). The revised Helping Alliance questionnaire (HAq-II): Psychometric "
    "properties. Journal of Psychotherapy Practice and Research, 5(3), 260-271."
)


def haq_ii(
    reverse: Iterable[ItemId] = HAQ_II_REVERSE, rule: str = "sum", max_missing: float = 0.25
) -> Instrument:
    """HAq-II: 19 items 1-6, reverse keys 4, 8, 11, 16, 19 (confirm), total 19-114.

    Examples
    --------
    >>> haq_ii().reverse
    (4, 8, 11, 16, 19)
    >>> haq_ii().score_range()
    (19.0, 114.0)
    """
    return Instrument(
        name="haq_ii",
        label="Revised Helping Alliance Questionnaire (HAq-II)",
        items=tuple(range(1, 20)),
        response_min=1,
        response_max=6,
        reverse=tuple(reverse),
        rule=rule,
        max_missing=max_missing,
        citation=HAQ_II_CITATION,
        notes="Default reverse key 4, 8, 11, 16, 19 read from the item wording: confirm it "
        "against your form (reverse=).",
    )
