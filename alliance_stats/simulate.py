"""Simulate a psychotherapy study in the canonical session-table format.

The simulated data are for teaching, testing and power analysis: **no real
client is in them**. Every generating parameter lives in :class:`StudyParameters`;
:func:`simulate_study` returns a :class:`SimulatedStudy` with the session table
and the truth it was generated from.

Data-generating model
---------------------
Design. ``n_therapists`` therapists each see ``clients_per_therapist`` clients.
Each client has a planned course (``max_sessions`` sessions, or a uniform draw
from ``planned_sessions_min..max_sessions``), scheduled weekly (with +/-2 days
of jitter) from a start date spread over ``enrolment_days``.

Resistance. Each client has a resistance propensity (random logit intercept,
higher with trait reactance) and a dominant resistance type (``fear``,
``ambivalence``, ``stigma``). Episodes follow a two-state Markov chain
(start probability set so that about ``resistance_rate`` of sessions are
resistant; an episode continues with probability ``resistance_persistence``).
The observer-coded rate ``resistance`` (sustain talk and discord per 100 client
utterances) is Gamma(2, 1.25) in calm sessions and Gamma(3, 4) in resistant ones.

Strategies. Strategy ``k`` is used in a session with probability ``p``, where
``logit p = logit(strategy_use[k]) + therapist propensity
+ strategy_resistance_log_or[k] * resistant``.

Latent alliance (for client ``c`` of therapist ``j`` at session ``t``)::

    alliance = alliance_mean + u_j + u_c + (alliance_slope + s_c) * (t - 1)
               + resistance_alliance_effect * resistant_ct
               + sum_k strategy_alliance_effect[k] * strategy_kct
               - rupture_deficit_ct + e_ct

with ``u_j ~ N(0, therapist_alliance_var)``, ``u_c ~ N(0, client_alliance_var)``,
``s_c ~ N(0, client_slope_var)``, ``e_ct ~ N(0, session_alliance_var)``.
Ruptures start with probability ``rupture_rate`` (doubled in resistant sessions),
drop the alliance by 1.5-3 within-client SDs and are repaired linearly over 1-3
sessions, except a share ``rupture_unrepaired_share`` that persist. They are
listed in ``truth["ruptures"]``.

Ratings. WAI-SR items (1-5) follow a graded-response model on the latent
alliance plus a session-level Task, Bond or Goal factor; SRS items (0-10, one
decimal) are a clipped linear function of the same (ceiling-heavy, total
around 35).

Engagement (dropout and no-shows), on the scale of the engagement models. Every
time-varying quantity ``x`` enters split from the past only, exactly as
:func:`alliance_stats.decompose_running` splits it: ``B_x`` = the client's mean of ``x``
over their attended sessions so far (this one included), ``W_x`` = ``x`` now minus
``B_x``. ``x`` is each strategy code (0/1) and the WAI-SR total the client gave
(12-60, the observed rating). ``period`` counts attended sessions (1, 2, ...).
After each attended session that is not the client's last planned one::

    logit h_ct = b0 + dropout_hazard_trend * log(period) + v_j + v_c
                 + sum_k (strategy_dropout_log_or[k] * W_k
                          + strategy_dropout_between_log_or[k] * B_k)
                 + within_alliance_log_or * W_wai + between_alliance_log_or * B_wai
                 + resistance_dropout_log_or * resistant_ct

is the hazard of dropping out after it (the client does not come back; the next
scheduled session is their last row, ``attended=False``), with
``v_j ~ N(0, therapist_dropout_var)`` and a client frailty ``v_c ~ N(0,
client_dropout_var)`` that is 0 by default (a single spell does not identify it; set
it to study misspecification). ``b0`` is calibrated (once per parameter set, on a
fixed pseudo-population of 10,000 clients) so that the expected share of clients who
drop out equals ``dropout_share`` (0 switches dropout off). A client who stays misses
the next scheduled session (a no-show, then returns) with probability ``q``::

    logit q_ct = a0 + a_j + a_c - sum_k (strategy_attendance_log_or[k] * W_k
                                         + strategy_attendance_between_log_or[k] * B_k)

with ``a_j ~ N(0, therapist_no_show_var)``, ``a_c ~ N(0, client_no_show_var)`` and
``a0`` set so that about ``no_show_rate`` of scheduled sessions are missed. A no-show
is always followed by an attended session; one at the last planned session is made
up by one extra session. Without dropout (``dropout_share=0``) whether a client
attends the next session follows exactly the next-session attendance model; with
dropout, a missed next session is either. ``truth["estimands"]`` lists every
coefficient under the term names the models use.

Outcome. ``outcome = outcome_mean + outcome_sd * (r * z_c + w_j + e_c)``, where
``z_c`` is the standardised mean latent alliance over the planned course,
``r = alliance_outcome_r`` and the therapist term ``w_j`` is sized so that
therapists account for ``therapist_share_outcome`` of the outcome variance.
"""

from __future__ import annotations

import dataclasses
import html
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from alliance_stats import schema
from alliance_stats.arguments import seed_sequence
from alliance_stats.errors import InputError

__all__ = [
    "RESISTANCE_TYPES",
    "estimands",
    "SRS_ITEMS",
    "STRATEGIES",
    "SimulatedStudy",
    "StudyParameters",
    "WAI_SR_ITEMS",
    "WAI_SR_SUBSCALES",
    "simulate_study",
]

#: Strategy columns the simulator writes (0/1 per attended session): codes of the default
#: strategy codebook (alliance_stats.default_codebook()), whose labels the analyses show.
STRATEGIES = (
    "validation",
    "open_questions",
    "reflections",
    "offering_choices",
    "explaining_rationale",
    "slowed_pacing",
    "feedback_checkin",
    "co_created_goals",
)
#: Resistance types (``resistance_type`` is one of these or ``"none"``).
RESISTANCE_TYPES = ("fear", "ambivalence", "stigma")
WAI_SR_ITEMS = tuple(f"wai_{i}" for i in range(1, 13))
#: WAI-SR subscale key (Hatcher & Gillaspy 2006), 1-based item numbers.
WAI_SR_SUBSCALES = {"task": (1, 2, 10, 12), "bond": (3, 5, 7, 9), "goal": (4, 6, 8, 11)}
SRS_ITEMS = tuple(f"srs_{i}" for i in range(1, 5))
CLIENT_COLUMNS = ("age", "gender", "reactance", "outcome")

