"""The result of a power analysis (:class:`PowerResult`) and the columns of its tables."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Columns of ``PowerResult.table`` (one row per design point and effect).
TABLE_COLUMNS = (
    "point",
    "over",
    "value",
    "n_therapists",
    "clients_per_therapist",
    "n_clients",
    "max_sessions",
    "effect",
    "strategy",
    "scale",
    "component",
    "odds_ratio",
    "true_value",
    "is_null",
    "n_sims",
    "n_rejected",
    "power",
    "power_conf_low",
    "power_conf_high",
    "analytic_power",
    "mean_estimate",
    "bias",
    "empirical_se",
    "mean_std_error",
    "coverage",
    "warning_share",
    "nonconverged_share",
    "singular_share",
    "failed_share",
    "stopped_early",
    "mean_rows",
    "mean_events",
)

#: Columns of ``PowerResult.replicates`` (one row per fitted replicate).
REPLICATE_COLUMNS = (
    "point",
    "effect",
    "replicate",
    "estimate",
    "std_error",
    "p_value",
    "conf_low",
    "conf_high",
    "reject",
    "covered",
    "converged",
    "singular",
    "warning",
    "failed",
    "se_method",
    "n_rows",
    "n_events",
    "message",
)


@dataclass(frozen=True, eq=False)
class PowerResult:
    """Simulated power, type I error, bias and coverage; frozen.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per design point and effect, columns :data:`TABLE_COLUMNS`: design size,
        effect (``odds_ratio`` on its ``scale``; ``true_value`` = its log), ``n_sims`` run,
        ``power`` with its Monte Carlo interval ``power_conf_low``/``power_conf_high`` (for the
        null row, ``is_null``, this is the type I error), ``analytic_power`` (check model
        only), ``bias`` and ``coverage`` of the estimate and its Wald CI, ``empirical_se``
        against ``mean_std_error``, shares of replicates with warnings (non-convergence or a
        singular fit), and ``stopped_early`` (the ``precision`` was reached).
    replicates : pandas.DataFrame
        One row per replicate, columns :data:`REPLICATE_COLUMNS`.
    designs : tuple of Design
        The design points (one for :func:`power_analysis`).
    effects : tuple of Effect
        The effects, including the null when ``null=True``.
    over : str or None
        The design field varied by :func:`power_curve`.
    model, alpha, seed, n_sims, precision, conf_level, mc_interval
        Settings of the run.
    notes : tuple of str
        Plain-language notes.

    Results compare by identity (they hold DataFrames); compare ``table`` and ``replicates``
    with :func:`pandas.testing.assert_frame_equal`.

    Examples
    --------
    >>> from alliance_stats.power import Design, power_analysis
    >>> res = power_analysis(Design(n_therapists=20), 0.5, n_sims=40, model="logistic",
    ...                      null=True)
    >>> res
    <PowerResult: power 0.375 [0.242, 0.530]; 40 replicates, logistic model, ...>
    >>> res.table[["effect", "n_sims", "power", "is_null"]]
                           effect  n_sims  power  is_null
    0  validation OR=0.5 (hazard)      40  0.375    False
    1    validation OR=1 (hazard)      40  0.075     True
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    designs: tuple
    effects: tuple
    over: str | None
    model: str
    alpha: float
    seed: int
    n_sims: int
    precision: float | None
    conf_level: float
    mc_interval: str
    notes: tuple[str, ...]
    elapsed_seconds: float = field(default=math.nan, compare=False)
    backend: str = field(default="serial", compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The power table (a copy, unrounded)."""
        return self.table.copy()

    @property
    def type_i_error(self) -> pd.DataFrame:
        """Rows of the table at a null effect (empty unless ``null=True``)."""
        return self.table[self.table["is_null"]].reset_index(drop=True)

    def summary(self) -> str:
        """Plain-text summary: power with its Monte Carlo CI, type I error, bias, coverage."""
        pct = f"{self.conf_level:.0%}"
        cols = ["effect", "n_sims", "power", "power_conf_low", "power_conf_high", "bias",
                "coverage", "warning_share"]  # fmt: skip
        if self.over is not None:
            cols = ["value", *cols]
        shown = self.table[cols].rename(columns={"value": self.over or "value"})
        if self.over is not None:
            shown[self.over] = shown[self.over].astype("int64")
        lines = [
            f"Simulated power ({self.model} model, alpha {self.alpha}, Wald test; "
            f"{pct} Monte Carlo CI: {self.mc_interval})",
            self.flagged_line(),
            shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        null = self.type_i_error
        if len(null):
            for _, r in null.iterrows():
                lines.append(
                    f"Type I error ({r['strategy']}, OR=1"
                    + (f", {self.over}={r['value']:g}" if self.over else "")
                    + f"): {r['power']:.3f} [{r['power_conf_low']:.3f}, {r['power_conf_high']:.3f}]"
                    f" vs nominal {self.alpha}"
                )
        else:
            lines.append("Type I error not estimated (pass null=True to run the null alongside).")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def flagged_line(self) -> str:
        """The share of replicate fits flagged (not converged or singular), with a warning
        when it is above 10%: power from such fits describes a different model."""
        share = float(self.table["warning_share"].max())
        line = (
            f"Flagged fits (not converged or singular): {share:.1%} of replicates "
            f"(worst row; singular {float(self.table['singular_share'].max()):.1%})."
        )
        if share > 0.10:
            line = (
                "WARNING: " + line + " Above 10%, the power estimate rests on many fits of a "
                "different model than planned (a variance at 0 or an optimum not reached): "
                "enlarge the design or simplify the random effects."
            )
        return line

    def __repr__(self) -> str:
        alt = self.table[~self.table["is_null"]]
        if alt.empty:
            alt = self.table
        if len(alt) == 1:
            r = alt.iloc[0]
            what = f"power {r['power']:.3f} [{r['power_conf_low']:.3f}, {r['power_conf_high']:.3f}]"
        else:
            what = f"power {alt['power'].min():.3f}-{alt['power'].max():.3f} over {len(alt)} rows"
        share = float(self.table["warning_share"].max())
        return (
            f"<PowerResult: {what}; {int(self.table['n_sims'].max())} replicates, "
            f"{self.model} model, alpha {self.alpha}; {share:.0%} flagged fits"
            + (" (WARNING: above 10%)" if share > 0.10 else "")
            + ">"
        )

    def _repr_html_(self) -> str:
        cols = ["effect", "value", "n_clients", "n_sims", "power", "power_conf_low",
                "power_conf_high", "bias", "coverage", "warning_share"]  # fmt: skip
        table = self.table[cols].to_html(index=False, float_format=lambda v: f"{v:.3f}")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        flagged = html.escape(self.flagged_line())
        return f"<div><b>{html.escape(repr(self))}</b><p>{flagged}</p>{table}<ul>{notes}</ul></div>"

    def plot(self, ax=None, target: float = 0.8):
        """Power (with Monte Carlo CIs) against sample size, with a line at ``target`` (80%).

        For a power curve the x axis is the varied design field; for a single design, the
        effects' odds ratios. Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        tab = self.table
        x_name = self.over or "odds_ratio"
        for label, part in tab.groupby("effect", sort=False):
            part = part.sort_values(x_name)
            x = part[x_name].to_numpy(dtype=float)
            y = part["power"].to_numpy(dtype=float)
            err = np.vstack([y - part["power_conf_low"], part["power_conf_high"] - y])
            null = bool(part["is_null"].iloc[0])
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3,
                        linestyle="--" if null else "-",
                        label=f"{label} (type I error)" if null else label)  # fmt: skip
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax.text(ax.get_xlim()[0], target, f" {target:.0%}", va="bottom", color="grey")
        if any(tab["is_null"]):
            ax.axhline(self.alpha, color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"Power (alpha {self.alpha}, {self.conf_level:.0%} MC CI)")
        ax.set_xlabel(
            {
                "clients_per_therapist": "Clients per therapist",
                "n_therapists": "Therapists",
                "max_sessions": "Planned sessions",
            }.get(x_name, "Odds ratio")  # fmt: skip
        )
        ax.set_title("Simulated power" + (f" by {x_name.replace('_', ' ')}" if self.over else ""))
        ax.legend(fontsize="small")
        return ax
