"""A pre-specified analysis plan, and the record of every deviation from it.

An :class:`AnalysisPlan` names, before anything is fitted, each model's formula, outcome and
its definition, the centring of every predictor, the random effects, the estimator and the
multiplicity correction; ``print(plan)`` reads as the plan of a methods section. Fitting a
planned model with :func:`fit_planned` returns the result and the :class:`Deviation` records
(a fit that did not converge, a variance estimated at 0, a fallback or a refit), each with
its reason, so that the report can say what changed, or that nothing did.

Examples
--------
>>> from alliance_stats.plan import AnalysisPlan, PlannedModel
>>> m = PlannedModel(name="dropout", purpose="Strategies and dropout", formula="y ~ x + (1 | g)",
...                  outcome="y", random_effects="therapist intercept")
>>> print(AnalysisPlan((m,)))  # doctest: +NORMALIZE_WHITESPACE
Analysis plan (1 model, fixed before fitting)
1. Strategies and dropout [dropout]
   formula: y ~ x + (1 | g)
   outcome: y
   random effects: therapist intercept
   estimator: maximum likelihood, Laplace approximation (nAGQ = 1)
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, fields

import pandas as pd

from alliance_stats.errors import AllianceStatsError

__all__ = ["AnalysisPlan", "Deviation", "PlannedModel", "fit_planned"]

_SHOWN = (
    ("formula", "formula"),
    ("rows", "rows"),
    ("outcome", "outcome"),
    ("definition", "dropout definition"),
    ("centring", "centring"),
    ("baseline", "baseline hazard"),
    ("random_effects", "random effects"),
    ("identification", "identified by"),
    ("estimator", "estimator"),
    ("multiplicity", "multiplicity"),
    ("role", "role"),
)


@dataclass(frozen=True)
class PlannedModel:
    """One model of the plan, as fixed before fitting.

    ``formula`` is the lme4 formula that will be fitted; every other field is a plain-language
    statement for the methods section (empty fields are not printed).

    Examples
    --------
    >>> m = PlannedModel(name="dropout", purpose="Strategies and dropout",
    ...                  formula="y ~ x + (1 | g)", outcome="y")
    >>> m.family
    'binomial'
    >>> m.lines()
    ['formula: y ~ x + (1 | g)', 'outcome: y',
     'estimator: maximum likelihood, Laplace approximation (nAGQ = 1)']
    """

    name: str
    purpose: str
    formula: str
    outcome: str = ""
    family: str = "binomial"
    rows: str = ""
    definition: str = ""
    centring: str = ""
    baseline: str = ""
    random_effects: str = ""
    identification: str = ""
    estimator: str = "maximum likelihood, Laplace approximation (nAGQ = 1)"
    multiplicity: str = ""
    role: str = ""
    bias_reduction: bool = False
    link: str = "logit"

    def lines(self) -> list[str]:
        """The plan of this model, one ``key: value`` line per stated field."""
        return [f"{label}: {getattr(self, key)}" for key, label in _SHOWN if getattr(self, key)]


@dataclass(frozen=True)
class Deviation:
    """A change from the plan: which model, what changed, and why.

    Examples
    --------
    >>> d = Deviation("dropout", "refitted with bobyqa", "the default optimizer did not converge")
    >>> print(d.sentence())
    dropout: refitted with bobyqa (the default optimizer did not converge).
    """

    model: str
    what: str
    reason: str

    def sentence(self) -> str:
        """One sentence for the report's Deviations paragraph."""
        return f"{self.model}: {self.what} ({self.reason})."


@dataclass(frozen=True)
class AnalysisPlan:
    """The models of an analysis, fixed before fitting (see the module docstring).

    Examples
    --------
    >>> dropout = PlannedModel("dropout", "Dropout", "y ~ x + (1 | g)")
    >>> growth = PlannedModel("growth", "Growth", "y ~ t + (1 | g)", family="gaussian")
    >>> plan = AnalysisPlan((dropout, growth))
    >>> plan
    <AnalysisPlan: 2 models: dropout, growth>
    >>> plan["growth"].family
    'gaussian'
    >>> plan.to_frame()[["name", "family"]]
          name    family
    0  dropout  binomial
    1   growth  gaussian
    """

    models: tuple[PlannedModel, ...]

    def __post_init__(self):
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise AllianceStatsError(f"an analysis plan needs distinct model names; got {names}")

    def to_frame(self) -> pd.DataFrame:
        """One row per planned model, one column per field."""
        return pd.DataFrame(
            [{f.name: getattr(m, f.name) for f in fields(PlannedModel)} for m in self.models]
        )

    def summary(self) -> str:
        """The plan as numbered plain text."""
        n = len(self.models)
        out = [f"Analysis plan ({n} model{'s' if n != 1 else ''}, fixed before fitting)"]
        for i, m in enumerate(self.models, 1):
            out.append(f"{i}. {m.purpose} [{m.name}]")
            out += [f"   {line}" for line in m.lines()]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<AnalysisPlan: {len(self.models)} models: {', '.join(m.name for m in self.models)}>"
        )

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li><b>{html.escape(m.purpose)}</b><br>"
            + "<br>".join(html.escape(line) for line in m.lines())
            + "</li>"
            for m in self.models
        )
        return f"<div><b>{html.escape(repr(self))}</b><ol>{items}</ol></div>"

    def __getitem__(self, name: str) -> PlannedModel:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"no model {name!r} in the plan; models: {[m.name for m in self.models]}")


def fit_planned(planned: PlannedModel, data: pd.DataFrame, **fit_options):
    """Fit a planned model exactly as planned and record how the fit departed from it.

    Returns ``(result, deviations)``. A fit that does not converge, and a variance estimated
    at 0 (a singular fit: the reported model then equals the one without that term), are
    recorded as deviations; nothing is refitted silently.

    Examples
    --------
    >>> from alliance_stats.models.examples import sleepstudy
    >>> m = PlannedModel("growth", "Reaction time", "Reaction ~ Days + (1 | Subject)",
    ...                  family="gaussian")
    >>> res, deviations = fit_planned(m, sleepstudy())
    >>> res.converged, deviations
    (True, [])
    """
    from alliance_stats.models import fit_mixed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if planned.bias_reduction:
            fit_options = {"bias_reduction": True, **fit_options}
        if planned.link != "logit":
            fit_options = {"link": planned.link, **fit_options}
        res = fit_mixed(planned.formula, data, family=planned.family, **fit_options)
    return res, fit_deviations(planned.purpose, res)


def fit_deviations(label: str, res) -> list[Deviation]:
    """Deviations a fitted model shows: no convergence, variances estimated at 0."""
    out = []
    if not res.converged:
        out.append(
            Deviation(
                label,
                "the fit did not converge and is reported as it stopped",
                "; ".join(n for n in res.notes if "converge" in n or "gradient" in n)[:300]
                or "the optimizer's convergence check failed",
            )
        )
    if res.singular:
        vc = res.varcorr
        zero = vc[(vc["var2"].isna()) & (vc["sdcor"] < 1e-4) & (vc["grp"] != "Residual")]
        groups = ", ".join(sorted(set(zero["grp"]))) or "a random-effect"
        out.append(
            Deviation(
                label,
                f"the {groups} variance was estimated at 0 (singular fit); the estimates equal "
                "those of the model without that term",
                "the data do not support that variance",
            )
        )
    return out
