"""``fit_mixed``: linear, logistic and Poisson mixed models with lme4 formulas and numbers.

Examples
--------
>>> import alliance_stats.models as m
>>> from alliance_stats.models.examples import sleepstudy
>>> res = m.fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy(), REML=False)
>>> round(res.loglik, 3)
-875.97
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import pandas as pd
from scipy import special

from alliance_stats.errors import InputError, ModelFitError, ModelWarning
from alliance_stats.models import collinear, robust, separation
from alliance_stats.models.blas import single_threaded
from alliance_stats.models.engines import (
    ENGINES,
    EngineFit,
    fit_mixedlm,
    fit_own_laplace,
    fit_own_lmm,
    glmm_deviance,
    translate,
)
from alliance_stats.models.formula import ParsedFormula, parse_formula
from alliance_stats.models.frame import FAMILIES, model_frame
from alliance_stats.models.laplace import BINOMIAL_LINKS, FirthPenalised, InterceptLaplace
from alliance_stats.models.quadrature import InterceptQuadrature
from alliance_stats.models.result import RATIO_COLUMNS, MixedResult
from alliance_stats.models.terms import expand_response, expand_terms

SE_METHODS = ("auto", "hessian", "model")


def _check_args(family, REML, nagq, engine, conf_level, se, bias_reduction, link) -> None:
    if family not in FAMILIES:
        raise InputError(f"family must be one of {FAMILIES}, got {family!r}")
    if REML is not None and not isinstance(REML, (bool, np.bool_)):
        raise InputError(f"REML must be True, False or None (the family's default), got {REML!r}")
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)) or not 1 <= nagq <= 25:
        raise InputError(f"nagq must be an integer from 1 (Laplace) to 25, got {nagq!r}")
    if nagq > 1 and family != "binomial":
        raise InputError("nagq > 1 (adaptive quadrature) applies to family='binomial' only")
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {ENGINES}, got {engine!r}")
    if not (isinstance(conf_level, float) and 0.5 <= conf_level < 1):
        raise InputError(f"conf_level must be a float in [0.5, 1), got {conf_level!r}")
    if se not in SE_METHODS:
        raise InputError(f"se must be one of {SE_METHODS}, got {se!r}")
    counts = family in ("poisson", "negative_binomial")
    if counts and link not in ("logit", "log"):  # logit: the argument's default
        raise InputError(f"family={family!r} has the log link only, got link={link!r}")
    if not counts and link not in BINOMIAL_LINKS:
        raise InputError(f"link must be one of {BINOMIAL_LINKS}, got {link!r}")
    if link not in ("logit", "log") and family != "binomial":
        raise InputError(f"link={link!r} applies to family='binomial' only")
    if not isinstance(bias_reduction, (bool, np.bool_)):
        raise InputError(f"bias_reduction must be True or False, got {bias_reduction!r}")
    if bias_reduction and (family != "binomial" or nagq != 1):
        raise InputError(
            "bias_reduction=True applies to family='binomial' with nagq=1 (Laplace) only"
        )


#: the column that carries ``weights=`` given as an array through the model frame
WEIGHTS_COLUMN = "(weights)"


def _with_weights(data, weights, trials: str | None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``data`` with the prior weights as a column (``weights``: a column name or one value
    per row; times the numbers of trials of a ``cbind()`` outcome, in column ``trials``), and
    the name of that column (none without weights)."""
    if weights is None:
        return data, (trials,) if trials else ()
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if isinstance(weights, str):
        if weights not in data.columns:
            raise InputError(f"weights={weights!r} is not a column of the data")
        values = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
    else:
        values = np.asarray(weights, dtype=float)
        if values.shape != (len(data),):
            raise InputError(
                f"weights must be a column name or one number per row of the data "
                f"({len(data)} rows), got shape {values.shape}"
            )
    if trials:
        values = values * data[trials].to_numpy(dtype=float)
    return data.assign(**{WEIGHTS_COLUMN: values}), (WEIGHTS_COLUMN,)


def _prior_weights(frame: pd.DataFrame, extra: tuple[str, ...]) -> np.ndarray | None:
    """The prior weights of the model rows, checked (finite, not negative)."""
    if not extra:
        return None
    w = frame[extra[0]].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if len(bad):
        raise InputError(
            f"weights must be finite and not negative; model row {int(bad[0])} has {w[bad[0]]:g}"
        )
    return w


def _check_agq(parsed: ParsedFormula, nagq: int) -> None:
    if nagq > 1:
        scalar = len(parsed.random) == 1 and parsed.random[0].expr.strip() == "1"
        if not scalar or parsed.random[0].nested or len(parsed.grouping_factors) != 1:
            raise InputError(
                "nagq > 1 needs exactly one random intercept '(1 | group)'; use nagq=1 "
                "(Laplace) for crossed, nested or random-slope models"
            )