_DEFAULT_USE = {
    "validation": 0.40,
    "open_questions": 0.70,
    "reflections": 0.60,
    "offering_choices": 0.25,
    "explaining_rationale": 0.35,
    "slowed_pacing": 0.15,
    "feedback_checkin": 0.30,
    "co_created_goals": 0.25,
}
_DEFAULT_RESPONSIVE = {
    "validation": 1.0,
    "reflections": 0.4,
    "offering_choices": 0.6,
    "explaining_rationale": 0.5,
    "slowed_pacing": 1.2,
}
_DEFAULT_DROPOUT_LOG_OR = {"validation": -0.30, "feedback_checkin": -0.17}
_DEFAULT_DROPOUT_BETWEEN_LOG_OR = {"validation": -0.50, "feedback_checkin": -0.30}
_DEFAULT_ATTENDANCE_LOG_OR = {"validation": 0.25, "feedback_checkin": 0.20}
_DEFAULT_ATTENDANCE_BETWEEN_LOG_OR = {"validation": 0.40, "feedback_checkin": 0.30}
_DEFAULT_ALLIANCE_EFFECT = {"validation": 0.15}
_DEFAULT_TYPE_PROBS = {"fear": 0.4, "ambivalence": 0.4, "stigma": 0.2}

# Graded-response item parameters for the 12 WAI-SR items (fixed, not user-facing).
_WAI_DISCRIMINATION = np.array([1.3, 1.5, 1.2, 1.4, 1.6, 1.3, 1.5, 1.2, 1.4, 1.3, 1.5, 1.4])
_WAI_SHIFT = np.array([0.1, -0.1, -0.3, 0.2, -0.2, 0.0, -0.25, 0.15, -0.1, 0.05, 0.25, -0.05])
_WAI_THRESHOLDS = np.array([-2.1, -1.2, -0.2, 1.1])
_WAI_SUBSCALE_OF_ITEM = np.zeros(12, dtype=np.int64)
for _k, _items in enumerate(WAI_SR_SUBSCALES.values()):
    _WAI_SUBSCALE_OF_ITEM[np.array(_items) - 1] = _k

_CALIBRATION_SEED = 20_240_611
_CALIBRATION_DESIGN = (1000, 10)  # therapists x clients in the calibration pseudo-population


_MAPPING_FIELDS = frozenset(
    {
        "strategy_use",
        "strategy_resistance_log_or",
        "strategy_dropout_log_or",
        "strategy_dropout_between_log_or",
        "strategy_attendance_log_or",
        "strategy_attendance_between_log_or",
        "strategy_alliance_effect",
        "resistance_type_probs",
    }
)


def _meta(doc: str, low: float | None = None, high: float | None = None, integer: bool = False):
    return {"doc": doc, "range": (low, high), "integer": integer}


