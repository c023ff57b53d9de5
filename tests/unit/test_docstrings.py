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
