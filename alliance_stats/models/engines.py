"""Engine adapters: run a fit and translate it into engine-neutral numbers (lme4 names).

The default engine is ``mixedlm`` (Rust core, lme4-style formulas). Everything the rest
of :mod:`alliance_stats.models` needs comes back as an :class:`EngineFit`, with
coefficient and variance-component names spelled the way lme4 prints them
(``gendermale``, ``client:therapist``, ``Subject.1`` for a ``||`` term).

Examples
--------
>>> lme4_term_name("gender.1:session", {"gender": ["female", "male"]})
'gendermale:session'
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError, ModelFitError
from alliance_stats.models.formula import ParsedFormula

ENGINES = ("mixedlm",)


@dataclass
class EngineFit:
    """Numbers from one fit, engine-neutral; ``raw`` keeps the engine's own object."""

    beta: np.ndarray
    names: list[str]
    theta: np.ndarray
    varcorr: pd.DataFrame
    loglik: float
    deviance: float
    n_par: int
    nobs: int
    n_groups: dict[str, int]
    converged: bool
    singular: bool
    sigma: float
    raw: Any
    messages: list[str] = field(default_factory=list)
    #: fixed-effect columns (lme4 names) the engine dropped as linearly dependent
    dropped: list[str] = field(default_factory=list)
    #: the full fixed-effects design before dropping (only when columns were dropped)
    full_design: tuple[np.ndarray, list[str]] | None = None
    #: what found the optimum: "engine", or "own" (:func:`fit_own_laplace`)
    fitted_by: str = "engine"
    #: our own deviance the optimum was found with (:func:`fit_own_laplace`), else None
    objective: Any = field(default=None, repr=False)
    #: the negative binomial size (lme4's ``glmer.nb`` theta), estimated; None otherwise
    nb_size: float | None = None
    _vcov: np.ndarray | None = field(default=None, repr=False)

    @property
    def vcov(self) -> np.ndarray:
        """The engine's covariance matrix of the fixed effects, computed when first read
        (binomial fits usually report the Hessian's instead, so it is often never needed)."""
        if self._vcov is None:
            self._vcov = np.asarray(self.raw.vcov(), dtype=float).copy()
        return self._vcov


#: an engine column of a factor: ``<factor>.<level index or level>``
_FACTOR_COLUMN = re.compile(r"(.+)\.([^.]+)")


def lme4_term_name(
    name: str, factor_levels: dict[str, list[str]], full: frozenset[str] = frozenset()
) -> str:
    """Translate an engine coefficient name (``btype.1``) to lme4's (``btypescold``).

    The engine names a treatment-coded column by the level's index (``btype.1``) and a
    column of a factor coded in full (no intercept: ``0 + Sex``) by the level itself
    (``Sex.Female``); ``full`` names the factors coded in full (:func:`lme4_names` finds them).
    """
    parts = []
    for part in name.split(":"):
        m = _FACTOR_COLUMN.fullmatch(part)
        if m and m.group(1) in factor_levels:
            levels = factor_levels[m.group(1)]
            suffix = m.group(2)
            if m.group(1) in full and suffix in levels:
                part = f"{m.group(1)}{suffix}"
            elif suffix.isdigit() and 0 <= int(suffix) < len(levels):
                part = f"{m.group(1)}{levels[int(suffix)]}"
        parts.append(part)
    return ":".join(parts)


def lme4_names(names: list[str], factor_levels: dict[str, list[str]]) -> list[str]:
    """lme4's names of the engine's fixed-effect columns: a factor whose columns carry every
    one of its levels is coded in full (level names); otherwise by contrasts (indices).

    Examples
    --------
    >>> lme4_names(["Sex.Female", "Sex.Male", "age"], {"Sex": ["Female", "Male"]})
    ['SexFemale', 'SexMale', 'age']
    >>> lme4_names(["(Intercept)", "g.1"], {"g": ["1", "2"]})
    ['(Intercept)', 'g2']
    """
    seen: dict[str, set[str]] = {}
    for name in names:
        for part in name.split(":"):
            m = _FACTOR_COLUMN.fullmatch(part)
            if m and m.group(1) in factor_levels:
                seen.setdefault(m.group(1), set()).add(m.group(2))
    full = frozenset(f for f, sfx in seen.items() if sfx == set(factor_levels[f]))
    return [lme4_term_name(n, factor_levels, full) for n in names]


