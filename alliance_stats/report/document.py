"""The report as a document: its sections in order, the tables and figures they hold
(numbered in reading order), and its output (HTML, PDF, full-precision results, the last
identifier check). What goes into it is decided by :mod:`~alliance_stats.report.builder`.

Examples
--------
>>> doc = Document()
>>> doc.sections["data"].text("Sixty clients.")
>>> [sid for sid, _ in SECTIONS][:2], doc.sections["data"].blocks[0]["kind"]
(['data', 'reliability'], 'text')
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from alliance_stats.errors import AllianceStatsError
from alliance_stats.report import privacy
from alliance_stats.report import tables as T

__all__ = ["PDF_HELP", "SECTIONS", "Document", "Section", "fig_to_png", "write_results"]

#: Section ids and titles, in order.
SECTIONS = (
    ("data", "Data summary and validation"),
    ("reliability", "Instrument reliability"),
    ("trajectories", "Alliance trajectories"),
    ("retention", "Retention"),
    ("strategies", "Strategy effects"),
    ("ruptures", "Ruptures and repair"),
    ("therapists", "Therapist effects"),
    ("diagnostics", "Model diagnostics"),
    ("methods", "Methods"),
    ("appendix", "Technical appendix: how the models were fitted"),
    ("provenance", "Provenance"),
)

PDF_HELP = (
    "This PDF holds the figures and tables only. For the full formatted report install the "
    'pdf extra (pip install "alliance_stats[pdf]") and the system pango library '
    "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core), "
    "or open report.html in a browser and print it to PDF."
)


@dataclass
class Section:
    """One section of the report: its blocks (text, notes, tables, figures) in order."""

    id: str
    title: str
    status: str = "ok"
    unavailable: str = ""
    blocks: list = field(default_factory=list)

    def text(self, text: str) -> None:
        self.blocks.append({"kind": "text", "text": text})

    def notes(self, items) -> None:
        items = [str(i) for i in items if i]
        if items:
            self.blocks.append({"kind": "notes", "items": items})

    def off(self, why: str) -> None:
        self.status = "unavailable"
        self.unavailable = why


def fig_to_png(fig, dpi: int = 130) -> bytes:
    """A figure as PNG bytes (no software stamp: the same figure gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


class Document:
    """The report being assembled (:attr:`sections` by id, :attr:`tables` by name,
    :attr:`figures` as ``(id, section, Figure)``)."""

    def __init__(self) -> None:
        self.sections = {sid: Section(sid, title) for sid, title in SECTIONS}
        self.tables: dict[str, T.Table] = {}
        self.figures: list[tuple[str, str, Any]] = []  # id, section, Figure
        self.fig_blocks: dict[str, dict] = {}

    def add_table(self, section: str, table: T.Table) -> None:
        self.tables[table.name] = table
        self.sections[section].blocks.append({"kind": "table", "name": table.name})

    def add_figure(self, section: str, fig_id: str, fig, caption: str) -> None:
        block = {"kind": "figure", "id": fig_id, "caption": caption, "alt": caption}
        self.figures.append((fig_id, section, fig))
        self.fig_blocks[fig_id] = block
        self.sections[section].blocks.append(block)

    def number_in_order(self) -> None:
        """Number tables and figures in the order they appear in the document."""
        n_tab = n_fig = 0
        order = []
        for sec in self.sections.values():
            for b in sec.blocks:
                if b["kind"] == "table":
                    n_tab += 1
                    self.tables[b["name"]] = dataclasses.replace(
                        self.tables[b["name"]], number=n_tab
                    )
                    order.append(b["name"])
                elif b["kind"] == "figure":
                    n_fig += 1
                    b["number"] = n_fig
        self.tables = {name: self.tables[name] for name in order}
        rank = {b["id"]: b["number"] for b in self.fig_blocks.values()}
        self.figures.sort(key=lambda f: rank[f[0]])

    def close_figures(self) -> None:
        self.figures = [(i, s, None) for i, s, _ in self.figures]

    def new_figure(self, size="onehalf", nrows=1, ncols=1):
        from alliance_stats import plots

        with plots.style():
            return plots.figure(size, nrows, ncols)

    @contextlib.contextmanager
    def styled(self):
        from alliance_stats import plots

        with plots.style():
            yield

    def check_no_identifiers(self, ids: set[str], html_text: str, staging: Path) -> None:
        """The last privacy check, on what a reader sees: the HTML's unescaped text, every
        figure's drawn text and every table and provenance file written. A client or
        therapist identifier anywhere stops the run before anything is moved into place."""
        texts = {"the HTML report": html_text}
        texts |= {f"figure {fig_id}": privacy.figure_text(fig) for fig_id, _, fig in self.figures}
        texts |= {
            f"{p.relative_to(staging)}": p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(staging.rglob("*"))
            if p.is_file()
            and p.suffix in (".csv", ".md", ".tex", ".html", ".json", ".txt")
            and p.name != "report.html"  # (html_text itself)
        }
        where = [name for name, text in texts.items() if privacy.find_identifiers(text, ids)]
        if where:
            raise AllianceStatsError(
                "client or therapist identifiers would appear in "
                + ", ".join(where[:5])
                + ("" if len(where) <= 5 else f" and {len(where) - 5} more")
                + "; nothing was written. If [analysis] group or a strategy or covariate "
                "column holds identifiers, choose another column; otherwise please report "
                "this as a bug."
            )

    def render_html(self, **context) -> str:
        """The self-contained HTML report (figures embedded: call :meth:`embed_figures`
        first); ``context``: the cover's title, author, date_line, versions, simulated,
        keyfacts and plan_status."""
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.PackageLoader("alliance_stats.report", "templates"),
            autoescape=jinja2.select_autoescape(["html", "j2"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        sections = []
        for s in self.sections.values():
            blocks = []
            for b in s.blocks:
                if b["kind"] == "table":
                    b = {"kind": "table", "html": self.tables[b["name"]].to_html()}
                blocks.append(b)
            sections.append({"id": s.id, "title": s.title, "status": s.status,
                             "unavailable": s.unavailable, "blocks": blocks})  # fmt: skip
        return env.get_template("report.html.j2").render(sections=sections, **context)

    def embed_figures(self) -> None:
        """Render every figure to PNG and embed it in its block (a data URL)."""
        for fig_id, _, fig in self.figures:
            png = base64.b64encode(fig_to_png(fig)).decode("ascii")
            self.fig_blocks[fig_id]["src"] = "data:image/png;base64," + png

    def write_pdf(
        self, html_text: str, path: Path, engine: str, *, title: str, date_line: str,
        methods: str, notes: list[str], progress=None,
    ) -> str:  # fmt: skip
        """Write the PDF: weasyprint from the HTML where it can run (``engine`` "auto" or
        "weasyprint"), else the figures-and-tables PDF, saying so in ``notes``. Returns the
        engine used."""
        if engine in ("auto", "weasyprint"):
            try:
                from weasyprint import HTML
            except (ImportError, OSError) as err:  # OSError: system pango missing
                if engine == "weasyprint":
                    from alliance_stats.errors import MissingDependencyError

                    raise MissingDependencyError(
                        f"[output] pdf_engine = 'weasyprint' but it cannot be used ({err}). "
                        + PDF_HELP
                    ) from None
            else:
                import logging

                logging.getLogger("weasyprint").setLevel(logging.ERROR)
                logging.getLogger("fontTools").setLevel(logging.ERROR)
                HTML(string=html_text).write_pdf(path)
                return "weasyprint"
        notes.append(PDF_HELP)
        if progress:
            progress("note: " + PDF_HELP)
        from alliance_stats.report.pdf import figures_pdf

        figures_pdf(
            path,
            title=title,
            dating=date_line,
            note=PDF_HELP,
            methods=methods,
            tables=list(self.tables.values()),
            figures=[(self.fig_blocks[i], fig) for i, _, fig in self.figures],
        )
        return "matplotlib"


def write_results(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Full-precision, machine-readable results beside the rounded display tables, as CSV (and
    Parquet where pyarrow is installed); nothing (no folder) when there are none."""
    import importlib.util

    if not frames:
        return
    folder.mkdir()
    parquet = importlib.util.find_spec("pyarrow") is not None
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
        if parquet:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
