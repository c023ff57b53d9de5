"""The public API's argument vocabulary: old argument names kept as deprecated aliases, and one
reading of ``seed``.

The vocabulary (CONTRIBUTING.md): data first; ``client=``, ``therapist=``, ``session=`` name
those columns; ``by=`` means strata only; ``conf_level=`` is the only confidence level;
``alpha`` is only a significance level; ``seed`` takes an int, a SeedSequence or a Generator.
"""

from __future__ import annotations

import warnings

import numpy as np

from alliance_stats.errors import InputError


class _Unset:
    """The default of a deprecated argument: not given."""

    def __repr__(self) -> str:
        return "<not given>"


#: the default of a deprecated alias (``by=UNSET``): tells "not given" from any value
UNSET = _Unset()


def renamed_argument(func: str, new: str, value, default, old: str, old_value, convert=None):
    """The value of an argument whose deprecated name ``old`` is still accepted: ``value``
    (the new name's), unless ``old_value`` was given, which warns (DeprecationWarning) and is
    used instead (through ``convert`` where the old one meant something else: ``alpha=0.05``
    for ``conf_level=0.95``); both given is an error. Called from the public function itself,
    so that warnings point at the caller's line.

    Examples
    --------
    >>> def count(data, client="client", *, by=UNSET):
    ...     return renamed_argument("count", "client", client, "client", "by", by)
    >>> count(None, client="id")
    'id'
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     count(None, by="id")
    'id'
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DeprecationWarning', 'count(by=...) is deprecated: use client=...')
    """
    if old_value is UNSET:
        return value
    if value is not default and value != default:
        raise InputError(f"{func}: give {new}= only ({old}= is its deprecated name)")
    try:
        resolved = old_value if convert is None else convert(old_value)
    except TypeError:
        raise InputError(f"{func}: {old} must be a number, got {old_value!r}") from None
    hint = f"{new}=..." if convert is None else f"{new}= ({new} = 1 - {old})"
    warnings.warn(f"{func}({old}=...) is deprecated: use {hint}", DeprecationWarning, stacklevel=3)
    return resolved


def seed_sequence(seed, func: str) -> np.random.SeedSequence:
    """``seed`` as a SeedSequence: a non-negative int, a SeedSequence (used as given) or a
    Generator (one draw from it seeds the sequence, so the Generator advances).

    Examples
    --------
    >>> seed_sequence(7, "f").entropy
    7
    >>> seed_sequence(np.random.default_rng(1), "f").entropy == seed_sequence(
    ...     np.random.default_rng(1), "f").entropy
    True
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise InputError(
        f"{func}: seed must be a non-negative integer, a numpy SeedSequence or a numpy "
        f"Generator; got {seed!r}"
    )
