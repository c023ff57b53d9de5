"""Worked examples for the docstrings and tests: lme4's ``sleepstudy`` (real, public data:
Belenky et al. 2003, as the engine ships it) and its random-slope fit.

Examples
--------
>>> sleepstudy().shape
(180, 3)
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd


def sleepstudy() -> pd.DataFrame:
    """lme4's ``sleepstudy`` (Belenky et al. 2003): Reaction, Days, Subject (text)."""
    import warnings

    import mixedlm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = mixedlm.load_sleepstudy()
    d = pd.DataFrame(
        {
            "Reaction": d["Reaction"].astype("float64"),
            "Days": d["Days"].astype("float64"),
            "Subject": d["Subject"].astype("str"),
        }
    )
    return d


@lru_cache(maxsize=1)
def fitted_example():
    """``fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy())`` (cached)."""
    from alliance_stats.models.fit import fit_mixed

    return fit_mixed("Reaction ~ Days + (Days | Subject)", sleepstudy())
