"""Time the full `clinic` report (the README's main-job command) and print where the time goes.

Run: python benchmarks/report.py [--out DIR] [--no-pdf]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from alliance_stats.config import example_config
from alliance_stats.report import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also print the top functions")
    args = parser.parse_args()
    cfg = example_config()
    if args.no_pdf:
        cfg = cfg.replace(output={"formats": ("html",)})
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "clinic"
    prof = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    rp = build_report(config=cfg, out=out)
    if prof:
        prof.disable()
    total = time.perf_counter() - t0
    print(f"Full clinic report ({len(cfg.strategies.columns)} strategies, PDF: {rp.pdf_engine}): "
          f"{total:.1f} s wall")  # fmt: skip
    width = max(map(len, rp.timings))
    for step, sec in sorted(rp.timings.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<{width}}  {sec:6.2f} s  {100 * sec / total:5.1f}%")
    other = total - sum(rp.timings.values())
    print(f"  {'(config, output checks, imports)':<{width}}  {other:6.2f} s")
    print(f"Output: {rp.out} (HTML {rp.html.stat().st_size / 1e6:.2f} MB)")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
