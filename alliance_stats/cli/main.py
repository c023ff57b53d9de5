"""The ``alliance-stats`` command.

Exit codes: 0 success; 2 bad input (a file, option or data problem), with one clear
paragraph on standard error and no traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click

from alliance_stats.errors import AllianceStatsError, InputError
from alliance_stats.files import atomic_write, check_not_an_input

EXAMPLE_DATASET = "clinic"


def _user_errors(command):
    """Turn alliance_stats errors into a message and exit code 2 instead of a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AllianceStatsError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(2)

    return run


def _parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        name, sep, canonical = pair.partition("=")
        if not sep or not name or not canonical:
            raise click.BadParameter(
                f"'{pair}' is not NAME=CANONICAL, e.g. --map ClientID=client", param_hint="--map"
            )
        mapping[name] = canonical
    return mapping


def _parse_code(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="alliance_stats")
def main() -> None:
    """alliance_stats: alliance, resistance and retention analyses of session data.

    \b
    Examples:
      alliance-stats report --example --out reports/example
      alliance-stats report --config study.toml
      alliance-stats validate --example
      alliance-stats validate sessions.csv --map ClientID=client --missing-code -99
      alliance-stats score sessions.csv --instrument wai_sr --items "wai_{}" --out scored.csv
      alliance-stats fit "wai_sr_total ~ session + (1 | therapist) + (1 | client)" --example
      alliance-stats simulate --seed 7 --out simulated.csv
    """


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--example", is_flag=True, help="Validate the bundled (simulated) clinic dataset.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="NAME=CANONICAL",
    help="Map a column of the file to a canonical name (repeatable).",
)
@click.option(
    "--missing-code",
    "missing_codes",
    multiple=True,
    metavar="VALUE",
    help="A value that means missing, e.g. -99 (repeatable).",
)
@click.option("--format", "fmt", default=None, help="File format if the extension does not say.")
@click.option("--sheet", default=None, help="Excel sheet name or 0-based number.")
@click.option(
    "--problems",
    "problems_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every problem to this CSV file.",
)
@click.option("--max-rows", default=30, show_default=True, help="Problems to print.")
@_user_errors
def validate(file, example, mapping, missing_codes, fmt, sheet, problems_out, max_rows):
    """Check a session file and print every problem found.

    Exits 0 when the data has no errors (warnings allowed), 2 when it has errors.

    \b
    Examples:
      alliance-stats validate --example
      alliance-stats validate export.sav --map Client_ID=client --map Therapist=therapist
      alliance-stats validate sessions.xlsx --sheet 2 --problems problems.csv
    """
    import dataclasses

    from alliance_stats import datasets
    from alliance_stats.validation import validate_sessions

    if example == bool(file):
        raise click.UsageError("give a FILE to validate, or --example (not both)")
    if problems_out:
        check_not_an_input(problems_out, [file], "--problems")
    source = datasets.path(EXAMPLE_DATASET) if example else file
    options = {"format": fmt, "sheet": _parse_code(sheet) if sheet else None}
    report = validate_sessions(
        source,
        columns=_parse_mapping(mapping) or None,
        missing_codes=[_parse_code(c) for c in missing_codes] or None,
        **{k: v for k, v in options.items() if v is not None},
    )
    if example:  # name the dataset, not where the package happens to be installed
        report = dataclasses.replace(
            report, source=f"{EXAMPLE_DATASET} (bundled example dataset, SIMULATED)"
        )
    click.echo(report.summary(max_rows=max_rows))
    if problems_out:
        atomic_write(problems_out, lambda tmp: report.problems.to_csv(tmp, index=False))
        click.echo(f"All {len(report.problems)} problems written to {problems_out}")
    if not report.ok:
        sys.exit(2)


@main.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV file to write the simulated sessions to.",
)
@click.option(
    "--truth",
    "truth_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the true parameters to this JSON file.",
)
@click.option(
    "--n-therapists",
    "--therapists",
    "therapists",
    default=30,
    show_default=True,
    help="Number of therapists (simulate_study's n_therapists; --therapists is its old name).",
)
@click.option("--clients-per-therapist", default=10, show_default=True)
@click.option("--max-sessions", default=16, show_default=True)
@click.option("--seed", default=1, show_default=True)
@_user_errors
def simulate(out, truth_out, therapists, clients_per_therapist, max_sessions, seed):
    """Write a SIMULATED study (sessions with known true effects) to a CSV file.

    \b
    Example:
      alliance-stats simulate --seed 7 --out simulated.csv --truth truth.json
    """
    from alliance_stats.simulate import simulate_study

    if truth_out and Path(truth_out).resolve() == Path(out).resolve():
        raise InputError(f"--truth and --out both name '{out}': give the truth its own file")
    study = simulate_study(
        n_therapists=therapists,
        clients_per_therapist=clients_per_therapist,
        max_sessions=max_sessions,
        seed=seed,
    )
    atomic_write(out, lambda tmp: study.sessions.to_csv(tmp, index=False))
    if truth_out:
        text = json.dumps(study.truth_json(), indent=2)
        atomic_write(truth_out, lambda tmp: tmp.write_text(text))
    click.echo(f"{study!r}\nwritten to {out}")


