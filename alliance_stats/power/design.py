"""The planned study (:class:`Design`), the effect to detect (:class:`Effect`), input checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alliance_stats.errors import InputError
from alliance_stats.power.checkpoint import to_jsonable

SCALES = ("hazard", "returning")
COMPONENTS = ("within", "between")


def check_number(name, value, low, high, integer=False, owner="Design"):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not np.isfinite(value) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise InputError(f"{owner}.{name} must be {kind} from {low} to {high}; got {value!r}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class Design:
    """A planned study: size, dropout level, variances and how often the strategy is used.

    Defaults describe a typical study (the simulator's defaults: 30 therapists with 10 clients
    each, up to 16 weekly sessions, 19.7% dropout).

    Parameters
    ----------
    n_therapists : int, default 30
        Therapists (2 or more).
    clients_per_therapist : int, default 10
        Clients per therapist.
    max_sessions : int, default 16
        Planned sessions per client.
    dropout_share : float, default 0.197
        Expected share of clients who drop out (Swift & Greenberg 2012).
    therapist_var : float, default 0.5
        Variance of therapists' random intercepts of the dropout log-odds.
    client_var : float, default 0.0
        Variance of a client frailty in the simulated dropout log-odds. The analysis model
        (the dropout hazard of :mod:`alliance_stats.engagement`) has none, since one spell per
        client does not identify it: a positive value studies that misspecification.
    strategy_use : float, default 0.4
        Share of sessions in which the focal strategy is used (average therapist).
    within_alliance_log_or, between_alliance_log_or : float, default -0.07, -0.05
        Dropout log odds ratios per WAI-SR total point of the within- and between-client
        alliance rating (running split) in the simulated data.
    component : {"within", "between"}, default "within"
        Which part of the strategy is tested: ``within`` (the session against the client's
        running rate so far: ``s_within``) or ``between`` (that rate: ``s_between``).
    covariates : tuple of str, default ("wai_sr_total",)
        Session-table columns entered as fixed effects (split into running within/between
        parts when they vary within clients). The default adjusts for the alliance rating,
        which drives dropout in the simulated data.
    simulation : dict, default {}
        Any other :class:`alliance_stats.simulate.StudyParameters` field, passed to the
        simulator (e.g. ``{"no_show_rate": 0.1}``).

    Notes
    -----
    The focal strategy gets one per-session effect on the dropout hazard: its true within- and
    between-client log odds ratios (``strategy_dropout_log_or`` and
    ``strategy_dropout_between_log_or``) are both set to it. By default the focal
    strategy is not used more in resistant sessions and does not shift the alliance (it is
    unconfounded and has no indirect path), so that effect is also what the analysis model
    estimates; override ``simulation["strategy_resistance_log_or"]`` or
    ``simulation["strategy_alliance_effect"]`` to study confounding or mediation (bias and
    coverage are then judged against the direct effect).

    Examples
    --------
    >>> Design(clients_per_therapist=12).n_clients
    360
    """

    n_therapists: int = 30
    clients_per_therapist: int = 10
    max_sessions: int = 16
    dropout_share: float = 0.197
    therapist_var: float = 0.5
    client_var: float = 0.0
    strategy_use: float = 0.4
    within_alliance_log_or: float = -0.07
    between_alliance_log_or: float = -0.05
    component: str = "within"
    covariates: tuple[str, ...] = ("wai_sr_total",)
    simulation: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(
            self, "n_therapists", check_number("n_therapists", self.n_therapists, 2, 100_000, True)
        )
        set_(
            self,
            "clients_per_therapist",
            check_number("clients_per_therapist", self.clients_per_therapist, 1, 100_000, True),
        )
        set_(self, "max_sessions", check_number("max_sessions", self.max_sessions, 2, 500, True))
        set_(self, "dropout_share", check_number("dropout_share", self.dropout_share, 0.001, 0.95))
        set_(self, "therapist_var", check_number("therapist_var", self.therapist_var, 0.0, 4.0))
        set_(self, "client_var", check_number("client_var", self.client_var, 0.0, 4.0))
        set_(self, "strategy_use", check_number("strategy_use", self.strategy_use, 0.001, 0.999))
        for name in ("within_alliance_log_or", "between_alliance_log_or"):
            set_(self, name, check_number(name, getattr(self, name), -1.0, 1.0))
        if self.component not in COMPONENTS:
            raise InputError(
                f"Design.component must be one of {COMPONENTS}; got {self.component!r}"
            )
        cov = self.covariates
        if isinstance(cov, str):
            cov = (cov,)
        if not isinstance(cov, Sequence) or not all(isinstance(c, str) for c in cov):
            raise InputError(
                f"Design.covariates must be a list of column names; got {self.covariates!r}"
            )
        set_(self, "covariates", tuple(cov))
        if not isinstance(self.simulation, Mapping):
            raise InputError(
                "Design.simulation must be a dict of StudyParameters fields, e.g. "
                f"{{'no_show_rate': 0.1}}; got {type(self.simulation).__name__}"
            )
        reserved = {
            "dropout_share",
            "strategy_dropout_between_log_or",
            "therapist_dropout_var",
            "client_dropout_var",
            "within_alliance_log_or",
            "between_alliance_log_or",
            "strategy_use",
        }
        clash = sorted(reserved & set(self.simulation))
        if clash:
            raise InputError(
                f"Design.simulation must not set {clash}: use the Design fields (dropout_share, "
                "therapist_var, client_var, within/between_alliance_log_or, strategy_use)"
            )
        set_(self, "simulation", dict(self.simulation))

    @property
    def n_clients(self) -> int:
        """Total number of clients."""
        return self.n_therapists * self.clients_per_therapist

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the design."""
        out = dataclasses.asdict(self)
        out["covariates"] = list(self.covariates)
        out["simulation"] = to_jsonable(dict(self.simulation))
        return out

    def simulation_arguments(self, strategy: str, hazard_log_or: float) -> dict[str, Any]:
        """Keyword arguments of :func:`alliance_stats.simulate_study` for one replicate."""
        from alliance_stats.simulate import StudyParameters

        sim = dict(self.simulation)
        dropout = dict(sim.pop("strategy_dropout_log_or", {}))
        dropout[strategy] = hazard_log_or
        default = StudyParameters().strategy_resistance_log_or
        responsive = {k: v for k, v in default.items() if k != strategy and v}
        responsive.update(sim.pop("strategy_resistance_log_or", {}))
        alliance = dict(sim.pop("strategy_alliance_effect", {}))
        return dict(
            n_therapists=self.n_therapists,
            clients_per_therapist=self.clients_per_therapist,
            max_sessions=self.max_sessions,
            dropout_share=self.dropout_share,
            therapist_dropout_var=self.therapist_var,
            client_dropout_var=self.client_var,
            within_alliance_log_or=self.within_alliance_log_or,
            between_alliance_log_or=self.between_alliance_log_or,
            strategy_use={strategy: self.strategy_use},
            strategy_dropout_log_or=dropout,
            strategy_dropout_between_log_or={strategy: hazard_log_or},
            strategy_resistance_log_or=responsive,
            strategy_alliance_effect=alliance,
            **sim,
        )


