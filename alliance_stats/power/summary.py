"""Monte Carlo intervals of power and the summary of one row's replicates."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

MC_INTERVALS = ("wilson", "exact")


def monte_carlo_interval(k: int, n: int, conf: float, method: str) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    a = 1 - conf
    if method == "exact":
        lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
        return lo, hi
    z = stats.norm.ppf(1 - a / 2)
    p = k / n
    den = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(records: list[dict], truth: float, conf: float, method: str) -> dict:
    n = len(records)
    k = sum(bool(r["reject"]) for r in records)
    lo, hi = monte_carlo_interval(k, n, conf, method)
    est = np.array([r["estimate"] for r in records], dtype=float)
    se = np.array([r["std_error"] for r in records], dtype=float)
    ok = np.isfinite(est)
    fitted = [r for r in records if not r["failed"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(
            n_sims=n,
            n_rejected=k,
            power=k / n if n else math.nan,
            power_conf_low=lo,
            power_conf_high=hi,
            mean_estimate=float(np.mean(est[ok])) if ok.any() else math.nan,
            bias=float(np.mean(est[ok]) - truth) if ok.any() else math.nan,
            empirical_se=float(np.std(est[ok], ddof=1)) if ok.sum() > 1 else math.nan,
            mean_std_error=float(np.mean(se[ok])) if ok.any() else math.nan,
            coverage=(sum(bool(r["covered"]) for r in fitted) / len(fitted))
            if fitted
            else math.nan,
            warning_share=sum(bool(r["warning"]) for r in records) / n if n else math.nan,
            nonconverged_share=sum(not r["converged"] for r in records) / n if n else math.nan,
            singular_share=sum(bool(r["singular"]) for r in records) / n if n else math.nan,
            failed_share=sum(bool(r["failed"]) for r in records) / n if n else math.nan,
            mean_rows=float(np.mean([r["n_rows"] for r in records])) if n else math.nan,
            mean_events=float(np.mean([r["n_events"] for r in records])) if n else math.nan,
        )
