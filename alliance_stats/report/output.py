"""The report folder: checked before a run, built aside, swapped in, recovered after a kill.

A report is written into a staging folder next to the output folder (``.<name>.tmp-<pid>-*``)
and then swapped in: the old folder is renamed aside (``.<name>.old-<pid>-*``), the new one
renamed into place, and the old one removed. A kill at any moment leaves either the old or the
new report in place, or (between the two renames) the old one aside; the next run puts such an
orphaned old report back before it starts and removes the temporaries of runs that no longer
exist. Only a folder this package wrote is ever replaced: its manifest
(:data:`REPORT_MANIFEST`) lists every file in it, and a folder with other files in it, or with
the run's data or configuration in it, is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from alliance_stats.errors import InputError
from alliance_stats.files import check_not_an_input

__all__ = ["REPORT_MANIFEST", "check_out", "recover", "staging_folder", "swap_into_place"]

#: The file a report folder's files are listed in: only such a folder is ever replaced.
REPORT_MANIFEST = ".alliance_stats_report.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(out: Path, kind: str) -> list[tuple[Path, int]]:
    """``(folder, pid)`` of the ``kind`` ("tmp" or "old") folders runs left next to ``out``."""
    found = []
    if not out.parent.is_dir():
        return found
    for p in out.parent.glob(f".{out.name}.{kind}-*"):
        pid = p.name[len(f".{out.name}.{kind}-") :].split("-", 1)[0]
        if p.is_dir() and pid.isdigit():
            found.append((p, int(pid)))
    return found


def recover(out: Path) -> list[str]:
    """Undo what a killed run left next to ``out``; returns one sentence per thing done.

    An old report renamed aside by a run that died before the new one was moved in is put back
    (when ``out`` is missing); staging folders and old reports of dead runs are removed.
    """
    done = []
    orphans = [p for p, pid in _leftovers(out, "old") if not _alive(pid)]
    if orphans and not out.exists():
        newest = max(orphans, key=lambda p: p.stat().st_mtime)
        os.replace(newest, out)
        orphans.remove(newest)
        done.append(f"the previous report in '{out}' was restored (a run had been stopped)")
    for p in orphans + [p for p, pid in _leftovers(out, "tmp") if not _alive(pid)]:
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed '{p.name}', left by a stopped run")
    return done


def _not_written_by_us(out: Path) -> list[str] | None:
    """Files in a report folder that its manifest does not list (None: no readable manifest)."""
    try:
        written = set(json.loads((out / REPORT_MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = (p.relative_to(out).as_posix() for p in out.rglob("*") if not p.is_dir())
    return sorted(f for f in found if f not in written and f != REPORT_MANIFEST)


def check_out(out: Path, inputs: list[Path]) -> None:
    """Refuse an output folder the run must not write or replace (see the module docstring)."""
    check_not_an_input(out, inputs, "the report folder (--out)", folder=True)
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(
            f"cannot write the report to '{out}': '{parent}' is a file, not a folder "
            "(choose another --out)"
        )
    if not parent.is_dir():
        raise InputError(
            f"cannot write the report to '{out}': the folder '{parent}' does not exist "
            "(create it, or choose another --out)"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write the report to '{out}': the folder '{parent}' is not writable "
            "(choose another --out)"
        )
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"'{out}' exists and is a file; --out must name a folder")
    if any(out.iterdir()):
        extra = _not_written_by_us(out)
        if extra is None:
            raise InputError(
                f"'{out}' is not empty and is not a report folder alliance_stats wrote (no "
                f"{REPORT_MANIFEST}); choose a new or empty folder so no file of yours is "
                "replaced"
            )
        if extra:
            more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
            raise InputError(
                f"the report folder '{out}' holds {len(extra)} file(s) alliance_stats did not "
                f"write ({', '.join(extra[:5])}{more}); a re-run would delete them: move them "
                "out of the folder, or choose another --out"
            )
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"cannot replace '{out}': it is not writable")


def staging_folder(out: Path) -> Path:
    """A new, empty folder next to ``out`` to build the report in."""
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))


def write_manifest(staging: Path) -> None:
    """List every file of the staged report in its manifest (the last file written)."""
    written = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                     if not p.is_dir())  # fmt: skip
    (staging / REPORT_MANIFEST).write_text(
        json.dumps({"written_by": "alliance_stats", "files": written}, indent=1) + "\n",
        encoding="utf-8",
    )


def swap_into_place(staging: Path, out: Path) -> None:
    """Move the staged report to ``out``, replacing an earlier report there."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(staging, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
