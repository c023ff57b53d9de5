"""Study configuration: one TOML file says where the data is and what to report.

A nightly job is then one line: ``alliance-stats report --config study.toml``. Every key is
checked on loading; a mistake raises :class:`~alliance_stats.errors.InputError` naming the
file, the section, the key, what is allowed and how to fix it.

Example (every section and key is optional except a data source)::

    [study]
    title = "Community clinic: alliance, resistance and retention"
    seed = 20240611
    date = "2024-06-30"          # report date (else $SOURCE_DATE_EPOCH, else today)

    [data]
    path = "sessions.csv"        # relative to this file; or dataset = "clinic" (bundled)
    missing_codes = [-99]
    [data.columns]               # your column name = canonical name
    ClientID = "client"

    [[instruments]]
    name = "wai_sr"
    items = "wai_{}"

    [analysis]
    alliance = "wai_sr_total"    # the score analysed as "alliance"
    group = "gender"             # trajectories and retention by this client-level column
    covariates = ["resistance"]
    predictor = "resistance"     # session-level x of the within/between figure

    [outcome]
    definition = "unplanned_end" # or "dropout_before_n" with n = 4

    [strategies]
    columns = ["validation", "offering_choices"]
    adjust = "holm"              # or "bh", "none"
    outcome = "dropout_event"    # or "attended_next" (next-session attendance model)

    [plan]                       # the analysis plan, fixed before fitting
    baseline = "spline"          # baseline hazard: "spline" (natural spline) or "bands"
    lag = 0                      # exposures from session t - lag (0 = this session)
    frailty_sensitivity = false  # also fit the dropout hazard with a client frailty

    [ruptures]
    method = "stiles"            # or "strauss", "srs_alert"

    [privacy]
    min_cell = 5                 # counts below this are suppressed

    [output]
    folder = "reports/study"
    formats = ["html", "pdf"]
    tables = ["csv", "md", "tex", "html"]

Examples
--------
>>> from alliance_stats.config import StudyConfig
>>> cfg = StudyConfig.from_dict({"data": {"dataset": "clinic"}, "study": {"seed": 3}})
>>> cfg.study.seed, cfg.strategies.adjust
(3, 'holm')
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alliance_stats.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["StudyConfig", "example_config", "load_config"]

_ADJUST = ("holm", "bh", "none")
_DEFINITIONS = ("unplanned_end", "dropout_before_n")
_RUPTURE_METHODS = ("stiles", "strauss", "srs_alert")
_FORMATS = ("html", "pdf")
_TABLE_FORMATS = ("csv", "md", "tex", "html")
_PDF_ENGINES = ("auto", "weasyprint", "matplotlib")
_OUTCOMES = ("dropout_event", "attended_next")
#: Spellings before the outcome columns had distinct names.
_OLD_OUTCOMES = {"event": "dropout_event", "returned": "attended_next"}
_BASELINES = ("spline", "bands")


@dataclass(frozen=True)
class StudySection:
    title: str = "Alliance, resistance and retention report"
    seed: int = 1
    date: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class DataSection:
    path: str | None = None
    dataset: str | None = None
    format: str | None = None
    sheet: str | int | None = None
    missing_codes: tuple = ()
    columns: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InstrumentSection:
    name: str
    items: str | None = None
    max_missing: float | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisSection:
    alliance: str | None = None
    group: str | None = None
    covariates: tuple[str, ...] = ()
    predictor: str | None = None


@dataclass(frozen=True)
class OutcomeSection:
    definition: str = "unplanned_end"
    n: int | None = None


@dataclass(frozen=True)
class StrategiesSection:
    columns: tuple[str, ...] = ()
    adjust: str = "holm"
    outcome: str = "dropout_event"
    alpha: float = 0.05
    moderator: str | None = None
    sensitivity: bool = True


@dataclass(frozen=True)
class PlanSection:
    baseline: str = "spline"
    baseline_df: int | None = None
    lag: int = 0
    frailty_sensitivity: bool = False


@dataclass(frozen=True)
class RupturesSection:
    method: str = "stiles"
    score: str | None = None
    sd_multiplier: float | None = None
    window: int = 3


@dataclass(frozen=True)
class PrivacySection:
    min_cell: int = 5


@dataclass(frozen=True)
class OutputSection:
    folder: str = "reports/study"
    formats: tuple[str, ...] = ("html", "pdf")
    tables: tuple[str, ...] = ("csv", "md", "tex", "html")
    pdf_engine: str = "auto"


_SECTIONS = {
    "study": StudySection,
    "data": DataSection,
    "analysis": AnalysisSection,
    "outcome": OutcomeSection,
    "strategies": StrategiesSection,
    "plan": PlanSection,
    "ruptures": RupturesSection,
    "privacy": PrivacySection,
    "output": OutputSection,
}


@dataclass(frozen=True)
class StudyConfig:
    """A checked study configuration (see the module docstring for the TOML layout).

    Attributes
    ----------
    study, data, instruments, analysis, outcome, strategies, plan, ruptures, privacy, output
        One frozen section each; ``instruments`` is a tuple of :class:`InstrumentSection`.
    source : str
        Where it came from (file path or ``"<dict>"``).
    base_dir : Path
        Folder relative paths are resolved against (the TOML file's folder).

    Examples
    --------
    >>> cfg = StudyConfig.from_dict({"data": {"dataset": "teaching"},
    ...                              "outcome": {"definition": "dropout_before_n", "n": 4}})
    >>> cfg.outcome.definition, cfg.outcome.n, cfg.data_path()
    ('dropout_before_n', 4, None)
    >>> cfg.replace(study={"seed": 7}).study.seed
    7
    >>> StudyConfig.from_dict({"data": {"dataset": "teaching"}, "strategies": {"adjust": "x"}})
    Traceback (most recent call last):
    ...
    alliance_stats.errors.InputError: <dict>: [strategies] adjust = 'x' is not allowed; ...
    """

    study: StudySection = field(default_factory=StudySection)
    data: DataSection = field(default_factory=DataSection)
    instruments: tuple[InstrumentSection, ...] = ()
    analysis: AnalysisSection = field(default_factory=AnalysisSection)
    outcome: OutcomeSection = field(default_factory=OutcomeSection)
    strategies: StrategiesSection = field(default_factory=StrategiesSection)
    plan: PlanSection = field(default_factory=PlanSection)
    ruptures: RupturesSection = field(default_factory=RupturesSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    output: OutputSection = field(default_factory=OutputSection)
    source: str = "<dict>"
    base_dir: Path = field(default_factory=Path, compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(
        cls, raw: dict, *, source: str = "<dict>", base_dir: str | os.PathLike | None = None
    ) -> StudyConfig:
        """Check a configuration given as a dict (the parsed TOML)."""
        if not isinstance(raw, dict):
            raise InputError(f"{source}: the configuration must be a table (dict)")
        unknown = set(raw) - set(_SECTIONS) - {"instruments"}
        if unknown:
            raise InputError(
                f"{source}: unknown section(s) {sorted(unknown)}; allowed sections are "
                f"{sorted([*_SECTIONS, 'instruments'])}"
            )
        parts: dict[str, Any] = {}
        for name, klass in _SECTIONS.items():
            parts[name] = _section(raw.get(name, {}), klass, name, source)
        parts["instruments"] = _instruments(raw.get("instruments", []), source)
        cfg = cls(**parts, source=source, base_dir=Path(base_dir) if base_dir else Path.cwd())
        cfg._check(source)
        return cfg

    def _check(self, src: str) -> None:
        d = self.data
        if d.path is not None and d.dataset is not None:
            raise InputError(
                f"{src}: [data] needs one of 'path' (your session file) or 'dataset' "
                '(a bundled dataset, e.g. dataset = "clinic"), not both'
            )
        if d.dataset is not None:
            from alliance_stats import datasets

            names = list(datasets.available()["name"])
            if d.dataset not in names:
                raise InputError(
                    f"{src}: [data] dataset {d.dataset!r} is unknown; use one of {names}"
                )
        for key, value in d.columns.items():
            if not isinstance(value, str) or not value:
                raise InputError(
                    f"{src}: [data.columns] maps your column name to a canonical name, e.g. "
                    f'ClientID = "client"; {key!r} = {value!r} is not a name'
                )
        _choice(src, "outcome", "definition", self.outcome.definition, _DEFINITIONS)
        if self.outcome.definition == "dropout_before_n" and not self.outcome.n:
            raise InputError(f"{src}: [outcome] definition 'dropout_before_n' needs n = <sessions>")
        _choice(src, "strategies", "adjust", self.strategies.adjust, _ADJUST)
        _choice(src, "strategies", "outcome", self.strategies.outcome, _OUTCOMES)
        _choice(src, "plan", "baseline", self.plan.baseline, _BASELINES)
        if self.plan.lag < 0:
            raise InputError(f"{src}: [plan] lag must be 0 or more (sessions back)")
        if self.plan.baseline_df is not None and self.plan.baseline_df < 1:
            raise InputError(f"{src}: [plan] baseline_df must be 1 or more (or left out: auto)")
        if not 0 < self.strategies.alpha < 1:
            raise InputError(f"{src}: [strategies] alpha must be between 0 and 1")
        _choice(src, "ruptures", "method", self.ruptures.method, _RUPTURE_METHODS)
        if self.privacy.min_cell < 0:
            raise InputError(f"{src}: [privacy] min_cell must be 0 or more (e.g. 5)")
        for fmt in self.output.formats:
            _choice(src, "output", "formats", fmt, _FORMATS)
        for fmt in self.output.tables:
            _choice(src, "output", "tables", fmt, _TABLE_FORMATS)
        _choice(src, "output", "pdf_engine", self.output.pdf_engine, _PDF_ENGINES)
        if self.study.date is not None:
            try:
                _dt.date.fromisoformat(str(self.study.date))
            except ValueError:
                raise InputError(
                    f'{src}: [study] date {self.study.date!r} is not a date like "2024-06-30"'
                ) from None

    # ------------------------------------------------------------------ use
    def data_path(self) -> Path | None:
        """The session file, resolved against the configuration's folder (``None`` for a
        bundled dataset)."""
        if self.data.path is None:
            return None
        p = Path(self.data.path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def replace(self, **sections) -> StudyConfig:
        """A copy with whole sections or keys replaced: ``cfg.replace(study={"seed": 2})``."""
        parts = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                known = {f.name for f in dataclasses.fields(current)}
                bad = set(value) - known
                if bad:
                    raise InputError(f"replace: [{name}] has no key(s) {sorted(bad)}")
                value = dataclasses.replace(current, **_tuples(value))
            parts[name] = value
        new = dataclasses.replace(self, **parts)
        new._check(self.source)
        return new

    def to_dict(self) -> dict:
        """The resolved configuration as plain data (for provenance; paths as given)."""
        out = {}
        for name in [*_SECTIONS, "instruments"]:
            value = getattr(self, name)
            if name == "instruments":
                out[name] = [_plain(dataclasses.asdict(i)) for i in value]
            else:
                out[name] = _plain(dataclasses.asdict(value))
        return out


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _tuples(values: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def _choice(src, section, key, value, allowed) -> None:
    if value not in allowed:
        raise InputError(
            f"{src}: [{section}] {key} = {value!r} is not allowed; use one of {allowed}"
        )


_TYPES = {
    "title": str, "seed": int, "date": (str, _dt.date), "author": str, "path": str,
    "dataset": str, "format": str, "sheet": (str, int), "missing_codes": list, "columns": dict,
    "alliance": str, "group": str, "covariates": list, "predictor": str, "definition": str,
    "n": int, "adjust": str, "outcome": str, "alpha": (float, int), "moderator": str,
    "sensitivity": bool, "method": str, "score": str, "sd_multiplier": (float, int),
    "window": int, "min_cell": int, "folder": str, "formats": list, "tables": list,
    "pdf_engine": str, "name": str, "items": str, "max_missing": (float, int), "options": dict,
    "baseline": str, "baseline_df": int, "lag": int, "frailty_sensitivity": bool,
}  # fmt: skip
_LIST_OF_STR = {"covariates", "formats", "tables", "columns_list"}


def _check_value(src, section, key, value):
    expected = _TYPES.get(key, object)
    ok = isinstance(value, expected) and not (
        isinstance(value, bool) and expected in (int, (float, int), (str, int))
    )
    if not ok:
        names = (
            expected.__name__
            if isinstance(expected, type)
            else "/".join(t.__name__ for t in expected)
        )
        raise InputError(
            f"{src}: [{section}] {key} = {value!r} has the wrong type; expected {names}"
        )
    if key in _LIST_OF_STR and not all(isinstance(v, str) for v in value):
        raise InputError(f"{src}: [{section}] {key} must be a list of names (strings)")
    if isinstance(value, _dt.date):
        value = value.isoformat()
    return value


def _section(raw, klass, name: str, src: str):
    if not isinstance(raw, dict):
        raise InputError(f"{src}: [{name}] must be a table of keys, got {type(raw).__name__}")
    fields = {f.name for f in dataclasses.fields(klass)}
    if name == "strategies" and "columns" in raw:
        raw = dict(raw)
        cols = raw["columns"]
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise InputError(f"{src}: [strategies] columns must be a list of column names")
        raw["columns"] = tuple(cols)
    unknown = set(raw) - fields
    if unknown:
        raise InputError(
            f"{src}: [{name}] has unknown key(s) {sorted(unknown)}; allowed keys are "
            f"{sorted(fields)}"
        )
    values = {}
    for key, value in raw.items():
        if not (name == "strategies" and key == "columns"):
            value = _check_value(src, name, key, value)
        if name == "strategies" and key == "outcome":
            value = _OLD_OUTCOMES.get(value, value)
        values[key] = tuple(value) if isinstance(value, list) else value
    return klass(**values)


def _instruments(raw, src: str) -> tuple[InstrumentSection, ...]:
    if not isinstance(raw, list):
        raise InputError(
            f'{src}: instruments must be an array of tables: [[instruments]] name = "wai_sr"'
        )
    from alliance_stats import instruments

    known = list(instruments.available()["name"])
    out = []
    for i, entry in enumerate(raw, start=1):
        sec = (
            _section(entry, InstrumentSection, f"instruments #{i}", src)
            if isinstance(entry, dict) and "name" in entry
            else None
        )
        if sec is None:
            raise InputError(f'{src}: [[instruments]] #{i} needs a name, e.g. name = "wai_sr"')
        if sec.name not in known:
            raise InputError(
                f"{src}: [[instruments]] #{i}: unknown instrument {sec.name!r}; available: {known}"
            )
        out.append(sec)
    return tuple(out)


def load_config(path: str | os.PathLike) -> StudyConfig:
    """Read and check a study TOML file.

    Raises
    ------
    InputError
        The file is missing or is not valid TOML (with line and column), or a key is unknown,
        of the wrong type or not allowed.

    Examples
    --------
    >>> from alliance_stats.config import load_config, example_config_path
    >>> load_config(example_config_path()).data.dataset
    'clinic'
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"configuration file '{p}' does not exist (give the path of a .toml file)")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"configuration file '{p}' is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise InputError(f"configuration file '{p}' is not UTF-8 text") from None
    return StudyConfig.from_dict(raw, source=str(p), base_dir=p.resolve().parent)


def example_config_path() -> Path:
    """Path of the example study TOML shipped with the package (``report/example_study.toml``)."""
    from importlib import resources

    return Path(str(resources.files("alliance_stats.report").joinpath("example_study.toml")))


def example_config(**sections) -> StudyConfig:
    """The example configuration for the bundled ``clinic`` data (as in
    ``reports/example_study.toml``), with optional section overrides.

    Examples
    --------
    >>> from alliance_stats.config import example_config
    >>> example_config(strategies={"columns": ["validation"]}).strategies.columns
    ('validation',)
    """
    cfg = load_config(example_config_path())
    return cfg.replace(**sections) if sections else cfg
