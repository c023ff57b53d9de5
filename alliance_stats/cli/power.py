"""``alliance-stats power``: simulated power from a TOML design file.

Register on the main group with ``main.add_command(power)``.

Design file (every section and key optional)::

    [design]                  # fields of alliance_stats.power.Design
    n_therapists = 30
    clients_per_therapist = 10
    max_sessions = 16
    dropout_share = 0.197
    strategy_use = 0.4
    component = "within"

    [[effects]]               # fields of alliance_stats.power.Effect (repeatable)
    strategy = "validation"
    odds_ratio = 0.74
    scale = "hazard"

    [run]                     # options of power_analysis
    n_sims = 500
    n_jobs = 2
    seed = 1
    null = true
    precision = 0.03

    [curve]                   # optional: power over one design dimension
    over = "clients_per_therapist"
    values = [5, 10, 15, 20]
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from alliance_stats.errors import AllianceStatsError, InputError

_RUN_KEYS = {
    "n_sims",
    "n_jobs",
    "scheduler",
    "seed",
    "null",
    "precision",
    "batch_size",
    "checkpoint",
    "alpha",
    "conf_level",
    "mc_interval",
    "model",
}
_SECTIONS = {"design", "effects", "effect", "run", "curve"}
#: The files ``power`` writes into its --out folder, and the folder's list of them: a re-run
#: replaces these, and never a file of the same name that a user put there.
OUTPUTS = ("power.csv", "replicates.csv", "power_curve.png")
MANIFEST = ".alliance_stats_power.json"


def _read_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if not path.is_file():
        raise InputError(f"design file '{path}' does not exist")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"design file '{path}' is not valid TOML: {exc}") from exc


def run_design_file(path, out, *, overrides=None, progress=True):
    """Run the power analysis a TOML design file describes; write the table and figure.

    Returns the :class:`~alliance_stats.power.PowerResult`. Writes ``power.csv`` (the table),
    ``replicates.csv`` and ``power_curve.png`` into the folder ``out`` (created if needed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alliance_stats import power as pw
    from alliance_stats.files import atomic_write

    cfg = _read_toml(Path(path))
    unknown = sorted(set(cfg) - _SECTIONS)
    if unknown:
        raise InputError(
            f"design file has unknown section(s) {unknown}; allowed: {sorted(_SECTIONS)}"
        )
    effects = cfg.get("effects", cfg.get("effect"))
    run = dict(cfg.get("run", {}))
    bad = sorted(set(run) - _RUN_KEYS)
    if bad:
        raise InputError(f"[run] has unknown key(s) {bad}; allowed: {sorted(_RUN_KEYS)}")
    run.update({k: v for k, v in (overrides or {}).items() if v is not None})
    run["progress"] = progress
    from alliance_stats.files import check_not_an_input, check_ours_to_replace, record_ours

    for name in OUTPUTS:
        check_not_an_input(Path(out) / name, [path, run.get("checkpoint")], "--out")
    check_ours_to_replace(out, OUTPUTS, MANIFEST, "--out")
    curve = cfg.get("curve")
    if curve is not None:
        extra = sorted(set(curve) - {"over", "values"})
        if extra:
            raise InputError(f"[curve] has unknown key(s) {extra}; allowed: over, values")
        res = pw.power_curve(
            curve.get("over", "clients_per_therapist"),
            curve.get("values", [5, 10, 15, 20]),
            design=cfg.get("design"),
            effects=effects,
            **run,
        )
    else:
        res = pw.power_analysis(design=cfg.get("design"), effects=effects, **run)
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder '{folder}': {exc}") from exc
    record_ours(folder, OUTPUTS, MANIFEST)  # first, so that a half-finished run is still ours
    atomic_write(folder / "power.csv", lambda p: res.table.to_csv(p, index=False))
    atomic_write(folder / "replicates.csv", lambda p: res.replicates.to_csv(p, index=False))
    ax = res.plot()
    atomic_write(
        folder / "power_curve.png",
        lambda p: ax.figure.savefig(p, dpi=120, bbox_inches="tight", format="png"),
    )
    plt.close(ax.figure)
    return res


def example_design_path() -> Path:
    """The example design file shipped with the package (SIMULATED studies)."""
    from importlib import resources

    return Path(str(resources.files("alliance_stats.data") / "example_power_design.toml"))


@click.command()
@click.option(
    "--design",
    "design_file",
    type=click.Path(dir_okay=False),
    help="TOML file with [design], [[effects]], [run] and optional [curve] sections.",
)
@click.option(
    "--example",
    is_flag=True,
    help="Run the example design shipped with the package (200 simulated studies).",
)
@click.option(
    "--show-example",
    is_flag=True,
    help="Print the example design file (to copy and edit) and exit.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("--n-sims", type=int, default=None, help="Override [run] n_sims.")
@click.option("--n-jobs", type=int, default=None, help="Local worker processes (-1 = all).")
@click.option("--scheduler", default=None, help="Dask scheduler address, tcp://host:port.")
@click.option("--seed", type=int, default=None, help="Override [run] seed.")
@click.option("--checkpoint", default=None, help="Checkpoint file to resume an interrupted run.")
@click.option("--quiet", "-q", is_flag=True, help="Do not show progress.")
def power(design_file, example, show_example, out, n_sims, n_jobs, scheduler, seed, checkpoint,
          quiet):  # fmt: skip
    """Simulated power for a planned study: writes power.csv and power_curve.png to --out.

    \b
    Examples:
      alliance-stats power --example --out power_results
      alliance-stats power --show-example > design.toml
      alliance-stats power --design design.toml --out power_results --n-jobs 2
    """
    if show_example:
        click.echo(example_design_path().read_text(encoding="utf-8"), nl=False)
        return
    if bool(design_file) == bool(example):
        raise click.UsageError("give --design design.toml, or --example (not both)")
    if not out:
        raise click.UsageError("give --out FOLDER for power.csv and power_curve.png")
    design_file = design_file or example_design_path()
    overrides = dict(n_sims=n_sims, n_jobs=n_jobs, scheduler=scheduler, seed=seed,
                     checkpoint=checkpoint)  # fmt: skip
    try:
        res = run_design_file(design_file, out, overrides=overrides, progress=not quiet)
    except AllianceStatsError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    click.echo(res.summary())
    click.echo(f"Wrote {Path(out) / 'power.csv'} and {Path(out) / 'power_curve.png'}")