def _read_for_command(file, example, mapping, missing_codes):
    """Read FILE (or the bundled example) through the checks; errors exit 2."""
    from alliance_stats import datasets
    from alliance_stats.io import read_sessions

    if example == bool(file):
        raise click.UsageError("give a FILE, or --example (not both)")
    source = datasets.path(EXAMPLE_DATASET) if example else file
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_sessions(
            source,
            columns=_parse_mapping(mapping) or None,
            missing_codes=[_parse_code(c) for c in missing_codes] or None,
        )


_MAP_OPTION = click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="NAME=CANONICAL",
    help="Map a column of the file to a canonical name (repeatable).",
)
_MISSING_OPTION = click.option(
    "--missing-code", "missing_codes", multiple=True, metavar="VALUE",
    help="A value that means missing, e.g. -99 (repeatable).",
)  # fmt: skip


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--example", is_flag=True, help="Score the bundled (simulated) clinic dataset.")
@click.option(
    "--instrument",
    "instruments",
    multiple=True,
    metavar="NAME",
    help="Instrument to score, e.g. wai_sr or srs (repeatable; --list shows them all).",
)
@click.option("--list", "list_only", is_flag=True, help="List the instruments and exit.")
@click.option(
    "--items",
    "items",
    multiple=True,
    metavar="PATTERN",
    help='Item columns per --instrument, in the same order, e.g. "wai_{}".',
)
@_MAP_OPTION
@_MISSING_OPTION
@click.option("--out", type=click.Path(dir_okay=False), help="CSV to write.")
@_user_errors
def score(file, example, instruments, list_only, items, mapping, missing_codes, out):
    """Add total and subscale scores of instruments to a session file and write it as CSV.

    Item values out of range or not whole numbers are all listed (exit 2).

    \b
    Examples:
      alliance-stats score --example --instrument wai_sr --items "wai_{}" --out scored.csv
      alliance-stats score sessions.csv --instrument srs --items "srs_{}" --out scored.csv
      alliance-stats score --list
    """
    from alliance_stats.scoring import score as score_fn

    if list_only:
        from alliance_stats.instruments.registry import available

        for row in available().itertuples(index=False):
            click.echo(
                f"{row.name:20} {row.n_items:3} items, {row.response_range:>10}  {row.label}"
            )
        return
    if not instruments:
        raise click.UsageError("give --instrument NAME (alliance-stats score --list shows them)")
    if not out:
        raise click.UsageError("give --out FILE.csv for the scored table")

    if items and len(items) != len(instruments):
        raise click.UsageError("give one --items per --instrument (or none for the defaults)")
    check_not_an_input(out, [file], "--out")
    df = _read_for_command(file, example, mapping, missing_codes)
    for k, name in enumerate(instruments):
        df = score_fn(df, name, items=items[k] if items else None)
        added = [c for c in df.columns if c.startswith(f"{name}_") and c.endswith(
            ("_total", "_task", "_bond", "_goal"))]  # fmt: skip
        click.echo(f"{name}: scored {', '.join(added) or 'its scales'}")
    atomic_write(out, lambda tmp: df.to_csv(tmp, index=False))
    click.echo(f"{len(df)} rows written to {out}")


