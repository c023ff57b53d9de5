"""MixedResult: the tidy, frozen result of :func:`alliance_stats.models.fit_mixed`.

Examples
--------
>>> import alliance_stats.models as m
>>> from alliance_stats.models.examples import sleepstudy
>>> res = m.fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy())
>>> res.coefficients.loc["Days", "estimate"].round(3)
np.float64(10.467)
>>> round(res.loglik, 2)
-871.81
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.display import format_p
from alliance_stats.errors import InputError, ModelFitError

COEF_COLUMNS = ("estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")
OR_COLUMNS = ("odds_ratio", "or_conf_low", "or_conf_high")
HR_COLUMNS = ("hazard_ratio", "hr_conf_low", "hr_conf_high")
RR_COLUMNS = ("rate_ratio", "rr_conf_low", "rr_conf_high")
#: Ratio columns of a GLMM's coefficients, by link: exp(estimate) is an odds ratio (logit), a
#: hazard ratio of the grouped-time proportional-hazards model (cloglog) or a rate ratio
#: (Poisson, log link).
RATIO_COLUMNS = {"logit": OR_COLUMNS, "cloglog": HR_COLUMNS, "log": RR_COLUMNS}
VARCORR_COLUMNS = ("grp", "var1", "var2", "vcov", "sdcor")
RANEF_COLUMNS = ("grpvar", "term", "grp", "condval", "condsd", "conf_low", "conf_high")


@dataclass(frozen=True)
class MixedResult:
    """A fitted linear or logistic mixed model.

    Attributes
    ----------
    formula, family, REML, nagq, engine
        What was fitted, and how (``nagq``: 1 = Laplace, > 1 adaptive Gauss-Hermite).
    coefficients : pandas.DataFrame
        Index ``term`` (lme4's names); columns ``estimate, std_error, statistic, p_value,
        conf_low, conf_high`` (Wald, normal reference) and for binomial models also
        ``odds_ratio, or_conf_low, or_conf_high``.
    varcorr : pandas.DataFrame
        ``grp, var1, var2, vcov, sdcor`` as lme4's ``as.data.frame(VarCorr(m))``.
    loglik, aic, bic, deviance : float
        Log-likelihood (the REML criterion's log-likelihood for REML fits), AIC, BIC and
        ``-2 * loglik``.
    nobs : int
        Rows used. ``n_groups``: levels per grouping factor.
    converged, singular : bool
        Convergence after the checks in :mod:`alliance_stats.models.robust`; a variance
        at zero or a correlation at +-1.
    notes : tuple of str
        Plain-language notes: rows dropped, optimum checks and restarts, SE method.
    se_method : str
        ``"hessian"`` (numerical Hessian over variance parameters and fixed effects, as
        lme4's default for GLMMs) or ``"model"`` (lme4's ``use.hessian = FALSE`` / the
        linear-model formula).
    bias_reduction : bool
        The fixed effects are Firth-type bias-reduced (``fit_mixed(bias_reduction=True)``).
    link : str
        ``"identity"`` (gaussian), ``"logit"`` or ``"cloglog"`` (binomial), ``"log"`` (poisson,
        negative binomial).
    nb_size : float or None
        The negative binomial size (lme4's ``getME(m, "glmer.nb.theta")``; the variance is
        ``mu + mu^2 / size``), estimated by maximum likelihood; ``None`` for other families.

    Examples
    --------
    >>> from alliance_stats.models.examples import fitted_example
    >>> res = fitted_example()  # fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy())
    >>> res.nobs, res.n_groups, res.converged, res.singular
    (180, {'Subject': 18}, True, False)
    >>> res.coefficients.loc["Days", ["estimate", "conf_low", "conf_high"]].round(2).tolist()
    [10.47, 7.44, 13.5]
    """

    formula: str
    family: str
    REML: bool
    nagq: int
    engine: str
    coefficients: pd.DataFrame
    varcorr: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    deviance: float
    nobs: int
    n_groups: dict[str, int]
    converged: bool
    singular: bool
    notes: tuple[str, ...]
    se_method: str
    n_par: int
    theta: np.ndarray = field(repr=False)
    vcov: pd.DataFrame = field(repr=False)
    conf_level: float = 0.95
    fit_seconds: float = field(default=float("nan"), repr=False)
    bias_reduction: bool = False
    link: str = "logit"
    nb_size: float | None = None
    _raw: Any = field(default=None, repr=False, compare=False)
    _frame: Any = field(default=None, repr=False, compare=False)
    _factor_levels: dict = field(default_factory=dict, repr=False, compare=False)
    _grouping: tuple = field(default=(), repr=False, compare=False)
    #: functions making the function-call columns (``I(age^2)``, ``poly(age, 2)1``) for new
    #: rows, and the names of those columns
    _recipes: tuple = field(default=(), repr=False, compare=False)
    _derived: tuple = field(default=(), repr=False, compare=False)
    #: the prior weights of the model rows (None: none), for refits such as bootstrap()
    _weights: Any = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        groups = ", ".join(f"{k}={v}" for k, v in self.n_groups.items())
        flag = "" if self.converged else ", NOT converged"
        flag += ", singular" if self.singular else ""
        return (
            f"MixedResult({self.family}, {self.formula!r}, nobs={self.nobs}, groups: {groups}, "
            f"logLik={self.loglik:.3f}{flag})"
        )

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table with ``term`` as a column (unrounded).

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> list(fitted_example().to_frame().columns[:3])
        ['term', 'estimate', 'std_error']
        """
        return self.coefficients.reset_index()

    @property
    def estimator(self) -> str:
        if self.family == "gaussian":
            return "REML" if self.REML else "ML"
        if self.bias_reduction:
            return "bias-reduced ML (Laplace, Firth-type penalty)"
        return "ML (Laplace)" if self.nagq == 1 else f"ML (adaptive GHQ, {self.nagq} points)"

    @property
    def model_frame(self) -> pd.DataFrame | None:
        """The rows the model was fitted on (outcome first, then every variable it used), a
        copy; ``None`` for a result built without them.

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> fitted_example().model_frame.shape[0] > 0
        True
        """
        return None if self._frame is None else self._frame.copy()

    @property
    def ratio_columns(self) -> tuple[str, ...]:
        """The exponentiated coefficient columns: odds ratios (logit), hazard ratios
        (cloglog), rate ratios (Poisson), none (gaussian)."""
        return RATIO_COLUMNS.get(self.link, ())

    @property
    def _kind(self) -> str:
        if self.family == "gaussian":
            return "Linear"
        if self.family == "poisson":
            return "Poisson (log link)"
        if self.family == "negative_binomial":
            return "Negative binomial (log link)"
        return "Logistic" if self.link == "logit" else "Binomial (cloglog link)"

    def _fixed_table(self) -> pd.DataFrame:
        cols = ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
        cols += list(self.ratio_columns)
        t = self.coefficients[cols].copy()
        t["p_value"] = [format_p(p) for p in t["p_value"]]
        return t

    def summary(self, digits: int = 3) -> str:
        """A journal-style text summary (rounded; the attributes stay unrounded).

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> print(fitted_example().summary().splitlines()[0])
        Linear mixed model (REML), engine mixedlm
        """
        kind = self._kind
        lines = [f"{kind} mixed model ({self.estimator}), engine {self.engine}"]
        lines.append(f"Formula: {self.formula}")
        groups = ", ".join(f"{k} {v}" for k, v in self.n_groups.items())
        lines.append(f"Observations: {self.nobs}; groups: {groups}")
        lines.append(
            f"logLik {self.loglik:.{digits}f}  AIC {self.aic:.{digits}f}  BIC {self.bic:.{digits}f}"
        )
        if self.nb_size is not None:
            lines.append(
                f"Negative binomial size {self.nb_size:.{digits + 1}g} (glmer.nb's theta; "
                "variance mu + mu^2 / size)"
            )
        lines.append("")
        lines.append(f"Fixed effects (Wald {self.conf_level:.0%} CI; SEs: {self.se_method}):")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            lines.append(self._fixed_table().round(digits).to_string())
        lines.append("")
        lines.append("Random effects:")
        vc = self.varcorr.copy()
        vc["var1"] = vc["var1"].fillna("")
        vc["var2"] = vc["var2"].fillna("")
        lines.append(vc.round(digits).to_string(index=False))
        status = "converged" if self.converged else "did NOT converge"
        lines.append("")
        lines.append(
            f"Fit {status}"
            + ("; singular (a variance at 0 or correlation at +-1)" if self.singular else "")
        )
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        kind = self._kind
        head = (
            f"<p><b>{kind} mixed model</b> ({html.escape(self.estimator)}): "
            f"<code>{html.escape(self.formula)}</code><br>"
            f"n = {self.nobs}; "
            + "; ".join(f"{html.escape(k)}: {v}" for k, v in self.n_groups.items())
            + f"; logLik = {self.loglik:.3f}, AIC = {self.aic:.2f}, BIC = {self.bic:.2f}</p>"
        )
        fixed = self._fixed_table().round(3).to_html(escape=True)
        vc = self.varcorr.round(3).to_html(index=False, escape=True, na_rep="")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        status = "converged" if self.converged else "<b>did not converge</b>"
        return (
            f"<div>{head}<p>Fixed effects</p>{fixed}<p>Random effects</p>{vc}"
            f"<p>Fit {status}{'; singular' if self.singular else ''}</p><ul>{notes}</ul></div>"
        )

    def plot(self, ax=None, intercept: bool = False):
        """Forest plot of the fixed effects with their confidence intervals (odds ratios for
        binomial models). Returns the matplotlib Axes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from alliance_stats.models.examples import fitted_example
        >>> ax = fitted_example().plot()
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * len(self.coefficients) + 1.2))
        t = self.coefficients
        if not intercept:
            t = t.drop(index="(Intercept)", errors="ignore")
        binom = bool(self.ratio_columns)
        ratio, low, high = self.ratio_columns or ("estimate", "conf_low", "conf_high")
        est, lo, hi = t[ratio], t[low], t[high]
        y = np.arange(len(t))[::-1]
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="k", capsize=3)
        ax.axvline(1.0 if binom else 0.0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, list(t.index))
        if binom:
            ax.set_xscale("log")
        ax.set_xlabel(ratio.replace("_", " ") if binom else "estimate")
        return ax

    # ------------------------------------------------------------------ quantities
    def _residual_variance(self) -> float:
        if self.family == "gaussian":
            return float(self.varcorr.loc[self.varcorr["grp"] == "Residual", "vcov"].iloc[0])
        if self.family in ("poisson", "negative_binomial"):
            raise InputError(
                f"icc() is not defined for a {self._kind.split(' (')[0]} model without a "
                "choice of the mean count (the level-1 variance depends on it); report the "
                "variances (varcorr) instead"
            )
        return float(np.pi**2 / 6 if self.link == "cloglog" else np.pi**2 / 3)

    def icc(self) -> pd.DataFrame:
        """Intraclass correlations from the random-intercept variances.

        For binomial models the level-1 variance is pi^2/3 (latent-scale ICC; pi^2/6 for the
        cloglog link). With random
        slopes, ICCs refer to covariate value 0 (the intercept).

        Returns
        -------
        pandas.DataFrame
            ``group, variance, icc``; the last row ``adjusted`` sums all groups.

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> fitted_example().icc()["group"].tolist()
        ['Subject', 'adjusted']
        """
        vc = self.varcorr
        ints = vc[(vc["var1"] == "(Intercept)") & vc["var2"].isna()]
        resid = self._residual_variance()
        total = float(ints["vcov"].sum()) + resid
        rows = [(g, float(v), float(v) / total) for g, v in zip(ints["grp"], ints["vcov"])]
        rows.append(("adjusted", total - resid, (total - resid) / total))
        return pd.DataFrame(rows, columns=["group", "variance", "icc"])

    def _random_variance(self) -> float:
        """Mean over rows of diag(Z Sigma Z') (Johnson 2014 extension for random slopes)."""
        frame = self._frame
        total = 0.0
        vc = self.varcorr
        for grp in vc["grp"].unique():
            if grp == "Residual":
                continue
            block = vc[vc["grp"] == grp]
            var_rows = block[block["var2"].isna()]
            terms = list(var_rows["var1"])
            cov = np.diag(var_rows["vcov"].to_numpy(dtype=float))
            for _, r in block[block["var2"].notna()].iterrows():
                i, j = terms.index(r["var1"]), terms.index(r["var2"])
                cov[i, j] = cov[j, i] = r["vcov"]
            if terms == ["(Intercept)"] or frame is None:
                total += float(cov[0, 0])
                continue
            cols = []
            for t in terms:
                if t == "(Intercept)":
                    cols.append(np.ones(len(frame)))
                elif t in frame.columns:
                    cols.append(frame[t].to_numpy(dtype=float))
                else:
                    raise InputError(f"r2(): random-effect term {t!r} is not a plain column")
            Z = np.column_stack(cols)
            total += float(np.mean(np.einsum("ij,jk,ik->i", Z, cov, Z)))
        return total

    def r2(self) -> pd.DataFrame:
        """Nakagawa's marginal and conditional R-squared (Nakagawa et al. 2017).

        Marginal = var(fixed) / (var(fixed) + var(random) + var(residual)); conditional
        adds the random variance to the numerator. Binomial models use the latent
        residual variance pi^2/3; random slopes use Johnson's (2014) extension.
        R equivalent: ``performance::r2_nakagawa(m)``.

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> fitted_example().r2().columns.tolist()
        ['r2_marginal', 'r2_conditional']
        """
        X = np.asarray(self._raw.matrices.X, dtype=float)
        var_f = float(np.var(X @ self.coefficients["estimate"].to_numpy(), ddof=1))
        var_r = self._random_variance()
        var_e = self._residual_variance()
        tot = var_f + var_r + var_e
        return pd.DataFrame(
            {"r2_marginal": [var_f / tot], "r2_conditional": [(var_f + var_r) / tot]}
        )

    def ranef(self, condvar: bool = True) -> pd.DataFrame:
        """Conditional modes of the random effects, with conditional SDs and intervals.

        The layout of lme4's ``as.data.frame(ranef(m, condVar = TRUE))``: one row per
        grouping factor, term and level. For linear models the modes are the BLUPs and the
        SDs come from ``sigma^2 * Lambda (Lambda' Z'Z Lambda + I)^-1 Lambda'`` at the fitted
        ``theta``; for logistic models they are the modes and curvature of the final
        penalized IRLS step at the reported optimum (lme4's definition). Intervals are
        ``condval -+ z * condsd`` at :attr:`conf_level` (they ignore the uncertainty in the
        fixed effects and variance parameters, as lme4's dotplots do).

        Parameters
        ----------
        condvar : bool, default True
            Compute the conditional SDs (``condsd``, ``conf_low``, ``conf_high`` are NaN
            otherwise; the columns are always there).

        Returns
        -------
        pandas.DataFrame
            ``grpvar, term, grp, condval, condsd, conf_low, conf_high``. Grouping factors
            ordered as in :attr:`varcorr`; nested factors named as lme4 names them
            (``client:therapist``, levels ``C001:T01``).

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> re = fitted_example().ranef()
        >>> re.columns.tolist()[:5]
        ['grpvar', 'term', 'grp', 'condval', 'condsd']

        R equivalent::

            as.data.frame(lme4::ranef(m, condVar = TRUE))
        """
        from scipy import stats

        from alliance_stats.models.engines import group_name, lme4_term_name
        from alliance_stats.models.formula import parse_formula

        if not isinstance(condvar, (bool, np.bool_)):
            raise InputError(f"condvar must be True or False, got {condvar!r}")
        raw = self._raw
        if raw is None:
            raise InputError("ranef() needs the fitted engine object; refit with fit_mixed()")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = raw.ranef(condVar=bool(condvar))
        values = out.values if condvar else out
        cond = (out.condVar or {}) if condvar else {}
        structs: dict[str, Any] = {}
        for s in raw.matrices.random_structures:
            structs.setdefault(s.grouping_factor, s)
        items = list(structs.items())
        order = sorted(range(len(items)), key=lambda i: (-items[i][1].n_levels, i))
        z = stats.norm.ppf(0.5 + self.conf_level / 2)
        parsed = parse_formula(self.formula)
        frames = []
        for i in order:
            gname, struct = items[i]
            name = group_name(gname, parsed)
            levels = [k for k, _ in sorted(struct.level_map.items(), key=lambda kv: kv[1])]
            if name != gname:  # nested: engine 'T01/C001' -> lme4 'C001:T01'
                levels = [":".join(reversed(str(lv).split("/"))) for lv in levels]
            for term, vals in values.get(gname, {}).items():
                vals = np.asarray(vals, dtype=float)
                var = cond.get(gname, {}).get(term)
                sd = (
                    np.sqrt(np.clip(np.asarray(var, dtype=float), 0, None))
                    if var is not None
                    else np.full(len(vals), np.nan)
                )
                frames.append(
                    pd.DataFrame(
                        {
                            "grpvar": name,
                            "term": lme4_term_name(term, self._factor_levels),
                            "grp": [str(lv) for lv in levels],
                            "condval": vals,
                            "condsd": sd,
                            "conf_low": vals - z * sd,
                            "conf_high": vals + z * sd,
                        }
                    )
                )
        if not frames:
            return pd.DataFrame({c: [] for c in RANEF_COLUMNS})
        return pd.concat(frames, ignore_index=True)[list(RANEF_COLUMNS)]

    def profile_intervals(
        self, conf_level: float | None = None, variances: bool = True
    ) -> pd.DataFrame:
        """Profile-likelihood intervals (lme4's ``confint(m, method = "profile")``): each end is
        where the ML deviance, minimised over every other parameter, rises by the chi-squared
        quantile. Fixed effects for every model; the SDs (``sd_<term>|<group>``, ``sigma``),
        correlations (``cor_<term>.<term>|<group>``) and ICCs (``icc|<group>``) where
        :mod:`alliance_stats.models.profile` traces them (linear models; binomial and Poisson
        models with random intercepts, or with random slopes on one grouping factor; negative
        binomial models, the size held at its estimate). Other variance parameters:
        :meth:`bootstrap`.
        ``variances=False``: the fixed effects only (fast).

        Returns
        -------
        pandas.DataFrame
            ``term, kind, estimate, conf_low, conf_high`` (fixed effects on the linear
            predictor's scale: log odds, log rates; SDs and ICCs on their own), with
            ``conf_level``, ``method`` and ``variances`` (profiled or not) in ``attrs``. The
            estimates are the fit's (REML ones for a REML fit); the intervals come from the ML
            deviance, as lme4's do.

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> fitted_example().profile_intervals(variances=False).round(2)["conf_low"].tolist()
        [237.68, 7.36]
        """
        from alliance_stats.models.bootstrap import parameter_estimates
        from alliance_stats.models.engines import lme4_names, profile_fixed_effects, random_blocks
        from alliance_stats.models.formula import parse_formula
        from alliance_stats.models.laplace import NegativeBinomial
        from alliance_stats.models.profile import (
            joint_glmm,
            joint_glmm_intervals,
            variance_intervals,
        )

        level = self.conf_level if conf_level is None else conf_level
        if not (isinstance(level, float) and 0.5 <= level < 1):
            raise InputError(f"conf_level must be a float in [0.5, 1), got {level!r}")
        parsed = parse_formula(self.formula)
        blocks = random_blocks(self._raw, parsed, self._factor_levels)

        def own_profile():
            names = lme4_names(list(self._raw.matrices.fixed_names), self._factor_levels)
            se = self.coefficients["std_error"].reindex(names).to_numpy(float)
            link = {
                "poisson": "log",
                "negative_binomial": NegativeBinomial(self.nb_size or 1.0),
            }.get(self.family, self.link)
            return joint_glmm_intervals(self._raw, link, blocks, names, se, level, variances)

        joint = own_profile() if joint_glmm(self.family, self.nagq, blocks) else None
        if joint is None:
            try:
                out = profile_fixed_effects(self._raw, self._factor_levels, level)
            except ModelFitError:
                # the engine's profile needs its inner PIRLS to converge all along the
                # profile; a Laplace GLMM is profiled on our own deviance instead
                laplace = self.family in ("binomial", "poisson") and self.nagq == 1
                joint = own_profile() if laplace else None
                if joint is None:
                    raise
        if joint is not None:
            rows = joint
            fixed = [r for r in rows if r[1] == "fixed"]
            rows = [r for r in rows if r[1] != "fixed"]
            out = pd.DataFrame(
                [(r[0], r[3], r[4]) for r in fixed], columns=["term", "conf_low", "conf_high"]
            )
        else:
            rows = (
                variance_intervals(self._raw, self.family, self.link, self.nagq, blocks, level)
                if variances
                else []
            )
        out.insert(1, "estimate", self.coefficients["estimate"].reindex(out["term"]).to_numpy())
        out.insert(1, "kind", "fixed")
        if rows:
            extra = pd.DataFrame(
                rows, columns=["term", "kind", "estimate", "conf_low", "conf_high"]
            )
            # the fit's own estimates (REML ones for a REML fit; the profile is the ML one)
            fitted = parameter_estimates(self)[0]
            extra["estimate"] = [fitted.get(t, e) for t, e in zip(extra["term"], extra["estimate"])]
            out = pd.concat([extra, out], ignore_index=True)
        out.attrs.update(
            conf_level=level,
            method="profile likelihood (ML deviance)",
            variances="profiled"
            if rows
            else "not asked for"
            if not variances
            else "not profiled for this structure: use bootstrap()",
        )
        return out

    def simulation_inputs(self) -> dict:
        """What a parametric bootstrap needs to simulate and refit this model: the engine's
        parts (:func:`~alliance_stats.models.engines.simulation_parts`: ``eta``, ``Z``,
        ``blocks``, ``sigma``), the model rows (``frame``, outcome first) and the prior
        ``weights`` (None: none).

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> sorted(fitted_example().simulation_inputs())[:3]
        ['Z', 'blocks', 'eta']
        """
        from alliance_stats.models.engines import simulation_parts

        if self._raw is None or self._frame is None:
            raise InputError("this result has no fitted model to simulate from; use fit_mixed()")
        return {**simulation_parts(self._raw), "frame": self._frame, "weights": self._weights}

    def bootstrap(self, n_boot: int = 1000, seed=None, n_jobs: int = 1, conf_level=None):
        """Parametric bootstrap percentile intervals of the fixed effects, SDs, correlations
        and ICCs (:func:`alliance_stats.models.bootstrap.bootstrap`; lme4's
        ``confint(m, method = "boot")``).

        Examples
        --------
        >>> from alliance_stats.models.examples import fitted_example
        >>> fitted_example().bootstrap(n_boot=20, seed=1).n_boot
        20
        """
        from alliance_stats.models.bootstrap import bootstrap

        return bootstrap(self, n_boot=n_boot, seed=seed, n_jobs=n_jobs, conf_level=conf_level)

    def predict(
        self, newdata: pd.DataFrame | None = None, re_form: str | None = None, type="response"
    ) -> pd.Series:
        """Predictions, with random effects (``re_form=None``) or without (``re_form="~0"``).

        Levels of a grouping factor not seen in fitting get random effects of zero (lme4's
        ``allow.new.levels = TRUE``). ``type="response"`` gives probabilities for binomial
        models, ``type="link"`` the log-odds. R: ``predict(m, newdata, re.form = NA)``.

        Examples
        --------
        >>> import pandas as pd
        >>> from alliance_stats.models.examples import fitted_example
        >>> new = pd.DataFrame({"Days": [0.0, 0.0], "Subject": ["308", "new"]})
        >>> fitted_example().predict(new).round(1).tolist()
        [253.7, 251.4]
        """
        if type not in ("response", "link"):
            raise InputError("type must be 'response' or 'link'")
        if re_form not in (None, "~0", "NA", "~ 0"):
            raise InputError("re_form must be None (all random effects) or '~0' (none)")
        ref = None if re_form is None else "~0"
        if newdata is None:
            newdata = self._frame
        else:
            newdata = self._prepare_newdata(newdata)
        mtype = "response" if type == "response" else "link"
        kwargs = {"type": mtype} if self.family != "gaussian" else {}
        values = self._raw.predict(newdata, re_form=ref, allow_new_levels=True, **kwargs)
        return pd.Series(np.asarray(values, dtype=float), index=newdata.index, name="predicted")

    def _prepare_newdata(self, newdata: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(newdata, pd.DataFrame):
            raise InputError("newdata must be a pandas DataFrame")
        d = newdata.copy()
        needed = [c for c in self._frame.columns if c != self._frame.columns[0]]
        missing = [
            c
            for c in needed
            if c not in d.columns and c not in self._grouping and c not in self._derived
        ]
        if missing:
            raise InputError(f"newdata lacks the column(s) {missing} used by the model")
        for recipe in self._recipes:  # I(), factor(), poly(), scale() ... on the new rows
            for c, values in recipe(d).items():
                d[c] = values
        for c in needed:
            if c not in d.columns:
                d[c] = "__new_level__"
            if c in self._grouping:
                d[c] = d[c].astype("str")
            elif c in self._factor_levels:
                levels = self._factor_levels[c]
                bad = set(d[c].dropna().astype(str)) - set(levels)
                if bad:
                    raise InputError(f"newdata column '{c}' has unknown level(s) {sorted(bad)}")
                d[c] = pd.Categorical(d[c].astype(str), categories=levels)
            else:
                d[c] = d[c].astype("float64")
        resp = self._frame.columns[0]
        if resp not in d.columns:
            d[resp] = 0.0
        return d
