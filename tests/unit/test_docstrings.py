"""Every Examples section in the package's docstrings runs and prints what it says."""

import doctest
import importlib
import inspect
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


def _public_api() -> dict:
    """Every function and class of the public API: the names ``alliance_stats`` exports and
    those its public submodules list in ``__all__``."""
    out = {}
    for name in alliance_stats.__all__:
        obj = getattr(alliance_stats, name)
        members = (
            {f"{name}.{m}": getattr(obj, m) for m in getattr(obj, "__all__", [])}
            if inspect.ismodule(obj)
            else {name: obj}
        )
        out |= {k: v for k, v in members.items() if inspect.isfunction(v) or inspect.isclass(v)}
    return out


def test_every_public_function_and_class_has_an_example():
    """Each has an Examples section of its own (test_examples_run checks that it runs)."""
    api = _public_api()
    assert len(api) > 100
    missing = sorted(name for name, obj in api.items() if ">>>" not in (obj.__doc__ or ""))
    assert not missing, f"add a numpydoc Examples section to: {missing}"
