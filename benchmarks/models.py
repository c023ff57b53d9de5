"""Time the reference mixed models: alliance_stats against the engine alone, statsmodels, lme4.

Usage::

    python benchmarks/models.py [--repeats 5] [--only NAME ...] [--r]

For every model in tests/reference/fixtures/lme4_*.json it fits the same rows ``--repeats``
times, alternating: ``alliance_stats.models.fit_mixed`` (everything included: model frame,
optimum checks, standard errors), the engine alone (mixedlm's ``lmer``/``glmer`` on the
prepared frame, no checks) and, where the model is expressible there, statsmodels
``MixedLM``. It prints the medians and the ratios other / ours (above 1: ours is faster)
against the lme4 and glmmTMB times the R scripts recorded with each fixture
(tests/reference/R/lme4_models.R, lme4_public.R) and, with ``--r`` (R with lme4 installed),
against lme4 and glmmTMB timed in the same run on the same rows (benchmarks/lme4_times.R).
Recorded R times come from whatever load the machine had when the fixture was made; the
same-run times are the fair comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reference"))

import test_lme4_models as ref  # noqa: E402

from alliance_stats.models import fit_mixed  # noqa: E402
from alliance_stats.models.formula import parse_formula  # noqa: E402
from alliance_stats.models.frame import model_frame  # noqa: E402
from alliance_stats.models.terms import expand_terms  # noqa: E402

try:  # (absent before the BLAS limit existed: run against older checkouts with PYTHONPATH)
    from alliance_stats.models.blas import one_thread
except ImportError:  # pragma: no cover
    one_thread = contextlib.nullcontext

# statsmodels formulations of the reference models it can express
STATSMODELS = {
    "sleepstudy_reml": dict(formula="Reaction ~ Days", groups="Subject", re_formula="~Days"),
    "sleepstudy_ml": dict(
        formula="Reaction ~ Days", groups="Subject", re_formula="~Days", reml=False
    ),
    "clinic_wai_nested": dict(
        formula="wai_total ~ session",
        groups="therapist",
        re_formula="1",
        vc_formula={"client": "0 + C(client)"},
    ),
    "orthodont": dict(formula="distance ~ age + Sex", groups="Subject", re_formula="~age"),
    "exam_slope": dict(formula="normexam ~ standLRT", groups="school", re_formula="~standLRT"),
    "pastes": dict(
        formula="strength ~ 1", groups="batch", re_formula="1", vc_formula={"cask": "0 + C(cask)"}
    ),
}


def statsmodels_fit(spec: dict, data: pd.DataFrame):
    import statsmodels.formula.api as smf

    spec = dict(spec)
    reml = spec.pop("reml", True)
    d = data.dropna(subset=[spec["formula"].split("~")[0].strip()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smf.mixedlm(data=d, **spec).fit(reml=reml)


def engine_inputs(fx: dict, data: pd.DataFrame) -> dict:
    """The engine's formula text, rows, prior weights and offset for a fixture's model, made
    as fit_mixed makes them (complete rows, function-call terms as columns)."""
    parsed = parse_formula(fx["formula"])
    weights = fx.get("weights")
    extra = (weights,) if weights else ()
    mf = model_frame(parsed, data, fx["family"], extra, proportions=bool(weights))
    ex = expand_terms(parsed, mf.data, mf.factor_levels)
    return dict(
        text=ex.parsed.text,
        frame=ex.data,
        weights=ex.data[weights].to_numpy(float) if weights else None,
        offset=ex.offset,
    )


def engine_fit(fx: dict, inputs: dict):
    """mixedlm alone on the prepared rows (no optimum checks, no translation)."""
    import mixedlm as ml

    from alliance_stats.models.engines import engine_family

    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        one_thread(),
    ):
        warnings.simplefilter("ignore")
        kw = dict(weights=inputs["weights"], offset=inputs["offset"])
        if fx["family"] == "gaussian":
            return ml.lmer(inputs["text"], inputs["frame"], REML=bool(fx["REML"]), **kw)
        family = engine_family(fx["family"], "logit")
        return ml.glmer(inputs["text"], inputs["frame"], family=family, nAGQ=int(fx["nAGQ"]), **kw)


def alternate(funs: dict, repeats: int) -> dict:
    """Median seconds of each function, the functions run in turn ``repeats`` times."""
    times = {k: [] for k in funs}
    for _ in range(repeats):
        for k, f in funs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def r_times(cases: list[tuple[str, dict, pd.DataFrame]], repeats: int) -> dict:
    """lme4 / glmmTMB times on the same rows, from benchmarks/lme4_times.R."""
    if not shutil.which("Rscript"):
        print("Rscript not found: no same-run R times", file=sys.stderr)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = []
        for name, fx, data in cases:
            csv = Path(tmp) / f"{name}.csv"
            data.to_csv(csv, index=False)
            text = [c for c in data.columns if data[c].dtype == object or data[c].dtype == "str"]
            manifest.append(
                dict(
                    name=name,
                    csv=str(csv),
                    formula=fx.get("r_formula", fx["formula"]),
                    family=fx["family"],
                    REML=bool(fx["REML"]),
                    nAGQ=int(fx["nAGQ"]),
                    text=text,
                    repeats=min(repeats, 3) if name == "insteval" else repeats,
                )
            )
        (Path(tmp) / "manifest.json").write_text(json.dumps(manifest))
        out = Path(tmp) / "out.json"
        run = subprocess.run(
            [
                "Rscript",
                str(ROOT / "benchmarks" / "lme4_times.R"),
                str(Path(tmp) / "manifest.json"),
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            print("R failed:", run.stderr[-800:], file=sys.stderr)
            return {}
        return json.loads(out.read_text())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="model names (default: every fixture)")
    ap.add_argument("--r", action="store_true", help="also time lme4/glmmTMB in this run")
    args = ap.parse_args(argv)
    cases = []
    for path in sorted((ROOT / "tests" / "reference" / "fixtures").glob("lme4_*.json")):
        name = path.stem.removeprefix("lme4_")
        if args.only and name not in args.only:
            continue
        fx = ref.fixture(name)
        cases.append((name, fx, ref.load_data(fx["data"])))
    rows = []
    for name, fx, data in cases:
        kw = dict(family=fx["family"], REML=bool(fx["REML"]), nagq=int(fx["nAGQ"]))
        if fx.get("weights"):
            kw["weights"] = fx["weights"]
        inputs = engine_inputs(fx, data)
        funs = {"ours": lambda fx=fx, data=data, kw=kw: fit_mixed(fx["formula"], data, **kw)}
        if fx["family"] != "negative_binomial":  # (the engine alone does not estimate a size)
            funs["engine"] = lambda fx=fx, inputs=inputs: engine_fit(fx, inputs)
        if name in STATSMODELS:
            funs["statsmodels"] = lambda name=name, data=data: statsmodels_fit(
                STATSMODELS[name], data
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            med = alternate(funs, args.repeats)
            res = fit_mixed(fx["formula"], data, **kw)
        rows.append(
            dict(
                model=name,
                n=res.nobs,
                ours_s=med["ours"],
                engine_s=med.get("engine", np.nan),
                statsmodels_s=med.get("statsmodels", np.nan),
                lme4_rec_s=fx["lme4"].get("time_median_s", np.nan),
                tmb_rec_s=fx.get("glmmTMB", {}).get("time_median_s", np.nan),
                loglik_minus_lme4=res.loglik - fx["lme4"]["loglik"],
            )
        )
        print(f"{name}: ours {med['ours']:.4f} s", file=sys.stderr)
    tab = pd.DataFrame(rows)
    if args.r:
        same = r_times(cases, args.repeats)
        tab["lme4_now_s"] = [same.get(m, {}).get("lme4_s", np.nan) for m in tab["model"]]
        tab["tmb_now_s"] = [same.get(m, {}).get("glmmTMB_s", np.nan) for m in tab["model"]]
    for col in [c for c in tab.columns if c.endswith("_s") and c != "ours_s"]:
        tab[col.removesuffix("_s") + "/ours"] = tab[col] / tab["ours_s"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(tab.round(4).to_string(index=False))
    print(
        f"\nmedians of {args.repeats} alternating runs; ratios above 1: ours is faster. "
        "*_rec: recorded by the R scripts with the fixtures; *_now: timed in this run. "
        "NaN: not expressible in statsmodels MixedLM / not timed."
    )


if __name__ == "__main__":
    main()
