"""Exceptions and warnings raised by alliance_stats.

Every error a user can cause derives from :class:`AllianceStatsError`, so a script
or the command line can catch one class and print its message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from alliance_stats.validation import ValidationReport


class AllianceStatsError(Exception):
    """Base class of every error alliance_stats raises for a user's mistake."""


class InputError(AllianceStatsError, ValueError):
    """A bad argument, file or option: the message names it and says how to fix it."""


class DataValidationError(AllianceStatsError):
    """The data has errors; ``.report`` lists every problem found, not only the first.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> bad = pd.DataFrame({"client": ["a"], "therapist": ["t"], "session": [0], "attended": [1]})
    >>> try:
    ...     als.read_sessions(bad)
    ... except als.DataValidationError as err:
    ...     print(err.report.errors["rule"].tolist())
    ['session_number']
    """

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.summary(max_rows=10))


class MissingDependencyError(AllianceStatsError, ImportError):
    """An optional package is needed; the message names the extra to install."""


class ModelFitError(AllianceStatsError):
    """A model could not be fitted; the message says why and what to try."""


class AllianceStatsWarning(UserWarning):
    """Base class of alliance_stats warnings."""


class DataWarning(AllianceStatsWarning):
    """The data was read, but has problems worth a look (see the validation report)."""


class ModelWarning(AllianceStatsWarning):
    """A model was fitted, but the data changed it (a column dropped, separation); the
    result's ``notes`` say the same."""


def require(module: str, extra: str, purpose: str):
    """Import an optional dependency or raise :class:`MissingDependencyError` naming the extra.

    Examples
    --------
    >>> np = require("numpy", "core", "arrays")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the optional package '{module}', which is not installed. "
            f'Install it with: pip install "alliance_stats[{extra}]"'
        ) from exc
