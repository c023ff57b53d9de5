"""The registry of instruments: built-in ones and any the user registers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from alliance_stats.errors import InputError
from alliance_stats.instruments.base import ComputedInstrument, Instrument
from alliance_stats.instruments.helping_alliance import haq_ii
from alliance_stats.instruments.observer import miti, observer_resistance
from alliance_stats.instruments.session_rating import srs
from alliance_stats.instruments.working_alliance import wai, wai_s, wai_sr, wai_sr_t

AnyInstrument = Instrument | ComputedInstrument

#: Built-in instrument name -> factory (keyword options of the factory are the options of ``get``).
BUILT_IN: dict[str, Callable[..., AnyInstrument]] = {
    "wai_sr": wai_sr,
    "wai_sr_t": wai_sr_t,
    "wai_s": wai_s,
    "wai": wai,
    "srs": srs,
    "haq_ii": haq_ii,
    "miti": miti,
    "observer_resistance": observer_resistance,
}

_USER: dict[str, AnyInstrument] = {}


def available() -> pd.DataFrame:
    """Every instrument :func:`get` knows: name, label, items, range, rule, scores, citation.

    Examples
    --------
    >>> from alliance_stats import instruments
    >>> "wai_sr" in instruments.available()["name"].tolist()
    True
    """
    rows = [factory().describe() | {"source": "built-in"} for factory in BUILT_IN.values()]
    rows += [inst.describe() | {"source": "registered"} for inst in _USER.values()]
    return pd.DataFrame(rows)


def get(name: str | AnyInstrument, **options: Any) -> AnyInstrument:
    """An instrument by name, optionally with options (``reverse=``, ``alert_cutoff=`` ...).

    Parameters
    ----------
    name
        A name from :func:`available`, or an instrument (returned as is, or with
        ``options`` applied).
    **options
        Options of the built-in definition, e.g. ``get("srs", alert_cutoff=35)``,
        ``get("haq_ii", reverse=(4, 8, 11, 16, 19))``,
        ``get("wai_s", subscales={"task": [...], ...})``.

    Examples
    --------
    >>> from alliance_stats import instruments
    >>> instruments.get("srs").items
    (1, 2, 3, 4)
    >>> instruments.get("srs", alert_cutoff=35).alert_cutoff
    35
    """
    if isinstance(name, (Instrument, ComputedInstrument)):
        return name.with_options(**options) if options else name
    if not isinstance(name, str):
        raise InputError(f"instrument must be a name or an Instrument, got {type(name).__name__}")
    if name in _USER:
        inst = _USER[name]
        return inst.with_options(**options) if options else inst
    if name in BUILT_IN:
        factory = BUILT_IN[name]
        try:
            return factory(**options)
        except TypeError as exc:
            import inspect

            allowed = list(inspect.signature(factory).parameters)
            raise InputError(
                f"instrument {name!r} does not take option(s) {sorted(options)}; "
                f"its options are {allowed}"
            ) from exc
    known = sorted(set(BUILT_IN) | set(_USER))
    raise InputError(
        f"unknown instrument {name!r}; available: {known}. Define your own with "
        "alliance_stats.instruments.Instrument(...) or load(path_to_toml)"
    )


def register(instrument: AnyInstrument, *, replace: bool = False) -> AnyInstrument:
    """Make an instrument available by name to :func:`get` and :func:`alliance_stats.score`.

    Examples
    --------
    >>> from alliance_stats import instruments
    >>> inst = instruments.Instrument("demo_scale", items=(1, 2, 3), response_min=0,
    ...                               response_max=4)
    >>> instruments.register(inst, replace=True).name
    'demo_scale'
    >>> instruments.unregister("demo_scale")
    """
    if not isinstance(instrument, (Instrument, ComputedInstrument)):
        raise InputError(f"register expects an Instrument, got {type(instrument).__name__}")
    name = instrument.name
    if name in BUILT_IN:
        raise InputError(f"{name!r} is a built-in instrument; choose another name")
    if name in _USER and not replace:
        raise InputError(f"instrument {name!r} is already registered; pass replace=True")
    _USER[name] = instrument
    return instrument


def unregister(name: str) -> None:
    """Forget a registered instrument (built-in ones stay).

    Examples
    --------
    >>> from alliance_stats import instruments
    >>> _ = instruments.register(instruments.Instrument("tmp_scale", items=(1, 2),
    ...                                                 response_min=0, response_max=4))
    >>> "tmp_scale" in instruments.available()["name"].tolist()
    True
    >>> instruments.unregister("tmp_scale")
    >>> "tmp_scale" in instruments.available()["name"].tolist()
    False
    """
    _USER.pop(name, None)
