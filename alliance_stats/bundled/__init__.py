"""Bundled simulated datasets (the package data of :mod:`alliance_stats.datasets`)."""