@dataclass(frozen=True)
class StudyParameters:
    """Generating parameters of :func:`simulate_study` (everything except the design size).

    Alliance quantities are on the latent scale (about 1 SD between clients).
    Log odds ratios (``*_log_or``) act on the per-session hazard of dropping out,
    so negative values mean better retention. See the module docstring for the model.

    Parameters
    ----------
    planned_sessions_min : int or None, default None
        Planned course length is uniform on ``planned_sessions_min..max_sessions``;
        None plans ``max_sessions`` for everyone.
    dropout_share : float, default 0.197
        Baseline dropout level: expected share of clients who drop out (Swift & Greenberg 2012);
        0 switches dropout off.
    dropout_hazard_trend : float, default -0.4
        Shape of the baseline hazard: change of the dropout log-odds per unit of log(period)
        (negative: dropout is likelier early in treatment).
    no_show_rate : float, default 0.08
        About this share of a staying client's scheduled sessions are missed (no-shows, after
        which the client returns).
    client_no_show_var, therapist_no_show_var : float, default 0.5, 0.3
        Variances of client and therapist random intercepts of the no-show log-odds.
    enrolment_days : int, default 730
        Clients' first sessions are spread uniformly over this many days from 2022-01-03.
    alliance_mean : float, default 0.8
        Latent alliance at session 1 for an average client (sets the WAI-SR item mean near 3.9).
    alliance_slope : float, default 0.03
        Average change in latent alliance per session.
    therapist_alliance_var : float, default 0.08
        Variance of therapist random intercepts of the alliance.
    client_alliance_var : float, default 0.8
        Variance of client random intercepts of the alliance.
    client_slope_var : float, default 0.0009
        Variance of client random slopes of the alliance (per session).
    session_alliance_var : float, default 0.3
        Within-client session-to-session noise variance of the alliance.
    therapist_dropout_var : float, default 0.5
        Variance of therapist random intercepts of the dropout log-odds (latent-scale ICC
        0.5 / (0.5 + pi^2 / 3), about 13%; smaller values leave the therapist variance of a
        typical study's 60 or so dropouts often estimated at 0).
    client_dropout_var : float, default 0.0
        Variance of a client frailty in the dropout log-odds. Not identified from one spell
        per client, so 0 by default; a positive value makes the default model misspecified.
    within_alliance_log_or : float, default -0.07
        Dropout log OR per WAI-SR total point of the session's rating above the client's
        running mean (``wai_sr_total_within``).
    between_alliance_log_or : float, default -0.05
        Dropout log OR per WAI-SR total point of the client's running mean rating
        (``wai_sr_total_between``).
    resistance_dropout_log_or : float, default 0.0
        Direct dropout log OR of a resistant session (beyond its effect on the alliance).
    strategy_use : dict, default see ``_DEFAULT_USE``
        Probability each strategy is used in a non-resistant session (average therapist);
        strategies not given keep their default.
    strategy_resistance_log_or : dict
        Log OR of using each strategy in a resistant vs calm session; unlisted = 0.
    strategy_therapist_sd : float, default 0.5
        SD of therapists' logit propensity to use each strategy.
    strategy_dropout_log_or : dict, default ``{"validation": -0.30, "feedback_checkin": -0.17}``
        Within-client dropout log OR of a session with the strategy against one without
        (``<code>_within``); unlisted = 0 (null).
    strategy_dropout_between_log_or : dict, default validation -0.50, feedback_checkin -0.30
        Between-client dropout log OR per unit of the client's running share of sessions with
        the strategy (0 to 1; ``<code>_between``); unlisted = 0.
    strategy_attendance_log_or : dict, default validation 0.25, feedback_checkin 0.20
        Within-client log OR of attending the next session (no no-show); unlisted = 0.
    strategy_attendance_between_log_or : dict, default validation 0.40, feedback_checkin 0.30
        Between-client log OR of attending the next session per unit of the running share.
    strategy_alliance_effect : dict, default ``{"validation": 0.15}``
        Shift of the latent alliance in sessions where the strategy is used; unlisted = 0.
    resistance_rate : float, default 0.25
        Resistance frequency: approximate share of sessions with a resistance episode.
    resistance_persistence : float, default 0.4
        Probability a resistance episode continues into the next session.
    resistance_alliance_effect : float, default -0.4
        Shift of the latent alliance in resistant sessions.
    resistance_type_probs : dict, default fear .4, ambivalence .4, stigma .2
        Probabilities of each client's dominant resistance type (must sum to 1).
    rupture_rate : float, default 0.05
        Per-session probability a rupture starts (doubled in resistant sessions).
    rupture_unrepaired_share : float, default 0.2
        Share of ruptures that are never repaired.
    alliance_outcome_r : float, default 0.29
        Correlation of the outcome with the client's latent mean alliance (observed
        WAI-SR means then correlate about .28 with it; Flückiger et al. 2018).
    therapist_share_outcome : float, default 0.05
        Share of outcome variance between therapists (Johns et al. 2019).
    outcome_mean : float, default 12.0
        Mean pre-post improvement (points on a 0-100 symptom scale; positive = better).
    outcome_sd : float, default 14.0
        SD of the pre-post improvement.
    item_missing_rate : float, default 0.0
        Share of single WAI-SR/SRS item responses left blank on attended sessions.
    outcome_missing_dropout : float, default 0.0
        Share of dropouts whose outcome is missing (no post-treatment measure).

    Examples
    --------
    >>> p = StudyParameters(dropout_share=0.3, strategy_dropout_log_or={"offering_choices": -0.4})
    >>> p.dropout_share, p.strategy_dropout_log_or["validation"]  # unlisted strategies are null
    (0.3, 0.0)
    """

    planned_sessions_min: int | None = field(
        default=None, metadata=_meta("planned course lower bound", 2, 500, True)
    )
    dropout_share: float = field(default=0.197, metadata=_meta("dropout share", 0.0, 0.95))
    dropout_hazard_trend: float = field(default=-0.4, metadata=_meta("log OR", -5.0, 5.0))
    no_show_rate: float = field(default=0.08, metadata=_meta("no-show rate", 0.0, 0.5))
    client_no_show_var: float = field(default=0.5, metadata=_meta("variance", 0.0, 4.0))
    therapist_no_show_var: float = field(default=0.3, metadata=_meta("variance", 0.0, 4.0))
    enrolment_days: int = field(default=730, metadata=_meta("enrolment window", 0, 36500, True))
    alliance_mean: float = field(default=0.8, metadata=_meta("alliance mean", -4.0, 4.0))
    alliance_slope: float = field(default=0.03, metadata=_meta("alliance slope", -0.5, 0.5))
    therapist_alliance_var: float = field(default=0.08, metadata=_meta("variance", 0.0, 4.0))
    client_alliance_var: float = field(default=0.8, metadata=_meta("variance", 0.0, 4.0))
    client_slope_var: float = field(default=0.0009, metadata=_meta("variance", 0.0, 0.25))
    session_alliance_var: float = field(default=0.3, metadata=_meta("variance", 0.01, 4.0))
    therapist_dropout_var: float = field(default=0.5, metadata=_meta("variance", 0.0, 4.0))
    client_dropout_var: float = field(default=0.0, metadata=_meta("variance", 0.0, 4.0))
    within_alliance_log_or: float = field(default=-0.07, metadata=_meta("log OR", -1.0, 1.0))
    between_alliance_log_or: float = field(default=-0.05, metadata=_meta("log OR", -1.0, 1.0))
    resistance_dropout_log_or: float = field(default=0.0, metadata=_meta("log OR", -5.0, 5.0))
    strategy_use: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_USE), metadata=_meta("probability", 0.001, 0.999)
    )
    strategy_resistance_log_or: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_RESPONSIVE), metadata=_meta("log OR", -5.0, 5.0)
    )
    strategy_therapist_sd: float = field(default=0.5, metadata=_meta("SD", 0.0, 3.0))
    strategy_dropout_log_or: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_DROPOUT_LOG_OR), metadata=_meta("log OR", -5.0, 5.0)
    )
    strategy_dropout_between_log_or: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_DROPOUT_BETWEEN_LOG_OR),
        metadata=_meta("log OR", -5.0, 5.0),
    )
    strategy_attendance_log_or: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_ATTENDANCE_LOG_OR),
        metadata=_meta("log OR", -5.0, 5.0),
    )
    strategy_attendance_between_log_or: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_ATTENDANCE_BETWEEN_LOG_OR),
        metadata=_meta("log OR", -5.0, 5.0),
    )
    strategy_alliance_effect: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_ALLIANCE_EFFECT), metadata=_meta("shift", -3.0, 3.0)
    )
    resistance_rate: float = field(default=0.25, metadata=_meta("share", 0.0, 0.9))
    resistance_persistence: float = field(default=0.4, metadata=_meta("probability", 0.0, 0.95))
    resistance_alliance_effect: float = field(default=-0.4, metadata=_meta("shift", -3.0, 3.0))
    resistance_type_probs: Mapping[str, float] = field(
        default_factory=lambda: dict(_DEFAULT_TYPE_PROBS), metadata=_meta("probability", 0.0, 1.0)
    )
    rupture_rate: float = field(default=0.05, metadata=_meta("probability", 0.0, 0.5))
    rupture_unrepaired_share: float = field(default=0.2, metadata=_meta("share", 0.0, 1.0))
    alliance_outcome_r: float = field(default=0.29, metadata=_meta("correlation", -0.95, 0.95))
    therapist_share_outcome: float = field(default=0.05, metadata=_meta("share", 0.0, 0.5))
    outcome_mean: float = field(default=12.0, metadata=_meta("mean", -1e6, 1e6))
    outcome_sd: float = field(default=14.0, metadata=_meta("SD", 1e-6, 1e6))
    item_missing_rate: float = field(default=0.0, metadata=_meta("share", 0.0, 0.3))
    outcome_missing_dropout: float = field(default=0.0, metadata=_meta("share", 0.0, 1.0))

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            low, high = f.metadata["range"]
            if f.name in _MAPPING_FIELDS:
                object.__setattr__(self, f.name, self._check_mapping(f.name, value, low, high))
            elif not (value is None and f.name == "planned_sessions_min"):
                _check_number(f.name, value, low, high, f.metadata["integer"])

    def _check_mapping(self, name, value, low, high):
        if not isinstance(value, Mapping):
            raise InputError(f"Parameter '{name}' must be a dict, got {type(value).__name__}.")
        keys = RESISTANCE_TYPES if name == "resistance_type_probs" else STRATEGIES
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise InputError(
                f"Parameter '{name}' has unknown key(s) {unknown}; allowed keys: {list(keys)}."
            )
        for key, v in value.items():
            _check_number(f"{name}[{key!r}]", v, low, high, False)
        if name == "strategy_use":
            full = {k: float(value.get(k, _DEFAULT_USE[k])) for k in keys}
        else:
            full = {k: float(value.get(k, 0.0)) for k in keys}
        if name == "resistance_type_probs" and not math.isclose(sum(full.values()), 1.0):
            raise InputError(
                f"Parameter '{name}' must sum to 1 over {list(keys)}; it sums to "
                f"{sum(full.values()):.4g}."
            )
        return types.MappingProxyType(full)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-ready) dict of all parameters.

        Examples
        --------
        >>> StudyParameters().to_dict()["dropout_share"]
        0.197
        """
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """Table of parameters: name, default, allowed range.

        Examples
        --------
        >>> "dropout_share" in StudyParameters.describe()["name"].tolist()
        True
        """
        d = cls().to_dict()
        rows = []
        for f in dataclasses.fields(cls):
            low, high = f.metadata["range"]
            rows.append({"name": f.name, "default": d[f.name], "low": low, "high": high})
        return pd.DataFrame(rows)

    def _key(self) -> str:
        return repr(sorted(self.to_dict().items()))


def _check_number(name, value, low, high, integer):
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    if integer:
        ok_type = ok_type and float(value).is_integer()
    kind = "an integer" if integer else "a number"
    if not ok_type or not np.isfinite(value) or not (low <= value <= high):
        raise InputError(
            f"Parameter '{name}' must be {kind} between {low} and {high}; got {value!r}."
        )


def _field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(StudyParameters)]


# --------------------------------------------------------------------------- generation


def _latent_components(rng: np.random.Generator, n_t: int, n_per: int, n_plan_max: int, p):
    """Everything except engagement and the ratings. Matrices are clients x session slots.

    There is one slot more than the longest planned course, for a make-up session.
    """
    n_c = n_t * n_per
    ther = np.repeat(np.arange(n_t), n_per)
    n_s = n_plan_max + 1
    t_idx = np.arange(n_s)
    lo = n_plan_max
    if p.planned_sessions_min is not None:
        lo = min(int(p.planned_sessions_min), n_plan_max)
    planned = rng.integers(lo, n_plan_max + 1, size=n_c)
    scheduled = t_idx[None, :] < planned[:, None]

    reactance_z = rng.standard_normal(n_c)

    # resistance: two-state Markov chain per client
    pi = p.resistance_rate
    pc = p.resistance_persistence
    if pi > 0:
        p_start = min(pi * (1 - pc) / (1 - pi), 0.999)
        logit_start = special.logit(p_start) + 0.8 * rng.standard_normal(n_c) + 0.4 * reactance_z
        start_prob = special.expit(logit_start)
    else:
        start_prob = np.zeros(n_c)
    type_probs = np.array([p.resistance_type_probs[k] for k in RESISTANCE_TYPES])
    dominant = rng.choice(3, size=n_c, p=type_probs)
    u_res = rng.random((n_c, n_s))
    u_type = rng.random((n_c, n_s))
    other_type = rng.integers(0, 3, size=(n_c, n_s))
    resistant = np.zeros((n_c, n_s), dtype=bool)
    rtype = np.full((n_c, n_s), -1, dtype=np.int64)
    for t in range(n_s):
        prev = resistant[:, t - 1] if t else np.zeros(n_c, dtype=bool)
        prob = np.where(prev, pc, start_prob)
        now = u_res[:, t] < prob
        resistant[:, t] = now
        new_type = np.where(u_type[:, t] < 0.75, dominant, other_type[:, t])
        keep = now & prev
        rtype[:, t] = np.where(now, np.where(keep, rtype[:, t - 1] if t else -1, new_type), -1)
    res_rate = np.where(
        resistant, rng.gamma(3.0, 4.0, (n_c, n_s)), rng.gamma(2.0, 1.25, (n_c, n_s))
    )

    # strategies
    use = np.array([p.strategy_use[k] for k in STRATEGIES])
    resp = np.array([p.strategy_resistance_log_or[k] for k in STRATEGIES])
    ther_prop = p.strategy_therapist_sd * rng.standard_normal((n_t, len(STRATEGIES)))
    logit_use = (
        special.logit(use)[None, None, :]
        + ther_prop[ther][:, None, :]
        + resp[None, None, :] * resistant[:, :, None]
    )
    strat = (rng.random((n_c, n_s, len(STRATEGIES))) < special.expit(logit_use)).astype(float)

    # latent alliance
    u_t = math.sqrt(p.therapist_alliance_var) * rng.standard_normal(n_t)
    u_c = math.sqrt(p.client_alliance_var) * rng.standard_normal(n_c)
    s_c = math.sqrt(p.client_slope_var) * rng.standard_normal(n_c)
    sd_w = math.sqrt(p.session_alliance_var)
    noise = sd_w * rng.standard_normal((n_c, n_s))
    a_eff = np.array([p.strategy_alliance_effect[k] for k in STRATEGIES])
    base = (
        p.alliance_mean
        + u_t[ther][:, None]
        + u_c[:, None]
        + (p.alliance_slope + s_c[:, None]) * t_idx[None, :]
        + p.resistance_alliance_effect * resistant
        + strat @ a_eff
        + noise
    )

    # ruptures
    u_rup = rng.random((n_c, n_s))
    depth = sd_w * rng.uniform(1.5, 3.0, (n_c, n_s))
    length = rng.integers(1, 4, (n_c, n_s))
    unrepaired = rng.random((n_c, n_s)) < p.rupture_unrepaired_share
    deficit = np.zeros((n_c, n_s))
    active_start = np.full(n_c, -1)
    active_depth = np.zeros(n_c)
    active_len = np.zeros(n_c)
    active_perm = np.zeros(n_c, dtype=bool)
    events = []
    for t in range(1, n_s):
        since = t - active_start
        ongoing = (active_start >= 0) & (active_perm | (since < active_len))
        rate = np.minimum(p.rupture_rate * np.where(resistant[:, t], 2.0, 1.0), 1.0)
        start = ~ongoing & scheduled[:, t] & (u_rup[:, t] < rate)
        if start.any():
            active_start = np.where(start, t, active_start)
            active_depth = np.where(start, depth[:, t], active_depth)
            active_len = np.where(start, length[:, t], active_len)
            active_perm = np.where(start, unrepaired[:, t], active_perm)
            idx = np.flatnonzero(start)
            events.append(
                (idx, np.full(idx.size, t), depth[idx, t], length[idx, t], unrepaired[idx, t])
            )
        since = t - active_start
        frac = np.where(active_perm, 1.0, np.clip(1.0 - since / np.maximum(active_len, 1), 0, 1))
        deficit[:, t] = np.where(active_start >= 0, active_depth * frac, 0.0)
    latent = base - deficit

    # client mean over the planned course (drives the outcome)
    n_plan = scheduled.sum(axis=1)
    client_mean = np.where(scheduled, latent, 0.0).sum(axis=1) / n_plan

    return {
        "n_c": n_c,
        "ther": ther,
        "planned": planned,
        "reactance_z": reactance_z,
        "resistant": resistant,
        "rtype": rtype,
        "res_rate": res_rate,
        "strat": strat,
        "latent": latent,
        "deficit": deficit,
        "client_mean": client_mean,
        "rupture_events": events,
        "u_t": u_t,
    }


_CALIBRATION_CACHE: dict[tuple[str, int], float] = {}


def _calibrate_intercept(n_s: int, params: StudyParameters) -> float:
    """Dropout intercept b0 giving the expected dropout share, on a fixed pseudo-population."""
    key = (params._key(), n_s)
    if key not in _CALIBRATION_CACHE:
        if len(_CALIBRATION_CACHE) > 256:
            _CALIBRATION_CACHE.clear()
        _CALIBRATION_CACHE[key] = _solve_intercept(n_s, params)
    return _CALIBRATION_CACHE[key]


def _solve_intercept(n_s: int, params: StudyParameters) -> float:
    target = params.dropout_share
    if target == 0:
        return -math.inf
    seeds = np.random.SeedSequence(_CALIBRATION_SEED).spawn(3)
    rng_latent, rng_engage, rng_items = (np.random.default_rng(x) for x in seeds)
    comp = _latent_components(rng_latent, *_CALIBRATION_DESIGN, n_s, params)
    wai = _wai_items(rng_items, comp["latent"], comp["n_c"], n_s + 1)
    course = _course(rng_engage, comp, wai.sum(axis=2), params)
    eta = np.where(course["at_risk"], course["eta"], -np.inf)

    def gap(b0):
        log_surv = np.log1p(-special.expit(b0 + eta)).sum(axis=1)
        return np.mean(-np.expm1(log_surv)) - target

    lo, hi = -30.0, 15.0
    if gap(hi) < 0:  # cannot reach the target with this many sessions at risk
        raise InputError(
            f"Parameter 'dropout_share' = {target} cannot be reached with max_sessions = {n_s} "
            "and these parameters; lower dropout_share or plan more sessions."
        )
    return float(optimize.brentq(gap, lo, hi, xtol=1e-8))


def _course(rng: np.random.Generator, comp: dict, wai_total: np.ndarray, p) -> dict:
    """The full course without dropout: no-shows, and the dropout log-odds (without b0).

    Sessions are walked in order; at each attended session the running means of the past
    (this session included) give the within and between parts that drive the no-show at the
    next session and the hazard of dropping out after this one. Dropout only truncates this
    course (nothing in it depends on a dropout that has not happened), so the dropout draw
    is made afterwards.
    """
    n_c, ther = comp["n_c"], comp["ther"]
    n_t = int(ther.max()) + 1
    strat, planned = comp["strat"], comp["planned"]
    n_slots = strat.shape[1]
    k = len(STRATEGIES)
    beta_w = np.array([p.strategy_dropout_log_or[s] for s in STRATEGIES])
    beta_b = np.array([p.strategy_dropout_between_log_or[s] for s in STRATEGIES])
    gam_w = np.array([p.strategy_attendance_log_or[s] for s in STRATEGIES])
    gam_b = np.array([p.strategy_attendance_between_log_or[s] for s in STRATEGIES])
    v_t = math.sqrt(p.therapist_dropout_var) * rng.standard_normal(n_t)
    v_c = math.sqrt(p.client_dropout_var) * rng.standard_normal(n_c)
    a_t = math.sqrt(p.therapist_no_show_var) * rng.standard_normal(n_t)
    a_c = math.sqrt(p.client_no_show_var) * rng.standard_normal(n_c)
    u_miss = rng.random((n_c, n_slots))
    if p.no_show_rate > 0:
        spread = math.sqrt(1 + 0.346 * (p.client_no_show_var + p.therapist_no_show_var))
        use = np.array([p.strategy_use[s] for s in STRATEGIES])
        a0 = special.logit(p.no_show_rate) * spread + float(gam_b @ use)
        miss_shift = a0 + a_t[ther] + a_c
    else:
        miss_shift = np.full(n_c, -np.inf)
    end = planned.copy()  # slots in the course (a make-up session adds one)
    missed = np.zeros((n_c, n_slots), dtype=bool)
    at_risk = np.zeros((n_c, n_slots), dtype=bool)
    eta = np.zeros((n_c, n_slots))
    period = np.zeros((n_c, n_slots), dtype=np.int64)
    s_sum, s_n = np.zeros((n_c, k)), np.zeros(n_c)
    w_sum = np.zeros(n_c)
    for t in range(n_slots):
        here = t < end
        att = here & ~missed[:, t]
        s_n += att
        s_sum += np.where(att[:, None], strat[:, t, :], 0.0)
        w_sum += np.where(att, wai_total[:, t], 0.0)
        period[:, t] = s_n
        n_safe = np.maximum(s_n, 1)
        s_between = s_sum / n_safe[:, None]
        s_within = strat[:, t, :] - s_between
        w_between = w_sum / n_safe
        w_within = wai_total[:, t] - w_between
        risk = att & (t < end - 1)
        at_risk[:, t] = risk
        eta[:, t] = (
            p.dropout_hazard_trend * np.log(n_safe)
            + v_t[ther]
            + v_c
            + s_within @ beta_w
            + s_between @ beta_b
            + p.within_alliance_log_or * w_within
            + p.between_alliance_log_or * w_between
            + p.resistance_dropout_log_or * comp["resistant"][:, t]
        )
        if t + 1 < n_slots:
            logit_miss = miss_shift - s_within @ gam_w - s_between @ gam_b
            miss_next = risk & (u_miss[:, t + 1] < special.expit(logit_miss))
            missed[:, t + 1] = miss_next
            end = np.where(miss_next & (t + 1 == planned - 1), planned + 1, end)
    return {"missed": missed, "at_risk": at_risk, "eta": eta, "end": end, "period": period}


def _wai_items(rng, latent, n_c, n_s):
    sub = 0.35 * rng.standard_normal((n_c, n_s, 3))
    theta = latent[:, :, None] + sub[:, :, _WAI_SUBSCALE_OF_ITEM]  # c x s x 12
    b = _WAI_SHIFT[:, None] + _WAI_THRESHOLDS[None, :]  # 12 x 4
    p_ge = special.expit(_WAI_DISCRIMINATION[None, None, :, None] * (theta[..., None] - b))
    u = rng.random((n_c, n_s, 12, 1))
    return 1.0 + (u < p_ge).sum(axis=-1)


def _srs_items(rng, latent, n_c, n_s):
    style = 0.5 * rng.standard_normal(n_c)
    common = 8.8 + 1.1 * (latent - 0.8) + style[:, None]
    raw = common[:, :, None] + 0.25 * rng.standard_normal((n_c, n_s, 1))
    raw = raw + 0.8 * rng.standard_normal((n_c, n_s, 4))
    return np.round(np.clip(raw, 0.0, 10.0), 1)


def _anova_icc(values: np.ndarray, groups: np.ndarray) -> float:
    """One-way random-effects ICC(1) of ``values`` grouped by ``groups`` (unbalanced formula)."""
    ok = np.isfinite(values)
    values, groups = values[ok], groups[ok]
    codes, _ = pd.factorize(groups)
    k = codes.max() + 1
    n_i = np.bincount(codes, minlength=k)
    means = np.bincount(codes, weights=values, minlength=k) / n_i
    grand = values.mean()
    n = values.size
    msb = np.sum(n_i * (means - grand) ** 2) / (k - 1)
    msw = np.sum((values - means[codes]) ** 2) / (n - k)
    n0 = (n - np.sum(n_i**2) / n) / (k - 1)
    return float((msb - msw) / (msb + (n0 - 1) * msw))


def _check_design(n_therapists, clients_per_therapist, max_sessions, seed):
    for name, value, low, high in (
        ("n_therapists", n_therapists, 2, 100_000),
        ("clients_per_therapist", clients_per_therapist, 1, 100_000),
        ("max_sessions", max_sessions, 2, 500),
    ):
        _check_number(name, value, low, high, True)
    return seed_sequence(seed, "simulate_study")


def simulate_study(
    n_therapists: int = 30,
    clients_per_therapist: int = 10,
    max_sessions: int = 16,
    seed: int | np.random.SeedSequence = 1,
    **overrides: Any,
) -> SimulatedStudy:
    """Simulate a study: therapists > clients > weekly sessions, with dropout and outcome.

    Parameters
    ----------
    n_therapists : int, default 30
        Number of therapists (2 or more).
    clients_per_therapist : int, default 10
        Clients per therapist.
    max_sessions : int, default 16
        Planned course length (the largest number of planned sessions per client; a client who
        misses the last planned session has one make-up session after it).
    seed : int, numpy SeedSequence or numpy Generator, default 1
        Same seed, same study (a Generator is drawn from once).
    **overrides
        Any field of :class:`StudyParameters` (e.g. ``dropout_share=0.3``), and/or
        ``params=StudyParameters(...)`` as the starting point.

    Returns
    -------
    SimulatedStudy
        ``.sessions`` (canonical session table), ``.truth`` (true parameters and
        realised quantities), ``.parameters``.

    Raises
    ------
    InputError
        An unknown parameter name or a value outside its allowed range.

    Examples
    --------
    >>> import alliance_stats.simulate as sim
    >>> study = sim.simulate_study(n_therapists=5, clients_per_therapist=4, max_sessions=8, seed=3)
    >>> int(study.sessions.groupby("client").size().max()) <= 8 + 1  # + a make-up session
    True
    >>> round(study.truth["strategy_dropout_log_or"]["validation"], 2)
    -0.3
    """
    seed_seq = _check_design(n_therapists, clients_per_therapist, max_sessions, seed)
    params = overrides.pop("params", None)
    if params is None:
        params = StudyParameters()
    elif not isinstance(params, StudyParameters):
        raise InputError(
            f"'params' must be a StudyParameters instance, got {type(params).__name__}."
        )
    unknown = sorted(set(overrides) - set(_field_names()))
    if unknown:
        raise InputError(
            f"Unknown simulation parameter(s) {unknown}. Allowed: n_therapists, "
            f"clients_per_therapist, max_sessions, seed, params, and the StudyParameters "
            f"fields: {', '.join(_field_names())}."
        )
    if overrides:
        params = dataclasses.replace(params, **overrides)
    if params.planned_sessions_min is not None and params.planned_sessions_min > max_sessions:
        raise InputError(
            f"Parameter 'planned_sessions_min' must be between 2 and max_sessions "
            f"({max_sessions}); got {params.planned_sessions_min}."
        )
    return _simulate(
        int(n_therapists), int(clients_per_therapist), int(max_sessions), seed_seq, params
    )


def _simulate(n_t, n_per, n_s, seed_seq, p: StudyParameters) -> SimulatedStudy:
    b0 = _calibrate_intercept(n_s, p)
    rng_latent, rng_drop, rng_items, rng_client = (
        np.random.default_rng(s) for s in seed_seq.spawn(4)
    )
    comp = _latent_components(rng_latent, n_t, n_per, n_s, p)
    n_c = comp["n_c"]
    n_slots = n_s + 1
    t_idx = np.arange(n_slots)

    # ratings (complete items drive engagement; blanks are added afterwards)
    wai = _wai_items(rng_items, comp["latent"], n_c, n_slots)
    srs = _srs_items(rng_items, comp["latent"], n_c, n_slots)

    # engagement: the course with no-shows, then the dropout draw truncates it
    course = _course(rng_drop, comp, wai.sum(axis=2), p)
    hazard = np.where(course["at_risk"], special.expit(b0 + course["eta"]), 0.0)
    drops = rng_drop.random((n_c, n_slots)) < hazard
    dropped = drops.any(axis=1)
    first_drop = np.where(dropped, drops.argmax(axis=1), n_slots)
    last_row = np.where(dropped, first_drop + 1, course["end"] - 1)  # 0-based index
    keep = t_idx[None, :] <= last_row[:, None]
    attended = keep & ~course["missed"]
    attended[dropped, first_drop[dropped] + 1] = False
    if p.item_missing_rate > 0:
        wai[rng_items.random(wai.shape) < p.item_missing_rate] = np.nan
        srs[rng_items.random(srs.shape) < p.item_missing_rate] = np.nan

    # client-level covariates and outcome
    ther = comp["ther"]
    age = np.clip(np.round(rng_client.normal(35, 12, n_c)), 18, 80)
    gender = rng_client.choice(
        np.array(["female", "male", "non-binary"], dtype=object), size=n_c, p=[0.62, 0.35, 0.03]
    )
    reactance = np.clip(np.round(70 + 9 * comp["reactance_z"]), 28, 112)
    cm = comp["client_mean"]
    z_a = (cm - cm.mean()) / cm.std()
    r = p.alliance_outcome_r
    var_a_between = p.client_alliance_var + p.client_slope_var * ((n_s - 1) / 2) ** 2
    rho_a = p.therapist_alliance_var / max(p.therapist_alliance_var + var_a_between, 1e-12)
    ther_var = p.therapist_share_outcome - r**2 * rho_a
    if ther_var < 0:
        raise InputError(
            f"Parameter 'therapist_share_outcome' must be at least {r**2 * rho_a:.4f} with "
            f"alliance_outcome_r = {r} (therapists already differ in alliance); "
            f"got {p.therapist_share_outcome}."
        )
    resid_var = 1.0 - r**2 - ther_var
    w_t = math.sqrt(ther_var) * rng_client.standard_normal(n_t)
    e_c = math.sqrt(resid_var) * rng_client.standard_normal(n_c)
    outcome = np.round(p.outcome_mean + p.outcome_sd * (r * z_a + w_t[ther] + e_c), 2)
    if p.outcome_missing_dropout > 0:
        outcome[dropped & (rng_client.random(n_c) < p.outcome_missing_dropout)] = np.nan

    # dates
    origin = np.datetime64("2022-01-03", "D")
    start = origin + rng_client.integers(0, p.enrolment_days + 1, n_c).astype("timedelta64[D]")
    jitter = rng_client.integers(-2, 3, (n_c, n_slots))
    jitter[:, 0] = 0
    dates = start[:, None] + (7 * t_idx[None, :] + jitter).astype("timedelta64[D]")

    # assemble
    rows_c, rows_s = np.nonzero(keep)
    att = attended[rows_c, rows_s]
    n_digits = max(2, len(str(n_t)))
    c_digits = max(3, len(str(n_c)))
    ther_ids = np.array([f"T{j + 1:0{n_digits}d}" for j in range(n_t)], dtype=object)
    client_ids = np.array([f"C{i + 1:0{c_digits}d}" for i in range(n_c)], dtype=object)

    def session_values(mat):
        out = mat[rows_c, rows_s].astype(float)
        out[~att] = np.nan
        return out

    data = {
        schema.CLIENT: pd.array(client_ids[rows_c], dtype="str"),
        schema.THERAPIST: pd.array(ther_ids[ther[rows_c]], dtype="str"),
        schema.SESSION: (rows_s + 1).astype(np.int64),
        schema.DATE: pd.to_datetime(dates[rows_c, rows_s]).astype("datetime64[ns]"),
        schema.ATTENDED: att.astype(bool),
    }
    for i, name in enumerate(WAI_SR_ITEMS):
        data[name] = session_values(wai[:, :, i])
    for i, name in enumerate(SRS_ITEMS):
        data[name] = session_values(srs[:, :, i])
    data["resistance"] = session_values(np.round(comp["res_rate"], 1))
    type_names = np.array(["none", *RESISTANCE_TYPES], dtype=object)
    rtype = type_names[comp["rtype"][rows_c, rows_s] + 1]
    rtype[~att] = np.nan
    data["resistance_type"] = pd.array(rtype, dtype="str")
    for k, name in enumerate(STRATEGIES):
        data[name] = session_values(comp["strat"][:, :, k])
    data["age"] = age[rows_c].astype(float)
    data["gender"] = pd.array(gender[rows_c], dtype="str")
    data["reactance"] = reactance[rows_c].astype(float)
    data["outcome"] = outcome[rows_c].astype(float)
    sessions = schema.canonical_order(pd.DataFrame(data))

    # truth
    ruptures = _rupture_table(
        comp, client_ids, ther_ids, last_row, attended, math.sqrt(p.session_alliance_var)
    )
    wai_mean = np.nanmean(np.where(attended[:, :, None], wai, np.nan), axis=(1, 2))
    ok = np.isfinite(outcome)
    truth = {
        "simulated": True,
        "design": {
            "n_therapists": n_t,
            "clients_per_therapist": n_per,
            "max_sessions": n_s,
            "seed_entropy": str(seed_seq.entropy),
        },
        "parameters": p.to_dict(),
        "dropout_intercept": b0,
        "estimands": estimands(p),
        "strategy_dropout_log_or": dict(p.strategy_dropout_log_or),
        "within_alliance_log_or": p.within_alliance_log_or,
        "between_alliance_log_or": p.between_alliance_log_or,
        "outcome_therapist_variance_share": p.therapist_share_outcome,
        "realised": {
            "dropout_share": float(dropped.mean()),
            "therapist_share_outcome": _anova_icc(outcome, ther),
            "alliance_outcome_r_latent": float(np.corrcoef(cm[ok], outcome[ok])[0, 1]),
            "alliance_outcome_r_wai": float(np.corrcoef(wai_mean[ok], outcome[ok])[0, 1]),
            "resistant_session_share": float(comp["resistant"][attended].mean()),
            "n_ruptures": len(ruptures),
            "n_rows": len(sessions),
            "attended_sessions_mean": float(attended.sum(axis=1).mean()),
        },
        "clients": pd.DataFrame(
            {
                schema.CLIENT: pd.array(client_ids, dtype="str"),
                schema.THERAPIST: pd.array(ther_ids[ther], dtype="str"),
                "planned_sessions": comp["planned"].astype(np.int64),
                "dropped_out": dropped,
                "last_attended_session": np.where(dropped, first_drop + 1, course["end"]),
                "latent_mean_alliance": cm,
            }
        ),
        "ruptures": ruptures,
    }
    return SimulatedStudy(sessions=sessions, truth=truth, parameters=p)


def estimands(params: StudyParameters | None = None) -> dict[str, dict[str, float]]:
    """The true coefficients of each engagement model, under the term names the models use.

    ``"dropout_hazard"``: ``<code>_within`` / ``<code>_between`` for each strategy and
    ``wai_sr_total_within`` / ``wai_sr_total_between`` (log odds of dropping out after a
    session), ``therapist_variance`` and ``client_variance`` (the frailty; 0 unless set).
    ``"next_session_attendance"``: ``<code>_within`` / ``<code>_between`` (log odds of
    attending the next scheduled session; exact when dropout is off), with the no-show
    variances. Between parts are per unit of the running share of sessions (0 to 1).

    Examples
    --------
    >>> from alliance_stats.simulate import estimands
    >>> estimands()["dropout_hazard"]["validation_within"]
    -0.3
    """
    p = StudyParameters() if params is None else params
    if not isinstance(p, StudyParameters):
        raise InputError(
            f"'params' must be a StudyParameters instance or None, got {type(p).__name__}."
        )
    hazard = {}
    attendance = {}
    for code in STRATEGIES:
        hazard[f"{code}_within"] = p.strategy_dropout_log_or[code]
        hazard[f"{code}_between"] = p.strategy_dropout_between_log_or[code]
        attendance[f"{code}_within"] = p.strategy_attendance_log_or[code]
        attendance[f"{code}_between"] = p.strategy_attendance_between_log_or[code]
    hazard["wai_sr_total_within"] = p.within_alliance_log_or
    hazard["wai_sr_total_between"] = p.between_alliance_log_or
    hazard["therapist_variance"] = p.therapist_dropout_var
    hazard["client_variance"] = p.client_dropout_var
    attendance["therapist_variance"] = p.therapist_no_show_var
    attendance["client_variance"] = p.client_no_show_var
    return {"dropout_hazard": hazard, "next_session_attendance": attendance}


def _rupture_table(comp, client_ids, ther_ids, last_row, attended, sd_w) -> pd.DataFrame:
    cols = ["client", "therapist", "start_session", "depth", "depth_sd", "repair_sessions",
            "repaired", "start_attended"]  # fmt: skip
    if not comp["rupture_events"]:
        return pd.DataFrame({c: [] for c in cols})
    idx, t, depth, length, perm = (np.concatenate(x) for x in zip(*comp["rupture_events"]))
    seen = t <= last_row[idx]
    idx, t, depth, length, perm = idx[seen], t[seen], depth[seen], length[seen], perm[seen]
    order = np.lexsort((t, idx))
    idx, t, depth, length, perm = idx[order], t[order], depth[order], length[order], perm[order]
    return pd.DataFrame(
        {
            "client": pd.array(client_ids[idx], dtype="str"),
            "therapist": pd.array(ther_ids[comp["ther"][idx]], dtype="str"),
            "start_session": (t + 1).astype(np.int64),
            "depth": depth,
            "depth_sd": depth / sd_w,
            "repair_sessions": np.where(perm, np.nan, length.astype(float)),
            "repaired": ~perm,
            "start_attended": attended[idx, t],
        }
    )


@dataclass(frozen=True)
class SimulatedStudy:
    """A SIMULATED study: the canonical session table, the truth, and the parameters.

    Attributes
    ----------
    sessions : pandas.DataFrame
        Canonical session table (one row per scheduled session).
    truth : dict
        True parameters and realised quantities (``truth["realised"]``), per-client
        truth (``truth["clients"]``) and rupture episodes (``truth["ruptures"]``).
    parameters : StudyParameters
        The generating parameters.

    Examples
    --------
    >>> import alliance_stats.simulate as sim
    >>> s = sim.simulate_study(n_therapists=4, clients_per_therapist=3, max_sessions=6)
    >>> repr(s).startswith("SimulatedStudy(SIMULATED")
    True
    """

    sessions: pd.DataFrame
    truth: dict
    parameters: StudyParameters

    def to_frame(self) -> pd.DataFrame:
        """A copy of the session table."""
        return self.sessions.copy()

    def truth_json(self) -> dict:
        """The truth as plain JSON-ready values (tables become lists of records, NaN None)."""
        return _jsonable(self.truth)

    def _counts(self):
        d = self.truth["design"]
        real = self.truth["realised"]
        return d, real

    def summary(self) -> str:
        """Short text summary (SIMULATED data, design and realised quantities)."""
        d, real = self._counts()
        nonnull = {k: v for k, v in self.truth["strategy_dropout_log_or"].items() if v != 0}
        return "\n".join(
            [
                "SIMULATED study (alliance_stats.simulate_study) - no real clients.",
                f"Design: {d['n_therapists']} therapists x {d['clients_per_therapist']} clients, "
                f"up to {d['max_sessions']} sessions; {real['n_rows']} rows.",
                f"Dropout share {real['dropout_share']:.3f} "
                f"(target {self.parameters.dropout_share:.3f}); "
                f"attended sessions per client {real['attended_sessions_mean']:.1f}.",
                f"Alliance-outcome r (WAI-SR means) {real['alliance_outcome_r_wai']:.3f}; "
                f"therapist share of outcome {real['therapist_share_outcome']:.3f}.",
                f"Ruptures {real['n_ruptures']}; resistant sessions "
                f"{real['resistant_session_share']:.2f}.",
                "Non-null strategy effects (dropout log OR): "
                + (", ".join(f"{k} {v:+.2f}" for k, v in nonnull.items()) or "none"),
            ]
        )

    def __repr__(self) -> str:
        d, real = self._counts()
        return (
            f"SimulatedStudy(SIMULATED data: {d['n_therapists']} therapists, "
            f"{d['n_therapists'] * d['clients_per_therapist']} clients, {real['n_rows']} rows, "
            f"dropout {real['dropout_share']:.1%})"
        )

    def _repr_html_(self) -> str:
        lines = self.summary().split("\n")
        body = "".join(f"<li>{html.escape(x)}</li>" for x in lines[1:])
        return (
            f"<div><strong>{html.escape(lines[0])}</strong><ul>{body}</ul>"
            f"{self.sessions.head(5).to_html(index=False)}</div>"
        )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value
