"""``python -m alliance_stats.cli``: the ``alliance-stats`` command."""

from alliance_stats.cli.main import main

if __name__ == "__main__":  # pragma: no cover
    main()
