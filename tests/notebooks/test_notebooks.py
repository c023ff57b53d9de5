"""Execute the tutorial notebooks and teaching labs, and check they are stored without outputs.

Every tutorial (``notebooks/*.ipynb``) and every lab solution runs top to bottom; each lab
student version runs up to its first blank (the first cell tagged ``blank``, whose source has the
line ``# YOUR ANSWER HERE``). The kernel is the interpreter running pytest (ipykernel started
with ``sys.executable``), so no kernelspec has to be registered: ``pip install ".[test]"`` is
enough. Each notebook runs in a fresh temporary working directory.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebooks run in; from the [test] extra)
import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2] / "notebooks"
TUTORIALS = sorted(ROOT.glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "labs").glob("*_solution.ipynb"))
STUDENTS = sorted((ROOT / "labs").glob("*_student.ipynb"))
ALL = sorted(ROOT.rglob("*.ipynb"))
BLANK_TAG = "blank"
BLANK_LINE = "# YOUR ANSWER HERE"
CELL_TIMEOUT = 600  # seconds per cell; the notebooks themselves take well under two minutes


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _kernel_manager() -> KernelManager:
    """A kernel manager that starts ipykernel with this very interpreter."""
    km = KernelManager(kernel_name="python3")
    km._kernel_spec = KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (tests)",
        language="python",
    )
    return km


def _execute(nb, workdir: Path) -> float:
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client = nbclient.NotebookClient(
            nb,
            km=_kernel_manager(),
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(workdir)}},
        )
        start = time.perf_counter()
        client.execute(cwd=str(workdir))
        return time.perf_counter() - start
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend


def _is_blank(cell) -> bool:
    return BLANK_TAG in cell.get("metadata", {}).get("tags", [])


def _report(path: Path, seconds: float) -> None:
    print(f"\n{path.relative_to(ROOT).as_posix()}: {seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS + SOLUTIONS, ids=_ids(TUTORIALS + SOLUTIONS))
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    seconds = _execute(nb, tmp_path)
    _report(path, seconds)
    if path in TUTORIALS:
        assert seconds < 120, f"{path.name} took {seconds:.0f} s; tutorials must stay under 2 min"


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENTS, ids=_ids(STUDENTS))
def test_student_version_runs_up_to_first_blank(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    first = next((i for i, c in enumerate(nb.cells) if _is_blank(c)), None)
    assert first is not None, f"{path.name} has no cell tagged {BLANK_TAG!r}"
    nb.cells = nb.cells[:first]
    _report(path, _execute(nb, tmp_path))


@pytest.mark.parametrize("path", STUDENTS, ids=_ids(STUDENTS))
def test_student_blanks_are_marked(path):
    nb = nbformat.read(path, as_version=4)
    blanks = [c for c in nb.cells if _is_blank(c)]
    assert blanks, f"{path.name}: no cell tagged {BLANK_TAG!r}"
    for cell in blanks:
        assert BLANK_LINE in cell.source.splitlines(), cell.source
    untagged = [
        c for c in nb.cells if c.cell_type == "code" and BLANK_LINE in c.source and not _is_blank(c)
    ]
    assert not untagged, f"{path.name}: '{BLANK_LINE}' in a cell not tagged {BLANK_TAG!r}"


@pytest.mark.parametrize("path", STUDENTS, ids=_ids(STUDENTS))
def test_every_student_version_has_a_solution(path):
    solution = path.with_name(path.name.replace("_student", "_solution"))
    assert solution.exists(), f"missing {solution.name}"
    student, sol = (nbformat.read(p, as_version=4) for p in (path, solution))
    assert len(student.cells) == len(sol.cells)
    assert not any(_is_blank(c) or BLANK_LINE in c.source for c in sol.cells)
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in sol.cells]
    last = sol.cells[-1]
    assert last.cell_type == "code" and "assert" in last.source
    assert "als.datasets.truth" in "".join(c.source for c in sol.cells if c.cell_type == "code")


def test_enough_notebooks():
    assert len(TUTORIALS) >= 6
    assert len(SOLUTIONS) >= 4 and len(STUDENTS) == len(SOLUTIONS)


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_is_stored_without_outputs(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    nbformat.validate(nbformat.from_dict(raw))
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: cell {i} has a count"
        assert not set(cell.get("metadata", {})) - {"tags"}, f"{path.name}: cell {i} metadata"
    assert set(raw["metadata"]) <= {"kernelspec", "language_info"}, path.name
