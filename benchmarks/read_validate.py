"""Read and validate one million session rows, next to bare pandas reads in the same run.

Usage::

    python benchmarks/read_validate.py [--rows 1000000] [--repeats 9] [--shuffled]

Each measurement runs in a fresh child process, so peak memory (max RSS) is the
reader's own; the two paths alternate, so that a slow spell of a shared machine hits both.
Prints the median wall time (and the range), user and system CPU time (all threads) and peak
memory of each path, and the ratios of alliance_stats (read + map + validate + canonical
types) to the bare pandas read. On a shared virtual machine the user-time ratio is the
steadier one: in some spells the kernel takes many times longer to hand out fresh memory,
which shows as system time and stretches the wall time of the path that touches more pages.
The data is synthetic (random values in the canonical layout), not a real study.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_stats.simulate import STRATEGIES

CHILD = r"""
import json, resource, sys, time
import pandas as pd
kind, path = sys.argv[1], sys.argv[2]
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime, usage.ru_stime
start, (user_start, sys_start) = time.perf_counter(), cpu()
if kind == "pandas_csv":
    frame = pd.read_csv(path)
elif kind == "pandas_parquet":
    frame = pd.read_parquet(path)
else:
    import warnings
    import alliance_stats as als
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = als.read_sessions(path)
seconds, (user, system) = time.perf_counter() - start, cpu()
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "user": user - user_start, "sys": system - sys_start,
                  "peak_mib": peak_mib, "rows": len(frame)}))
"""


def make_sessions(n_rows: int, seed: int = 1) -> pd.DataFrame:
    """A synthetic canonical session table of ``n_rows`` rows (20 sessions per client)."""
    rng = np.random.default_rng(seed)
    per_client = 20
    n_clients = n_rows // per_client
    client = np.repeat(np.arange(n_clients), per_client)
    session = np.tile(np.arange(1, per_client + 1), n_clients)
    attended = rng.random(n_rows) > 0.1
    start = pd.Timestamp("2020-01-06") + pd.to_timedelta(rng.integers(0, 1500, n_clients), "D")
    date = (
        np.repeat(start.to_numpy(), per_client) + pd.to_timedelta((session - 1) * 7, "D").to_numpy()
    )
    data = {
        "client": np.char.add("c", client.astype(str)),
        "therapist": np.char.add("t", (client // 12).astype(str)),
        "session": session,
        "date": pd.Series(date).dt.strftime("%Y-%m-%d"),
        "attended": np.where(attended, "yes", "no"),
    }
    for i in range(1, 13):
        data[f"wai_{i}"] = np.where(attended, rng.integers(1, 6, n_rows), np.nan)
    for i in range(1, 5):
        data[f"srs_{i}"] = np.where(attended, np.round(rng.uniform(5, 10, n_rows), 1), np.nan)
    data["resistance"] = np.where(attended, np.round(rng.gamma(2, 2, n_rows), 2), np.nan)
    for name in STRATEGIES:
        data[name] = np.where(attended, rng.integers(0, 2, n_rows), np.nan)
    data["age"] = np.repeat(rng.integers(18, 70, n_clients), per_client)
    data["gender"] = np.repeat(rng.choice(["woman", "man", "nonbinary"], n_clients), per_client)
    return pd.DataFrame(data)


def measure_pair(kinds: tuple[str, str], path: Path, repeats: int) -> list[dict]:
    """Run both paths ``repeats`` times, alternating, each in a fresh process.

    Alternating matters on a shared machine: a slow spell then hits both paths alike. One
    run of each comes first and is not counted: a virtual machine that has been idle runs
    the next second or so at about half speed.
    """
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for repeat in range(repeats + 1):
        for kind in kinds:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, kind, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            if repeat:
                runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return [
        {
            "seconds": statistics.median(r["seconds"] for r in runs[kind]),
            "fastest": min(r["seconds"] for r in runs[kind]),
            "slowest": max(r["seconds"] for r in runs[kind]),
            "user": statistics.median(r["user"] for r in runs[kind]),
            "sys": statistics.median(r["sys"] for r in runs[kind]),
            "peak_mib": statistics.median(r["peak_mib"] for r in runs[kind]),
            "rows": runs[kind][0]["rows"],
        }
        for kind in kinds
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--shuffled",
        action="store_true",
        help="rows in random order (the canonical table is then a sorted copy)",
    )
    parser.add_argument("--write", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:  # child: write the files, so the parent stays small (Linux keeps the
        folder = Path(args.write)  # peak RSS of a process across exec: children inherit it)
        sessions = make_sessions(args.rows)
        if args.shuffled:
            sessions = sessions.sample(frac=1, random_state=2)
        sessions.to_csv(folder / "sessions.csv", index=False)
        sessions.to_parquet(folder / "sessions.parquet", index=False)
        return
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--write", folder]
            + (["--shuffled"] if args.shuffled else []),
            check=True,
        )
        csv_path, parquet_path = Path(folder) / "sessions.csv", Path(folder) / "sessions.parquet"
        sessions = pd.read_parquet(parquet_path, columns=["session"])
        n_columns = len(pd.read_csv(csv_path, nrows=1).columns)
        print(
            f"{len(sessions):,} rows x {n_columns} columns; "
            f"CSV {csv_path.stat().st_size / 2**20:.0f} MiB, "
            f"Parquet {parquet_path.stat().st_size / 2**20:.0f} MiB; "
            f"{'rows shuffled; ' if args.shuffled else ''}"
            f"median of {args.repeats} runs, each in a fresh process"
        )
        print(
            f"{'path':28} {'median s':>8} {'range s':>11} {'user s':>6} {'sys s':>6} "
            f"{'peak MiB':>8} {'time x':>6} {'user x':>6} {'memory x':>8}"
        )
        for fmt, path in (("csv", csv_path), ("parquet", parquet_path)):
            bare, ours = measure_pair((f"pandas_{fmt}", "alliance_stats"), path, args.repeats)
            assert ours["rows"] == bare["rows"] == len(sessions)
            for label, m in ((f"pandas.read_{fmt}", bare), (f"als.read_sessions ({fmt})", ours)):
                spread = f"{m['fastest']:.2f}-{m['slowest']:.2f}"
                print(
                    f"{label:28} {m['seconds']:8.2f} {spread:>11} {m['user']:6.2f} "
                    f"{m['sys']:6.2f} {m['peak_mib']:8.0f} {m['seconds'] / bare['seconds']:6.2f} "
                    f"{m['user'] / bare['user']:6.2f} {m['peak_mib'] / bare['peak_mib']:8.2f}"
                )


if __name__ == "__main__":
    main()