@dataclass(frozen=True)
class Effect:
    """The effect to detect: an odds ratio of one focal strategy.

    Parameters
    ----------
    odds_ratio : float, default 0.74
        ``scale="hazard"``: odds ratio of dropping out after a session where the strategy was
        used (below 1 = better retention; the default 0.74 = exp(-0.30) is the simulator's
        validation effect). ``scale="returning"``: odds ratio of coming back (above 1 = better).
    strategy : str, default "validation"
        A simulator strategy column (see ``alliance_stats.simulate.STRATEGIES``).
    scale : {"hazard", "returning"}
        Returning after a session is the complement of the discrete-time dropout hazard, so
        an odds ratio on returning is the inverse of the odds ratio on the hazard; the analysis
        model then has ``returned = 1 - event`` as its outcome.

    Examples
    --------
    >>> round(Effect(1.35, scale="returning").hazard_log_or, 3)
    -0.3
    """

    odds_ratio: float = 0.74
    strategy: str = "validation"
    scale: str = "hazard"

    def __post_init__(self):
        from alliance_stats.simulate import STRATEGIES

        odds = check_number("odds_ratio", self.odds_ratio, 0.01, 100.0, owner="Effect")
        object.__setattr__(self, "odds_ratio", odds)
        if self.strategy not in STRATEGIES:
            raise InputError(
                f"Effect.strategy must be one of the simulator's strategies {list(STRATEGIES)}; "
                f"got {self.strategy!r}"
            )
        if self.scale not in SCALES:
            raise InputError(f"Effect.scale must be one of {SCALES}; got {self.scale!r}")

    @property
    def log_or(self) -> float:
        """True log odds ratio on the analysis scale (the value bias and coverage use)."""
        return float(np.log(self.odds_ratio))

    @property
    def hazard_log_or(self) -> float:
        """The log odds ratio on the dropout hazard that the simulator is given."""
        return self.log_or if self.scale == "hazard" else -self.log_or

    @property
    def is_null(self) -> bool:
        return self.odds_ratio == 1.0

    @property
    def label(self) -> str:
        return f"{self.strategy} OR={self.odds_ratio:g} ({self.scale})"

    def null(self) -> Effect:
        """The same strategy and scale at an odds ratio of 1."""
        return dataclasses.replace(self, odds_ratio=1.0)


def as_design(design) -> Design:
    if design is None:
        return Design()
    if isinstance(design, Design):
        return design
    if isinstance(design, Mapping):
        unknown = sorted(set(design) - {f.name for f in dataclasses.fields(Design)})
        if unknown:
            raise InputError(
                f"design has unknown field(s) {unknown}; allowed: "
                f"{[f.name for f in dataclasses.fields(Design)]}"
            )
        return Design(**design)
    raise InputError(f"design must be a Design, a dict of its fields or None; got {design!r}")


def as_effects(effects) -> list[Effect]:
    if effects is None:
        return [Effect()]
    if isinstance(effects, (Effect, Mapping, int, float, np.number)) and not isinstance(
        effects, bool
    ):
        effects = [effects]
    if isinstance(effects, str) or not isinstance(effects, Sequence) or not effects:
        raise InputError(
            "effects must be an Effect, an odds ratio, a dict of Effect fields, or a non-empty "
            f"list of those; got {effects!r}"
        )
    out = []
    for e in effects:
        if isinstance(e, Effect):
            out.append(e)
        elif isinstance(e, Mapping):
            unknown = sorted(set(e) - {"odds_ratio", "strategy", "scale"})
            if unknown:
                raise InputError(
                    f"effect has unknown field(s) {unknown}; allowed: odds_ratio, strategy, scale"
                )
            out.append(Effect(**e))
        elif isinstance(e, (int, float, np.number)) and not isinstance(e, bool):
            out.append(Effect(float(e)))
        else:
            raise InputError(f"each effect must be an Effect, a dict or an odds ratio; got {e!r}")
    labels = [e.label for e in out]
    if len(set(labels)) != len(labels):
        raise InputError(f"effects are listed twice: {labels}")
    return out
