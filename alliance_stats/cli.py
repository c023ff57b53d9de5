"""The ``alliance-stats`` command.

Exit codes: 0 success; 2 bad input (a file, option or data problem), with one clear
paragraph on standard error and no traceback.
"""

from __future__ import annotations

import functools
import json
import sys

import click

from alliance_stats.errors import AllianceStatsError

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
      alliance-stats validate --example
      alliance-stats validate sessions.csv --map ClientID=client --missing-code -99
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
    from alliance_stats import datasets
    from alliance_stats.files import atomic_write
    from alliance_stats.validation import validate_sessions

    if example == bool(file):
        raise click.UsageError("give a FILE to validate, or --example (not both)")
    source = datasets.path(EXAMPLE_DATASET) if example else file
    options = {"format": fmt, "sheet": _parse_code(sheet) if sheet else None}
    report = validate_sessions(
        source,
        columns=_parse_mapping(mapping) or None,
        missing_codes=[_parse_code(c) for c in missing_codes] or None,
        **{k: v for k, v in options.items() if v is not None},
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
@click.option("--therapists", default=30, show_default=True, help="Number of therapists.")
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
    from alliance_stats.files import atomic_write
    from alliance_stats.simulate import simulate_study

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


if __name__ == "__main__":  # pragma: no cover
    main()