@main.command()
@click.argument("formula")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--example", is_flag=True, help="Fit on the bundled (simulated) clinic dataset.")
@click.option(
    "--family",
    type=click.Choice(["gaussian", "binomial", "poisson", "negative_binomial"]),  # FAMILIES
    default="gaussian",
    show_default=True,
)
@click.option("--ml", is_flag=True, help="Maximum likelihood instead of REML (gaussian).")
@click.option(
    "--score",
    "scores",
    multiple=True,
    metavar="INSTRUMENT=PATTERN",
    help='Score an instrument first, e.g. --score "wai_sr=wai_{}" (repeatable).',
)
@click.option(
    "--person-period",
    is_flag=True,
    help="Fit on discrete-time person-period rows (outcome column 'dropout_event' = dropout "
    "after the session; 'period' = sessions attended so far).",
)
@click.option(
    "--decompose-running",
    "running",
    multiple=True,
    metavar="COLUMN",
    help="Add COLUMN_within and COLUMN_between: the session against the client's running mean "
    "so far, and that mean (no look-ahead; for hazard and next-session models; repeatable).",
)
@click.option(
    "--decompose",
    "decomposed",
    multiple=True,
    metavar="COLUMN",
    help="Add COLUMN_cwc (within client) and COLUMN_cm (mean over all the client's sessions: "
    "for models of the ratings themselves, not of later outcomes) (repeatable).",
)
@_MAP_OPTION
@_MISSING_OPTION
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Write coefficients to CSV."
)
@_user_errors
def fit(formula, file, example, family, ml, scores, person_period, running, decomposed,
        mapping, missing_codes, out):  # fmt: skip
    """Fit a mixed model written in lme4 syntax and print a journal-style summary.

    With --out, the coefficients CSV carries the fit's status in its 'converged' and
    'singular' columns; a fit that did not converge or is singular is also reported on
    standard error.

    \b
    Examples:
      alliance-stats fit "wai_sr_total ~ session + (1 | therapist) + (1 | client)" \\
          --example --score "wai_sr=wai_{}"
      alliance-stats fit \\
          "dropout_event ~ period + wai_sr_total_within + wai_sr_total_between + (1|therapist)" \\
          --example --score "wai_sr=wai_{}" --person-period --decompose-running wai_sr_total \\
          --family binomial --out coefs.csv
    """
    import warnings

    from alliance_stats.prep import decompose, decompose_running
    from alliance_stats.prep import person_period as to_person_period
    from alliance_stats.scoring import score as score_fn

    try:
        from alliance_stats.models import fit_mixed
    except ImportError as err:  # pragma: no cover - the models layer ships with the package
        raise AllianceStatsError(
            f"model fitting is not available in this installation ({err})"
        ) from None
    if out:
        check_not_an_input(out, [file], "--out")
    df = _read_for_command(file, example, mapping, missing_codes)
    for spec in scores:
        name, _, pattern = spec.partition("=")
        df = score_fn(df, name, items=pattern or None)
    if running:
        df = decompose_running(df, list(running))
    if person_period:
        df = to_person_period(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for col in decomposed:
            df = decompose(df, col)
    click.echo("fitting ...", err=True)
    try:
        res = fit_mixed(formula, df, family=family, REML=False if ml else None)
    except InputError as err:
        made = [f"{n}_total" for n in ("wai_sr", "srs", "haq_ii") if f"'{n}_total'" in str(err)]
        if made and not scores:
            name = made[0].removesuffix("_total")
            prefix = {"wai_sr": "wai"}.get(name, name)
            raise InputError(
                f"{err}. Scores such as {made[0]} are made from the items first: add "
                f'--score "{name}={prefix}_{{}}"'
            ) from None
        raise
    click.echo(res.summary())
    if not res.converged or res.singular:
        problem = "did NOT converge" if not res.converged else "is singular"
        click.echo(
            f"WARNING: the fit {problem} (see the notes above); its estimates describe a "
            "different model than the formula: simplify the random effects.",
            err=True,
        )
    if out:
        table = res.to_frame().assign(converged=bool(res.converged), singular=bool(res.singular))
        atomic_write(out, lambda tmp: table.to_csv(tmp, index=False))
        click.echo(f"coefficients (with the fit's converged/singular status) written to {out}")


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Study configuration (TOML): data, instruments, strategies, outcome, output.",
)
@click.option(
    "--example",
    is_flag=True,
    help="Run on the bundled (simulated) clinic data with the packaged example configuration "
    "(the repository's reports/example_study.toml; to change it, edit a copy and pass --config).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: [output] folder of the configuration).",
)
@click.option("--seed", type=int, default=None, help="Override [study] seed.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML and tables only.")
@click.option("--quiet", "-q", is_flag=True, help="Do not show progress.")
@_user_errors
def report(config_path, example, out, seed, no_pdf, quiet):
    """Run the whole analysis and write an HTML report, a PDF and APA tables.

    The output folder gets report.html (self-contained), report.pdf, tables/ (CSV, Markdown,
    LaTeX, HTML) and provenance.json. It is written atomically: on any error nothing is left
    behind. Exit code 0 on success, 2 on bad input (one message, no traceback).

    \b
    Examples:
      alliance-stats report --example --out reports/example
      alliance-stats report --config study.toml
      alliance-stats report --config study.toml --out /srv/reports/2024-06 --no-pdf
    """
    from alliance_stats.config import example_config, load_config
    from alliance_stats.report import build_report

    if not config_path and not example:
        raise click.UsageError("give --config study.toml, or --example for the bundled data")
    if config_path and example:
        raise click.UsageError("give --config or --example, not both")
    cfg = load_config(config_path) if config_path else example_config()
    if seed is not None:
        cfg = cfg.replace(study={"seed": seed})
    if no_pdf:
        cfg = cfg.replace(output={"formats": ("html",)})
    started = time.perf_counter()

    def show(message: str) -> None:
        if not quiet:
            stamp = time.perf_counter() - started
            click.echo(f"[{stamp:6.1f} s] {message}", err=True)

    rp = build_report(config=cfg, out=out, progress=show)
    click.echo(f"Report written to {rp.out}/")
    for path in (rp.html, rp.pdf):
        if path is not None:
            click.echo(f"  {path}")
    if rp.pdf is not None and rp.pdf_engine != "weasyprint":
        click.echo(
            "Note: the PDF holds figures and tables only (weasyprint or the system pango library "
            'is missing). For the full PDF: pip install "alliance_stats[pdf]" and apt-get install '
            "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core."
        )


def _register_power() -> None:
    from alliance_stats.cli.power import power

    main.add_command(power)


_register_power()
