"""Working Alliance Inventory family: WAI-SR (client and therapist), WAI-S, WAI (full).

Only the scoring keys are recorded here; the item wording is copyrighted.

==========  =====  =======  ============================================  =================
name        items  range    subscales                                     rule
==========  =====  =======  ============================================  =================
wai_sr      12     1-5      task 1,2,10,12; bond 3,5,7,9; goal 4,6,8,11   sum: 4-20, 12-60
wai_sr_t    12     1-5      same structure as wai_sr (therapist form)     sum
wai_s       12     1-7      user-supplied (``subscales=``)                sum: total 12-84
wai         36     1-7      user-supplied (three 12-item subscales)       sum: total 36-252
==========  =====  =======  ============================================  =================

No WAI-SR item is reverse-keyed by default; pass ``reverse=`` if your version has some.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alliance_stats.instruments.base import Instrument, ItemId

WAI_SR_SUBSCALES = {"task": (1, 2, 10, 12), "bond": (3, 5, 7, 9), "goal": (4, 6, 8, 11)}

WAI_SR_CITATION = (
    "Hatcher, R. L., & Gillaspy, J. A. (2006). Development and validation of a revised short "
    "version of the Working Alliance Inventory. Psychotherapy Research, 16(1), 12-25."
)
WAI_SR_T_CITATION = (
    "Hatcher, R. L., Lindqvist, K., & Falkenström, F. (2020). Psychometric evaluation of the "
    "Working Alliance Inventory-Therapist version: Current and new short forms. "
    "Psychotherapy Research, 30(6), 706-717."
)
WAI_S_CITATION = (
    "Tracey, T. J., & Kokotovic, A. M. (1989). Factor structure of the Working Alliance "
    "Inventory. Psychological Assessment, 1(3), 207-210."
)
WAI_CITATION = (
    "Horvath, A. O., & Greenberg, L. S. (1989). Development and validation of the Working "
    "Alliance Inventory. Journal of Counseling Psychology, 36(2), 223-233."
)


def wai_sr(reverse: Iterable[ItemId] = (), max_missing: float = 0.25) -> Instrument:
    """WAI-SR, client form: 12 items rated 1-5, summed subscales (4-20) and total (12-60).

    Examples
    --------
    >>> wai_sr().score_columns
    ('wai_sr_total', 'wai_sr_task', 'wai_sr_bond', 'wai_sr_goal')
    """
    return Instrument(
        name="wai_sr",
        label="Working Alliance Inventory - Short Revised (client)",
        items=tuple(range(1, 13)),
        response_min=1,
        response_max=5,
        reverse=tuple(reverse),
        subscales=WAI_SR_SUBSCALES,
        rule="sum",
        max_missing=max_missing,
        citation=WAI_SR_CITATION,
        notes="No reverse keys by default (configurable with reverse=).",
    )


def wai_sr_t(reverse: Iterable[ItemId] = (), max_missing: float = 0.25) -> Instrument:
    """WAI-SR-T, therapist form: the structure of the WAI-SR (12 items, 1-5, same subscales).

    Examples
    --------
    >>> wai_sr_t().score_range("total")
    (12.0, 60.0)
    """
    return wai_sr(reverse, max_missing).with_options(
        name="wai_sr_t",
        label="Working Alliance Inventory - Short Revised (therapist)",
        citation=WAI_SR_T_CITATION,
        notes="Same item structure as the client form; no reverse keys by default.",
    )


def wai_s(
    subscales: Mapping[str, Iterable[ItemId]] | None = None,
    reverse: Iterable[ItemId] = (),
    max_missing: float = 0.25,
) -> Instrument:
    """WAI-S (Tracey & Kokotovic): 12 items rated 1-7, total 12-84; subscale key user-supplied.

    The subscale assignment and reverse keys of the WAI-S vary between published versions
    and are not verified here: pass them from your manual.

    Examples
    --------
    >>> wai_s().score_columns
    ('wai_s_total',)
    >>> keys = {"task": (1, 2, 3, 4), "bond": (5, 6, 7, 8), "goal": (9, 10, 11, 12)}
    >>> wai_s(subscales=keys).score_columns
    ('wai_s_total', 'wai_s_task', 'wai_s_bond', 'wai_s_goal')
    """
    return _user_keyed(
        "wai_s",
        "Working Alliance Inventory - Short (Tracey & Kokotovic)",
        12,
        subscales,
        reverse,
        max_missing,
        WAI_S_CITATION,
        "Subscale key and reverse keys not built in: pass subscales= and reverse=.",
    )


def wai(
    subscales: Mapping[str, Iterable[ItemId]] | None = None,
    reverse: Iterable[ItemId] = (),
    max_missing: float = 0.25,
) -> Instrument:
    """WAI, full form (Horvath & Greenberg): 36 items rated 1-7; subscale key user-supplied.

    Examples
    --------
    >>> wai().score_range()
    (36.0, 252.0)
    """
    return _user_keyed(
        "wai",
        "Working Alliance Inventory (full, 36 items)",
        36,
        subscales,
        reverse,
        max_missing,
        WAI_CITATION,
        "Subscale key (three 12-item scales) and reverse keys user-supplied.",
    )


def _user_keyed(name, label, n_items, subscales, reverse, max_missing, citation, notes):
    """A 1-7 WAI form whose subscale key and reverse keys come from the user."""
    return Instrument(
        name=name,
        label=label,
        items=tuple(range(1, n_items + 1)),
        response_min=1,
        response_max=7,
        reverse=tuple(reverse),
        subscales={k: tuple(v) for k, v in (subscales or {}).items()},
        rule="sum",
        max_missing=max_missing,
        citation=citation,
        notes=notes,
    )
