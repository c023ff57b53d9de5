"""APA-style tables: descriptives, reliability, mixed models, strategies; exported to HTML,
Markdown, LaTeX and CSV.

A :class:`Table` holds display-ready text (numbers rounded as APA 7 asks: two decimals,
p-values without a leading zero, "< .001"), a title and a note. The numbers behind it stay
unrounded in the result objects.

Examples
--------
>>> import pandas as pd
>>> from alliance_stats.report.tables import Table, fmt_p
>>> t = Table("t1", "Example", pd.DataFrame({"Term": ["a"], "p": [fmt_p(0.0004)]}))
>>> print(t.to_markdown().splitlines()[4])
| a | < .001 |
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_stats.display import format_p
from alliance_stats.errors import AllianceStatsError

__all__ = [
    "Table",
    "descriptive_table",
    "fmt_ci",
    "fmt_num",
    "fmt_p",
    "group_table",
    "model_table",
    "reliability_table",
    "retention_table",
    "rupture_table",
    "strategy_table",
    "suppressed",
    "validation_table",
]

DASH = "\u2014"


# ----------------------------------------------------------------------------- formatting
def fmt_num(x, digits: int = 2) -> str:
    """Round for display; missing values as an em dash."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return DASH
    x = float(x)
    if not np.isfinite(x):
        return DASH
    text = f"{x:,.{digits}f}"
    return "0." + "0" * digits if text in ("-0." + "0" * digits, "-0") else text


def fmt_int(x) -> str:
    return DASH if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{int(x):,}"


def fmt_p(p) -> str:
    """APA p-value for a table cell (:func:`alliance_stats.display.format_p`; a dash when
    missing)."""
    return format_p(p, missing=DASH)


def fmt_ci(lo, hi, digits: int = 2) -> str:
    """``[lo, hi]``."""
    return f"[{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def suppressed(n, min_cell: int) -> bool:
    """True when a count is positive but below the minimum cell size."""
    return min_cell > 0 and n is not None and 0 < n < min_cell


def _supp(min_cell: int) -> str:
    return f"< {min_cell}"