def _coef_table(
    beta: np.ndarray, se: np.ndarray, names: list[str], link: str | None, conf_level: float
) -> pd.DataFrame:
    z = special.ndtri(0.5 + conf_level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    columns = {
        "estimate": beta,
        "std_error": se,
        "statistic": stat,
        "p_value": 2 * special.ndtr(-np.abs(stat)),
        "conf_low": beta - z * se,
        "conf_high": beta + z * se,
    }
    if link is not None:
        ratio, low, high = RATIO_COLUMNS[link]
        with np.errstate(over="ignore"):  # a runaway estimate (separation) is inf, and noted
            columns[ratio] = np.exp(beta)
            columns[low] = np.exp(columns["conf_low"])
            columns[high] = np.exp(columns["conf_high"])
    return pd.DataFrame(columns, index=pd.Index(names, name="term"))


def _theta_labels(raw, parsed, n_theta: int) -> list[str]:
    """Plain names of the variance parameters (``client SD``; lme4's theta order)."""
    from alliance_stats.models.engines import group_name

    labels: list[str] = []
    for s in raw.matrices.random_structures:
        g = group_name(s.grouping_factor, parsed)
        terms = list(s.term_names)
        one = len(terms) == 1
        if s.correlated and not one:
            for j in range(len(terms)):
                for i in range(j, len(terms)):
                    labels.append(
                        f"{g} {terms[i]} SD factor" if i == j else f"{g} {terms[i]}/{terms[j]}"
                    )
        else:
            labels += [f"{g} SD" if one else f"{g} {t} SD factor" for t in terms]
    if len(labels) != n_theta:
        labels = [f"theta[{i}]" for i in range(n_theta)]
    return labels


#: Links for which a model whose random terms are all intercepts is fitted with our own
#: Laplace deviance and its analytic gradient first
#: (:func:`~alliance_stats.models.engines.fit_own_laplace`), measured faster than the
#: engine's fit for each (benchmarks/own_laplace.py for logit and cloglog; benchmarks/models.py
#: for the Poisson log link: 0.06-0.08 s against the engine alone's 0.38-0.45 s on grouseticks)
OWN_FIRST_LINKS = ("logit", "cloglog", "log")

#: our Laplace deviance must agree with the engine's to this (absolute, deviance units)
#: where both are finite before it may replace the engine's as the objective
CROSS_CHECK_TOL = 1e-6


def _describe_search(search: robust.OptimumSearch, restarts: bool) -> str:
    polish = search.attempts[1]
    what = f"polished the optimum (bounded L-BFGS-B, {polish['evaluations']} evaluations)"
    if not restarts:
        return what + "; restarts=False: no scan of the variance parameters for another peak"
    parts = []
    for a in search.attempts[2:]:
        scan = a.get("scan")
        if scan is not None:
            text = (
                f"{scan.label} scanned over {len(scan.values) - 1} values "
                f"({scan.values.min():.3g} to {scan.values.max():.3g}, the other parameters "
                "following the quadratic approximation): "
            )
            if scan.wall:
                text += (
                    f"the deviance was infinite at {scan.not_finite} of the values and fell "
                    "towards them, so it cannot show what lies beyond"
                )
            elif scan.starts:
                text += f"restart warranted ({scan.why})"
            else:
                text += "no lower deviance and no second dip, so no restart"
                if scan.not_finite:
                    text += f" (the deviance was infinite at {scan.not_finite}, beyond a rise)"
        else:
            text = (
                f"restarted bounded L-BFGS-B from {a['start']} (deviance {a['deviance']:.4f}, "
                f"{a['evaluations']} evaluations)"
            )
        parts.append(text)
    return what + ("; " + "; ".join(parts) if parts else "; no variance parameter to scan")


#: Largest random-intercept SD (logit scale) our own Laplace search may reach. Real values
#: are a few units; a search that runs here has found a likelihood with no finite optimum.
THETA_CAP = 50.0


def _capped(bounds, n_theta: int) -> list[tuple]:
    """The engine's bounds with the variance parameters capped at :data:`THETA_CAP`."""
    return [
        (lo, THETA_CAP if hi is None else min(hi, THETA_CAP)) if i < n_theta else (lo, hi)
        for i, (lo, hi) in enumerate(bounds)
    ]


def _search_wall(search: robust.OptimumSearch) -> str | None:
    """Why the engine's deviance failed during the optimum search (``None``: it did not)."""
    if any(
        not np.isfinite(a["deviance"]) or (a.get("scan") and a["scan"].wall)
        for a in search.attempts
    ):
        return (
            "the engine's deviance was infinite (its inner PIRLS failed) at a value scanned or "
            "a start tried"
        )
    return None


def _engine_wall(curv: robust.Curvature) -> str | None:
    """Why the engine's deviance cannot be trusted at its optimum (``None``: it can)."""
    if not np.isfinite(curv.scaled_gradient):
        return "the engine's deviance was infinite next to its optimum (its inner PIRLS failed)"
    if not curv.positive_definite or curv.scaled_gradient >= 1e-3:
        return "the engine's optimum failed the gradient / Hessian check"
    return None


def _with_optimum(ef, raw, x, n_theta, objective, parsed, factor_levels) -> EngineFit:
    """The engine fit moved to parameters ``x`` (deviance and modes from ``objective``)."""
    if isinstance(objective, (InterceptLaplace, InterceptQuadrature)):
        dev = objective(x)
        u = objective.random_effects(x)
        beta = x[n_theta:]
    else:
        dev, beta, u, _ = objective.evaluate(x)
    raw = dataclasses.replace(
        raw,
        theta=np.asarray(x[:n_theta], dtype=float).copy(),
        beta=np.asarray(beta, dtype=float).copy(),
        u=np.asarray(u, dtype=float),
        deviance=float(dev),
        converged=True,
    )
    moved = translate(raw, parsed, "binomial", factor_levels, ef.messages)
    if ef.nb_size is not None:  # the negative binomial size, estimated, stays
        moved.nb_size, moved.n_par = ef.nb_size, moved.n_par + 1
    return moved


def _binomial_checks(
    ef: EngineFit, parsed, factor_levels, nagq: int, restarts: bool, notes: list[str], link: str
) -> tuple[EngineFit, robust.Curvature]:
    """Optimum check with the engine's deviance; where the engine's deviance fails (infinite
    where its PIRLS diverges, or a failed gradient / Hessian check) and every random term is a
    scalar intercept (Laplace), the check is redone with our own Laplace deviance
    (:class:`~alliance_stats.models.laplace.InterceptLaplace`), after checking that the two
    agree where the engine's is finite."""
    raw = ef.raw
    obj = glmm_deviance(raw.matrices, raw.family, nagq)
    n_theta = obj.n_theta
    x0 = np.r_[ef.theta, ef.beta]
    labels = _theta_labels(raw, parsed, n_theta)
    search = robust.best_optimum(obj, x0, obj.bounds, n_theta, restarts=restarts, labels=labels)
    # When the engine's deviance already failed in the search, its curvature is not worth
    # computing: go straight to our own deviance.
    why = _search_wall(search)
    curv = None if why else search.curvature or robust.curvature(obj, search.x, obj.bounds, n_theta)
    objective, used = obj, search
    why = why or _engine_wall(curv)
    fallback_note = None
    if why is not None:
        own = InterceptLaplace.from_mixedlm(raw.matrices, link) if nagq == 1 else None
        if own is None:
            fallback_note = (
                f"{why}; our own Laplace deviance (random intercepts only, nAGQ = 1) does not "
                "cover this model, so the engine's optimum is reported"
            )
        else:
            d_engine, d_own = float(obj(search.x)), float(own(search.x))
            if not abs(d_engine - d_own) < CROSS_CHECK_TOL:
                fallback_note = (
                    f"{why}; our own Laplace deviance disagreed with the engine's at its "
                    f"optimum ({d_own:.8f} vs {d_engine:.8f}), so it was not used"
                )
            else:
                bounds = _capped(obj.bounds, n_theta)
                search2 = robust.best_optimum(
                    own,
                    np.minimum(search.x, [b[1] or np.inf for b in bounds]),
                    bounds,
                    n_theta,
                    restarts=restarts,
                    labels=labels,
                )
                curv2 = search2.curvature or robust.curvature(own, search2.x, bounds, n_theta)
                _note_theta_cap(search2.x, labels, n_theta, notes)
                fallback_note = (
                    f"{why}. The fit was therefore finished with our own Laplace deviance "
                    "(alliance_stats.models.laplace: Newton/PIRLS for the conditional modes "
                    "with step-halving, always converging; the same Laplace approximation as "
                    "lme4's nAGQ = 1), which agreed with the engine's at the engine's optimum "
                    f"(deviance {d_own:.6f} vs {d_engine:.6f}); with it the optimum check "
                    f"{_describe_search(search2, restarts)}"
                )
                objective, used, curv = own, search2, curv2
    if curv is None:  # our deviance was not used: the engine's curvature it is
        curv = robust.curvature(obj, search.x, obj.bounds, n_theta)
    improved = used.deviance < search.start_deviance - 1e-6
    if improved:
        new = _with_optimum(ef, raw, used.x, n_theta, objective, parsed, factor_levels)
        notes.append(
            f"the engine's optimum was improved: log-likelihood {ef.loglik:.4f} "
            f"-> {new.loglik:.4f}; the best is reported. Optimum check with the engine's "
            f"deviance: {_describe_search(search, restarts)}"
        )
        ef = new
    else:
        notes.append(
            f"optimum checked, no higher likelihood found (engine deviance "
            f"{search.start_deviance:.4f}): {_describe_search(search, restarts)}"
        )
    if fallback_note:
        notes.append(fallback_note)
    return ef, curv


def _note_theta_cap(x: np.ndarray, labels: list[str], n_theta: int, notes: list[str]) -> None:
    """Note the random-intercept SDs that ran to :data:`THETA_CAP` (no finite optimum)."""
    at_cap = [labels[i] for i in range(n_theta) if x[i] >= 0.99 * THETA_CAP]
    if at_cap:
        notes.append(
            f"{', '.join(at_cap)} ran to the cap of {THETA_CAP:g} (random-intercept SD, logit "
            "scale): the likelihood keeps rising as this variance grows, so the model has no "
            "finite optimum (the variance is not identified, as with one event per client and "
            "a time trend). Drop that random term"
        )


def _own_checks(
    ef: EngineFit, parsed, factor_levels, restarts: bool, notes: list[str], link: str, nagq: int
) -> tuple[EngineFit, robust.Curvature] | None:
    """The optimum check of a fit made with our own Laplace (or quadrature) deviance
    (:func:`~alliance_stats.models.engines.fit_own_laplace`): the engine's deviance must agree
    with ours at the optimum where it is finite (else ``None``: the engine refits), then the
    same search for a better optimum as :func:`_binomial_checks`, with our deviance (and,
    for Laplace, its analytic gradient)."""
    raw = ef.raw
    engine = glmm_deviance(raw.matrices, raw.family, nagq)
    laplace = ef.objective or InterceptLaplace.from_mixedlm(raw.matrices, link)
    own = laplace if nagq == 1 else InterceptQuadrature(laplace, nagq)
    n_theta = len(ef.theta)
    x0 = np.r_[ef.theta, ef.beta]
    d_own, d_engine = float(own(x0)), float(engine(x0))
    if np.isfinite(d_engine) and not abs(d_engine - d_own) < CROSS_CHECK_TOL:
        return None
    labels = _theta_labels(raw, parsed, n_theta)
    bounds = _capped(engine.bounds, n_theta)
    scale = laplace.parameter_scale(x0)  # variances unscaled: the bounds and labels stay
    if scale is None:
        return None
    search = robust.best_optimum(
        robust.in_scaled(own, scale),
        x0 * scale,
        bounds,
        n_theta,
        restarts=restarts,
        labels=labels,
        gradient=robust.gradient_in_scaled(own.value_and_gradient, scale),
    )
    curv = search.curvature
    curv = (
        robust.rescaled(curv, scale)
        if curv
        else robust.curvature(own, search.x / scale, bounds, n_theta, own.value_and_gradient)
    )
    search = dataclasses.replace(search, x=search.x / scale)
    agreement = (
        f"the engine's deviance agrees there ({d_engine:.6f} vs {d_own:.6f})"
        if np.isfinite(d_engine)
        else "the engine's own deviance is not finite there (its PIRLS fails)"
    )
    how = (
        "our own Laplace deviance (alliance_stats.models.laplace; the same Laplace "
        "approximation as lme4's nAGQ = 1) by bounded L-BFGS-B with its analytic gradient, "
        "from the GLM's estimates and variance parameters of 1"
        if nagq == 1
        else f"our own adaptive quadrature deviance ({nagq} points; "
        "alliance_stats.models.quadrature, lme4's nAGQ formula) by bounded L-BFGS-B with its "
        "analytic gradient, from our Laplace fit"
    )
    notes.append(
        f"fitted with {how}; {agreement}. Optimum check: {_describe_search(search, restarts)}"
    )
    _note_theta_cap(search.x, labels, n_theta, notes)
    if search.deviance < search.start_deviance - 1e-6:
        ef = _with_optimum(ef, raw, search.x, n_theta, own, parsed, factor_levels)
        ef.fitted_by = "own"
    return ef, curv


def _note_separation(ef: EngineFit, bias_reduced: bool, notes: list[str]) -> None:
    """Name the predictors that separate a binary outcome (a warning and a note)."""
    m = ef.raw.matrices
    found = separation.separated(m.X, m.y, ef.names, ef.beta)
    if not found:
        return
    text = "separation: " + "; ".join(found) + ". "
    if bias_reduced:
        text += (
            "The bias-reducing penalty keeps these estimates finite, but the data carry little "
            "information about them: read their intervals, not their point estimates"
        )
    else:
        text += (
            "Maximum likelihood has no finite estimate there (the reported one is where the "
            "optimizer stopped, with a meaningless SE and p-value); refit with "
            "bias_reduction=True (finite, Firth-type estimates), or drop or merge the predictor"
        )
    notes.append(text)
    warnings.warn(text[0].upper() + text[1:] + ".", ModelWarning, stacklevel=3)


def _check_random_effect_count(ef: EngineFit) -> None:
    """lme4's ``check.nobs.vs.nRE``: a random term with at least as many random effects as
    observations is not identified together with the residual (or the outcome's own
    variation)."""
    for s in ef.raw.matrices.random_structures:
        q = int(s.n_levels) * int(s.n_terms)
        if q >= ef.nobs:
            terms = " + ".join("1" if t == "(Intercept)" else t for t in s.term_names)
            raise InputError(
                f"the random effects of ({terms} | {s.grouping_factor}) number {q:,} "
                f"({s.n_levels:,} levels x {s.n_terms} terms), not fewer than the {ef.nobs:,} "
                "rows: their variances cannot be told apart from the residual, so the model is "
                "not identified. Drop the random slope, or use a grouping with more rows per "
                "level"
            )


def _rank_deficiency(ef: EngineFit, parsed: ParsedFormula, refit, notes: list[str]):
    """Report (and where needed redo) the dropping of linearly dependent fixed-effect columns.

    The engine drops dependent columns by its own pivoting; lme4 drops the later of the
    columns in formula order. Where they differ and lme4's columns are whole terms of the
    formula, the model is refitted without those terms, so that the same columns as lme4's
    remain. Returns the fit to report.
    """
    if not ef.dropped:
        return ef
    X, names = ef.full_design
    lme4_drop = collinear.dependent_columns(X, names)
    if set(lme4_drop) != set(ef.dropped):
        terms = [t.strip() for t in parsed.fixed.split("+")]
        names_of = {t: t.strip("`") for t in terms}  # function-call terms are backticked
        if lme4_drop and all(c in names_of.values() for c in lme4_drop):
            keep = [t for t in terms if names_of[t] not in lme4_drop] or ["1"]
            bars = " + ".join(
                f"({t.expr} {'|' if t.correlated else '||'} {t.group})" for t in parsed.random
            )
            fixed = " + ".join(keep)
            lhs = parsed.text.split("~", 1)[0].strip()
            again = refit(
                dataclasses.replace(parsed, text=f"{lhs} ~ {fixed} + {bars}", fixed=fixed)
            )
            if not again.dropped:
                ef = again
    why = "; ".join(collinear.explain(X, names, c) for c in lme4_drop)
    text = (
        f"the fixed effects were linearly dependent, so {len(lme4_drop)} column(s) were "
        f"dropped: {', '.join(lme4_drop)} ({why}). As lme4 does, the later of dependent "
        "columns in formula order is the one dropped; remove it from the formula (or "
        "rescale the predictors) to silence this"
    )
    if set(ef.names) & set(lme4_drop):
        text += (
            f". The engine dropped {', '.join(ef.dropped)} instead (lme4 would drop "
            f"{', '.join(lme4_drop)}), and refitting without them was not possible here"
        )
    notes.append(text)
    warnings.warn(text[0].upper() + text[1:] + ".", ModelWarning, stacklevel=3)
    return ef


def _bias_reduced(ef: EngineFit, parsed, factor_levels, se: str, link: str, notes: list[str]):
    """Move the ML fit ``ef``'s fixed effects to the minimum of the Firth-penalised Laplace
    deviance, the variances held at their ML estimates (penalising them too would pull them
    towards 0: the fixed effects' information grows as the variances shrink).

    Returns the fit at the penalised estimates (its log-likelihood is the unpenalised one
    there), the scaled gradient of the penalised deviance (the convergence check), the
    covariance of the fixed effects and how it was obtained: the inverse of the unpenalised
    deviance's numerical Hessian at the bias-reduced estimates (``se="auto"``/``"hessian"``,
    as lme4's default at its estimates; ``None`` when not positive definite), or with
    ``se="model"`` the inverse information there, as brglm2 and logistf report it.
    """
    raw = ef.raw
    own = InterceptLaplace.from_mixedlm(raw.matrices, link)
    if own is None:
        raise InputError(
            "bias_reduction=True needs a model whose random terms are all random intercepts "
            "'(1 | g)'; refit without bias_reduction for random slopes"
        )
    n_theta = len(ef.theta)
    x_ml = np.r_[ef.theta, ef.beta]
    d_engine = float(glmm_deviance(raw.matrices, raw.family, 1)(x_ml))
    d_own = own(x_ml)
    if np.isfinite(d_engine) and not abs(d_own - d_engine) < CROSS_CHECK_TOL:
        raise ModelFitError(
            f"bias reduction: our Laplace deviance ({d_own:.8f}) disagrees with the "
            f"engine's ({d_engine:.8f}) at the ML optimum; refit with bias_reduction=False"
        )
    theta = np.minimum(ef.theta, THETA_CAP)
    beta, scaled, n_evals = FirthPenalised(own).minimise(theta, ef.beta.copy())
    x = np.r_[theta, beta]
    if se == "model":
        vcov, how = np.linalg.inv(own.fixed_information(x)), "model"
    else:
        bounds = [(0.0, THETA_CAP)] * n_theta + [(None, None)] * len(beta)
        vcov = robust.hessian_vcov(robust.curvature(own, x, bounds, n_theta), n_theta)
        how = "hessian"
    new = _with_optimum(ef, raw, x, n_theta, own, parsed, factor_levels)
    j = int(np.argmax(np.abs(new.beta - ef.beta)))
    notes.append(
        "fixed effects bias-reduced: Firth-type penalty (Jeffreys prior on the fixed effects "
        "given the variances, which stay at their ML estimates; the log-determinant of the "
        "fixed effects' information is subtracted from the Laplace deviance), which removes "
        "the leading small-sample bias of ML log odds ratios when events are few. Largest "
        f"change from the ML estimate: {ef.names[j]} {ef.beta[j]:.4f} -> {new.beta[j]:.4f}; "
        f"log-likelihood {ef.loglik:.4f} at the ML optimum, {new.loglik:.4f} at the "
        f"bias-reduced one ({n_evals} evaluations of the penalised deviance)"
    )
    return new, scaled, vcov, how


@single_threaded
def fit_mixed(
    formula: str,
    data: pd.DataFrame,
    family: str = "gaussian",
    REML: bool | None = None,
    nagq: int = 1,
    engine: str = "mixedlm",
    *,
    se: str = "auto",
    conf_level: float = 0.95,
    restarts: bool = True,
    optimizer: str | None = None,
    bias_reduction: bool = False,
    link: str = "logit",
    weights: str | np.ndarray | None = None,
    success: str | None = None,
) -> MixedResult:
    """Fit a linear or logistic mixed-effects model written in lme4's formula syntax.

    Parameters
    ----------
    formula : str
        lme4 syntax: ``(1 | g)``, ``(1 + x | g)``, ``(0 + x | g)``, ``(1 + x || g)`` (numeric
        ``x``), nested ``(1 | t/c)``, ``(1 | a:b)``, crossed factors, ``a * b``, ``a:b``,
        ``0 +``/``-1 +``; text or categorical predictors get treatment contrasts (first
        level = reference; text levels sorted as R sorts them). Fixed-effect terms may call
        ``factor()``, ``relevel(x, ref = "level")``, ``I()`` (with ``^ * / + -``), ``log()``,
        ``log1p()``, ``exp()``, ``sqrt()``, ``abs()``, ``scale()`` and ``poly(x, degree)``,
        evaluated on the complete rows and named as lme4 names them (``I(age^2)``,
        ``factor(age)10``, ``poly(age, 2)1``); ``offset(expr)`` adds ``expr`` to the linear
        predictor; a binomial outcome may be ``cbind(successes, failures)``.
    data : pandas.DataFrame
        Rows with a missing value in any formula variable are dropped (said in ``notes``).
    family : {"gaussian", "binomial", "poisson", "negative_binomial"}
        ``binomial`` needs a 0/1 or True/False outcome (logit link unless ``link`` says), or
        proportions with ``weights``; ``poisson`` a count outcome (log link; ``offset()`` in
        the formula, e.g. ``offset(log(utterances))``, for counts over varying exposure);
        ``negative_binomial`` a count outcome with extra-Poisson variation (log link,
        variance ``mu + mu^2 / size``, the size estimated as lme4's ``glmer.nb`` does;
        random intercepts only).
    REML : bool, optional
        Gaussian only: REML (the default, as lme4's) or maximum likelihood (for comparing fixed
        effects with :func:`compare`). Binomial models are always ML.
    nagq : int, default 1
        Binomial: 1 = Laplace; > 1 = adaptive Gauss-Hermite points (one random intercept).
    engine : {"mixedlm"}
        Fitting engine.
    se : {"auto", "hessian", "model"}
        Binomial standard errors: ``"hessian"`` (``"auto"``) from the numerical Hessian of the
        deviance over variance parameters and fixed effects, lme4's default ``vcov(m)``;
        ``"model"`` = lme4's ``vcov(m, use.hessian = FALSE)``. Gaussian: always ``"model"``.
    conf_level : float, default 0.95
        Level of the Wald confidence intervals.
    restarts : bool, default True
        Binomial: scan each variance parameter over a coarse grid for another likelihood
        peak (:func:`~alliance_stats.models.robust.profile_scan`), refit with bounded
        L-BFGS-B from the values the scan flags, and keep the best optimum; ``notes`` says
        what each scan showed and every restart's deviance.
    optimizer : str, optional
        Engine optimizer name (e.g. ``"L-BFGS-B"``, ``"Nelder-Mead"``).
    bias_reduction : bool, default False
        Binomial, random intercepts only: after the ML fit, minimise the Laplace deviance
        with a Firth-type penalty (:class:`~alliance_stats.models.laplace.FirthPenalised`),
        which removes the leading small-sample bias of the log odds ratios (tens of events;
        it also keeps estimates finite under separation). Standard errors (``se="auto"``)
        come from the unpenalised deviance's numerical Hessian at the bias-reduced estimates
        (``se="model"``: the inverse information of the fixed effects there, as brglm2 and
        logistf report them). With the variances at 0 it is Firth's logistic regression (R:
        ``brglm2``, ``type = "AS_mean"``).
    weights : str or array-like, optional
        Prior weights with lme4's meaning: a column name or one value per row. Binomial: the
        numbers of trials, with the outcome the proportion of successes (lme4's
        ``glmer(p ~ ..., weights = n)``, the same fit as ``cbind(successes, failures)``);
        gaussian: precision weights.
    success : str, optional
        Binomial with a two-level text outcome (``"yes"``/``"no"``): the level coded 1. By
        default the second level is (lme4's coding of a factor: the first level is 0);
        ``notes`` says which.
    link : {"logit", "cloglog"}, default "logit"
        Binomial link. ``"cloglog"`` makes a discrete-time dropout model the grouped-time
        proportional-hazards model: ``exp(estimate)`` is a hazard ratio (columns
        ``hazard_ratio``, ``hr_conf_low``, ``hr_conf_high`` instead of the odds-ratio ones).
        With one random intercept it is fitted with our own Laplace deviance (the engine's
        deviance cross-checks it; ``notes`` says so), about twice as fast as the engine's fit.

    Returns
    -------
    MixedResult

    Raises
    ------
    InputError
        Unknown column, formula typo, bad family, non-binary binomial outcome, grouping factor
        with one level, all-missing variable.
    ModelFitError
        The engine failed numerically.

    Examples
    --------
    >>> import alliance_stats.models as m
    >>> from alliance_stats.models.examples import sleepstudy
    >>> res = m.fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy())
    >>> res.varcorr["sdcor"].round(2).tolist()
    [24.74, 5.92, 0.07, 25.59]

    R equivalent::

        lme4::lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy)
        lme4::glmer(y ~ x + (1 | g), data = d, family = binomial, nAGQ = 1)
        lme4::glmer(y ~ x + (1 | g), data = d, family = binomial(link = "cloglog"))
    """
    _check_args(family, REML, nagq, engine, conf_level, se, bias_reduction, link)
    asked_reml = REML
    REML = family == "gaussian" if REML is None else bool(REML)
    parsed = parse_formula(formula)
    _check_agq(parsed, nagq)
    user_formula = parsed.text
    if parsed.trials is not None and family != "binomial":
        raise InputError("a cbind(successes, failures) outcome needs family='binomial'")
    # cbind(successes, failures): the proportion, with the trials as prior weights
    parsed, data, trials = expand_response(parsed, data)
    data, extra = _with_weights(data, weights, trials)
    if success is not None and family != "binomial":
        raise InputError("success= applies to family='binomial' only")
    mf = model_frame(
        parsed,
        data,
        family,
        extra,
        proportions=bool(extra) and family == "binomial",
        success=success,
    )
    prior = _prior_weights(mf.data, extra)
    # function-call terms (factor(age), I(age^2), poly(age, 2), ...) become columns
    expanded = expand_terms(parsed, mf.data, mf.factor_levels)
    parsed, frame, factor_levels = expanded.parsed, expanded.data, expanded.factor_levels
    notes: list[str] = []
    if asked_reml and family != "gaussian":
        notes.append(
            f"REML=True does not apply to the {family} family (lme4's glmer has no REML): the "
            "model was fitted by maximum likelihood"
        )
    if mf.n_dropped:
        notes.append(f"{mf.n_dropped} row(s) with a missing formula variable were dropped")
    if mf.outcome_coding:
        notes.append(mf.outcome_coding)
    t0 = time.perf_counter()

    offset = expanded.offset
    if family in ("poisson", "negative_binomial"):
        link = "log"
    if family == "negative_binomial" and (
        optimizer or any(t.expr.strip() != "1" for t in parsed.random)
    ):
        raise InputError(
            "family='negative_binomial' is fitted with random intercepts only ((1 | g), nested "
            "or crossed) and its own optimiser (no optimizer=): for a random slope, fit "
            "family='poisson' with an observation-level intercept (1 | row id) instead"
        )
    if family == "gaussian":
        own_first = not optimizer and prior is None
    else:
        own_first = link in OWN_FIRST_LINKS and not optimizer

    def engine_fit(p, own_first: bool = own_first):
        fitted = None
        if own_first and family == "gaussian":
            fitted = fit_own_lmm(p, frame, factor_levels, bool(REML), offset)
        elif own_first:
            fitted = fit_own_laplace(
                p, frame, factor_levels, link, THETA_CAP, int(nagq), prior, offset, family
            )
        if fitted is None and family == "negative_binomial":
            raise ModelFitError(
                f"the negative binomial model '{p.text}' could not be fitted: the Laplace "
                "deviance is not finite at the start (check for huge counts or a predictor "
                "that separates zero counts)"
            )
        return fitted or fit_mixedlm(
            p, frame, family, bool(REML), int(nagq), factor_levels, optimizer, link, prior, offset
        )

    ef = _rank_deficiency(engine_fit(parsed), parsed, engine_fit, notes)
    _check_random_effect_count(ef)
    binomial = family != "gaussian"  # a GLMM: the optimum checks and Hessian SEs
    converged = ef.converged
    se_method = "model"
    vcov = None  # the engine's (ef.vcov), read only where it is reported
    if binomial:
        checked = (
            _own_checks(ef, parsed, factor_levels, restarts, notes, link, int(nagq))
            if ef.fitted_by == "own"
            else None
        )
        if checked is None and ef.fitted_by == "own":  # disagreeing deviances: engine refits
            ef = _rank_deficiency(engine_fit(parsed, own_first=False), parsed, engine_fit, notes)
        if checked is None:
            checked = _binomial_checks(ef, parsed, factor_levels, int(nagq), restarts, notes, link)
        ef, curv = checked
        scaled, br_vcov, br_se = curv.scaled_gradient, None, ""
        if bias_reduction:
            ef, scaled, br_vcov, br_se = _bias_reduced(ef, parsed, factor_levels, se, link, notes)
        if family == "binomial":
            _note_separation(ef, bias_reduction, notes)
        converged = scaled < 1e-3
        notes.append(
            f"scaled gradient at the optimum {scaled:.1e} (lme4's check; < 1e-3 is converged)"
        )
        if not curv.positive_definite:
            notes.append(
                "the Hessian is not positive definite at the ML optimum: that optimum is not "
                "well defined"
                + ("; the bias-reduced estimates are reported" if bias_reduction else "")
            )
        if bias_reduction and br_vcov is not None:
            vcov, se_method = br_vcov, "model" if br_se == "model" else "hessian"
        elif se in ("auto", "hessian"):
            hv = None if bias_reduction else robust.hessian_vcov(curv, len(ef.theta))
            if hv is not None:
                vcov, se_method = hv, "hessian"
            else:
                notes.append("Hessian-based SEs unavailable; model-based SEs reported")
    elif se == "hessian":
        notes.append("gaussian model: standard errors are model-based (as lme4's)")
    if not converged:
        notes.append(
            "convergence is doubtful: centre and scale predictors (e.g. session - 1, age / 10) "
            "or simplify the random effects"
        )
    for msg in ef.messages:
        if "singular" in msg.lower() or "converge" in msg.lower():
            continue
        notes.append(f"engine: {msg}")
    singular = bool(ef.singular)
    if singular:
        notes.append(
            "singular fit: a variance is estimated at 0 (or a correlation at +-1); consider "
            "dropping that random term. Tests of it sit on the boundary (see compare())"
        )
    if binomial:
        notes.append(
            "standard errors: "
            + (
                "numerical Hessian over variance parameters and fixed effects (lme4 default)"
                + (", at the bias-reduced estimates" if bias_reduction else "")
                if se_method == "hessian"
                else "inverse information of the fixed effects at the bias-reduced estimates "
                "(as brglm2 and logistf report them; lme4's use.hessian = FALSE)"
                if bias_reduction
                else "model-based (lme4 use.hessian = FALSE)"
            )
        )
    if vcov is None:
        vcov = ef.vcov
    fit_seconds = time.perf_counter() - t0
    sd = np.sqrt(np.clip(np.diag(vcov), 0, None))
    coefs = _coef_table(ef.beta, sd, ef.names, link if binomial else None, conf_level)
    k, n = ef.n_par, ef.nobs
    dev = -2 * ef.loglik
    return MixedResult(
        formula=user_formula,
        family=family,
        REML=bool(REML) if family == "gaussian" else False,
        nagq=int(nagq),
        engine=engine,
        coefficients=coefs,
        varcorr=ef.varcorr,
        loglik=ef.loglik,
        aic=dev + 2 * k,
        bic=dev + k * np.log(n),
        deviance=dev,
        nobs=n,
        n_groups=ef.n_groups,
        converged=bool(converged),
        singular=singular,
        notes=tuple(notes),
        se_method=se_method,
        n_par=k,
        theta=ef.theta,
        vcov=pd.DataFrame(vcov, index=ef.names, columns=ef.names),
        conf_level=conf_level,
        fit_seconds=fit_seconds,
        _raw=ef.raw,
        _frame=frame,
        _factor_levels=factor_levels,
        _grouping=parsed.grouping_factors,
        _recipes=expanded.recipes,
        _weights=prior,
        _derived=tuple(c for c in frame.columns if c not in mf.data.columns),
        bias_reduction=bool(bias_reduction),
        link=link if binomial else "identity",
        nb_size=ef.nb_size,
    )
