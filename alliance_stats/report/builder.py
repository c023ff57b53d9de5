"""``build_report``: the whole pipeline, from a session table to a self-contained HTML report,
a PDF and APA tables, with provenance.

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

import base64
import contextlib
import dataclasses
import html as _html
import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.arguments import UNSET, renamed_argument
from alliance_stats.config import StudyConfig, load_config
from alliance_stats.errors import AllianceStatsError, DataValidationError, InputError
from alliance_stats.report import output, privacy, provenance
from alliance_stats.report import tables as T
from alliance_stats.report.methods import MethodsFacts, methods_paragraph

__all__ = ["SECTIONS", "Report", "build_report"]

#: Section ids and titles, in order.
SECTIONS = (
    ("data", "Data summary and validation"),
    ("reliability", "Instrument reliability"),
    ("trajectories", "Alliance trajectories"),
    ("retention", "Retention"),
    ("strategies", "Strategy effects"),
    ("ruptures", "Ruptures and repair"),
    ("therapists", "Therapist effects"),
    ("diagnostics", "Model diagnostics"),
    ("methods", "Methods"),
    ("appendix", "Technical appendix: how the models were fitted"),
    ("provenance", "Provenance"),
)

#: how the notes of a fit that concern the optimiser begin (fit_mixed's wording): they go to
#: the technical appendix, the body says in plain words whether the fit can be read
TECHNICAL_NOTES = ("fitted with", "optimum checked", "scaled gradient", "standard errors:")

PDF_HELP = (
    "This PDF holds the figures and tables only. For the full formatted report install the "
    'pdf extra (pip install "alliance_stats[pdf]") and the system pango library '
    "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core), "
    "or open report.html in a browser and print it to PDF."
)


@dataclass(frozen=True)
class Report:
    """A built report (result of :func:`build_report`).

    Attributes
    ----------
    out : Path
        The output folder. ``html``, ``pdf``: the files (``pdf`` None when not requested).
    pdf_engine : str
        ``"weasyprint"``, ``"matplotlib"`` (figures-and-tables fallback) or ``"none"``.
    tables : dict of name -> Table
        Every table in the report (also written to ``out/tables``).
    figures : tuple of str
        Figure ids, in order.
    sections : DataFrame
        ``id, title, status`` (``ok`` or ``unavailable``) per section.
    models : dict
        Fitted :class:`~alliance_stats.models.MixedResult` objects by key (``alliance``,
        ``dropout``) and ``strategies`` (the StrategyResult's model).
    methods : str
        The generated methods text.
    provenance : dict
        Input hash, configuration, seed, versions, date.
    timings : dict of step -> seconds
    notes : tuple of str
    """

    out: Path
    html: Path | None
    pdf: Path | None
    pdf_engine: str
    tables: dict
    figures: tuple[str, ...]
    sections: pd.DataFrame
    models: dict
    methods: str
    provenance: dict
    timings: dict
    notes: tuple[str, ...] = ()
    strategy: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        ok = int((self.sections["status"] == "ok").sum())
        return (
            f"<Report {str(self.out)!r}: {ok}/{len(self.sections)} sections, "
            f"{len(self.figures)} figures, {len(self.tables)} tables, PDF: {self.pdf_engine}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The sections table (a copy)."""
        return self.sections.copy()

    def summary(self) -> str:
        """Plain text: files, sections, timings."""
        lines = [repr(self)]
        for p in (self.html, self.pdf):
            if p is not None:
                lines.append(f"  {p}")
        for r in self.sections.itertuples(index=False):
            lines.append(f"  [{r.status:11}] {r.title}")
        total = sum(self.timings.values())
        lines.append(f"  built in {total:.1f} s")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{_html.escape(self.summary())}</pre>"

    def plot(self, ax=None):
        """Bar chart of where the build time went; returns the Axes."""
        from alliance_stats import plots

        ax = plots.get_axes(ax)
        steps = list(self.timings)
        ax.barh(steps[::-1], [self.timings[s] for s in steps][::-1], color=plots.PALETTE[0])
        ax.set_xlabel("seconds")
        return ax


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


@dataclass
class _Section:
    id: str
    title: str
    status: str = "ok"
    unavailable: str = ""
    blocks: list = field(default_factory=list)

    def text(self, text: str) -> None:
        self.blocks.append({"kind": "text", "text": text})

    def notes(self, items) -> None:
        items = [str(i) for i in items if i]
        if items:
            self.blocks.append({"kind": "notes", "items": items})

    def off(self, why: str) -> None:
        self.status = "unavailable"
        self.unavailable = why


def _fig_to_png(fig, dpi: int = 130) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _resolve_config(config) -> StudyConfig:
    if config is None:
        return StudyConfig.from_dict({}, source="<defaults>")
    if isinstance(config, StudyConfig):
        return config
    if isinstance(config, dict):
        return StudyConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise InputError(
        f"config must be a StudyConfig, a dict or the path of a TOML file; got "
        f"{type(config).__name__}"
    )


def _input_paths(df, cfg: StudyConfig) -> list[Path]:
    """The files a report run reads: the data file and the configuration file."""
    paths = []
    if isinstance(df, (str, os.PathLike)):
        paths.append(Path(df))
    elif df is None and cfg.data.path is not None:
        paths.append(cfg.data_path())
    if cfg.source not in ("<dict>", "<defaults>") and Path(cfg.source).is_file():
        paths.append(Path(cfg.source))
    return paths


def shown_path(path, study_folder) -> str:
    """A path as the report shows it: relative to the study folder (the configuration's), or
    the file name alone for a file outside it, so that no home folder or machine layout
    reaches a shared report and equivalent runs give the same text.

    Examples
    --------
    >>> shown_path("/srv/study/data/sessions.csv", "/srv/study")
    'data/sessions.csv'
    >>> shown_path("/home/jane/private/study.toml", "/srv/study")
    'study.toml'
    """
    full = Path(os.path.abspath(Path(path).expanduser()))
    try:
        return full.relative_to(os.path.abspath(study_folder)).as_posix()
    except ValueError:
        return full.name


def _without_identifiers(report) -> DataValidationError:
    """The data's errors, with client and therapist identifiers masked: a report's error
    output goes to logs (nightly jobs keep them); rows and columns still locate each problem,
    and ``als.validate_sessions`` on the same data shows the identifiers."""
    err = DataValidationError(report.redacted())
    err.args = (
        f"{err.args[0]}\n(client and therapist identifiers are masked; run "
        "als.validate_sessions on the data to see them)",
    )
    return err


def _load_data(df, cfg: StudyConfig):
    """Return (table, ValidationReport, source description, sha256)."""
    from alliance_stats import datasets
    from alliance_stats.io import read_sessions_checked
    from alliance_stats.validation import validate_sessions

    d = cfg.data
    if isinstance(df, pd.DataFrame):
        rep = validate_sessions(df)
        if not rep.ok:
            raise _without_identifiers(rep)
        return df.copy(), rep, "DataFrame (in memory)", provenance.frame_sha256(df)
    if df is not None and not isinstance(df, (str, os.PathLike)):
        raise InputError(f"df must be a DataFrame or a file path; got {type(df).__name__}")
    if df is not None:
        path = Path(df)
        label = shown_path(path, cfg.base_dir)
    elif d.path is not None:
        path = cfg.data_path()
        label = shown_path(path, cfg.base_dir)
    elif d.dataset is not None:
        path = Path(str(datasets.path(d.dataset)))
        label = f"bundled dataset '{d.dataset}' ({path.name})"
    else:
        raise InputError(
            "no data: pass a DataFrame or file to build_report, or give [data] path = ... (or "
            'dataset = "clinic") in the configuration'
        )
    if not path.is_file():
        raise InputError(f"data file '{path}' does not exist")
    options = {}
    if d.format:
        options["format"] = d.format
    if d.sheet is not None:
        options["sheet"] = d.sheet
    checked = read_sessions_checked(
        path,
        columns=dict(d.columns) or None,
        missing_codes=list(d.missing_codes) or None,
        **options,
    )
    if checked.table is None:
        raise _without_identifiers(checked.report)
    table = checked.table
    sha = (table.attrs.get("alliance_stats") or {}).get("sha256") or provenance.file_sha256(path)
    return table, checked.report, label, sha


def _default_instruments(df: pd.DataFrame):
    from alliance_stats.config import InstrumentSection

    found = []
    if all(f"wai_{i}" in df.columns for i in range(1, 13)):
        found.append(InstrumentSection("wai_sr", "wai_{}"))
    if all(f"srs_{i}" in df.columns for i in range(1, 5)):
        found.append(InstrumentSection("srs", "srs_{}"))
    return tuple(found)


def require_columns(df: pd.DataFrame, cfg: StudyConfig) -> None:
    wanted = {
        "[strategies] columns": list(cfg.strategies.columns),
        "[analysis] covariates": list(cfg.analysis.covariates),
        "[analysis] group": [cfg.analysis.group] if cfg.analysis.group else [],
        "[analysis] predictor": [cfg.analysis.predictor] if cfg.analysis.predictor else [],
        "[strategies] moderator": [cfg.strategies.moderator] if cfg.strategies.moderator else [],
    }
    problems = []
    for where, cols in wanted.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            problems.append(f"{where} names {missing}")
    if problems:
        raise InputError(
            "the configuration names column(s) the data does not have: "
            + "; ".join(problems)
            + f". The data's columns are {list(df.columns)}"
        )


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
    """
    data = renamed_argument("build_report", "data", data, None, "df", df)
    cfg = _resolve_config(config)
    out_path = Path(out) if out is not None else Path(cfg.output.folder)
    if out_path.is_symlink():  # write where the link points; the link stays
        out_path = out_path.resolve()
    recovered = output.recover(out_path)
    output.check_out(out_path, _input_paths(data, cfg))
    steps = _Steps(progress)
    state = _Build(cfg, steps)
    for sentence in recovered:
        state.notes.append(sentence)
        if progress:
            progress(f"note: {sentence}")
    with steps.step("read and validate data"):
        table, vrep, label, sha = _load_data(data, cfg)
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
        state.close_figures()
    return dataclasses.replace(report, timings=dict(steps.timings))


class _Build:
    """The pipeline's state while a report is built."""

    def __init__(self, cfg: StudyConfig, steps: _Steps):
        self.cfg = cfg
        self.steps = steps
        self.min_cell = cfg.privacy.min_cell
        self.seed = cfg.study.seed
        self.sections = {sid: _Section(sid, title) for sid, title in SECTIONS}
        self.tables: dict[str, T.Table] = {}
        self.figures: list[tuple[str, str, Any]] = []  # id, section, Figure
        self.fig_blocks: dict[str, dict] = {}
        self.models: dict[str, Any] = {}
        self.notes: list[str] = []
        self.unavailable: list[str] = []
        self.model_facts: list[dict] = []
        self.plan_models: list = []
        self.deviations: list = []
        self.strategy = None
        self.session_dates = None  # the data's date column, for the cover

    # ------------------------------------------------------------------ bookkeeping
    def add_table(self, section: str, table: T.Table) -> None:
        self.tables[table.name] = table
        self.sections[section].blocks.append({"kind": "table", "name": table.name})

    def add_figure(self, section: str, fig_id: str, fig, caption: str) -> None:
        block = {"kind": "figure", "id": fig_id, "caption": caption, "alt": caption}
        self.figures.append((fig_id, section, fig))
        self.fig_blocks[fig_id] = block
        self.sections[section].blocks.append(block)

    def number_in_order(self) -> None:
        """Number tables and figures in the order they appear in the document."""
        n_tab = n_fig = 0
        order = []
        for sec in self.sections.values():
            for b in sec.blocks:
                if b["kind"] == "table":
                    n_tab += 1
                    self.tables[b["name"]] = dataclasses.replace(
                        self.tables[b["name"]], number=n_tab
                    )
                    order.append(b["name"])
                elif b["kind"] == "figure":
                    n_fig += 1
                    b["number"] = n_fig
        self.tables = {name: self.tables[name] for name in order}
        rank = {b["id"]: b["number"] for b in self.fig_blocks.values()}
        self.figures.sort(key=lambda f: rank[f[0]])

    def close_figures(self) -> None:
        self.figures = [(i, s, None) for i, s, _ in self.figures]

    def new_figure(self, size="onehalf", nrows=1, ncols=1):
        from alliance_stats import plots

        with plots.style():
            return plots.figure(size, nrows, ncols)

    @contextlib.contextmanager
    def styled(self):
        from alliance_stats import plots

        with plots.style():
            yield

    def write_results(self, folder: Path) -> None:
        """Full-precision, machine-readable results beside the rounded display tables: each
        model's coefficients (``to_frame()``) and variance components, the strategy table and
        the retention curve, as CSV (and Parquet where pyarrow is installed)."""
        import importlib.util

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
        if not frames:
            return
        folder.mkdir()
        parquet = importlib.util.find_spec("pyarrow") is not None
        for name, frame in frames.items():
            frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
            if parquet:
                frame.to_parquet(folder / f"{name}.parquet", index=False)

    def check_no_identifiers(self, html_text: str, staging: Path) -> None:
        """The last privacy check, on what a reader sees: the HTML's unescaped text, every
        figure's drawn text and every table and provenance file written. A client or
        therapist identifier anywhere stops the run before anything is moved into place."""
        ids = self.ids["client"] | self.ids["therapist"]
        texts = {"the HTML report": html_text}
        texts |= {f"figure {fig_id}": privacy.figure_text(fig) for fig_id, _, fig in self.figures}
        texts |= {
            f"{p.relative_to(staging)}": p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(staging.rglob("*"))
            if p.is_file()
            and p.suffix in (".csv", ".md", ".tex", ".html", ".json", ".txt")
            and p.name != "report.html"  # (html_text itself)
        }
        where = [name for name, text in texts.items() if privacy.find_identifiers(text, ids)]
        if where:
            raise AllianceStatsError(
                "client or therapist identifiers would appear in "
                + ", ".join(where[:5])
                + ("" if len(where) <= 5 else f" and {len(where) - 5} more")
                + "; nothing was written. If [analysis] group or a strategy or covariate "
                "column holds identifiers, choose another column; otherwise please report "
                "this as a bug."
            )

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
        if not self.sections["appendix"].blocks:
            self.sections["appendix"].off("no model was fitted.")
        with st.step("methods and provenance"):
            self.methods(data)
            prov = self.provenance(label, sha)
        self.number_in_order()
        with st.step("render figures"):
            for fig_id, _, fig in self.figures:
                png = _fig_to_png(fig)
                self.fig_blocks[fig_id]["src"] = "data:image/png;base64," + base64.b64encode(
                    png
                ).decode("ascii")
        with st.step("write HTML and tables"):
            html_text = self.render_html(prov)
            html_path = None
            if "html" in cfg.output.formats or "pdf" in cfg.output.formats:
                html_path = staging / "report.html"
                html_path.write_text(html_text, encoding="utf-8", newline="\n")
            if cfg.output.tables:
                (staging / "tables").mkdir()
                for t in self.tables.values():
                    t.write(staging / "tables", cfg.output.tables)
                self.write_results(staging / "results")
            (staging / "provenance.json").write_text(
                json.dumps(prov, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
            self.check_no_identifiers(html_text, staging)
        pdf_path, engine = None, "none"
        if "pdf" in cfg.output.formats:
            with st.step("write PDF"):
                engine = self.write_pdf(html_text, staging / "report.pdf")
                pdf_path = out_path / "report.pdf"
        if "html" not in cfg.output.formats and html_path is not None:
            html_path.unlink()
            html_path = None
        output.write_manifest(staging)
        sections = pd.DataFrame(
            [(s.id, s.title, s.status) for s in self.sections.values()],
            columns=["id", "title", "status"],
        )
        return Report(
            out=out_path,
            html=out_path / "report.html" if html_path is not None else None,
            pdf=pdf_path,
            pdf_engine=engine,
            tables=dict(self.tables),
            figures=tuple(i for i, _, _ in self.figures),
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
        self.instruments = cfg.instruments or _default_instruments(data)
        sec = self.sections["reliability"]
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
            self.add_table("reliability", T.reliability_table(pd.concat(rel_frames)))
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
        sec = self.sections["data"]
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
        self.add_table(
            "data",
            T.descriptive_table(
                data, scores, dropout=self.dropout, alphas=self.alphas, min_cell=self.min_cell
            ),
        )
        if cfg.analysis.group:
            self.add_table(
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
        self.add_table("data", T.validation_table(vrep))
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
        sec = self.sections["retention"]
        by = cfg.analysis.group
        curve = retention_curve(data, definition=cfg.outcome.definition, n=cfg.outcome.n)
        self.add_table("retention", T.retention_table(curve, min_cell=self.min_cell))
        fig = self.new_figure("onehalf")
        with self.styled():
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
        self.add_figure(
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
        sec = self.sections["trajectories"]
        y = self.alliance
        if y is None:
            sec.off("no alliance score (configure [[instruments]] and [analysis] alliance).")
            return
        fig = self.new_figure("onehalf")
        with self.styled():
            plots.trajectories(self.group_view(data), y, by=cfg.analysis.group, seed=self.seed,
                min_n=max(self.min_cell, 2), ax=fig.axes[0])  # fmt: skip
        self.add_figure(
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
            fig = self.new_figure("onehalf")
            with self.styled():
                plots.within_between(data, x, y, seed=self.seed, ax=fig.axes[0])
            self.add_figure(
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
        self.add_table(
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
        appendix = self.sections["appendix"]
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
        sec = self.sections["retention"]
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
        self.add_table(
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
        sec = self.sections["strategies"]
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
        self.add_table("strategies", T.strategy_table(res))
        fig = self.new_figure("onehalf" if len(res.table) <= 8 else "double_tall")
        if len(res.table) > 8:
            fig.set_size_inches(7.2, 0.22 * len(res.table) + 1.2)
        with self.styled():
            plots.forest_plot(res.table, ax=fig.axes[0], title=f"Strategies and '{res.outcome}'")
        self.add_figure(
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
        sec = self.sections["ruptures"]
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
        self.add_table("ruptures", T.rupture_table(link, ep, min_cell=self.min_cell))
        fig = self.new_figure("single")
        with self.styled():
            plots.dropout_by_status(link.table, min_cell=self.min_cell, ax=fig.axes[0])
        self.add_figure(
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
            fig = self.new_figure("onehalf")
            with self.styled():
                plots.client_trajectory(rows, score, eps, label=self.client_names[pick],
                                        ax=fig.axes[0])  # fmt: skip
            self.add_figure(
                "ruptures",
                "fig_client_ruptures",
                fig,
                f"One client's {score} (pseudonymised, a randomly chosen client with a repaired "
                "rupture): ruptures (downward triangles, shaded), repairs (upward triangles), "
                "pre-rupture level (dashed), missed sessions (dotted).",
            )

    def therapists(self, data: pd.DataFrame) -> None:
        from alliance_stats import plots

        sec = self.sections["therapists"]
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
        self.add_table(
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
                fig = self.new_figure("onehalf")
                with self.styled():
                    plots.caterpillar(blups, ax=fig.axes[0], label="level",
                                      title=f"Therapist random intercepts: {self.alliance}",
                                      xlabel="Deviation from the average therapist")  # fmt: skip
                k = int(blups["std_error"].notna().sum())
                labelled = len(blups) <= 30
                self.add_figure(
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

        sec = self.sections["diagnostics"]
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
        fig = self.new_figure("double", 1, 3)
        with self.styled():
            plots.diagnostics(fitted, resid, blups, ax=fig.axes, random_label="Client intercepts")
        self.add_figure(
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
        self.sections["methods"].blocks.append(
            {"kind": "methods", "paragraphs": self.methods_text.split("\n\n")}
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
        sec = self.sections["provenance"]
        sec.blocks.append({"kind": "provenance", "items": items})
        sec.blocks.append(
            {"kind": "pre", "text": json.dumps(prov["config"], indent=1, sort_keys=True)}
        )
        self.prov = prov
        return prov

    # ------------------------------------------------------------------ output
    def render_html(self, prov: dict) -> str:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.PackageLoader("alliance_stats.report", "templates"),
            autoescape=jinja2.select_autoescape(["html", "j2"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        sections = []
        for s in self.sections.values():
            blocks = []
            for b in s.blocks:
                if b["kind"] == "table":
                    b = {"kind": "table", "html": self.tables[b["name"]].to_html()}
                blocks.append(b)
            sections.append({"id": s.id, "title": s.title, "status": s.status,
                             "unavailable": s.unavailable, "blocks": blocks})  # fmt: skip
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
        return env.get_template("report.html.j2").render(
            title=self.cfg.study.title,
            author=self.cfg.study.author,
            date_line=prov["date_line"],
            versions=prov["versions"],
            sections=sections,
            simulated=simulated,
            keyfacts=keyfacts,
            plan_status=plan_status(self.plan_models, self.deviations),
        )

    def write_pdf(self, html_text: str, path: Path) -> str:
        engine = self.cfg.output.pdf_engine
        if engine in ("auto", "weasyprint"):
            try:
                from weasyprint import HTML
            except (ImportError, OSError) as err:  # OSError: system pango missing
                if engine == "weasyprint":
                    from alliance_stats.errors import MissingDependencyError

                    raise MissingDependencyError(
                        f"[output] pdf_engine = 'weasyprint' but it cannot be used ({err}). "
                        + PDF_HELP
                    ) from None
            else:
                import logging

                logging.getLogger("weasyprint").setLevel(logging.ERROR)
                logging.getLogger("fontTools").setLevel(logging.ERROR)
                HTML(string=html_text).write_pdf(path)
                return "weasyprint"
        self.notes.append(PDF_HELP)
        if self.steps.progress:
            self.steps.progress("note: " + PDF_HELP)
        from alliance_stats.report.pdf import figures_pdf

        figures_pdf(
            path,
            title=self.cfg.study.title,
            dating=self.prov["date_line"],
            note=PDF_HELP,
            methods=self.methods_text,
            tables=list(self.tables.values()),
            figures=[(self.fig_blocks[i], fig) for i, _, fig in self.figures],
        )
        return "matplotlib"
