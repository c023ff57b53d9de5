"""Small example data and fits for docstrings and tests (lme4's sleepstudy, via mixedlm).

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
