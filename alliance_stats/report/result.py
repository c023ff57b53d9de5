"""The result of :func:`~alliance_stats.report.build_report`: where the report went and what
is in it.

Examples
--------
>>> import pandas as pd
>>> from pathlib import Path
>>> sections = pd.DataFrame({"id": ["data"], "title": ["Data"], "status": ["ok"]})
>>> r = Report(Path("out"), None, None, "none", {}, (), sections, {}, "", {}, {})
>>> repr(r)
"<Report 'out': 1/1 sections, 0 figures, 0 tables, PDF: none>"
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Report"]


@dataclass(frozen=True)
class Report:
    """A built report (result of :func:`build_report`).

    Attributes
    ----------
    out : Path
        The output folder. ``html``, ``pdf``: the files (``pdf`` None when not requested).
    pdf_engine : str
        ``"weasyprint"``, ``"matplotlib"`` (figures-and-tables fallback) or ``"none"``.
    tables : dict of name -> Table
        Every table in the report (also written to ``out/tables``).
    figures : tuple of str
        Figure ids, in order.
    sections : DataFrame
        ``id, title, status`` (``ok`` or ``unavailable``) per section.
    models : dict
        Fitted :class:`~alliance_stats.models.MixedResult` objects by key (``alliance``,
        ``dropout``) and ``strategies`` (the StrategyResult's model).
    methods : str
        The generated methods text.
    provenance : dict
        Input hash, configuration, seed, versions, date.
    timings : dict of step -> seconds
    notes : tuple of str

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import alliance_stats as als
    >>> df = als.datasets.load("teaching")
    >>> df = df[df["client"].isin(df["client"].unique()[:40])]
    >>> cfg = {"instruments": [{"name": "wai_sr", "items": "wai_{}"}],
    ...        "output": {"formats": ["html"], "tables": ["csv"]}}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     rp = als.build_report(df, config=cfg, out=pathlib.Path(tmp) / "study")
    ...     print(rp.html.name, rp.html.exists(), rp.pdf)
    report.html True None
    >>> rp.sections.loc[rp.sections["status"] != "ok", "id"].tolist()
    ['strategies']
    >>> len(rp.figures), sorted(rp.models)
    (6, ['alliance', 'dropout'])
    """

    out: Path
    html: Path | None
    pdf: Path | None
    pdf_engine: str
    tables: dict
    figures: tuple[str, ...]
    sections: pd.DataFrame
    models: dict
    methods: str
    provenance: dict
    timings: dict
    notes: tuple[str, ...] = ()
    strategy: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        ok = int((self.sections["status"] == "ok").sum())
        return (
            f"<Report {str(self.out)!r}: {ok}/{len(self.sections)} sections, "
            f"{len(self.figures)} figures, {len(self.tables)} tables, PDF: {self.pdf_engine}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The sections table (a copy)."""
        return self.sections.copy()

    def summary(self) -> str:
        """Plain text: files, sections, timings."""
        lines = [repr(self)]
        for p in (self.html, self.pdf):
            if p is not None:
                lines.append(f"  {p}")
        for r in self.sections.itertuples(index=False):
            lines.append(f"  [{r.status:11}] {r.title}")
        total = sum(self.timings.values())
        lines.append(f"  built in {total:.1f} s")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"

    def plot(self, ax=None):
        """Bar chart of where the build time went; returns the Axes."""
        from alliance_stats import plots

        ax = plots.get_axes(ax)
        steps = list(self.timings)
        ax.barh(steps[::-1], [self.timings[s] for s in steps][::-1], color=plots.PALETTE[0])
        ax.set_xlabel("seconds")
        return ax
