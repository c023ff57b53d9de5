"""Fuzz the readers: generated session tables in every file kind, counted as issue 13 asks.

Each case draws a session table (ids like ``007`` next to ``7``, blank rows, extra columns,
a few corrupted cells), writes it as one file kind (CSV in several encodings and delimiters,
gzip-compressed CSV, Excel, SPSS, Stata, Parquet, or passes it as a DataFrame) and runs
``alliance_stats.validate_sessions`` on it. It prints, per kind: cases, exceptions that are
not alliance_stats errors, runs over 30 s, the tables read without errors, and for those the rows
lost without a report (rows in != rows out + blank rows reported; an .xlsx file stores no
empty rows after its last value, so those are not counted in) and ids changed without a
note; and the peak resident memory of the process.

Run: python benchmarks/fuzz.py [--cases 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

import alliance_stats as als
from alliance_stats.errors import AllianceStatsError

KINDS = ("csv-utf8", "csv-cp1252-semicolon", "csv-tab", "csv.gz", "xlsx", "sav", "dta",
         "parquet", "dataframe")  # fmt: skip
IDS = ["007", "7", "a1", "Zoë", "12", "0012"]


def draw_table(rng: np.random.Generator) -> pd.DataFrame:
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
        frame.loc[int(rng.integers(0, n)), column] = rng.choice(["x", "", "-1", "1e400", None])
    for i in rng.choice(n, size=int(rng.integers(0, 2)), replace=False):  # a blank row
        frame.iloc[int(i)] = None
    return frame


def write(frame: pd.DataFrame, kind: str, folder: Path):
    if kind == "dataframe":
        return frame
    text = frame.astype("string")
    if kind.startswith("csv") and kind != "csv.gz":
        path = folder / "s.csv"
        sep = {"csv-utf8": ",", "csv-cp1252-semicolon": ";", "csv-tab": "\t"}[kind]
        encoding = "cp1252" if "cp1252" in kind else "utf-8"
        text.to_csv(path, index=False, sep=sep, encoding=encoding, errors="replace")
    elif kind == "csv.gz":
        path = folder / "s.csv.gz"
        text.to_csv(path, index=False, compression="gzip")
    elif kind == "xlsx":
        path = folder / "s.xlsx"
        text.to_excel(path, index=False)
    elif kind in ("sav", "dta"):
        import pyreadstat

        path = folder / f"s.{kind}"
        out = text.fillna("")
        (pyreadstat.write_sav if kind == "sav" else pyreadstat.write_dta)(out, str(path))
    else:
        path = folder / "s.parquet"
        text.to_parquet(path, index=False)
    return path


def run_case(frame: pd.DataFrame, kind: str, folder: Path) -> dict:
    source = write(frame, kind, folder)
    if kind == "xlsx":  # an .xlsx file does not store empty rows after the last value
        while len(frame) and frame.iloc[-1].isna().all():
            frame = frame.iloc[:-1]
    t0 = time.perf_counter()
    out = {"kind": kind, "crash": None, "slow": False, "lost": False, "ids_changed": False,
           "ok": False}  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checked = als.io.read_sessions_checked(source)
    except AllianceStatsError:
        return out
    except Exception as exc:  # a crash: not one of ours
        out["crash"] = f"{type(exc).__name__}: {exc}"[:200] + "\n" + traceback.format_exc()[-600:]
        return out
    finally:
        out["slow"] = time.perf_counter() - t0 > 30
    report = checked.report
    out["ok"] = report.ok
    if report.ok:
        blank = int((report.problems["rule"] == "blank_row").sum())
        out["lost"] = len(checked.table) + blank != len(frame)
        written = {str(v) for v in frame["client"].dropna() if str(v).strip()}
        if kind == "csv-cp1252-semicolon":
            written = {v.encode("cp1252", "replace").decode("cp1252") for v in written}
        noted = set(report.problems["rule"]) & {"display_format", "encoding"}
        out["ids_changed"] = set(checked.table["client"].astype(str)) != written and not noted
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    counts: dict[str, Counter] = {k: Counter() for k in KINDS}
    crashes = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            kind = KINDS[i % len(KINDS)]
            r = run_case(draw_table(rng), kind, Path(tmp))
            c = counts[kind]
            c["cases"] += 1
            c["read_clean"] += r["ok"]
            c["crashes"] += r["crash"] is not None
            c["slow"] += r["slow"]
            c["lost"] += r["lost"]
            c["ids_changed"] += r["ids_changed"]
            if r["crash"]:
                crashes.append((kind, r["crash"]))
    table = pd.DataFrame(counts).T.fillna(0).astype(int)
    print(table.to_string())
    print(f"total: {table.sum().to_dict()}; {time.perf_counter() - t0:.0f} s; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    for kind, text in crashes[:5]:
        print(f"\n[{kind}] {text}")


if __name__ == "__main__":
    main()
