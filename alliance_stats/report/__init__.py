"""Reports: APA tables, figures, a methods paragraph and provenance in one HTML/PDF.

Examples
--------
>>> from alliance_stats.report import SECTIONS
>>> [sid for sid, _ in SECTIONS][:3]
['data', 'reliability', 'trajectories']
"""

from __future__ import annotations

from alliance_stats.report.builder import build_report
from alliance_stats.report.document import SECTIONS
from alliance_stats.report.result import Report
from alliance_stats.report.tables import Table

__all__ = ["SECTIONS", "Report", "Table", "build_report"]
