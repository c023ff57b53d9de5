"""``build_report``: the analysis plan of a report, from a session table to what is fitted,
shown and said, and why (each step adds its tables, figures and notes to a
:class:`~alliance_stats.report.document.Document`, which renders them).

The report's other rooms: :mod:`~alliance_stats.report.inputs` (configuration and data),
:mod:`~alliance_stats.report.document` (sections, numbering, HTML, PDF, results),
:mod:`~alliance_stats.report.tables` (APA tables), :mod:`~alliance_stats.report.methods`
(the methods text), :mod:`~alliance_stats.report.privacy`,
:mod:`~alliance_stats.report.provenance` and :mod:`~alliance_stats.report.output` (the
folder swap); the example configuration is ``report/example_study.toml``.

Output folder (written atomically: everything is built in a temporary folder next to ``out``
and renamed into place at the end; on any error nothing is left behind)::

    out/report.html        self-contained (figures embedded as PNG data, no external files)
    out/report.pdf         weasyprint when available, else a figures-and-tables PDF
    out/tables/*.csv|md|tex|html   the display tables (rounded, as printed)
    out/results/*.csv|parquet      the numbers behind them at full precision
    out/provenance.json    input hash, configuration, seed, versions, date

Examples
--------
>>> import alliance_stats as als, tempfile, pathlib
>>> from alliance_stats.config import example_config
>>> cfg = example_config(strategies={"columns": ["validation"], "sensitivity": False},
...                      output={"formats": ["html"]})
>>> out = pathlib.Path(tempfile.mkdtemp()) / "study"
>>> rp = als.report.build_report(config=cfg, out=out)       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.arguments import UNSET, renamed_argument
from alliance_stats.config import StudyConfig
from alliance_stats.errors import AllianceStatsError, InputError
from alliance_stats.report import output, privacy, provenance
from alliance_stats.report import tables as T
from alliance_stats.report.document import SECTIONS, Document, write_results
from alliance_stats.report.inputs import (
    default_instruments,
    input_paths,
    load_data,
    require_columns,
    resolve_config,
    shown_path,
)
from alliance_stats.report.methods import MethodsFacts, methods_paragraph
from alliance_stats.report.result import Report

__all__ = ["SECTIONS", "Report", "build_report"]

#: how the notes of a fit that concern the optimiser begin (fit_mixed's wording): they go to
#: the technical appendix, the body says in plain words whether the fit can be read
TECHNICAL_NOTES = ("fitted with", "optimum checked", "scaled gradient", "standard errors:")


# ----------------------------------------------------------------------------- helpers
class _Steps:
    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        if self.progress:
            self.progress(f"{name} ...")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
            if self.progress:
                self.progress(f"{name}: {self.timings[name]:.1f} s")


#: What an optional numeric step of the report (an ICC, a plot of random effects, residuals)
#: may raise on awkward data; the section then says so instead of stopping the report.
#: Other exceptions are bugs and stop it.
_STEP_FAILURES = (
    AllianceStatsError,
    ValueError,
    KeyError,
    np.linalg.LinAlgError,
    ArithmeticError,
    RuntimeError,
)


def plan_status(planned: list, deviations: list) -> str:
    """One sentence for the report's summary box: did the plan hold?"""
    n = len(planned)
    if not deviations:
        return (
            f"All {n} planned models were fitted as planned: each converged, none was singular, "
            "no fallback or refit (see Methods)."
        )
    return (
        f"{len(deviations)} deviation(s) from the analysis plan ({n} planned models): "
        + " ".join(d.sentence() for d in deviations)
    )


