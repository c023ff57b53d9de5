"""The methods paragraph, written from what was actually fitted.

Every number and choice in the text is read from the result objects (estimator, formula,
random effects, rows used, centring, multiplicity correction, convergence, software versions),
so the paragraph cannot drift from the analysis. It covers what JARS-Quant and the LEVEL
guidelines ask of multilevel models.

Examples
--------
>>> from alliance_stats.report.methods import random_terms
>>> random_terms("y ~ x + (1 | therapist) + (1 | client)")
['(1 | therapist)', '(1 | client)']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MethodsFacts", "methods_paragraph", "model_sentence", "plan_paragraphs",
           "random_terms"]  # fmt: skip

_ADJUST = {
    "holm": "Holm's step-down method",
    "bh": "the Benjamini-Hochberg false-discovery-rate procedure",
    "none": "no multiplicity correction (unadjusted p-values)",
}
_DEFINITION = {
    "unplanned_end": "the client's last scheduled session was not attended (a unilateral end)",
    "dropout_before_n": "the client attended fewer than {n} sessions",
}


@dataclass
class MethodsFacts:
    """Facts the paragraph is written from (filled by the report builder)."""

    n_clients: int
    n_therapists: int
    n_sessions: int
    n_attended: int
    instruments: list[dict] = field(default_factory=list)  # label, citation, max_missing, alpha
    alliance: str = ""
    definition: str = "unplanned_end"
    n_definition: int | None = None
    dropout_share: float | None = None
    models: list[dict] = field(default_factory=list)  # purpose, result, centring
    strategy: dict | None = None  # adjust, n_terms, outcome, gee, result
    ruptures: dict | None = None  # rule, n_episodes
    min_cell: int = 5
    versions: dict[str, str] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    plan: list = field(default_factory=list)  # PlannedModel, in the order fitted
    deviations: list = field(default_factory=list)  # Deviation


def plan_paragraphs(plan: list, deviations: list) -> list[str]:
    """The analysis plan (one paragraph per planned model) and the Deviations paragraph."""
    out = []
    if plan:
        out.append(
            "Analysis plan. The following models, their formulas, outcome definitions, "
            "centring, random effects, estimator and multiplicity correction were fixed before "
            "any model was fitted."
        )
        for i, m in enumerate(plan, 1):
            out.append(f"Model {i}: {m.purpose}. " + "; ".join(m.lines()) + ".")
    if deviations:
        out.append("Deviations from the plan: " + " ".join(d.sentence() for d in deviations))
    else:
        out.append(
            "Deviations from the plan: none (every planned model was fitted as planned, "
            "converged and was not singular; no fallback or refit)."
        )
    return out


def random_terms(formula: str) -> list[str]:
    """The random-effect terms of an lme4 formula, normalised to ``(a | b)``."""
    terms = re.findall(r"\(([^()]*\|[^()]*)\)", formula)
    out = []
    for t in terms:
        lhs, _, rhs = t.partition("|")
        out.append(f"({lhs.strip()} | {rhs.strip(' |')})")
    return out


def _groups(res) -> str:
    return ", ".join(f"{v:,} {k}s" for k, v in res.n_groups.items())


def model_sentence(purpose: str, res: Any, centring: str = "") -> str:
    """One sentence describing a fitted :class:`~alliance_stats.models.MixedResult`."""
    kind = "linear" if res.family == "gaussian" else "logistic"
    if res.link == "cloglog":
        kind = "binomial (complementary log-log link)"
    rand = " and ".join(random_terms(res.formula)) or "no random effects"
    est = {
        "REML": "restricted maximum likelihood (REML)",
        "ML": "maximum likelihood (ML)",
        "ML (Laplace)": "maximum likelihood with the Laplace approximation (ML (Laplace))",
        "bias-reduced ML (Laplace, Firth-type penalty)": (
            "maximum likelihood with the Laplace approximation, the fixed effects bias-reduced "
            "by a Firth-type penalty, a Jeffreys prior on them given the variances, which stay "
            "at their maximum-likelihood estimates (bias-reduced ML (Laplace, Firth-type "
            "penalty))"
        ),
    }.get(res.estimator, res.estimator)
    status = "converged" if res.converged else "did not meet the convergence criterion"
    if res.singular:
        status += " and was singular (a variance estimated at its boundary)"
    se = ""
    if res.family == "binomial":
        se = (
            "; standard errors from the numerical Hessian"
            if res.se_method == "hessian"
            else "; model-based standard errors"
        )
    text = (
        f"{purpose} was analysed with a {kind} mixed model estimated by {est}{se}, with random "
        f"effects {rand} (model formula {res.formula}; {res.nobs:,} observations from "
        f"{_groups(res)}). "
    )
    if centring:
        text += centring.rstrip(".") + ". "
    text += f"The model {status}."
    return text


def methods_paragraph(f: MethodsFacts) -> str:
    """The methods text (several short paragraphs separated by blank lines)."""
    parts = []
    p1 = (
        f"The analysed data were {f.n_sessions:,} scheduled sessions ({f.n_attended:,} attended) "
        f"of {f.n_clients:,} clients seen by {f.n_therapists:,} therapists."
    )
    for ins in f.instruments:
        p1 += f" {ins['label']} ({ins['citation']}) was scored as item sums"
        if ins.get("max_missing"):
            p1 += (
                f", prorated when at most {ins['max_missing']:.0%} of a scale's items were missing"
            )
        if ins.get("alpha") is not None:
            p1 += f"; Cronbach's alpha of the total was {ins['alpha']:.2f}".replace("0.", ".", 1)
        p1 += "."
    dtext = _DEFINITION.get(f.definition, f.definition).format(n=f.n_definition)
    p1 += f" Dropout was defined as: {dtext}"
    if f.dropout_share is not None:
        p1 += f" ({f.dropout_share:.1%} of clients)"
    p1 += "; retention was described with Kaplan-Meier curves (log-log confidence bands)."
    parts.append(p1)
    for m in f.models:
        parts.append(model_sentence(m["purpose"], m["result"], m.get("centring", "")))
    if f.strategy:
        s = f.strategy
        parts.append(
            f"Therapist strategies ({s['n_strategies']} coded per session) entered one logistic "
            f"mixed model for '{s['outcome']}', each split into a within-client part (the "
            "session's deviation from the client's running rate of the strategy so far) and a "
            "between-client part (that running rate), so that no later session enters a row "
            "(the person-mean split of Curran and Bauer, 2011, computed from the past only); "
            f"p-values of the {s['n_terms']} strategy terms were adjusted with "
            f"{_ADJUST.get(s['adjust'], s['adjust'])}"
            + (
                ", and a GEE with an independence working correlation and client-clustered "
                "robust standard errors was fitted as a sensitivity analysis (independence, as "
                "the exposures vary over time; Pepe and Anderson, 1994)."
                if s.get("gee")
                else "."
            )
        )
    if f.ruptures:
        parts.append(
            f"Rupture episodes were identified in the {f.alliance} series with the rule: "
            f"{f.ruptures['rule']}; {f.ruptures['n_episodes']:,} episodes were found."
        )
    if f.unavailable:
        parts.append("Not part of this report: " + "; ".join(f.unavailable) + ".")
    parts += plan_paragraphs(f.plan, f.deviations)
    v = f.versions
    soft = ", ".join(
        f"{k} {v[k]}"
        for k in ("alliance_stats", "mixedlm", "statsmodels", "scipy", "pandas", "numpy")
        if v.get(k) and v[k] != "not installed"
    )
    parts.append(
        f"Analyses used Python {v.get('python', '')} with {soft}. Counts below {f.min_cell} "
        "are suppressed and clients and therapists appear only under pseudonyms."
    )
    return "\n\n".join(parts)
