"""Build the bundled SIMULATED datasets from :func:`alliance_stats.simulate.simulate_study`.

Run ``python alliance_stats/bundled/build.py`` (from the repository root) to regenerate every file
in this folder deterministically: ``<name>.csv.gz`` (the session table),
``<name>.schema.json`` (column dtypes and metadata), ``<name>.truth.json`` (true
parameters and realised quantities) and ``<name>.md`` (the data dictionary).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pandas as pd

from alliance_stats.codebook import default_codebook
from alliance_stats.files import atomic_write
from alliance_stats.simulate import (
    RESISTANCE_TYPES,
    SRS_ITEMS,
    STRATEGIES,
    WAI_SR_ITEMS,
    WAI_SR_SUBSCALES,
    SimulatedStudy,
    simulate_study,
)

HERE = Path(__file__).resolve().parent

#: name -> description and the exact simulate_study call.
RECIPES: dict[str, dict] = {
    "clinic": {
        "description": (
            "A community clinic's routine-outcome data: 40 therapists x 10 clients, planned "
            "courses of 8-20 weekly sessions, no-shows, dropouts, some blank items and missing "
            "outcomes for dropouts. Default (literature-calibrated) effects."
        ),
        "call": {
            "n_therapists": 40,
            "clients_per_therapist": 10,
            "max_sessions": 20,
            "seed": 20240611,
            "planned_sessions_min": 8,
            "no_show_rate": 0.06,
            "item_missing_rate": 0.01,
            "outcome_missing_dropout": 0.4,
        },
    },
    "teaching": {
        "description": (
            "Small, clean teaching data: 16 therapists x 6 clients x 10 planned sessions with "
            "strong, documented effects on the scale the dropout hazard model estimates "
            "(running within/between splits of the past only): a session with validation "
            "lowers the odds of dropping out after it (within log OR -1.2; between -1.2 per "
            "unit of the running share); a session rated above the client's running WAI-SR "
            "mean protects (-0.25 per point) while clients with a higher running mean drop out "
            "more (+0.10 per point); therapists differ clearly in alliance (therapist variance "
            "0.4 next to client variance 0.8, latent scale) and in dropout (variance 0.8), so "
            "ignoring therapist nesting visibly shrinks standard errors. The teaching labs in "
            "notebooks/labs/ check their estimates against these values with 95% CIs."
        ),
        "call": {
            "n_therapists": 16,
            "clients_per_therapist": 6,
            "max_sessions": 10,
            "seed": 7,
            "dropout_share": 0.3,
            "no_show_rate": 0.03,
            "within_alliance_log_or": -0.25,
            "between_alliance_log_or": 0.10,
            "strategy_dropout_log_or": {"validation": -1.2},
            "strategy_dropout_between_log_or": {"validation": -1.2},
            "therapist_dropout_var": 0.8,
            "strategy_alliance_effect": {},
            "rupture_rate": 0.04,
            "therapist_alliance_var": 0.4,
        },
    },
}


def build(name: str) -> SimulatedStudy:
    """The study behind bundled dataset ``name`` (deterministic)."""
    if name not in RECIPES:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(RECIPES)}")
    return simulate_study(**RECIPES[name]["call"])


def _dtype_name(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_dtype(series):
        return "datetime64[ns]"
    if pd.api.types.is_integer_dtype(series):
        return "int64"
    if pd.api.types.is_float_dtype(series):
        return "float64"
    return "str"


def _column_docs(study: SimulatedStudy) -> list[tuple[str, str, str, str]]:
    """(name, type, range/units, meaning) for every column."""
    sub_of = {i: s for s, items in WAI_SR_SUBSCALES.items() for i in items}
    srs_names = ["Relationship", "Goals and topics", "Approach or method", "Overall"]
    docs = [
        ("client", "str", "C001...", "client identifier"),
        ("therapist", "str", "T01...", "therapist identifier (clients are nested in therapists)"),
        ("session", "int64", "1..max", "order of the scheduled session, consecutive from 1"),
        ("date", "datetime64[ns]", "2022-2024", "scheduled date (weekly, +/-2 days)"),
        ("attended", "bool", "True/False", "the client came; False rows have every rating blank"),
    ]
    for i, col in enumerate(WAI_SR_ITEMS, start=1):
        docs.append(
            (col, "float64", "1-5 (integers)", f"WAI-SR item {i}, client-rated ({sub_of[i]})")
        )
    for col, label in zip(SRS_ITEMS, srs_names):
        docs.append((col, "float64", "0-10 (one decimal)", f"SRS {label} (visual analogue)"))
    docs += [
        (
            "resistance",
            "float64",
            ">= 0, per 100 utterances",
            "observer-coded resistance rate (sustain talk and discord)",
        ),
        (
            "resistance_type",
            "str",
            "none/" + "/".join(RESISTANCE_TYPES),
            "type of the resistance episode in the session",
        ),
    ]
    codebook = default_codebook()
    for s in STRATEGIES:
        entry = codebook.to_frame().set_index("code").loc[s]
        docs.append((s, "float64", "0/1", f"strategy used in the session (codebook): "
                     f"{entry['label']}: {entry['definition']}"))  # fmt: skip
    docs += [
        ("age", "float64", "18-80 years", "client age at intake (client-level, repeated)"),
        ("gender", "str", "female/male/non-binary", "client gender (client-level)"),
        (
            "reactance",
            "float64",
            "28-112",
            "Therapeutic Reactance Scale total, trait (client-level)",
        ),
        (
            "outcome",
            "float64",
            "points, higher = better",
            "pre-post improvement on a 0-100 symptom scale (client-level; blank = no post score)",
        ),
    ]
    missing = set(study.sessions.columns) - {d[0] for d in docs}
    if missing:
        raise RuntimeError(f"undocumented columns: {sorted(missing)}")
    return docs


def _dictionary(name: str, study: SimulatedStudy) -> str:
    recipe = RECIPES[name]
    df = study.sessions
    call = ", ".join(f"{k}={v!r}" for k, v in recipe["call"].items())
    real = study.truth["realised"]
    lines = [
        f"SIMULATED data: generated by alliance_stats.simulate_study with seed "
        f"{recipe['call']['seed']}; no real client is in it.",
        "",
        f"# Dataset `{name}`",
        "",
        recipe["description"],
        "",
        f"Call: `simulate_study({call})`  ",
        f"Rebuild: `python alliance_stats/bundled/build.py {name}`.",
        "",
        f"{len(df)} rows (one per scheduled session), {df['client'].nunique()} clients, "
        f"{df['therapist'].nunique()} therapists. Realised dropout share "
        f"{real['dropout_share']:.3f}; alliance-outcome r (WAI-SR client means) "
        f"{real['alliance_outcome_r_wai']:.3f}; therapist share of outcome variance "
        f"{real['therapist_share_outcome']:.3f}. The true parameters are in "
        f"`{name}.truth.json` (`alliance_stats.datasets.truth('{name}')`).",
        "",
        "A client who drops out has one final row with `attended` False: the session they did "
        "not come back to. Other `attended` False rows are no-shows followed by a return.",
        "WAI-SR subscales: Task = items 1, 2, 10, 12; Bond = 3, 5, 7, 9; Goal = 4, 6, 8, 11.",
        "",
        "| column | type | range / units | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{c}` | {t} | {r} | {m} |" for c, t, r, m in _column_docs(study)]
    return "\n".join(lines) + "\n"


def write(name: str, folder: Path = HERE) -> dict[str, Path]:
    """Build dataset ``name`` and write its four files into ``folder``; returns their paths."""
    folder = Path(folder)
    study = build(name)
    df = study.sessions
    text = df.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    paths = {
        "data": folder / f"{name}.csv.gz",
        "schema": folder / f"{name}.schema.json",
        "truth": folder / f"{name}.truth.json",
        "dictionary": folder / f"{name}.md",
    }
    meta = {
        "name": name,
        "description": RECIPES[name]["description"],
        "simulated": True,
        "rows": len(df),
        "clients": int(df["client"].nunique()),
        "therapists": int(df["therapist"].nunique()),
        "call": RECIPES[name]["call"],
        "columns": {c: _dtype_name(df[c]) for c in df.columns},
    }
    contents = {
        "data": buf.getvalue(),
        "schema": (json.dumps(meta, indent=1) + "\n").encode(),
        "truth": (json.dumps(study.truth_json(), indent=1) + "\n").encode(),
        "dictionary": _dictionary(name, study).encode(),
    }
    for key, data in contents.items():
        atomic_write(paths[key], lambda tmp, data=data: tmp.write_bytes(data))
    return paths


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or sorted(RECIPES)
    for name in names:
        paths = write(name)
        print(f"{name}: " + ", ".join(f"{p.name} ({p.stat().st_size:,} B)" for p in paths.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
