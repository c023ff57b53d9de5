"""The fallback PDF: figures and tables drawn with matplotlib (no system libraries needed).

Used when weasyprint or the system pango library is missing. Page 1 says how to get the full
formatted PDF; then the methods text, every table (as text) and every figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["figures_pdf"]

A4 = (8.27, 11.69)
_LINES_PER_PAGE = 70


def _text_page(pdf, lines: list[str], *, title: str | None = None, mono: bool = False) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4)
    y = 0.95
    if title:
        fig.text(0.07, y, title, fontsize=13, weight="bold", va="top")
        y -= 0.04
    fig.text(0.07, y, "\n".join(lines), fontsize=7 if mono else 9, va="top",
             family="monospace" if mono else "serif", linespacing=1.35)  # fmt: skip
    pdf.savefig(fig)


def _table_lines(table) -> list[str]:
    cells = table._cells()
    widths = [max(len(str(c)), *(len(v) for v in cells[c])) if len(cells) else len(str(c))
              for c in cells.columns]  # fmt: skip
    widths = [min(w, 48) for w in widths]

    def row(values):
        return "  ".join(str(v)[:w].ljust(w) for v, w in zip(values, widths))

    lines = [row(cells.columns), "-" * min(sum(widths) + 2 * len(widths), 120)]
    lines += [row(r) for r in cells.itertuples(index=False)]
    if table.note:
        lines += [""] + textwrap.wrap("Note. " + table.note, 110)
    return lines


def figures_pdf(path: str | Path, *, title: str, dating: str, note: str, methods: str, tables,
                figures) -> Path:  # fmt: skip
    """Write the figures-and-tables PDF to ``path`` (deterministic: no creation date);
    ``dating`` is the cover's date line (:func:`~alliance_stats.report.provenance.date_line`)."""
    from matplotlib.backends.backend_pdf import PdfPages

    path = Path(path)
    meta = {"Title": title, "Creator": "alliance_stats", "Producer": "matplotlib",
            "CreationDate": None}  # fmt: skip
    with PdfPages(path, metadata=meta) as pdf:
        intro = [dating, ""]
        intro += textwrap.wrap(note, 95) + [""]
        for para in methods.split("\n\n"):
            intro += textwrap.wrap(para, 95) + [""]
        for start in range(0, len(intro), _LINES_PER_PAGE):
            _text_page(pdf, intro[start : start + _LINES_PER_PAGE],
                       title=title if start == 0 else f"{title} (cont.)")  # fmt: skip
        for t in tables:
            lines = _table_lines(t)
            for start in range(0, len(lines), _LINES_PER_PAGE):
                head = f"{t.caption}. {t.title}" + (" (cont.)" if start else "")
                _text_page(pdf, lines[start : start + _LINES_PER_PAGE], title=head, mono=True)
        for block, fig in figures:
            if fig is None:
                continue
            fig.suptitle(f"Figure {block.get('number', '')}", fontsize=9, x=0.01, ha="left")
            pdf.savefig(fig)
    return path
