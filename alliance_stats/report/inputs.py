"""The report's inputs: its configuration, its data (read and validated, with identifiers
masked in any error) and how paths are shown.

Examples
--------
>>> shown_path("/srv/study/data/sessions.csv", "/srv/study")
'data/sessions.csv'
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from alliance_stats.config import StudyConfig, load_config
from alliance_stats.errors import DataValidationError, InputError
from alliance_stats.report import provenance

__all__ = [
    "default_instruments",
    "input_paths",
    "load_data",
    "masked_errors",
    "require_columns",
    "resolve_config",
    "shown_path",
]


def resolve_config(config) -> StudyConfig:
    """The study configuration from what ``build_report`` was given (``None``: defaults)."""
    if config is None:
        return StudyConfig.from_dict({}, source="<defaults>")
    if isinstance(config, StudyConfig):
        return config
    if isinstance(config, dict):
        return StudyConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise InputError(
        f"config must be a StudyConfig, a dict or the path of a TOML file; got "
        f"{type(config).__name__}"
    )


def input_paths(df, cfg: StudyConfig) -> list[Path]:
    """The files a report run reads: the data file and the configuration file."""
    paths = []
    if isinstance(df, (str, os.PathLike)):
        paths.append(Path(df))
    elif df is None and cfg.data.path is not None:
        paths.append(cfg.data_path())
    if cfg.source not in ("<dict>", "<defaults>") and Path(cfg.source).is_file():
        paths.append(Path(cfg.source))
    return paths


def shown_path(path, study_folder) -> str:
    """A path as the report shows it: relative to the study folder (the configuration's), or
    the file name alone for a file outside it, so that no home folder or machine layout
    reaches a shared report and equivalent runs give the same text.

    Examples
    --------
    >>> shown_path("/srv/study/data/sessions.csv", "/srv/study")
    'data/sessions.csv'
    >>> shown_path("/home/jane/private/study.toml", "/srv/study")
    'study.toml'
    """
    full = Path(os.path.abspath(Path(path).expanduser()))
    try:
        return full.relative_to(os.path.abspath(study_folder)).as_posix()
    except ValueError:
        return full.name


def masked_errors(report) -> DataValidationError:
    """The data's errors, with client and therapist identifiers masked: a report's error
    output goes to logs (nightly jobs keep them); rows and columns still locate each problem,
    and ``als.validate_sessions`` on the same data shows the identifiers."""
    err = DataValidationError(report.redacted())
    err.args = (
        f"{err.args[0]}\n(client and therapist identifiers are masked; run "
        "als.validate_sessions on the data to see them)",
    )
    return err


def load_data(df, cfg: StudyConfig):
    """Return (table, ValidationReport, source description, sha256)."""
    from alliance_stats import datasets
    from alliance_stats.io import read_sessions_checked
    from alliance_stats.validation import validate_sessions

    d = cfg.data
    if isinstance(df, pd.DataFrame):
        rep = validate_sessions(df)
        if not rep.ok:
            raise masked_errors(rep)
        return df.copy(), rep, "DataFrame (in memory)", provenance.frame_sha256(df)
    if df is not None and not isinstance(df, (str, os.PathLike)):
        raise InputError(f"df must be a DataFrame or a file path; got {type(df).__name__}")
    if df is not None:
        path = Path(df)
        label = shown_path(path, cfg.base_dir)
    elif d.path is not None:
        path = cfg.data_path()
        label = shown_path(path, cfg.base_dir)
    elif d.dataset is not None:
        path = Path(str(datasets.path(d.dataset)))
        label = f"bundled dataset '{d.dataset}' ({path.name})"
    else:
        raise InputError(
            "no data: pass a DataFrame or file to build_report, or give [data] path = ... (or "
            'dataset = "clinic") in the configuration'
        )
    if not path.is_file():
        raise InputError(f"data file '{path}' does not exist")
    options = {}
    if d.format:
        options["format"] = d.format
    if d.sheet is not None:
        options["sheet"] = d.sheet
    checked = read_sessions_checked(
        path,
        columns=dict(d.columns) or None,
        missing_codes=list(d.missing_codes) or None,
        **options,
    )
    if checked.table is None:
        raise masked_errors(checked.report)
    table = checked.table
    sha = (table.attrs.get("alliance_stats") or {}).get("sha256") or provenance.file_sha256(path)
    return table, checked.report, label, sha


def default_instruments(df: pd.DataFrame):
    """The instruments whose item columns (``wai_1`` ..., ``srs_1`` ...) the table has."""
    from alliance_stats.config import InstrumentSection

    found = []
    if all(f"wai_{i}" in df.columns for i in range(1, 13)):
        found.append(InstrumentSection("wai_sr", "wai_{}"))
    if all(f"srs_{i}" in df.columns for i in range(1, 5)):
        found.append(InstrumentSection("srs", "srs_{}"))
    return tuple(found)


def require_columns(df: pd.DataFrame, cfg: StudyConfig) -> None:
    """Every column the configuration names is in the table, or one error listing them all."""
    wanted = {
        "[strategies] columns": list(cfg.strategies.columns),
        "[analysis] covariates": list(cfg.analysis.covariates),
        "[analysis] group": [cfg.analysis.group] if cfg.analysis.group else [],
        "[analysis] predictor": [cfg.analysis.predictor] if cfg.analysis.predictor else [],
        "[strategies] moderator": [cfg.strategies.moderator] if cfg.strategies.moderator else [],
    }
    problems = []
    for where, cols in wanted.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            problems.append(f"{where} names {missing}")
    if problems:
        raise InputError(
            "the configuration names column(s) the data does not have: "
            + "; ".join(problems)
            + f". The data's columns are {list(df.columns)}"
        )