def _fit(label: str, fn, notes: list[str]):
    """Run a model step; on failure return None and say why (the section degrades)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except ImportError as err:
        return None, f"{label}: the model layer is not available in this installation ({err})"
    except AllianceStatsError as err:
        return None, f"{label} could not be fitted: {err}"
    except _STEP_FAILURES as err:
        return None, f"{label} could not be fitted ({type(err).__name__}: {err})"


# ----------------------------------------------------------------------------- main
def build_report(
    data: pd.DataFrame | str | os.PathLike | None = None,
    config: StudyConfig | dict | str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    df=UNSET,
) -> Report:
    """Run the analysis pipeline and write an HTML report, a PDF and APA tables.

    Parameters
    ----------
    data : DataFrame or path, optional
        The session table (canonical columns) or a session file; default the configuration's
        ``[data]`` source (``df=`` is its deprecated name).
    config : StudyConfig, dict, or path of a TOML file, optional
        Study configuration (:mod:`alliance_stats.config`). Default: instruments found by their
        item columns, no strategies.
    out : path, optional
        Output folder (default the configuration's ``[output] folder``). Must be new, empty,
        or an earlier report folder holding only the files alliance_stats wrote there (listed
        in its ``.alliance_stats_report.json``); it is replaced as a whole. A folder that
        holds the data or the configuration file is refused.
    progress : callable, optional
        Called with a short message at the start and end of each step (the CLI prints them).

    Returns
    -------
    Report

    Raises
    ------
    InputError
        Bad configuration, unknown column, missing file, unwritable output folder.
    DataValidationError
        The data (or an instrument's item values) has errors; nothing is written.

    Notes
    -----
    Sections whose models cannot be fitted, or whose modules are missing, say so ("Not
    available") instead of failing the whole report. The report date comes from ``[study]
    date`` or ``$SOURCE_DATE_EPOCH`` (else today), so re-runs with the same configuration and
    seed give byte-identical tables.

    Examples
    --------
    An HTML-only report of the bundled (simulated) ``teaching`` data, no strategies:

    >>> import tempfile, pathlib
    >>> cfg = {"data": {"dataset": "teaching"}, "output": {"formats": ["html"], "tables": []}}
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "study"
    >>> rp = build_report(config=cfg, out=out)
    >>> rp.html.exists(), rp.pdf, sorted(p.name for p in out.iterdir())
    (True, None, ['.alliance_stats_report.json', 'provenance.json', 'report.html'])
    >>> status = rp.sections.set_index("id")["status"]
    >>> status["data"], status["strategies"]
    ('ok', 'unavailable')
    """
    data = renamed_argument("build_report", "data", data, None, "df", df)
    cfg = resolve_config(config)
    out_path = Path(out) if out is not None else Path(cfg.output.folder)
    if out_path.is_symlink():  # write where the link points; the link stays
        out_path = out_path.resolve()
    recovered = output.recover(out_path)
    output.check_out(out_path, input_paths(data, cfg))
    steps = _Steps(progress)
    state = _Build(cfg, steps)
    for sentence in recovered:
        state.notes.append(sentence)
        if progress:
            progress(f"note: {sentence}")
    with steps.step("read and validate data"):
        table, vrep, label, sha = load_data(data, cfg)
        if len(table) == 0:
            raise InputError("the data has no rows: nothing to report")
        require_columns(table, cfg)
    staging = output.staging_folder(out_path)
    try:
        report = state.run(table, vrep, label, sha, staging, out_path)
        with steps.step("move into place"):
            output.swap_into_place(staging, out_path)
    except OSError as err:  # a full disk, a permission changed mid-run
        shutil.rmtree(staging, ignore_errors=True)
        raise AllianceStatsError(
            f"could not write the report to '{out_path}' ({err.strerror or err}); nothing was "
            "replaced: an earlier report there is unchanged. Free space or choose another --out"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        state.doc.close_figures()
    return dataclasses.replace(report, timings=dict(steps.timings))


class _Build:
    """The pipeline's state while a report is built."""

    def __init__(self, cfg: StudyConfig, steps: _Steps):
        self.cfg = cfg
        self.steps = steps
        self.min_cell = cfg.privacy.min_cell
        self.seed = cfg.study.seed
        self.doc = Document()
        self.models: dict[str, Any] = {}
        self.notes: list[str] = []
        self.unavailable: list[str] = []
        self.model_facts: list[dict] = []
        self.plan_models: list = []
        self.deviations: list = []
        self.strategy = None
        self.session_dates = None  # the data's date column, for the cover

    # ------------------------------------------------------------------ output
    def group_view(self, data: pd.DataFrame) -> pd.DataFrame:
        """The rows for by-group tables and figures: where ``[analysis] group`` is the
        client or therapist column, its values are their pseudonyms (a group label is never a
        real identifier)."""
        by = self.cfg.analysis.group
        names = {schema.CLIENT: self.client_names, schema.THERAPIST: self.therapist_names}
        if by not in names:
            return data
        return data.assign(**{by: data[by].astype(str).map(names[by])})

    # ------------------------------------------------------------------ pipeline
    def run(self, data, vrep, label, sha, staging: Path, out_path: Path) -> Report:
        cfg, st = self.cfg, self.steps
        self.ids = {
            "client": set(map(str, data[schema.CLIENT].unique())),
            "therapist": set(map(str, data[schema.THERAPIST].unique())),
        }
        self.session_dates = data[schema.DATE] if schema.DATE in data.columns else None
        self.client_names = privacy.pseudonyms(self.ids["client"], "Client", self.seed)
        self.therapist_names = privacy.pseudonyms(self.ids["therapist"], "Therapist", self.seed)
        with st.step("score instruments and reliability"):
            data = self.score(data)
        with st.step("descriptives and retention curves"):
            data = self.describe(data, vrep)
            self.retention(data)
        with st.step("alliance model"):
            self.alliance_model(data)
        with st.step("dropout model"):
            self.dropout_model(data)
        with st.step("strategy effects"):
            self.strategies(data)
        with st.step("ruptures"):
            self.ruptures(data)
        with st.step("therapist effects and diagnostics"):
            self.therapists(data)
            self.diagnostics()
        if not self.doc.sections["appendix"].blocks:
            self.doc.sections["appendix"].off("no model was fitted.")
        with st.step("methods and provenance"):
            self.methods(data)
            prov = self.provenance(label, sha)
        self.doc.number_in_order()
        with st.step("render figures"):
            self.doc.embed_figures()
        with st.step("write HTML and tables"):
            html_text = self.doc.render_html(**self.cover(prov))
            html_path = None
            if "html" in cfg.output.formats or "pdf" in cfg.output.formats:
                html_path = staging / "report.html"
                html_path.write_text(html_text, encoding="utf-8", newline="\n")
            if cfg.output.tables:
                (staging / "tables").mkdir()
                for t in self.doc.tables.values():
                    t.write(staging / "tables", cfg.output.tables)
                write_results(staging / "results", self.result_frames())
            (staging / "provenance.json").write_text(
                json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
            ids = self.ids["client"] | self.ids["therapist"]
            self.doc.check_no_identifiers(ids, html_text, staging)
        pdf_path, engine = None, "none"
        if "pdf" in cfg.output.formats:
            with st.step("write PDF"):
                engine = self.doc.write_pdf(
                    html_text,
                    staging / "report.pdf",
                    cfg.output.pdf_engine,
                    title=cfg.study.title,
                    date_line=prov["date_line"],
                    methods=self.methods_text,
                    notes=self.notes,
                    progress=st.progress,
                )
                pdf_path = out_path / "report.pdf"
        if "html" not in cfg.output.formats and html_path is not None:
            html_path.unlink()
            html_path = None
        output.write_manifest(staging)
        sections = pd.DataFrame(
            [(s.id, s.title, s.status) for s in self.doc.sections.values()],
            columns=["id", "title", "status"],
        )
        return Report(
            out=out_path,
            html=out_path / "report.html" if html_path is not None else None,
            pdf=pdf_path,
            pdf_engine=engine,
            tables=dict(self.doc.tables),
            figures=tuple(i for i, _, _ in self.doc.figures),
            sections=sections,
            models=dict(self.models),
            methods=self.methods_text,
            provenance=prov,
            timings={},
            notes=tuple(self.notes),
            strategy=self.strategy,
        )

    # ------------------------------------------------------------------ steps
    def score(self, data: pd.DataFrame) -> pd.DataFrame:
        from alliance_stats import instruments as instr
        from alliance_stats.scoring import reliability, score

        cfg = self.cfg
        self.instruments = cfg.instruments or default_instruments(data)
        sec = self.doc.sections["reliability"]
        self.alphas: dict[str, float] = {}
        self.instrument_facts = []
        rel_frames = []
        att = data[schema.ATTENDED].astype(bool)
        for ins in self.instruments:
            opts = dict(ins.options)
            kwargs = {"items": ins.items} if ins.items else {}
            if ins.max_missing is not None:
                kwargs["max_missing"] = ins.max_missing
            data = score(data, ins.name, **kwargs, **opts)
            definition = instr.get(ins.name)
            alpha_total = None
            try:
                rel = reliability(data[att], ins.name, items=ins.items, **opts)
                rel_frames.append(rel)
                for r in rel.itertuples(index=False):
                    self.alphas[r.scale] = float(r.alpha)
                tot = rel[rel["scale"] == f"{ins.name}_total"]
                alpha_total = float(tot["alpha"].iloc[0]) if len(tot) else None
            except AllianceStatsError as err:
                self.notes.append(f"reliability of {ins.name} not computed: {err}")
            cite = getattr(definition, "citation", "") or ""
            short = cite.split(". (")[0] if cite else ""
            year = ""
            if "(" in cite and ")" in cite:
                year = cite[cite.index("(") + 1 : cite.index(")")]
            self.instrument_facts.append(
                {
                    "name": ins.name,
                    "label": f"The {getattr(definition, 'label', ins.name)}",
                    "citation": f"{short.split(',')[0]} et al., {year}" if short else ins.name,
                    "max_missing": ins.max_missing
                    if ins.max_missing is not None
                    else getattr(definition, "max_missing", None),
                    "alpha": alpha_total,
                }
            )
        if rel_frames:
            self.doc.add_table("reliability", T.reliability_table(pd.concat(rel_frames)))
        else:
            sec.off("no instrument was configured or recognised (add [[instruments]]).")
        alliance = cfg.analysis.alliance or (
            f"{self.instruments[0].name}_total" if self.instruments else None
        )
        if alliance is not None and alliance not in data.columns:
            raise InputError(
                f"[analysis] alliance = {alliance!r} is not a column after scoring; scored "
                f"columns include {[c for c in data.columns if c.endswith('_total')]}"
            )
        self.alliance = alliance
        return data

    def describe(self, data: pd.DataFrame, vrep) -> pd.DataFrame:
        from alliance_stats.prep import retention_outcomes

        cfg = self.cfg
        sec = self.doc.sections["data"]
        ro = retention_outcomes(data, cfg.outcome.definition, n=cfg.outcome.n)
        self.dropout = ro.groupby(schema.CLIENT, sort=True)["dropout"].first().astype(float)
        scores = {}
        for ins in self.instruments:
            for c in data.columns:
                if c.startswith(f"{ins.name}_") and c not in (
                    f"{ins.name}_missing_reason",
                    f"{ins.name}_prorated",
                    f"{ins.name}_alert",
                ):
                    if (
                        pd.api.types.is_numeric_dtype(data[c])
                        and not c[len(ins.name) + 1 :].isdigit()
                    ):
                        scores[c] = c
        for extra in (cfg.analysis.predictor, *cfg.analysis.covariates):
            if extra and extra in data.columns and pd.api.types.is_numeric_dtype(data[extra]):
                scores.setdefault(extra, extra)
        self.n = {
            "clients": data[schema.CLIENT].nunique(),
            "therapists": data[schema.THERAPIST].nunique(),
            "sessions": len(data),
            "attended": int(data[schema.ATTENDED].astype(bool).sum()),
        }
        sec.text(
            f"The data hold {self.n['sessions']:,} scheduled sessions of {self.n['clients']:,} "
            f"clients and {self.n['therapists']:,} therapists; {self.n['attended']:,} sessions "
            f"were attended. {self.dropout.mean():.1%} of clients dropped out "
            f"(definition: {cfg.outcome.definition})."
        )
        self.doc.add_table(
            "data",
            T.descriptive_table(
                data, scores, dropout=self.dropout, alphas=self.alphas, min_cell=self.min_cell
            ),
        )
        if cfg.analysis.group:
            self.doc.add_table(
                "data",
                T.group_table(
                    self.group_view(data), cfg.analysis.group, self.dropout, min_cell=self.min_cell
                ),
            )
        counts = vrep.counts()
        sec.text(
            f"Validation found {counts['error']} errors, {counts['warning']} warnings and "
            f"{counts['note']} notes."
        )
        self.doc.add_table("data", T.validation_table(vrep))
        return data

    def _groups_ok(self, data, by) -> tuple[pd.DataFrame, list[str]]:
        """Drop clients of groups below the minimum cell size (for by-group figures)."""
        sizes = data.groupby(by, observed=True)[schema.CLIENT].nunique()
        small = [str(g) for g, n in sizes.items() if n < max(self.min_cell, 1)]
        if small:
            data = data[~data[by].astype(str).isin(small)]
        return data, small

    def retention(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots
        from alliance_stats.retention import retention_curve

        cfg = self.cfg
        sec = self.doc.sections["retention"]
        by = cfg.analysis.group
        curve = retention_curve(data, definition=cfg.outcome.definition, n=cfg.outcome.n)
        self.doc.add_table("retention", T.retention_table(curve, min_cell=self.min_cell))
        fig = self.doc.new_figure("onehalf")
        with self.doc.styled():
            if by:
                kept, small = self._groups_ok(self.group_view(data), by)
                bycurve = retention_curve(
                    kept, by=by, definition=cfg.outcome.definition, n=cfg.outcome.n
                )
                plots.retention(bycurve, ax=fig.axes[0])
                if small:
                    sec.notes([f"groups with fewer than {self.min_cell} clients are not drawn"])
            else:
                plots.retention(curve, ax=fig.axes[0])
        self.doc.add_figure(
            "retention",
            "fig_retention",
            fig,
            "Kaplan-Meier retention: share of clients still engaged after each number of "
            f"attended sessions{' by ' + by if by else ''}, with 95% log-log bands.",
        )
        self.curve = curve

    def alliance_model(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots

        cfg = self.cfg
        sec = self.doc.sections["trajectories"]
        y = self.alliance
        if y is None:
            sec.off("no alliance score (configure [[instruments]] and [analysis] alliance).")
            return
        fig = self.doc.new_figure("onehalf")
        with self.doc.styled():
            plots.trajectories(self.group_view(data), y, by=cfg.analysis.group, seed=self.seed,
                min_n=max(self.min_cell, 2), ax=fig.axes[0])  # fmt: skip
        self.doc.add_figure(
            "trajectories",
            "fig_trajectories",
            fig,
            f"{y} by session: thin lines are a random sample of clients, thick lines the "
            "session means with 95% CIs"
            + (f", by {cfg.analysis.group}" if cfg.analysis.group else "")
            + f"; means from fewer than {max(self.min_cell, 2)} ratings are not drawn.",
        )
        x = cfg.analysis.predictor
        if x:
            fig = self.doc.new_figure("onehalf")
            with self.doc.styled():
                plots.within_between(data, x, y, seed=self.seed, ax=fig.axes[0])
            self.doc.add_figure(
                "trajectories",
                "fig_within_between",
                fig,
                f"Within- and between-client association of {x} with {y} (person-mean "
                "centring): client means with the between-client line, and the pooled "
                "within-client slope.",
            )
        from alliance_stats.prep import decompose

        rows = data[data[schema.ATTENDED].astype(bool)].copy()
        rows["session_c"] = rows[schema.SESSION] - 1
        terms = ["session_c"]
        centring = "Session was centred at the first session (session - 1)"
        if x:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows = decompose(rows, x, client=schema.CLIENT)
            terms += [f"{x}_cwc", f"{x}_cm"]
            centring += (
                f"; {x} was person-mean centred ({x}_cwc, within client) with the client mean "
                f"({x}_cm, between clients) entered beside it"
            )
        formula = f"{y} ~ {' + '.join(terms)} + (1 | {schema.THERAPIST}) + (1 | {schema.CLIENT})"
        from alliance_stats.plan import PlannedModel

        planned = PlannedModel(
            name="alliance",
            purpose=f"The course of {y} over sessions",
            formula=formula,
            outcome=y,
            family="gaussian",
            rows="attended sessions",
            centring=centring
            + (
                " (full-course client means: this model describes the ratings, it predicts "
                "nothing later)"
                if x
                else ""
            ),
            random_effects="therapist and client random intercepts",
            identification="repeated ratings per client, several clients per therapist",
            estimator="restricted maximum likelihood (REML)",
        )
        res = self._fit_planned(planned, rows, "the alliance model")
        if res is None:
            sec.notes(["Not available (see Deviations)."])
            self.unavailable.append("the alliance growth model")
            return
        self.models["alliance"] = res
        self.alliance_rows = rows
        self.model_facts.append(
            {"purpose": f"The course of {y} over sessions", "result": res, "centring": centring}
        )
        self.doc.add_table(
            "trajectories",
            T.model_table(res, f"Linear mixed model of {y}", "alliance_model"),
        )
        sec.notes(self.model_notes("The alliance model", res))

    def model_notes(self, label: str, res, notes=None) -> list[str]:
        """The notes of a fit (``notes``, default ``res.notes``) for the body: a plain verdict
        on whether ``res`` can be read, then its substantive notes; the optimiser's details go
        to the technical appendix."""
        notes = list(res.notes if notes is None else notes)
        technical = [n for n in notes if str(n).startswith(TECHNICAL_NOTES)]
        appendix = self.doc.sections["appendix"]
        if not appendix.blocks:
            appendix.text(
                "What each fit did to find and check its optimum, and how its standard errors "
                "were computed (the body says only whether each fit can be read)."
            )
        appendix.notes([f"{label}: {n}" for n in technical])
        if not res.converged:
            verdict = (
                f"{label} did NOT converge: its estimates describe an unfinished fit and "
                "should not be interpreted."
            )
        elif res.singular:
            verdict = (
                f"{label} converged to a boundary (a variance at zero): the estimates are "
                "usable, but that variance could not be told apart from none."
            )
        else:
            verdict = f"{label} converged, with no variance at its boundary" + (
                "; how its optimum was checked: technical appendix." if technical else "."
            )
        return [verdict] + [n for n in notes if n not in technical]

    def dropout_model(self, data: pd.DataFrame) -> None:
        from alliance_stats.engagement import engagement_rows, planned_model

        cfg = self.cfg
        sec = self.doc.sections["retention"]
        y = self.alliance
        if y is None:
            return
        covs = [c for c in cfg.analysis.covariates if c != y]
        plan = cfg.plan
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows, terms, info = engagement_rows(
                    data, "dropout_hazard", [y], covs, definition=cfg.outcome.definition,
                    n=cfg.outcome.n, lag=plan.lag, baseline=plan.baseline,
                    baseline_df=plan.baseline_df,
                )  # fmt: skip
        except AllianceStatsError as err:
            sec.notes([f"Discrete-time dropout model not available: {err}"])
            self.unavailable.append("the discrete-time dropout model")
            return
        planned = planned_model(
            "dropout_hazard", info, terms, cfg.outcome.definition, "dropout",
            "The hazard of dropout after each attended session (discrete-time survival, one "
            "row per session at risk)",
        )  # fmt: skip
        res = self._fit_planned(planned, rows, "the dropout model")
        if res is None:
            sec.notes(["Discrete-time dropout model not available (see Deviations)."])
            self.unavailable.append("the discrete-time dropout model")
            return
        self.models["dropout"] = res
        self.model_facts.append(
            {"purpose": planned.purpose, "result": res, "centring": planned.centring}
        )
        labels = {
            f"{y}_within": f"{y}, within client (per point above the client's running mean)",
            f"{y}_between": f"{y}, between clients (running mean so far, per point)",
            **{t: f"Baseline hazard, term {i + 1}" for i, t in enumerate(info["baseline_terms"])},
        }
        for c in info["split"]:
            if c != y:
                labels[f"{c}_within"] = f"{c}, within client (vs running mean)"
                labels[f"{c}_between"] = f"{c}, between clients (running mean so far)"
        self.doc.add_table(
            "retention",
            T.model_table(
                res,
                "Discrete-time dropout model (logistic mixed model, odds ratios)",
                "dropout_model",
                labels=labels,
            ),
        )
        sec.notes(self.model_notes("The dropout model", res))
        if plan.frailty_sensitivity:
            frailty = planned_model(
                "dropout_hazard_frailty", info, terms, cfg.outcome.definition,
                "dropout_frailty", "Sensitivity: the dropout hazard with a client frailty",
            )  # fmt: skip
            sens = self._fit_planned(frailty, rows, "the frailty sensitivity model")
            if sens is not None:
                self.models["dropout_frailty"] = sens
                self.model_facts.append(
                    {
                        "purpose": frailty.purpose + " (weakly identified)",
                        "result": sens,
                        "centring": "",
                    }  # fmt: skip
                )

    def _fit_planned(self, planned, rows, label: str):
        """Fit a planned model; record it in the plan and every deviation from it."""
        from alliance_stats.plan import Deviation, fit_planned

        self.plan_models.append(planned)
        fitted, why = _fit(label, lambda: fit_planned(planned, rows), self.notes)
        if fitted is None:
            self.deviations.append(Deviation(planned.purpose, "not fitted", why))
            return None
        res, deviations = fitted
        self.deviations += deviations
        return res

    def strategies(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots
        from alliance_stats.plan import Deviation

        cfg = self.cfg.strategies
        sec = self.doc.sections["strategies"]
        if not cfg.columns:
            sec.off("no strategies are configured (add [strategies] columns = [...]).")
            return
        covariates = list(dict.fromkeys([*([self.alliance] if self.alliance else []),
                                         *self.cfg.analysis.covariates]))  # fmt: skip
        covariates = [c for c in covariates if c not in cfg.columns]

        def fit():
            from alliance_stats.strategies import strategy_effects

            return strategy_effects(
                data,
                list(cfg.columns),
                outcome=cfg.outcome,
                adjust=cfg.adjust,
                covariates=covariates,
                moderator=cfg.moderator,
                definition=self.cfg.outcome.definition,
                n=self.cfg.outcome.n,
                alpha=cfg.alpha,
                gee=cfg.sensitivity,
                lag=self.cfg.plan.lag,
                baseline=self.cfg.plan.baseline,
            )

        res, why = _fit("the strategy model", fit, self.notes)
        if res is None:
            sec.off(why)
            self.unavailable.append("strategy effects")
            self.deviations.append(Deviation("The strategy model", "not fitted", why))
            return
        self.strategy = res
        self.models["strategies"] = res.model
        self.plan_models += list(res.plan.models)
        self.deviations += list(res.deviations)
        self.doc.add_table("strategies", T.strategy_table(res))
        fig = self.doc.new_figure("onehalf" if len(res.table) <= 8 else "double_tall")
        if len(res.table) > 8:
            fig.set_size_inches(7.2, 0.22 * len(res.table) + 1.2)
        with self.doc.styled():
            plots.forest_plot(res.table, ax=fig.axes[0], title=f"Strategies and '{res.outcome}'")
        self.doc.add_figure(
            "strategies",
            "fig_forest",
            fig,
            f"Odds ratios of '{res.outcome}' with 95% CIs (log scale); filled markers: "
            f"significant after {res.adjust} adjustment (adjusted p at the right).",
        )
        sec.notes(self.model_notes("The strategy model", res.model, res.notes))
        hits = res.table[res.table["significant"]]
        sec.text(
            f"{len(hits)} of {len(res.table)} strategy terms remain significant after "
            f"{res.adjust} adjustment."
        )

    def ruptures(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots
        from alliance_stats.ruptures import detect_ruptures, rupture_dropout_link

        cfg = self.cfg.ruptures
        sec = self.doc.sections["ruptures"]
        score = cfg.score or self.alliance
        if score is None or score not in data.columns:
            sec.off("no score to detect ruptures in (set [ruptures] score).")
            return
        kwargs = {"window": cfg.window}
        if cfg.sd_multiplier is not None and cfg.method != "srs_alert":
            kwargs["sd_multiplier"] = cfg.sd_multiplier
        ep = detect_ruptures(data, score, cfg.method, **kwargs)
        link = rupture_dropout_link(ep, data, definition=self.cfg.outcome.definition,
                                    n=self.cfg.outcome.n)  # fmt: skip
        rule = str(ep["rule"].iloc[0]) if len(ep) else f"method {cfg.method}"
        self.rupture_facts = {"rule": rule, "n_episodes": len(ep)}
        sec.text(f"Rule: {rule}.")
        self.doc.add_table("ruptures", T.rupture_table(link, ep, min_cell=self.min_cell))
        fig = self.doc.new_figure("single")
        with self.doc.styled():
            plots.dropout_by_status(link.table, min_cell=self.min_cell, ax=fig.axes[0])
        self.doc.add_figure(
            "ruptures",
            "fig_rupture_dropout",
            fig,
            "Share of clients who dropped out, by rupture status (crude association).",
        )
        if len(ep):
            rated = (
                data[data[schema.ATTENDED].astype(bool) & data[score].notna()]
                .groupby(schema.CLIENT)
                .size()
            )
            rep = ep[ep["repaired"]]
            cand = sorted(set(map(str, rep["client"])) & set(rated[rated >= 8].index.map(str)))
            if not cand:
                cand = sorted(set(map(str, ep["client"])))
            rng = np.random.default_rng(self.seed)
            pick = cand[int(rng.integers(len(cand)))]
            rows = data[data[schema.CLIENT].astype(str) == pick]
            eps = ep[ep["client"].astype(str) == pick]
            fig = self.doc.new_figure("onehalf")
            with self.doc.styled():
                plots.client_trajectory(rows, score, eps, label=self.client_names[pick],
                                        ax=fig.axes[0])  # fmt: skip
            self.doc.add_figure(
                "ruptures",
                "fig_client_ruptures",
                fig,
                f"One client's {score} (pseudonymised, a randomly chosen client with a repaired "
                "rupture): ruptures (downward triangles, shaded), repairs (upward triangles), "
                "pre-rupture level (dashed), missed sessions (dotted).",
            )

    def therapists(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots

        sec = self.doc.sections["therapists"]
        caseload = data.groupby(schema.THERAPIST)[schema.CLIENT].nunique()
        rows = []
        for key, label in (("alliance", f"{self.alliance} (linear)"),
                           ("dropout", "dropout hazard (logistic, latent scale)"),
                           ("strategies", "strategy model (logistic, latent scale)")):  # fmt: skip
            res = self.models.get(key)
            if res is None:
                continue
            try:
                icc = res.icc()
                v = icc[icc["group"] == schema.THERAPIST]
                if len(v):
                    rows.append((label, T.fmt_num(float(v["variance"].iloc[0]), 3),
                                 T.fmt_num(float(v["icc"].iloc[0]), 3)))  # fmt: skip
            except _STEP_FAILURES as err:
                self.notes.append(f"ICC of the {key} model not computed: {err}")
        if not rows:
            sec.off(
                "no mixed model was fitted (see the notes of the other sections), so "
                "therapist variance components are not available."
            )
            return
        sec.text(
            f"{len(caseload)} therapists saw {caseload.mean():.1f} clients on average "
            f"(range {caseload.min()}-{caseload.max()}). Therapist effects: the share of "
            "variance between therapists (ICC); a typical value in psychotherapy research is "
            "about 5% (Johns et al., 2019)."
        )
        frame = pd.DataFrame(rows, columns=["Model", "Therapist variance", "ICC therapist"])
        self.doc.add_table(
            "therapists",
            T.Table(
                "therapists",
                "Therapist variance components",
                frame,
                "ICC = therapist variance / total variance; logistic models use the latent "
                "residual variance \u03c0\u00b2/3.",
            ),  # fmt: skip
        )
        res = self.models.get("alliance")
        if res is not None:
            try:
                blups = plots.random_effects(res, schema.THERAPIST)
                blups["level"] = blups["level"].map(lambda v: self.therapist_names.get(str(v), ""))
                fig = self.doc.new_figure("onehalf")
                with self.doc.styled():
                    plots.caterpillar(blups, ax=fig.axes[0], label="level",
                                      title=f"Therapist random intercepts: {self.alliance}",
                                      xlabel="Deviation from the average therapist")  # fmt: skip
                k = int(blups["std_error"].notna().sum())
                labelled = len(blups) <= 30
                self.doc.add_figure(
                    "therapists",
                    "fig_caterpillar",
                    fig,
                    "Therapists' random intercepts (conditional modes) in the alliance model, "
                    "sorted, with 95% conditional intervals"
                    + ("; labels are pseudonyms" if labelled else " (too many to label)")
                    + f". Highlighted: intervals that exclude 0 even after a Bonferroni "
                    f"adjustment for the {k} therapists. The modes are shrunken towards the "
                    "average and their intervals are wide: the figure shows how much therapists "
                    "vary, not a ranking of them.",
                )
            except _STEP_FAILURES as err:
                sec.notes([f"caterpillar plot not available: {err}"])

    def diagnostics(self) -> None:
        from alliance_stats import plots

        sec = self.doc.sections["diagnostics"]
        res = self.models.get("alliance")
        if res is None:
            sec.off("the alliance model was not fitted, so there are no residuals to check.")
            return
        try:
            fitted = res.predict().to_numpy(dtype=float)
            frame = res.model_frame
            observed = frame[frame.columns[0]].to_numpy(dtype=float)
            resid = observed - fitted
            blups = plots.random_effects(res, schema.CLIENT)
        except _STEP_FAILURES as err:
            sec.off(f"residuals could not be computed ({err}).")
            return
        fig = self.doc.new_figure("double", 1, 3)
        with self.doc.styled():
            plots.diagnostics(fitted, resid, blups, ax=fig.axes, random_label="Client intercepts")
        self.doc.add_figure(
            "diagnostics",
            "fig_diagnostics",
            fig,
            "Alliance model diagnostics: residuals against fitted values (binned means), normal "
            "QQ plot of the residuals and of the client random intercepts.",
        )
        sec.text(
            f"Residual SD {np.std(resid, ddof=1):.2f}; skewness "
            f"{pd.Series(resid).skew():.2f}. Logistic models have no residual plot here; their "
            "convergence and singularity checks are listed with each model."
        )

    def methods(self, data: pd.DataFrame) -> None:
        cfg = self.cfg
        st = self.strategy
        facts = MethodsFacts(
            n_clients=self.n["clients"],
            n_therapists=self.n["therapists"],
            n_sessions=self.n["sessions"],
            n_attended=self.n["attended"],
            instruments=self.instrument_facts,
            alliance=self.alliance or "",
            definition=cfg.outcome.definition,
            n_definition=cfg.outcome.n,
            dropout_share=float(self.dropout.mean()),
            models=self.model_facts,
            strategy=None
            if st is None
            else {
                "n_strategies": st.table["strategy"].nunique(),
                "n_terms": len(st.table),
                "adjust": st.adjust,
                "outcome": st.outcome,
                "gee": bool(st.table["gee_odds_ratio"].notna().any()),
            },
            ruptures=getattr(self, "rupture_facts", None),
            min_cell=self.min_cell,
            versions=provenance.package_versions(),
            unavailable=self.unavailable,
            plan=list(self.plan_models),
            deviations=list(self.deviations),
        )
        self.methods_text = methods_paragraph(facts)
        self.doc.sections["methods"].blocks.append(
            {"kind": "methods", "paragraphs": self.methods_text.split("\n\n")}
        )

    def result_frames(self) -> dict[str, pd.DataFrame]:
        """The numbers behind the tables at full precision: each model's coefficients
        (``to_frame()``) and variance components, the strategy table and the retention
        curve."""
        frames = {}
        for name, res in self.models.items():
            if hasattr(res, "to_frame"):
                frames[f"{name}_coefficients"] = res.to_frame()
            if isinstance(getattr(res, "varcorr", None), pd.DataFrame):
                frames[f"{name}_variance_components"] = res.varcorr
        if self.strategy is not None:
            frames["strategies"] = self.strategy.to_frame()
        if getattr(self, "curve", None) is not None:
            frames["retention_curve"] = self.curve.to_frame()
        return frames

    def cover(self, prov: dict) -> dict:
        """What the report's cover says: title, dating, versions, the simulated-data banner,
        the key facts and whether the plan held."""
        simulated = None
        if self.cfg.data.dataset is not None:
            simulated = (
                f"These are SIMULATED data (bundled dataset '{self.cfg.data.dataset}'); no real "
                "client is in them."
            )
        keyfacts = [
            ("clients", f"{self.n['clients']:,}"),
            ("therapists", f"{self.n['therapists']:,}"),
            ("sessions attended", f"{self.n['attended']:,}"),
            ("dropped out", f"{self.dropout.mean():.1%}"),
            ("deviations from the plan", f"{len(self.deviations)}"),
        ]
        return dict(
            title=self.cfg.study.title,
            author=self.cfg.study.author,
            date_line=prov["date_line"],
            versions=prov["versions"],
            simulated=simulated,
            keyfacts=keyfacts,
            plan_status=plan_status(self.plan_models, self.deviations),
        )

    def provenance(self, label: str, sha: str) -> dict:
        cfg = self.cfg
        source = cfg.source if cfg.source.startswith("<") else shown_path(cfg.source, cfg.base_dir)
        shown = cfg.to_dict()
        if shown["data"].get("path"):
            shown["data"]["path"] = shown_path(cfg.data_path(), cfg.base_dir)
        prov = {
            "input": label,
            "input_sha256": sha,
            "config_source": source,
            "config": shown,
            "seed": cfg.study.seed,
            "date": provenance.report_date(cfg.study.date),
            "date_line": provenance.date_line(cfg.study.date, self.session_dates),
            "versions": provenance.package_versions(),
        }
        items = [
            ("Input", label),
            ("Input SHA-256", sha),
            ("Configuration", source),
            ("Seed", str(cfg.study.seed)),
            ("Report date", prov["date"]),
            ("Software", ", ".join(f"{k} {v}" for k, v in prov["versions"].items())),
        ]
        sec = self.doc.sections["provenance"]
        sec.blocks.append({"kind": "provenance", "items": items})
        sec.blocks.append(
            {"kind": "pre", "text": json.dumps(prov["config"], indent=1, sort_keys=True)}
        )
        self.prov = prov
        return prov

    # ------------------------------------------------------------------ output
