"""Exceptions and warnings raised by alliance_stats.

Every error a user can cause derives from :class:`AllianceStatsError`, so a script
or the command line can catch one class and print its message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from alliance_stats.validation import ValidationReport


class AllianceStatsError(Exception):
    """Base class of every error alliance_stats raises for a user's mistake.

    Examples
    --------
    >>> import alliance_stats as als
    >>> issubclass(als.InputError, als.AllianceStatsError)
    True
    """


class InputError(AllianceStatsError, ValueError):
    """A bad argument, file or option: the message names it and says how to fix it.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> try:
    ...     als.fit_mixed("y ~ x + (1 | g)", pd.DataFrame({"y": [1.0, 2], "x": [1, 2]}))
    ... except als.InputError as err:
    ...     print(err)
    formula variable 'g' is not a column of the data
    """


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
    """An optional package is needed; the message names the extra to install.

    Examples
    --------
    >>> try:
    ...     require("no_such_package", "pdf", "Writing a PDF")
    ... except MissingDependencyError as err:
    ...     print(err)
    Writing a PDF needs the optional package 'no_such_package', which is not installed.
    Install it with: pip install "alliance_stats[pdf]"
    """


class ModelFitError(AllianceStatsError):
    """A model could not be fitted; the message says why and what to try.

    Examples
    --------
    >>> import pandas as pd, alliance_stats as als
    >>> exact = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [1, 2, 3, 4], "g": list("aabb")})
    >>> try:
    ...     als.fit_mixed("y ~ x + (1 | g)", exact)
    ... except als.ModelFitError as err:
    ...     print(str(err)[:60])
    the model 'y ~ x + (1 | g)' cannot be fitted: its fixed effe
    """


class AllianceStatsWarning(UserWarning):
    """Base class of alliance_stats warnings.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", AllianceStatsWarning)  # silence all of ours
    """


class DataWarning(AllianceStatsWarning):
    """The data was read, but has problems worth a look (see the validation report).

    Examples
    --------
    >>> issubclass(DataWarning, AllianceStatsWarning)
    True
    """


class ModelWarning(AllianceStatsWarning):
    """A model was fitted, but the data changed it (a column dropped, separation); the
    result's ``notes`` say the same.

    Examples
    --------
    >>> issubclass(ModelWarning, AllianceStatsWarning)
    True
    """


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
