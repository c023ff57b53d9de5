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