# ----------------------------------------------------------------------------- Table
@dataclass(frozen=True)
class Table:
    """A display table: ``name`` (file stem), ``title``, ``frame`` (text cells), ``note``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Session": [1, 2], "Mean": [fmt_num(4.123), fmt_num(4.5)]})
    >>> t = Table("t2", "Alliance by session", frame, note="Simulated data.", number=2)
    >>> t, t.caption
    (<Table 't2': Alliance by session (2 rows)>, 'Table 2')
    >>> print(t.to_csv(), end="")
    Session,Mean
    1,4.12
    2,4.50
    >>> [p.name for p in t.write(tempfile.mkdtemp(), formats=("csv", "md"))]
    ['t2.csv', 't2.md']
    """

    name: str
    title: str
    frame: pd.DataFrame
    note: str = ""
    number: int | None = None

    def __repr__(self) -> str:
        return f"<Table {self.name!r}: {self.title} ({len(self.frame)} rows)>"

    @property
    def caption(self) -> str:
        return f"Table {self.number}" if self.number is not None else "Table"

    def _cells(self) -> pd.DataFrame:
        return self.frame.astype("object").where(self.frame.notna(), "").astype(str)

    def to_csv(self) -> str:
        """CSV text (header row, then the display cells)."""
        buf = io.StringIO()
        self._cells().to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()

    def to_markdown(self) -> str:
        """A pipe table with the title above and the note below."""
        cells = self._cells()

        def row(values):
            return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

        lines = [f"**{self.caption}.** *{self.title}*", ""] if self.title else []
        head = row(cells.columns)
        lines = [*lines, head] if self.title else [head]
        lines.append("|" + "|".join("---" for _ in cells.columns) + "|")
        lines += [row(r) for r in cells.itertuples(index=False)]
        if self.note:
            lines += ["", f"*Note.* {self.note}"]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
        cells = self._cells()

        def esc(s: str) -> str:
            for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                         ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"),
                         ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}"),
                         ("<", r"\textless{}"), (">", r"\textgreater{}"),
                         ("\u2014", "---"), ("\u03b1", r"$\alpha$"), ("\u00b2", r"$^2$"),
                         ("\u2013", "--"), ("\u00d7", r"$\times$")):  # fmt: skip
                s = s.replace(a, b)
            return s

        spec = "l" + "r" * (cells.shape[1] - 1)
        out = [
            r"\begin{table}[htbp]",
            r"\centering",
            rf"\caption{{{esc(self.title)}}}",
            rf"\label{{tab:{self.name}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(esc(str(c)) for c in cells.columns) + r" \\",
            r"\midrule",
        ]
        out += [" & ".join(esc(v) for v in r) + r" \\" for r in cells.itertuples(index=False)]
        out += [r"\bottomrule", r"\end{tabular}"]
        if self.note:
            out.append(rf"\par\smallskip{{\footnotesize\textit{{Note.}} {esc(self.note)}}}")
        out.append(r"\end{table}")
        return "\n".join(out) + "\n"

    def to_html(self) -> str:
        """An APA-styled HTML table (class ``apa``) with caption and note."""
        cells = self._cells()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cells.columns)
        body = []
        for r in cells.itertuples(index=False):
            tds = []
            for j, v in enumerate(r):
                cls = ' class="label"' if j == 0 else ""
                if j == 0 and v.startswith("  "):
                    cls = ' class="label indent"'
                tds.append(f"<td{cls}>{html.escape(v.strip() if j == 0 else v)}</td>")
            body.append("<tr>" + "".join(tds) + "</tr>")
        note = (
            f'<p class="table-note"><em>Note.</em> {html.escape(self.note)}</p>'
            if self.note
            else ""
        )
        return (
            f'<figure class="table" id="table-{html.escape(self.name)}"><figcaption>'
            f"<strong>{html.escape(self.caption)}</strong><br><em>{html.escape(self.title)}</em>"
            f'</figcaption><table class="apa"><thead><tr>{head}</tr></thead><tbody>'
            f"{''.join(body)}</tbody></table>{note}</figure>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def write(self, folder: str | Path, formats=("csv", "md", "tex", "html")) -> list[Path]:
        """Write ``<folder>/<name>.<fmt>`` for each format; returns the paths."""
        writers = {"csv": self.to_csv, "md": self.to_markdown, "tex": self.to_latex,
                   "html": self.to_html}  # fmt: skip
        paths = []
        for fmt in formats:
            p = Path(folder) / f"{self.name}.{fmt}"
            p.write_text(writers[fmt](), encoding="utf-8", newline="\n")
            paths.append(p)
        return paths


# ----------------------------------------------------------------------------- builders
def _mean_sd(values: pd.Series) -> tuple[str, str]:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return DASH, DASH
    return fmt_num(v.mean()), fmt_num(v.std(ddof=1)) if len(v) > 1 else DASH


def descriptive_table(
    df: pd.DataFrame,
    scores: dict[str, str],
    *,
    dropout: pd.Series | None = None,
    alphas: dict[str, float] | None = None,
    min_cell: int = 5,
    name: str = "descriptives",
) -> Table:
    """Sample and measures: clients, therapists, sessions, dropout, score means/SD/alpha.

    Parameters
    ----------
    df : DataFrame
        Session table (scored).
    scores : dict
        Display label -> score column.
    dropout : Series, optional
        One 0/1 value per client (index client).
    alphas : dict, optional
        Score column -> Cronbach's alpha.
    """
    alphas = alphas or {}
    att = df["attended"].astype(bool)
    per_client = att.groupby(df["client"]).sum()
    caseload = df.groupby("therapist")["client"].nunique()
    rows = [
        ("Clients", fmt_int(df["client"].nunique()), "", "", "", ""),
        ("Therapists", fmt_int(df["therapist"].nunique()), "", "", "", ""),
        ("  Clients per therapist", "", "", fmt_num(caseload.mean()), fmt_num(caseload.std()), ""),
        ("Scheduled sessions", fmt_int(len(df)), "", "", "", ""),
        ("Attended sessions", fmt_int(att.sum()), fmt_num(100 * att.mean(), 1), "", "", ""),
        ("  Sessions attended per client", "", "", fmt_num(per_client.mean()),
         fmt_num(per_client.std()), ""),
    ]  # fmt: skip
    if dropout is not None and len(dropout):
        k = int(dropout.sum())
        shown = _supp(min_cell) if suppressed(k, min_cell) else fmt_int(k)
        pct = DASH if suppressed(k, min_cell) else fmt_num(100 * dropout.mean(), 1)
        rows.append(("Clients who dropped out", shown, pct, "", "", ""))
    for label, col in scores.items():
        if col not in df.columns:
            continue
        m, s = _mean_sd(df.loc[att, col])
        n = int(df.loc[att, col].notna().sum())
        rows.append((label, fmt_int(n), "", m, s, fmt_num(alphas.get(col, np.nan))))
    frame = pd.DataFrame(rows, columns=["Characteristic", "n", "%", "M", "SD", "\u03b1"])
    note = (
        "Scores over attended sessions with a rating (n = ratings); \u03b1 = Cronbach's alpha "
        "over all rated sessions, treated as independent. "
        f"Counts below {min_cell} are suppressed."
        if min_cell
        else ""
    )
    return Table(name, "Sample, sessions and measures", frame, note)


def group_table(
    df: pd.DataFrame,
    by: str,
    dropout: pd.Series | None,
    *,
    min_cell: int = 5,
    name: str = "groups",
) -> Table:
    """Clients, sessions and dropout per level of a client-level column, small cells
    suppressed."""
    first = df.groupby("client", sort=True)[by].first()
    att = df["attended"].astype(bool).groupby(df["client"]).sum()
    rows = []
    for level, ids in first.groupby(first, sort=True, observed=True):
        n = len(ids)
        if suppressed(n, min_cell):
            rows.append((str(level), _supp(min_cell), DASH, DASH, DASH))
            continue
        sess = att.reindex(ids.index)
        drop = dropout.reindex(ids.index) if dropout is not None else None
        k = int(drop.sum()) if drop is not None else None
        if drop is None:
            kd = DASH
        elif suppressed(k, min_cell):
            kd = _supp(min_cell)
        else:
            kd = f"{k} ({fmt_num(100 * k / n, 1)}%)"
        rows.append((str(level), fmt_int(n), fmt_num(sess.mean()), fmt_num(sess.std()), kd))
    frame = pd.DataFrame(
        rows, columns=[by, "Clients", "Sessions M", "Sessions SD", "Dropout n (%)"]
    )
    return Table(
        name,
        f"Clients and dropout by {by}",
        frame,
        f"Sessions = attended sessions per client. Cells with fewer than {min_cell} clients are "
        "suppressed.",
    )


def validation_table(report, name: str = "validation") -> Table:
    """Validation findings counted by severity, rule and column (no values or row numbers, so
    no identifiers)."""
    p = report.problems
    if p.empty:
        frame = pd.DataFrame({"Severity": ["none"], "Rule": ["no problems found"], "Column": [""],
                              "Count": ["0"]})  # fmt: skip
    else:
        g = p.groupby(["severity", "rule", "column"], sort=True, dropna=False).size()
        order = {"error": 0, "warning": 1, "note": 2}
        rows = sorted(g.items(), key=lambda kv: (order.get(kv[0][0], 3), kv[0][1], str(kv[0][2])))
        frame = pd.DataFrame(
            [(s, r, "" if pd.isna(c) else str(c), fmt_int(n)) for (s, r, c), n in rows],
            columns=["Severity", "Rule", "Column", "Count"],
        )
    return Table(
        name,
        "Data validation findings",
        frame,
        f"{report.n_rows:,} rows checked. Values and row numbers are left out of the report; "
        "run `alliance-stats validate` on the file to see them.",
    )


def reliability_table(rel: pd.DataFrame, name: str = "reliability") -> Table:
    """Alpha (CI) and omega per scale."""
    rows = [
        (
            r.scale,
            fmt_int(r.n_items),
            fmt_int(r.n_obs),
            fmt_num(r.alpha),
            fmt_ci(r.alpha_conf_low, r.alpha_conf_high),
            fmt_num(r.omega_total),
        )
        for r in rel.itertuples(index=False)
    ]
    columns = ["Scale", "Items", "n (any item)", "\u03b1", "95% CI", "\u03c9"]
    frame = pd.DataFrame(rows, columns=columns)
    method = rel["ci_method"].iloc[0] if len(rel) else "feldt"
    return Table(
        name,
        "Internal consistency of the instruments",
        frame,
        f"\u03b1 = Cronbach's alpha ({method.title()} CI); \u03c9 = omega total (one factor). "
        "n counts the ratings with at least one item answered (pairwise-complete "
        "correlations, as psych computes them); the descriptive table counts the scores, "
        "which need the instrument's answered items. Sessions treated as independent ratings.",
    )


def model_table(result, title: str, name: str, *, labels: dict[str, str] | None = None) -> Table:
    """APA multilevel-model table: fixed effects (b or OR, SE, CI, z, p), random-effect
    variances, ICC, R\u00b2 and fit indices of a :class:`~alliance_stats.models.MixedResult`."""
    labels = labels or {}
    binom = result.family == "binomial"
    c = result.coefficients
    width = 7 if binom else 6  # a logistic model: b and SE on the log-odds scale, then the OR
    blank = ("",) * (width - 2)
    rows = [("Fixed effects", "", *blank)]
    for term, r in c.iterrows():
        stats_cells = (fmt_num(r["statistic"]), fmt_p(r["p_value"]))
        if binom:
            # exp(intercept) is the baseline odds, not a ratio: no OR for it
            ratio = (
                ("", "")
                if term == "(Intercept)"
                else (fmt_num(r["odds_ratio"]), fmt_ci(r["or_conf_low"], r["or_conf_high"]))
            )
            cells = (fmt_num(r["estimate"]), fmt_num(r["std_error"]), *ratio, *stats_cells)
        else:
            cells = (
                fmt_num(r["estimate"]),
                fmt_num(r["std_error"]),
                fmt_ci(r["conf_low"], r["conf_high"]),
                *stats_cells,
            )
        rows.append((f"  {labels.get(term, term)}", *cells))  # fmt: skip
    rows.append(("Random effects (variance, SD)", "", *blank))
    for r in result.varcorr.itertuples(index=False):
        term = r.var1 if isinstance(r.var1, str) else ""
        if isinstance(r.var2, str):
            lab = f"  {r.grp}: corr({r.var1}, {r.var2})"
            rows.append((lab, fmt_num(r.sdcor), *blank))
        else:
            lab = f"  {r.grp}" + (f" {term}" if term and term != "(Intercept)" else "")
            rows.append((lab, fmt_num(r.vcov), fmt_num(r.sdcor), *blank[1:]))
    try:
        icc = result.icc()
        for r in icc.itertuples(index=False):
            lab = "ICC (all random intercepts)" if r.group == "adjusted" else f"ICC {r.group}"
            rows.append((lab, fmt_num(r.icc, 3), *blank))
    except (AllianceStatsError, ValueError, ArithmeticError) as err:
        rows.append(("ICC", f"not computed: {err}", *blank))
    try:
        r2 = result.r2().iloc[0]
        rows.append(("R\u00b2 marginal / conditional",
                     f"{fmt_num(r2['r2_marginal'], 3)} / {fmt_num(r2['r2_conditional'], 3)}",
                     *blank))  # fmt: skip
    except (AllianceStatsError, ValueError, ArithmeticError) as err:
        rows.append(("R\u00b2", f"not computed: {err}", *blank))
    groups = ", ".join(f"{k} {v:,}" for k, v in result.n_groups.items())
    rows.append(("Observations", fmt_int(result.nobs), *blank))
    rows.append(("Groups", groups, *blank))
    rows.append(("Log-likelihood", fmt_num(result.loglik), *blank))
    rows.append(("AIC / BIC", f"{fmt_num(result.aic)} / {fmt_num(result.bic)}", *blank))
    columns = (
        ["Parameter", "b (log odds)", "SE", "OR", "OR 95% CI", "z", "p"]
        if binom
        else ["Parameter", "b", "SE", "95% CI", "z", "p"]
    )
    frame = pd.DataFrame(rows, columns=columns)
    scale = (
        "b and SE on the log-odds scale; OR = exp(b) with its Wald CI (none for the intercept, "
        "whose exp is the baseline odds, not a ratio)"
        if binom
        else "Wald CIs"
    )
    status = "converged" if result.converged else "did NOT converge"
    note = (
        f"{result.estimator}; formula {result.formula}. {scale}; z tests. Fit {status}"
        + ("; singular (a variance at its boundary)" if result.singular else "")
        + "."
        + " ICC for a logistic model uses the latent residual variance \u03c0\u00b2/3." * binom
    )
    return Table(name, title, frame, note)


def _or_with_ci(value, low, high) -> str:
    """``OR [low, high]``, or a dash where there is none (GEE not run)."""
    if value is None or not np.isfinite(value):
        return DASH
    return f"{fmt_num(value)} {fmt_ci(low, high)}"


def strategy_table(st, name: str = "strategies") -> Table:
    """Strategy odds ratios (within / between client) with raw and adjusted p."""
    t = st.table
    rows = []
    for r in t.itertuples(index=False):
        flag = "" if (r.converged and not r.singular) else " \u2020"
        rows.append((
            str(r.label) + flag,
            str(r.component),
            fmt_num(r.odds_ratio),
            fmt_ci(r.or_conf_low, r.or_conf_high),
            fmt_p(r.p_value),
            fmt_p(r.p_adjusted),
            _or_with_ci(r.gee_odds_ratio, r.gee_or_conf_low, r.gee_or_conf_high),
        ))  # fmt: skip
    adj = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "none"}.get(st.adjust, st.adjust)
    frame = pd.DataFrame(
        rows,
        columns=["Strategy", "Component", "OR", "95% CI", "p", f"p ({adj})", "GEE OR [95% CI]"],
    )
    return Table(
        name,
        f"Therapist strategies and {st.outcome} (logistic mixed model)",
        frame,
        f"OR > 1 = higher odds of '{st.outcome}'. Within = the session with the strategy "
        "against the client's running rate of it so far; between = that running rate, per unit "
        "of the share of sessions (0 to 1; the OR per 10 percentage points is OR^0.1). No later "
        f"session enters a row. p adjusted over {len(t)} terms ({adj}). GEE OR = "
        "population-averaged sensitivity analysis (independence working correlation within "
        "clients; robust SEs, unadjusted intervals)."
        + (
            " \u2020 = from a fit that did not converge or was singular (see Deviations)."
            if (~t["converged"] | t["singular"]).any()
            else " Every fit converged, none singular."
        ),
    )


