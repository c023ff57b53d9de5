"""Mixed-effects models: lme4 formulas, lme4's numbers, checked optima.

``fit_mixed`` fits linear (REML/ML), logistic and Poisson (Laplace/adaptive quadrature)
mixed models through an engine adapter (default: mixedlm), checks the optimum, and returns a
:class:`MixedResult`; ``compare`` gives likelihood-ratio tests.

Examples
--------
>>> import alliance_stats.models as m
>>> from alliance_stats.models.examples import sleepstudy
>>> m.fit_mixed("Reaction ~ Days + (1 | Subject)", sleepstudy()).nobs
180
"""

from __future__ import annotations

from alliance_stats.models.compare import compare
from alliance_stats.models.fit import fit_mixed
from alliance_stats.models.result import MixedResult

__all__ = ["MixedResult", "compare", "fit_mixed"]
