"""Generated session files of every kind the readers take, and the checks run on each (issue 13).

A case draws a session table (ids such as ``007`` next to ``7``, accented ids, blank rows,
extra columns, corrupted cells), writes it as one file kind and reads it with
:func:`alliance_stats.io.read_sessions_checked`. :func:`run_case` says what went wrong, if
anything: an exception that is not an alliance_stats error, a run over 30 s, a warning from a
library reaching the user, rows or columns lost without a report, or ids changed without a
note. ``tests/unit/test_fuzz.py`` runs a few hundred cases in CI with a fixed seed;
``benchmarks/fuzz.py`` runs many more (before a release) and prints the counts.

Kinds that are damaged on purpose (``gz-truncated``, ``xz-random``, ``zip-not-zip``) and the
nested Parquet and DataFrame cells must end in an alliance_stats error, never in a table.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import time
import traceback
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

import alliance_stats as als
from alliance_stats.errors import AllianceStatsError

#: File kinds; each case writes one.
KINDS = (
    "csv-utf8", "csv-utf8-bom", "csv-utf16", "csv-cp1252-semicolon", "csv-tab", "csv-pipe",
    "csv.gz", "csv.bz2", "csv.xz", "csv.zip", "gz-truncated", "xz-random", "zip-not-zip",
    "xlsx", "sav", "dta", "parquet", "parquet-nested", "dataframe", "dataframe-nested",
)  # fmt: skip
#: Kinds that must be refused with an alliance_stats error.
MUST_FAIL = {"gz-truncated", "xz-random", "zip-not-zip", "parquet-nested", "dataframe-nested"}
IDS = ["007", "7", "a1", "Zoë", "12", "0012", "O'Brien", "Smith & Jones"]
SLOW_SECONDS = 30


def draw_table(rng: np.random.Generator) -> pd.DataFrame:
    """A session table with awkward ids, corrupted cells and blank rows (object columns)."""
    n = int(rng.integers(1, 40))
    clients = rng.choice(IDS, size=n)
    frame = pd.DataFrame({
        "client": clients,
        "therapist": rng.choice(["t1", "t2"], size=n),
        "session": pd.Series(clients).groupby(clients).cumcount().to_numpy() + 1,
        "attended": rng.choice([1, 0], size=n),
        "wai_1": rng.integers(1, 6, size=n).astype(float),
        "note": rng.choice(["", "ok", "late", "ça va"], size=n),
    })  # fmt: skip
    frame = frame.astype(object)
    for _ in range(int(rng.integers(0, 3))):  # corrupt a cell
        column = str(rng.choice(["session", "attended", "wai_1", "client"]))
        bad = rng.choice(["x", "", "-1", "1e400", "inf", "1e20", None])
        frame.loc[int(rng.integers(0, n)), column] = bad
    for i in rng.choice(n, size=int(rng.integers(0, 2)), replace=False):  # a blank row
        frame.iloc[int(i)] = None
    return frame


def _csv_text(frame: pd.DataFrame, sep: str = ",") -> str:
    return frame.astype("string").to_csv(index=False, sep=sep)


def write(frame: pd.DataFrame, kind: str, folder: Path, rng: np.random.Generator):
    """``frame`` as a file of ``kind`` in ``folder`` (or the DataFrame itself)."""
    text = frame.astype("string")
    if kind == "dataframe":
        return frame
    if kind == "dataframe-nested":
        nested = frame.copy()
        nested["tags"] = [[1, 2]] * len(frame)
        return nested
    csv_kinds = {
        "csv-utf8": (",", "utf-8"), "csv-utf8-bom": (",", "utf-8-sig"),
        "csv-utf16": (",", "utf-16"), "csv-cp1252-semicolon": (";", "cp1252"),
        "csv-tab": ("\t", "utf-8"), "csv-pipe": ("|", "utf-8"),
    }  # fmt: skip
    if kind in csv_kinds:
        sep, encoding = csv_kinds[kind]
        path = folder / "s.csv"
        path.write_bytes(_csv_text(frame, sep).encode(encoding, errors="replace"))
        return path
    data = _csv_text(frame).encode()
    compressors = {"csv.gz": gzip.compress, "csv.bz2": bz2.compress, "csv.xz": lzma.compress}
    if kind in compressors:
        path = folder / f"s.{kind}"
        path.write_bytes(compressors[kind](data))
    elif kind == "csv.zip":
        path = folder / "s.csv.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("s.csv", data)
    elif kind == "gz-truncated":
        path = folder / "s.csv.gz"
        whole = gzip.compress(data)
        path.write_bytes(whole[: int(rng.integers(1, max(2, len(whole) - 8)))])
    elif kind == "xz-random":
        path = folder / "s.csv.xz"
        path.write_bytes(rng.bytes(int(rng.integers(1, 400))))
    elif kind == "zip-not-zip":
        path = folder / "s.csv.zip"
        path.write_bytes(data)
    elif kind == "xlsx":
        path = folder / "s.xlsx"
        text.to_excel(path, index=False)
    elif kind in ("sav", "dta"):
        import pyreadstat

        path = folder / f"s.{kind}"
        writer = pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta
        writer(text.fillna(""), str(path))
    elif kind == "parquet":
        path = folder / "s.parquet"
        text.to_parquet(path, index=False)
    elif kind == "parquet-nested":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "s.parquet"
        table = pa.Table.from_pandas(text, preserve_index=False)
        n = len(frame)
        nested = {
            "list": pa.array([[1, 2]] * n),
            "struct": pa.array([{"x": 1}] * n),
            "map": pa.array([[("k", 1)]] * n, type=pa.map_(pa.string(), pa.int64())),
        }
        name = str(rng.choice(list(nested)))
        pq.write_table(table.append_column(name, nested[name]), path)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return path


def _written_ids(frame: pd.DataFrame, kind: str) -> set[str]:
    """The non-blank ids as the file holds them (cp1252 cannot hold every character)."""
    ids = {str(v) for v in frame["client"].dropna() if str(v).strip()}
    if kind == "csv-cp1252-semicolon":
        ids = {v.encode("cp1252", "replace").decode("cp1252") for v in ids}
    return ids


def run_case(frame: pd.DataFrame, kind: str, folder: Path, rng: np.random.Generator) -> dict:
    """Read one generated file; a dict of what went wrong (all false/empty when nothing)."""
    source = write(frame, kind, folder, rng)
    if kind == "xlsx":  # an .xlsx file stores no empty rows after the last value
        while len(frame) and frame.iloc[-1].isna().all():
            frame = frame.iloc[:-1]
    out = {"kind": kind, "crash": "", "slow": False, "warned": "", "lost_rows": False,
           "lost_columns": False, "ids_changed": False, "accepted_bad": False,
           "read": False}  # fmt: skip
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            checked = als.io.read_sessions_checked(source)
    except AllianceStatsError:
        return out
    except Exception as exc:  # a crash: not one of ours
        out["crash"] = f"{type(exc).__name__}: {exc}"[:200] + "\n" + traceback.format_exc()[-800:]
        return out
    finally:
        out["slow"] = time.perf_counter() - started > SLOW_SECONDS
    leaked = [w for w in caught if not issubclass(w.category, (als.errors.ModelWarning,))]
    leaked = [w for w in leaked if not issubclass(w.category, ResourceWarning)]
    out["warned"] = "; ".join(f"{w.category.__name__}: {w.message}" for w in leaked)[:300]
    out["accepted_bad"] = kind in MUST_FAIL
    report = checked.report
    out["read"] = report.ok
    if report.ok:
        blank = int((report.problems["rule"] == "blank_row").sum())
        out["lost_rows"] = len(checked.table) + blank != len(frame)
        out["lost_columns"] = not set(frame.columns) <= set(checked.table.columns)
        noted = set(report.problems["rule"]) & {"display_format", "encoding"}
        ids = set(checked.table["client"].astype(str))
        out["ids_changed"] = ids != _written_ids(frame, kind) and not noted
    return out


def failures(result: dict) -> list[str]:
    """The names of the checks ``result`` (from :func:`run_case`) failed."""
    keys = ("crash", "slow", "warned", "lost_rows", "lost_columns", "ids_changed", "accepted_bad")
    return [k for k in keys if result[k]]


def run(cases: int, seed: int, folder: Path) -> list[dict]:
    """``cases`` cases, kinds in turn, from one seeded generator."""
    rng = np.random.default_rng(seed)
    return [run_case(draw_table(rng), KINDS[i % len(KINDS)], folder, rng) for i in range(cases)]
