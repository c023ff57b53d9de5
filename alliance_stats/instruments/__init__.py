"""Instrument definitions: scoring keys of the alliance and process measures.

Built-in instruments (see :func:`available`):

======================  ================================================================
name                    instrument
======================  ================================================================
``wai_sr``              WAI-SR, client form (Hatcher & Gillaspy 2006)
``wai_sr_t``            WAI-SR, therapist form (same structure)
``wai_s``               WAI-S (Tracey & Kokotovic 1989), subscale key user-supplied
``wai``                 WAI full 36 items (Horvath & Greenberg 1989), key user-supplied
``srs``                 Session Rating Scale, with the alert flag (cutoff and side options)
``haq_ii``              HAq-II (Luborsky et al. 1996), reverse key to confirm
``miti``                MITI 4.2.1 summary scores (relational, technical, %CR, R:Q)
``observer_resistance`` observer-coded resistance rate per 100 utterances
======================  ================================================================

Define your own with :class:`Instrument` or a TOML file (:func:`load`).

Examples
--------
>>> from alliance_stats import instruments
>>> instruments.get("wai_sr").subscales["task"]
(1, 2, 10, 12)
"""

from __future__ import annotations

from alliance_stats.instruments.base import (
    ComputedInstrument,
    Instrument,
    InstrumentDefinitionError,
)
from alliance_stats.instruments.helping_alliance import haq_ii
from alliance_stats.instruments.observer import MITI_BENCHMARKS, miti, observer_resistance
from alliance_stats.instruments.registry import available, get, register, unregister
from alliance_stats.instruments.session_rating import srs
from alliance_stats.instruments.toml import from_dict, load
from alliance_stats.instruments.working_alliance import wai, wai_s, wai_sr, wai_sr_t

__all__ = [
    "MITI_BENCHMARKS",
    "ComputedInstrument",
    "Instrument",
    "InstrumentDefinitionError",
    "available",
    "from_dict",
    "get",
    "haq_ii",
    "load",
    "miti",
    "observer_resistance",
    "register",
    "srs",
    "unregister",
    "wai",
    "wai_s",
    "wai_sr",
    "wai_sr_t",
]
