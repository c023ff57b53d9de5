"""The fuzz suite (issue 13): a few hundred generated files of every kind, fixed seed.

Every case must end in a table or an alliance_stats error: no other exception, no run over
30 s, no library warning reaching the user, no row or column lost without a report, no id
changed without a note, and every damaged file refused. ``benchmarks/fuzz.py`` runs longer.
"""

from __future__ import annotations

from collections import Counter

import pytest
from fuzz_inputs import KINDS, failures, run

pytest.importorskip("pyreadstat")

CASES = 10 * len(KINDS)  # 200 cases, ten of each kind


@pytest.mark.slow
def test_fuzz_suite_finds_nothing(tmp_path):
    results = run(CASES, seed=13, folder=tmp_path)
    found = [(r["kind"], f, r[f]) for r in results for f in failures(r)]
    assert not found, found[:5]
    read = Counter(r["kind"] for r in results if r["read"])
    assert read["csv-utf8"] and read["parquet"] and read["xlsx"], read  # not all refused
