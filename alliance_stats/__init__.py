"""alliance_stats: from a clinic's session export to a validated multilevel analysis.

Examples
--------
>>> import alliance_stats as als
>>> df = als.datasets.load("teaching")
>>> als.validate_sessions(df).ok
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alliance_stats.errors import (
    AllianceStatsError,
    AllianceStatsWarning,
    DataValidationError,
    DataWarning,
    InputError,
    MissingDependencyError,
    ModelFitError,
)

__version__ = "0.1.0.dev0"

# Public name -> module that defines it; imported on first use so `import alliance_stats` is fast.
_LAZY = {
    "read_sessions": "alliance_stats.io",
    "validate_sessions": "alliance_stats.validation",
    "ValidationReport": "alliance_stats.validation",
    "simulate_study": "alliance_stats.simulate",
    "SimulatedStudy": "alliance_stats.simulate",
    "StudyParameters": "alliance_stats.simulate",
    "score": "alliance_stats.scoring",
    "reliability": "alliance_stats.scoring",
    "item_statistics": "alliance_stats.scoring",
    "multilevel_reliability": "alliance_stats.scoring",
    "session_codes": "alliance_stats.utterances",
    "Instrument": "alliance_stats.instruments",
    "decompose": "alliance_stats.prep",
    "decompose_running": "alliance_stats.prep",
    "add_lags": "alliance_stats.prep",
    "retention_outcomes": "alliance_stats.prep",
    "person_period": "alliance_stats.prep",
    "retention_curve": "alliance_stats.retention",
    "RetentionCurve": "alliance_stats.retention",
    "detect_ruptures": "alliance_stats.ruptures",
    "rupture_dropout_link": "alliance_stats.ruptures",
    "RuptureDropoutLink": "alliance_stats.ruptures",
    "fit_mixed": "alliance_stats.models",
    "MixedResult": "alliance_stats.models",
    "compare": "alliance_stats.models",
    "strategy_effects": "alliance_stats.strategies",
    "StrategyResult": "alliance_stats.strategies",
    "AnalysisPlan": "alliance_stats.plan",
    "PlannedModel": "alliance_stats.plan",
    "recovery_study": "alliance_stats.recovery",
    "therapist_effects": "alliance_stats.therapists",
    "TherapistEffects": "alliance_stats.therapists",
    "power_analysis": "alliance_stats.power",
    "power_curve": "alliance_stats.power",
    "PowerResult": "alliance_stats.power",
    "build_report": "alliance_stats.report",
    "Report": "alliance_stats.report",
    "default_codebook": "alliance_stats.codebook",
    "load_codebook": "alliance_stats.codebook",
}
# Public name -> (module, name there): names too generic for the top level.
_ALIASES = {
    "PowerDesign": ("alliance_stats.power", "Design"),
    "PowerEffect": ("alliance_stats.power", "Effect"),
}
_SUBMODULES = {
    "codebook",
    "config",
    "datasets",
    "engagement",
    "instruments",
    "io",
    "models",
    "plots",
    "power",
    "plan",
    "prep",
    "recovery",
    "report",
    "retention",
    "ruptures",
    "schema",
    "scoring",
    "simulate",
    "strategies",
    "therapists",
    "utterances",
    "validation",
}
#: old module names, kept importable with a DeprecationWarning (not in ``__all__``)
_DEPRECATED_SUBMODULES = {"scale_reliability"}

__all__ = [
    "AllianceStatsError",
    "AllianceStatsWarning",
    "DataValidationError",
    "DataWarning",
    "InputError",
    "MissingDependencyError",
    "ModelFitError",
    "__version__",
    *_LAZY,
    *_ALIASES,
    *sorted(_SUBMODULES),
]

if TYPE_CHECKING:  # pragma: no cover
    from alliance_stats import (  # noqa: F401
        codebook,
        config,
        datasets,
        engagement,
        instruments,
        io,
        models,
        plan,
        plots,
        power,
        prep,
        recovery,
        report,
        retention,
        ruptures,
        schema,
        scoring,
        simulate,
        strategies,
        therapists,
        utterances,
        validation,
    )
    from alliance_stats.instruments import Instrument  # noqa: F401
    from alliance_stats.io import read_sessions  # noqa: F401
    from alliance_stats.models import MixedResult, compare, fit_mixed  # noqa: F401
    from alliance_stats.plan import AnalysisPlan, PlannedModel  # noqa: F401
    from alliance_stats.power import PowerResult, power_analysis, power_curve  # noqa: F401
    from alliance_stats.prep import (  # noqa: F401
        add_lags,
        decompose,
        decompose_running,
        person_period,
        retention_outcomes,
    )
    from alliance_stats.recovery import recovery_study  # noqa: F401
    from alliance_stats.report import Report, build_report  # noqa: F401
    from alliance_stats.retention import RetentionCurve, retention_curve  # noqa: F401
    from alliance_stats.ruptures import (  # noqa: F401
        RuptureDropoutLink,
        detect_ruptures,
        rupture_dropout_link,
    )
    from alliance_stats.scoring import (  # noqa: F401
        item_statistics,
        multilevel_reliability,
        reliability,
        score,
    )
    from alliance_stats.simulate import (  # noqa: F401
        SimulatedStudy,
        StudyParameters,
        simulate_study,
    )
    from alliance_stats.strategies import StrategyResult, strategy_effects  # noqa: F401
    from alliance_stats.therapists import TherapistEffects, therapist_effects  # noqa: F401
    from alliance_stats.utterances import session_codes  # noqa: F401
    from alliance_stats.validation import ValidationReport, validate_sessions  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _ALIASES:
        module, attr = _ALIASES[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES or name in _DEPRECATED_SUBMODULES:
        value = importlib.import_module(f"alliance_stats.{name}")
    else:
        raise AttributeError(f"module 'alliance_stats' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
