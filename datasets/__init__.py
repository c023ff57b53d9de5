"""Bundled simulated datasets, shipped inside the wheel as ``alliance_stats.bundled``."""
