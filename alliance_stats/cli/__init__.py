"""The ``alliance-stats`` command: :mod:`~alliance_stats.cli.main` (validate, simulate,
score, fit, report) and :mod:`~alliance_stats.cli.power` (the ``power`` subcommand).

Examples
--------
>>> from click.testing import CliRunner
>>> from alliance_stats.cli import main
>>> CliRunner().invoke(main, ["--help"]).exit_code
0
"""

from __future__ import annotations

from alliance_stats.cli.main import main

__all__ = ["main"]
