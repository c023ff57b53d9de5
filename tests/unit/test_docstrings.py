"""Every Examples section in the package's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import alliance_stats

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(alliance_stats.__path__, prefix="alliance_stats.")
    if not m.name.startswith("alliance_stats.bundled")
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_package_docstring_examples_run():
    result = doctest.testmod(alliance_stats, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject lists packages explicitly (the bundled data included); none may be forgotten."""
    import pathlib

    tomllib = pytest.importorskip("tomllib")

    root = pathlib.Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "alliance_stats").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