def group_name(engine_name: str, parsed: ParsedFormula) -> str:
    """lme4 names the inner factor of ``(1 | a/b)`` as ``b:a``."""
    for term in parsed.random:
        if term.nested:
            f = term.group_factors
            for i in range(1, len(f)):
                if engine_name == ":".join(f[: i + 1]):
                    inner = f[i]
                    outer = ":".join(reversed(f[:i]))
                    return f"{inner}:{outer}" if i == 1 else f"{inner}:({outer})"
    return engine_name


def varcorr_frame(
    raw: Any,
    parsed: ParsedFormula,
    gaussian: bool,
    sigma: float,
    factor_levels: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor (term names as
    lme4's: a random slope on a factor is ``urbanY``, not the engine's ``urban.1``)."""
    structs = {s.grouping_factor: s for s in raw.matrices.random_structures}
    blocks = []
    for order, (gname, grp) in enumerate(raw.VarCorr().groups.items()):
        struct = structs.get(gname)
        n_levels = struct.n_levels if struct is not None else 0
        name = group_name(gname, parsed)
        terms = lme4_names(list(grp.term_names), factor_levels or {})
        cov = np.asarray(grp.cov, dtype=float)
        correlated = struct.correlated if struct is not None else True
        if correlated or len(terms) == 1:
            rows = [(name, t, None, cov[i, i], np.sqrt(cov[i, i])) for i, t in enumerate(terms)]
            for j in range(len(terms)):
                for i in range(j + 1, len(terms)):
                    denom = np.sqrt(cov[i, i] * cov[j, j])
                    corr = cov[i, j] / denom if denom > 0 else np.nan
                    rows.append((name, terms[j], terms[i], cov[i, j], corr))
            blocks.append((n_levels, order, 0, rows))
        else:
            for k, t in enumerate(terms):
                label = name if k == 0 else f"{name}.{k}"
                row = (label, t, None, cov[k, k], np.sqrt(cov[k, k]))
                blocks.append((n_levels, order, k, [row]))
    blocks.sort(key=lambda b: (-b[0], b[1], b[2]))
    rows = [r for b in blocks for r in b[3]]
    if gaussian:
        rows.append(("Residual", None, None, sigma**2, sigma))
    out = pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
    out["grp"] = out["grp"].astype(object)
    return out


def fit_mixedlm(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    family: str,
    REML: bool,
    nagq: int,
    factor_levels: dict[str, list[str]],
    optimizer: str | None = None,
    link: str = "logit",
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> EngineFit:
    """Fit with mixedlm and translate the result (``link``: binomial only; ``weights``:
    prior weights, lme4's meaning; ``offset``: added to the linear predictor)."""
    import mixedlm as ml

    msgs: list[str] = []
    printed = io.StringIO()  # the engine prints rank-deficiency messages: keep them ours
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("always")
            if family == "gaussian":
                ctrl = ml.lmerControl(optimizer=optimizer) if optimizer else None
                raw = ml.lmer(
                    parsed.text, data, REML=REML, control=ctrl, weights=weights, offset=offset
                )
            else:
                ctrl = ml.glmerControl(optimizer=optimizer) if optimizer else None
                raw = ml.glmer(
                    parsed.text,
                    data,
                    family=engine_family(family, link),
                    nAGQ=nagq,
                    control=ctrl,
                    weights=weights,
                    offset=offset,
                )
        msgs = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the engine rejected the model '{parsed.text}': {exc}") from exc
    except (RuntimeError, np.linalg.LinAlgError, FloatingPointError) as exc:
        raise ModelFitError(
            f"mixedlm could not fit '{parsed.text}': {exc}. Try centring or scaling "
            "predictors, or a simpler random-effects structure."
        ) from exc
    ef = translate(raw, parsed, family, factor_levels, msgs)
    if "rank deficient" in printed.getvalue():
        X, names = full_design(parsed, data, family, factor_levels)
        ef.full_design = (X, names)
        ef.dropped = [n for n in names if n not in ef.names]
    return ef


def engine_family(family: str, link: str):
    """The engine's family object for ``family`` (``"binomial"`` with ``link``, ``"poisson"``,
    ``"negative_binomial"``: size 1, a placeholder until the size is estimated)."""
    if family == "negative_binomial":
        from mixedlm.families.negative_binomial import NegativeBinomial

        return NegativeBinomial(theta=1.0)
    if family == "poisson":
        from mixedlm.families.poisson import Poisson

        return Poisson(link="log")
    from mixedlm.families.binomial import Binomial

    return Binomial(link=link)


def _own_optimum(own, objectives, x0: np.ndarray, theta_cap: float):
    """Minimise ``objectives`` in turn (our Laplace deviance ``own``, then quadrature) from
    ``x0``: ``(x, search)`` at the last one's optimum, or ``None`` where the fixed effects'
    information is not positive."""
    from alliance_stats.models import robust

    n_theta = own.n_theta
    x = x0
    # Laplace in two stages, the parameters rescaled to unit curvature at the start of each
    # (the information of the intercept changes several-fold with the variances; the second
    # only where the first stopped at its cap), then quadrature from the Laplace optimum
    stages = [(own, 12), (own, None)] + [(q, None) for q in objectives[1:]]
    converged_early = False
    for k, (obj, cap) in enumerate(stages):
        if k == 1 and converged_early:
            continue
        scale = own.parameter_scale(x)
        if scale is None:
            return None
        scale[:n_theta] = own.variance_scale(x)
        bounds = [(0.0, theta_cap * scale[i]) for i in range(n_theta)]
        bounds += [(None, None)] * (len(x0) - n_theta)
        search = robust.best_optimum(
            robust.in_scaled(obj, scale),
            x * scale,
            bounds,
            n_theta,
            False,
            gradient=robust.gradient_in_scaled(obj.value_and_gradient, scale),
            polish_evals=cap,
        )
        polish = search.attempts[1]
        converged_early = cap is not None and polish["evaluations"] < cap and polish["converged"]
        x = search.x / scale
    return x, search


#: the negative binomial size is searched over exp of this interval (lme4's glmer.nb profiles
#: the log size too); near its top the model is a Poisson one
LOG_SIZE_BOUNDS = (-7.0, 12.0)


def _negative_binomial_optimum(poisson, x0: np.ndarray, theta_cap: float):
    """The negative binomial fit: the Laplace deviance minimised at each size (warm-started
    from the last optimum) and the size chosen by Brent's method on the profile of the full
    log-likelihood in ``log size``, as lme4's ``glmer.nb`` does. Returns
    ``(objective, x, search, size)`` at the optimum, or ``None``."""
    from scipy import optimize

    from alliance_stats.models.laplace import (
        NegativeBinomial,
        count_log_likelihood,
        deviance_residuals,
    )

    y, w, n_theta = poisson.y, poisson.w, poisson.n_theta
    zero = np.zeros(len(y))
    fits: dict[float, tuple] = {}
    start = [x0]

    def profile(log_size: float) -> float:
        link = NegativeBinomial(float(np.exp(log_size)))
        own = poisson.with_link(link)
        found = _own_optimum(own, [own], start[0], theta_cap)
        if found is None:
            return np.inf
        x, search = found
        # the next size starts from these estimates, but a variance at 0 is a stationary
        # point of the deviance (it is even in theta): restart such a one at lme4's 1
        start[0] = np.r_[np.where(x[:n_theta] > 0.05, x[:n_theta], 1.0), x[n_theta:]]
        # -2 log L = Laplace deviance (deviance residuals) - 2 x the saturated log-likelihood
        saturated = count_log_likelihood(y, zero, w, link) + 0.5 * float(
            np.sum(deviance_residuals(y, zero, w, link))
        )
        total = float(search.deviance) - 2.0 * saturated
        fits[log_size] = (own, x, search, link.size, total)
        return total

    best = optimize.minimize_scalar(
        profile, bounds=LOG_SIZE_BOUNDS, method="bounded", options={"xatol": 1e-6}
    )
    if not fits or not np.isfinite(best.fun):
        return None
    own, x, search, size, _ = min(fits.values(), key=lambda f: f[4])
    return own, x, search, size


def fit_own_laplace(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    factor_levels: dict[str, list[str]],
    link: str,
    theta_cap: float,
    nagq: int = 1,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    family: str = "binomial",
) -> EngineFit | None:
    """A random-intercept binomial or Poisson model (Laplace or adaptive quadrature) fitted
    with our own deviance.

    The engine builds the model matrices (and drops dependent columns as its own fit does);
    :class:`~alliance_stats.models.laplace.InterceptLaplace` is minimised by bounded L-BFGS-B
    with its analytic gradient (fixed effects scaled to unit curvature, variance parameters
    capped at ``theta_cap``) from the GLM's estimates and variance parameters of 1 (lme4's
    start). With ``nagq > 1`` (one intercept) the Laplace optimum is the start of bounded
    L-BFGS-B (analytic gradient) on the quadrature deviance
    (:class:`~alliance_stats.models.quadrature.InterceptQuadrature`), as lme4 starts its
    ``nAGQ > 1`` fit from a simpler one. The engine's result object is then built at that
    optimum, so that ranef, predict and vcov work as after the engine's own fit. ``None``
    (the engine fits it) unless every random term is an intercept ``(1 | g)`` (nested and
    crossed factors included) and the deviance is finite at the start.
    """
    from mixedlm.families.negative_binomial import NegativeBinomial as NegativeBinomialFamily
    from mixedlm.models.glmer import GlmerResult
    from mixedlm.models.glmer_fit import GlmerMod

    from alliance_stats.models.laplace import InterceptLaplace

    if any(term.expr.strip() != "1" for term in parsed.random):
        return None
    model, matrices, msgs, printed = _engine_matrices(
        parsed,
        lambda: GlmerMod(
            parsed.text, data, family=engine_family(family, link), weights=weights, offset=offset
        ),
    )
    own = InterceptLaplace.from_mixedlm(matrices, "log" if family == "negative_binomial" else link)
    if own is None:
        return None
    n_theta = own.n_theta
    x0 = np.r_[np.ones(n_theta), own.glm_start()]
    if not np.isfinite(own(x0)):
        return None
    size = None
    if family == "negative_binomial":
        found = _negative_binomial_optimum(own, x0, theta_cap)
        if found is None:
            return None
        own, x, search, size = found
        engine_fam = NegativeBinomialFamily(theta=size)
    else:
        objectives = [own]
        if nagq > 1:
            from alliance_stats.models.quadrature import InterceptQuadrature

            objectives.append(InterceptQuadrature(own, nagq))
        found = _own_optimum(own, objectives, x0, theta_cap)
        if found is None:
            return None
        x, search = found
        engine_fam = model.family
    raw = GlmerResult(
        formula=model.formula,
        matrices=matrices,
        family=engine_fam,
        theta=np.asarray(x[:n_theta], dtype=float).copy(),
        beta=np.asarray(x[n_theta:], dtype=float).copy(),
        u=np.asarray(own.random_effects(x), dtype=float),
        deviance=float(search.deviance),
        converged=bool(search.attempts[-1].get("converged", True)),
        n_iter=int(sum(a["evaluations"] for a in search.attempts)),
        nAGQ=int(nagq),
        pirls_tol=model.control.tolPwrss,
        pirls_maxiter=model.control.pirls_maxiter,
        joint_fit=True,
        message="alliance_stats deviance, bounded L-BFGS-B",
        optimizer="L-BFGS-B",
    )
    ef = _own_fit(raw, own, parsed, data, "binomial", factor_levels, msgs, printed)
    if size is not None:  # the size is estimated too (lme4's glmer.nb counts it)
        ef.n_par += 1
        ef.nb_size = size
    return ef


def fit_own_lmm(
    parsed: ParsedFormula,
    data: pd.DataFrame,
    factor_levels: dict[str, list[str]],
    REML: bool,
    offset: np.ndarray | None = None,
) -> EngineFit | None:
    """A linear model fitted with our own profiled deviance.

    The engine builds the model matrices (and drops dependent columns as its own fit
    does); :class:`~alliance_stats.models.dense_lmm.DenseLMM` (any random structure, up to
    :data:`~alliance_stats.models.dense_lmm.MAX_RANDOM_EFFECTS` random effects) or, for
    more random intercepts, :class:`~alliance_stats.models.lmm.InterceptLMM` is minimised by
    bounded L-BFGS-B with its analytic gradient, and the engine's result object is built at
    that optimum, so that ranef, predict and the rest work as after the engine's own fit.
    ``None`` (the engine fits it) with prior weights, or for a model with random slopes and
    more random effects than that.
    """
    from mixedlm.models.lmer import LmerResult
    from mixedlm.models.lmer_fit import LmerMod

    from alliance_stats.models.dense_lmm import MAX_RANDOM_EFFECTS, DenseLMM
    from alliance_stats.models.lmm import InterceptLMM

    intercepts = all(term.expr.strip() == "1" for term in parsed.random)
    if not intercepts and _fewest_random_effects(parsed, data) > MAX_RANDOM_EFFECTS:
        return None  # (the engine fits it, without building its matrices twice)
    model, matrices, msgs, printed = _engine_matrices(
        parsed, lambda: LmerMod(parsed.text, data, REML=REML, offset=offset)
    )
    own = DenseLMM.from_mixedlm(matrices, REML)
    if own is None and intercepts:
        own = InterceptLMM.from_mixedlm(matrices, REML)
    if own is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            sol = own.fit()
        except (np.linalg.LinAlgError, ValueError):
            return None
    if not np.isfinite(sol.deviance):
        raise ModelFitError(
            f"the model '{parsed.text}' cannot be fitted: its fixed effects reproduce "
            f"'{parsed.response}' exactly (no residual variation is left for a variance to "
            "explain). Check that the outcome is not computed from a predictor"
        )
    raw = LmerResult(
        formula=model.formula,
        matrices=matrices,
        theta=sol.theta.copy(),
        beta=sol.beta.copy(),
        sigma=sol.sigma,
        u=sol.b.copy(),
        deviance=sol.deviance,
        REML=REML,
        converged=sol.converged,
        n_iter=sol.evaluations,
        message="alliance_stats profiled deviance, bounded L-BFGS-B",
        function_evals=sol.evaluations,
        optimizer="L-BFGS-B",
        control=model.control,
    )
    ef = _own_fit(raw, own, parsed, data, "gaussian", factor_levels, msgs, printed)
    ef._vcov = sol.sigma**2 * sol.M_inv
    return ef


def _fewest_random_effects(parsed: ParsedFormula, data: pd.DataFrame) -> int:
    """A lower bound on the number of random effects: per random term, the levels of its
    grouping factor (at least those of its most varied variable)."""
    return sum(max(int(data[g].nunique()) for g in t.group_factors) for t in parsed.random)


def _engine_matrices(parsed: ParsedFormula, build):
    """The engine's model (``build()``) and its checked matrices (dependent columns dropped
    as its own fit drops them), with its warnings and printed output kept ours:
    ``(model, matrices, warning messages, printed text)``."""
    from mixedlm.models.checks import run_model_checks

    printed = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("always")
            model = build()
            matrices, _ = run_model_checks(model.matrices, model.control)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the engine rejected the model '{parsed.text}': {exc}") from exc
    msgs = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return model, matrices, msgs, printed.getvalue()


def _own_fit(raw, own, parsed, data, family, factor_levels, msgs, printed) -> EngineFit:
    """The :class:`EngineFit` of an engine result built at our own optimum (``own``: the
    objective), with the columns the engine dropped as dependent."""
    ef = translate(raw, parsed, family, factor_levels, msgs)
    ef.fitted_by = "own"
    ef.objective = own
    if "rank deficient" in printed:
        X, names = full_design(parsed, data, family, factor_levels)
        ef.full_design = (X, names)
        ef.dropped = [n for n in names if n not in ef.names]
    return ef


def full_design(
    parsed: ParsedFormula, data: pd.DataFrame, family: str, factor_levels: dict
) -> tuple[np.ndarray, list[str]]:
    """The fixed-effects design with every column (none dropped), with lme4's names."""
    import mixedlm as ml

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if family == "gaussian":
            built = ml.lFormula(parsed.text, data)
        else:
            built = ml.glFormula(parsed.text, data)
    names = lme4_names(list(built.matrices.fixed_names), factor_levels)
    return np.asarray(built.X, dtype=float), names


def translate(
    raw: Any,
    parsed: ParsedFormula,
    family: str,
    factor_levels: dict[str, list[str]],
    msgs: list[str] | None = None,
) -> EngineFit:
    """Translate a mixedlm result into an :class:`EngineFit` with lme4's names."""
    gaussian = family == "gaussian"
    sigma = float(raw.sigma) if gaussian else 1.0
    names = lme4_names(list(raw.matrices.fixed_names), factor_levels)
    ll = raw.logLik()
    loglik = float(ll)
    n_theta = len(np.asarray(raw.theta))
    n_par = len(names) + n_theta + (1 if gaussian else 0)
    vc = varcorr_frame(raw, parsed, gaussian, sigma, factor_levels)
    n_groups = {}
    for s in raw.matrices.random_structures:
        n_groups[group_name(s.grouping_factor, parsed)] = int(s.n_levels)
    return EngineFit(
        beta=np.asarray(raw.beta, dtype=float).copy(),
        names=names,
        theta=np.asarray(raw.theta, dtype=float).copy(),
        varcorr=vc,
        loglik=loglik,
        deviance=-2.0 * loglik,
        n_par=n_par,
        nobs=int(raw.matrices.n_obs),
        n_groups=n_groups,
        converged=bool(raw.converged),
        singular=bool(raw.isSingular()),
        sigma=sigma,
        raw=raw,
        messages=list(msgs or []),
    )


def profile_fixed_effects(raw: Any, factor_levels: dict, conf_level: float) -> pd.DataFrame:
    """Profile-likelihood intervals of the fixed effects (the engine's root-finding profile
    on the ML deviance, as lme4's ``confint(method = "profile")``): ``term, conf_low,
    conf_high`` with lme4's term names."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            ci = raw.confint(method="profile", level=conf_level)
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
            raise ModelFitError(
                f"the profile of the fixed effects could not be traced: {exc}; use the Wald "
                "intervals or bootstrap()"
            ) from exc
    names = list(raw.matrices.fixed_names)
    lme4 = dict(zip(names, lme4_names(names, factor_levels)))
    rows = [(lme4[k], float(lo), float(hi)) for k, (lo, hi) in ci.items()]
    return pd.DataFrame(rows, columns=["term", "conf_low", "conf_high"])


def lmm_deviance_parts(theta: np.ndarray, matrices: Any) -> tuple[float, float]:
    """``(log det(L L'), penalised residual sum of squares)`` of a linear mixed model at the
    relative covariance parameters ``theta`` (the engine's penalised least squares; the ML
    deviance at ``sigma`` is ``ldL2 + n log(2 pi sigma^2) + pwrss / sigma^2``)."""
    from mixedlm.estimation.reml import profiled_deviance_components

    parts = profiled_deviance_components(np.asarray(theta, dtype=float), matrices, REML=False)
    return float(parts.ldL2), float(parts.pwrss)


def glmm_deviance(matrices: Any, family: Any, nagq: int = 1):
    """The engine's GLMM deviance (Laplace for ``nagq=1``, else adaptive quadrature) as a
    function of ``x = (theta, beta)``, with ``n_theta`` and the ``bounds`` of ``x``
    (``family``: the engine's family object, ``raw.family``)."""
    from mixedlm.estimation.joint_glmm import JointGLMMObjective

    return JointGLMMObjective(matrices, family, nagq)


def theta_cells(q: int) -> list[tuple[int, int]]:
    """The cells of a correlated ``q``-term block's lower Cholesky factor in the engine's
    theta order (row by row: ``L11, L21, L22, L31, ...``).

    Examples
    --------
    >>> theta_cells(2)
    [(0, 0), (1, 0), (1, 1)]
    """
    return [(i, j) for i in range(q) for j in range(i + 1)]


def random_blocks(raw: Any, parsed: ParsedFormula, factor_levels: dict) -> list[tuple]:
    """Per random term, in the engine's theta order: ``(group, terms, correlated)`` with lme4's
    names (``Subject``, ``["(Intercept)", "Days"]``)."""
    groups = raw.VarCorr().groups
    out = []
    for s in raw.matrices.random_structures:
        terms = lme4_names(list(groups[s.grouping_factor].term_names), factor_levels)
        out.append((group_name(s.grouping_factor, parsed), terms, bool(s.correlated)))
    return out


def simulation_parts(raw: Any) -> dict:
    """What simulating new outcomes from a fit needs, engine-neutral: ``eta`` (the fixed part
    of the linear predictor, offset included), ``Z`` (sparse), ``blocks`` (per random term:
    its number of levels and a factor ``F`` with ``F F'`` its covariance; random effects are
    stored level by level) and the residual SD ``sigma`` (linear models)."""
    from scipy import sparse

    m = raw.matrices
    eta = np.asarray(m.X, dtype=float) @ np.asarray(raw.beta, dtype=float)
    if m.offset is not None:
        eta = eta + np.asarray(m.offset, dtype=float)
    groups = raw.VarCorr().groups
    blocks = []
    for s in m.random_structures:
        cov = np.asarray(groups[s.grouping_factor].cov, dtype=float)
        vals, vecs = np.linalg.eigh(cov)  # (a singular covariance has no Cholesky factor)
        blocks.append((int(s.n_levels), vecs * np.sqrt(np.clip(vals, 0, None))))
    return dict(eta=eta, Z=sparse.csr_matrix(m.Z), blocks=blocks, sigma=float(raw.sigma))