def retention_table(curve, *, sessions=(1, 2, 4, 8, 12), min_cell: int = 5,
                    name: str = "retention") -> Table:  # fmt: skip
    """Kaplan-Meier share still engaged after selected numbers of sessions, with clients at risk;
    estimates resting on fewer than ``min_cell`` clients at risk are suppressed."""
    rows = []
    for g, t in curve.table.groupby("group", sort=False):
        t = t.sort_values("session")
        for s in sessions:
            upto = t[t["session"] <= s]
            if upto.empty:
                continue
            r = upto.iloc[-1]
            at_risk = (
                int(t.loc[t["session"] >= s, "at_risk"].max()) if (t["session"] >= s).any() else 0
            )
            if at_risk < max(min_cell, 1):
                rows.append((str(g), str(s), _supp(max(min_cell, 1)), DASH, DASH))
                continue
            rows.append((str(g), str(s), fmt_int(at_risk), fmt_num(r["survival"]),
                         fmt_ci(r["conf_low"], r["conf_high"])))  # fmt: skip
    frame = pd.DataFrame(rows, columns=["Group", "Sessions", "At risk", "Retained", "95% CI"])
    return Table(
        name,
        "Retention (Kaplan-Meier)",
        frame,
        f"Retained = share of clients still engaged after that many attended sessions "
        f"(dropout definition: {curve.definition}); log-log confidence bands. Estimates with "
        f"fewer than {min_cell} clients at risk are suppressed.",
    )


