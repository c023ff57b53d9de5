"""Writing outputs safely: atomically (a reader never sees a half-written file), and never over
or around an input (an output path that is an input file, or a folder holding one, is refused).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from alliance_stats.errors import InputError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was; an ``OSError``
    (a full disk, a permission) becomes an :class:`~alliance_stats.InputError` naming the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> atomic_write(out, lambda p: p.write_text("done")).read_text()
    'done'
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write '{target}': the folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write '{target}': the folder '{folder}' is not writable")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as err:  # a full disk, a permission changed: the old file stays
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"could not write '{target}' ({err.strerror or err}); nothing was replaced. Free "
            "space or choose another path"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_an_input(output: str | os.PathLike, inputs, option: str, folder: bool = False):
    """Refuse an output that would replace an input file (or, for a folder, hold one).

    ``inputs`` are the files the command reads (data, configuration); missing ones are
    ignored. ``option`` names the command-line option or argument in the message.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = data.write_text("client\\n1\\n")
    >>> check_not_an_input(data.with_name("problems.csv"), [data], "--problems")  # fine
    >>> check_not_an_input(data, [data], "--problems")
    Traceback (most recent call last):
    ...
    alliance_stats.errors.InputError: --problems '...s.csv' is an input file of this command: ...
    """
    out = Path(output)
    for item in inputs:
        if item is None:
            continue
        src = Path(item)
        if _same(out, src) or out.resolve() == src.resolve():
            raise InputError(
                f"{option} '{out}' is an input file of this command: writing it would destroy "
                "your data; choose another output path"
            )
        if folder and src.resolve().is_relative_to(out.resolve()):
            raise InputError(
                f"{option} '{out}' holds an input of this command ('{src}'): replacing the "
                "folder would delete it; choose a folder for the output only"
            )


def check_ours_to_replace(folder: str | os.PathLike, names, manifest: str, option: str) -> None:
    """Refuse to replace a file in ``folder`` that alliance_stats did not write there.

    ``names`` are the files a command is about to write into ``folder``; one that exists must be
    listed in the folder's ``manifest`` (written by :func:`record_ours`), else the file is a
    user's and the command stops with a message naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> record_ours(folder, ["power.csv"], ".m.json")
    >>> _ = (folder / "power.csv").write_text("ours")
    >>> check_ours_to_replace(folder, ["power.csv"], ".m.json", "--out")  # listed: fine
    >>> _ = (folder / "notes.csv").write_text("mine")
    >>> check_ours_to_replace(folder, ["notes.csv"], ".m.json", "--out")
    Traceback (most recent call last):
    ...
    alliance_stats.errors.InputError: --out '...' holds notes.csv, which alliance_stats did not ...
    """
    import json

    folder = Path(folder)
    listed: set[str] = set()
    try:
        listed = set(json.loads((folder / manifest).read_text()).get("files", []))
    except (OSError, ValueError, AttributeError):
        pass  # no manifest (or not ours): nothing in the folder is known to be ours
    theirs = [n for n in names if (folder / n).exists() and n not in listed]
    if theirs:
        raise InputError(
            f"{option} '{folder}' holds {', '.join(theirs)}, which alliance_stats did not write "
            "there; writing would replace it. Choose another folder, or move the file away"
        )


def record_ours(folder: str | os.PathLike, names, manifest: str) -> None:
    """List ``names`` in ``folder``'s ``manifest`` as files alliance_stats wrote there."""
    import json

    text = json.dumps({"written_by": "alliance_stats", "files": sorted(names)}, indent=1)
    atomic_write(Path(folder) / manifest, lambda p: p.write_text(text + "\n"))
