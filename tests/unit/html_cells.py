"""Read the cells of a result's HTML table, for tests that check what a notebook shows."""

from __future__ import annotations

from html.parser import HTMLParser


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._inside = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.cells[-1] += data


def html_cells(html: str) -> list[str]:
    """The text of every ``<td>`` and ``<th>`` cell, in document order."""
    parser = _Cells()
    parser.feed(html)
    return [c.strip() for c in parser.cells]


def shows_row(html: str, label: str, *values: str) -> bool:
    """Whether a table row labelled ``label`` shows each of ``values`` (as cell text) among the
    cells that follow it on that row (up to the next twelve cells)."""
    cells = html_cells(html)
    for i, cell in enumerate(cells):
        if cell == label and all(v in cells[i + 1 : i + 13] for v in values):
            return True
    return False