def rupture_table(link, episodes: pd.DataFrame, *, min_cell: int = 5,
                  name: str = "ruptures") -> Table:  # fmt: skip
    """Clients and dropout by rupture status, small cells suppressed."""
    rows = []
    for status, r in link.table.iterrows():
        n = int(r["clients"])
        k = int(r["dropouts"])
        if suppressed(n, min_cell):
            rows.append((str(status), _supp(min_cell), DASH, DASH))
        elif suppressed(k, min_cell):
            rows.append((str(status), fmt_int(n), _supp(min_cell), DASH))
        else:
            rows.append((str(status), fmt_int(n), fmt_int(k), fmt_num(100 * r["dropout_share"], 1)))
    frame = pd.DataFrame(rows, columns=["Rupture status", "Clients", "Dropouts", "Dropout %"])
    n_ep = len(episodes)
    rep = float(episodes["repaired"].mean()) if n_ep else np.nan
    return Table(
        name,
        "Rupture episodes and dropout",
        frame,
        f"{n_ep:,} episodes; {fmt_num(100 * rep, 1)}% repaired. Dropout OR (ruptured vs not) = "
        f"{fmt_num(link.odds_ratio)} {fmt_ci(link.conf_low, link.conf_high)}, Fisher "
        f"{format_p(link.p_value, symbol=True, missing='p not computed')}. Crude "
        "association: clients who stay longer have more chances to rupture. Cells below "
        f"{min_cell} suppressed.",
    )
