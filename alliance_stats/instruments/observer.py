"""MITI 4.2.1 summary scores and a generic observer-coded resistance rate.

MITI 4.2.1 (observer-coded) inputs, one row per coded session:

=============  =========  ==================================================
input id       range      meaning
=============  =========  ==================================================
``cct``        1-5        global: Cultivating Change Talk
``sst``        1-5        global: Softening Sustain Talk
``partnership`` 1-5       global: Partnership
``empathy``    1-5        global: Empathy
``sr``         count >= 0 simple reflections
``cr``         count >= 0 complex reflections
``q``          count >= 0 questions
=============  =========  ==================================================

Summary scores (``miti_<score>``):

* ``relational`` = mean(partnership, empathy)
* ``technical`` = mean(cct, sst)
* ``pct_cr`` = 100 * CR / (SR + CR), in percent (missing, with a reason, when SR + CR = 0)
* ``r_q`` = (SR + CR) / Q (missing, with a reason, when Q = 0)

A score is missing when any of its inputs is (no prorating). Globals may be decimals
(the mean of two coders). :data:`MITI_BENCHMARKS` holds the manual's fair/good thresholds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from alliance_stats.errors import InputError
from alliance_stats.instruments.base import ComputedInstrument, missing_inputs, ratio

MITI_CITATION = (
    "Moyers, T. B., Manuel, J. K., & Ernst, D. (2014). Motivational Interviewing Treatment "
    "Integrity Coding Manual 4.2.1. Unpublished manual."
)

#: Fair and good thresholds from the MITI 4.2.1 manual (pct_cr in percent, r_q as a ratio).
MITI_BENCHMARKS = {
    "relational": (3.5, 4.0),
    "technical": (3.5, 4.0),
    "pct_cr": (40.0, 50.0),
    "r_q": (1.0, 2.0),
}

_COUNT = (0.0, float("inf"))
_GLOBAL = (1.0, 5.0)


def _with_options(self, **changes: Any):
    fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    unknown = set(changes) - set(fields)
    if unknown:
        raise InputError(
            f"instrument {self.name!r} has no option(s) {sorted(unknown)}; "
            f"options are {sorted(fields)}"
        )
    fields.update(changes)
    return type(self)(**fields)


@dataclass(frozen=True)
class MITI(ComputedInstrument):
    """MITI 4.2.1 summary scores (relational, technical, %CR, R:Q)."""

    with_options = _with_options

    def compute(self, values, max_missing):
        n = len(values["cct"])
        scores: dict[str, np.ndarray] = {}
        reasons = []
        for out, pair in (
            ("relational", ("partnership", "empathy")),
            ("technical", ("cct", "sst")),
        ):
            miss, why = missing_inputs(values, pair, out)
            scores[f"{self.name}_{out}"] = np.where(
                miss, np.nan, (np.nan_to_num(values[pair[0]]) + np.nan_to_num(values[pair[1]])) / 2
            )
            reasons += why
        sr, cr, q = values["sr"], values["cr"], values["q"]
        miss, why = missing_inputs(values, ("sr", "cr"), "pct_cr")
        pct, zero = ratio(100 * cr, sr + cr, "pct_cr: no reflections coded (SR + CR = 0)")
        scores[f"{self.name}_pct_cr"] = np.where(miss, np.nan, pct)
        reasons += [*why, (zero[0] & ~miss, zero[1])]
        miss, why = missing_inputs(values, ("sr", "cr", "q"), "r_q")
        rq, zero = ratio(sr + cr, q, "r_q: no questions coded (Q = 0)")
        scores[f"{self.name}_r_q"] = np.where(miss, np.nan, rq)
        reasons += [*why, (zero[0] & ~miss, zero[1])]
        return scores, reasons, np.zeros(n, dtype=bool)


@dataclass(frozen=True)
class ResistanceRate(ComputedInstrument):
    """Observer-coded resistance: count per session -> rate per 100 utterances."""

    with_options = _with_options

    def compute(self, values, max_missing):
        count, utt = values["count"], values["utterances"]
        miss, why = missing_inputs(values, ("count", "utterances"), "per_100")
        rate, zero = ratio(100 * count, utt, "per_100: no utterances coded (utterances = 0)")
        reasons = [*why, (zero[0] & ~miss, zero[1])]
        return (
            {f"{self.name}_per_100": np.where(miss, np.nan, rate)},
            reasons,
            np.zeros(len(count), dtype=bool),
        )


def miti() -> MITI:
    """MITI 4.2.1 summary scores from the four globals and the SR, CR and Q counts.

    Examples
    --------
    >>> miti().score_columns
    ('miti_relational', 'miti_technical', 'miti_pct_cr', 'miti_r_q')
    """
    return MITI(
        name="miti",
        inputs={
            "cct": _GLOBAL,
            "sst": _GLOBAL,
            "partnership": _GLOBAL,
            "empathy": _GLOBAL,
            "sr": _COUNT,
            "cr": _COUNT,
            "q": _COUNT,
        },
        outputs=("relational", "technical", "pct_cr", "r_q"),
        label="Motivational Interviewing Treatment Integrity 4.2.1 (summary scores)",
        citation=MITI_CITATION,
        notes="relational = mean(partnership, empathy); technical = mean(cct, sst); "
        "pct_cr = 100*CR/(SR+CR); r_q = (SR+CR)/Q. Benchmarks fair/good: globals 3.5/4, "
        "%CR 40/50, R:Q 1/2.",
        integer=False,
        range_text="globals 1-5; counts >= 0",
    )


def observer_resistance() -> ResistanceRate:
    """Observer-coded resistance per session: ``count`` and ``utterances`` -> rate per 100.

    ``count`` is the number of resistance codes in the session (e.g. sustain talk and
    discord, or Client Resistance Code oppositions); ``utterances`` the number of coded
    client utterances (or all utterances, as your coding manual defines the base).
    Use :func:`alliance_stats.utterances.session_codes` to get both from utterance-level
    codes.

    Examples
    --------
    >>> observer_resistance().score_columns
    ('observer_resistance_per_100',)
    """
    return ResistanceRate(
        name="observer_resistance",
        inputs={"count": _COUNT, "utterances": _COUNT},
        outputs=("per_100",),
        label="Observer-coded resistance rate",
        citation="Generic per-session rate; no single published scoring key.",
        notes="per_100 = 100 * count / utterances (missing, with a reason, when utterances = 0).",
        integer=True,
        range_text="counts >= 0",
    )
