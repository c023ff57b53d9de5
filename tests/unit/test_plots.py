"""alliance_stats.plots: every function takes ax= and returns the Axes (or Figure)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import alliance_stats as als
from alliance_stats import plots
from alliance_stats.errors import InputError


@pytest.fixture(scope="module")
def scored():
    return als.score(als.datasets.load("teaching"), "wai_sr", items="wai_{}")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _ax():
    return plots.figure("single").axes[0]


def test_palette_is_okabe_ito_and_sizes_are_journal_widths():
    assert plots.PALETTE[:3] == ("#0072B2", "#D55E00", "#009E73")
    assert plots.JOURNAL_SIZES["single"][0] == pytest.approx(3.5)
    assert plots.JOURNAL_SIZES["double"][0] == pytest.approx(7.2)
    fig = plots.figure((4, 3), ncols=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    with pytest.raises(InputError, match="size must be one of"):
        plots.figure("poster")


def test_trajectories_by_group_draws_a_mean_per_group(scored):
    ax = _ax()
    out = plots.trajectories(scored, "wai_sr_total", by="gender", ax=ax, max_clients=5, min_n=1)
    assert out is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == scored["gender"].nunique()
    assert isinstance(plots.trajectories(scored, "wai_sr_total"), Axes)  # new figure


def test_trajectories_unknown_column_is_a_clear_error(scored):
    with pytest.raises(InputError, match="nope"):
        plots.trajectories(scored, "nope")


def test_retention_accepts_curve_and_table(scored):
    km = als.retention_curve(scored, by="gender")
    ax = _ax()
    assert plots.retention(km, ax=ax) is ax
    assert len(ax.get_lines()) == scored["gender"].nunique()
    assert plots.retention(km.table, ax=_ax()).get_ylim()[0] == 0


def test_client_trajectory_marks_ruptures_and_repairs(scored):
    ep = als.detect_ruptures(scored, "wai_sr_total")
    repaired = ep[ep["repaired"]]
    cid = repaired["client"].iloc[0]
    ax = plots.client_trajectory(scored, "wai_sr_total", ep, client_id=cid, label="Client 7",
                                 ax=_ax())  # fmt: skip
    assert ax.get_title().startswith("Client 7")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "rupture" in legend and "repair" in legend
    with pytest.raises(InputError, match="client_id"):
        plots.client_trajectory(scored, "wai_sr_total")


def test_within_between_reports_both_slopes(scored):
    ax = plots.within_between(scored, "resistance", "wai_sr_total", ax=_ax())
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "between clients: slope" in legend and "within clients: slope" in legend


def test_forest_plot_odds_ratios_log_axis_and_adjusted_p():
    t = pd.DataFrame(
        {
            "strategy": ["validation", "validation"],
            "component": ["within", "between"],
            "odds_ratio": [0.5, 1.2],
            "or_conf_low": [0.3, 0.8],
            "or_conf_high": [0.8, 1.8],
            "p_adjusted": [0.0004, 0.5],
            "significant": [True, False],
        }
    )
    ax = plots.forest_plot(t, ax=_ax(), title="x")
    assert ax.get_xscale() == "log"
    top_first = [lab.get_text() for lab in ax.get_yticklabels()]
    assert top_first == ["validation (within)", "validation (between)"]  # table order, top down
    texts = [x.get_text() for x in ax.texts]
    assert "p < .001" in texts and "p = .500" in texts


def test_forest_plot_linear_estimates_from_model_coefficients():
    pytest.importorskip("alliance_stats.models")
    from alliance_stats.models.examples import fitted_example

    res = fitted_example()
    ax = plots.forest_plot(res.coefficients, ax=_ax())
    assert ax.get_xscale() == "linear"
    assert [lab.get_text() for lab in ax.get_yticklabels()] == ["Days"]


def test_random_effects_caterpillar_and_diagnostics():
    pytest.importorskip("alliance_stats.models")
    from alliance_stats.models.examples import fitted_example

    res = fitted_example()
    blups = plots.random_effects(res)
    assert list(blups.columns) == ["group", "level", "term", "estimate", "std_error"]
    assert len(blups) == res.n_groups["Subject"]
    assert (blups["std_error"] > 0).all()
    ax = plots.caterpillar(blups, ax=_ax())
    assert len(ax.get_xticklabels()) == len(blups)
    fitted = res.predict().to_numpy()
    resid = res._frame["Reaction"].to_numpy() - fitted
    fig = plots.figure("double", 1, 3)
    assert plots.diagnostics(fitted, resid, blups, ax=fig.axes) is fig
    assert isinstance(plots.diagnostics(fitted, resid), Figure)
    with pytest.raises(InputError, match="3 Axes"):
        plots.diagnostics(fitted, resid, ax=[_ax()])


def test_dropout_by_status_suppresses_small_bars():
    t = pd.DataFrame(
        {"clients": [50, 3, 20], "dropouts": [10, 1, 5], "dropout_share": [0.2, 1 / 3, 0.25]},
        index=pd.Index(["no rupture", "repaired", "unrepaired"], name="status"),
    )
    ax = plots.dropout_by_status(t, min_cell=5, ax=_ax())
    assert len(ax.patches) == 2
    assert any("suppressed" in x.get_text() for x in ax.texts)


def test_qq_and_residual_plots_handle_edge_cases():
    assert "too few" in plots.qq_plot([1.0], ax=_ax()).get_title()
    ax = plots.residual_plot(np.arange(50.0), np.r_[np.zeros(49), np.nan], ax=_ax())
    assert ax.get_xlabel() == "Fitted"


def test_caterpillar_highlights_only_after_a_multiplicity_adjustment():
    """40 levels with no true differences: a few unadjusted 95% intervals exclude 0 by
    chance; the Bonferroni-adjusted highlight colours none of those, only a real outlier."""
    rng = np.random.default_rng(8)
    table = pd.DataFrame({"estimate": rng.normal(0, 1, 40), "std_error": 1.0})
    table.loc[0, "estimate"] = 6.0  # one level far out
    unadjusted = int((np.abs(table["estimate"]) > 1.96).sum())
    ax = plots.caterpillar(table, label=None, ax=_ax())
    colours = ax.collections[1].get_facecolors()  # the points
    highlighted = int(sum(not np.allclose(c, colours[0]) for c in colours))
    assert unadjusted >= 2 and highlighted == 1
    assert "Bonferroni adjustment for 40" in ax.get_xlabel()
    with pytest.raises(InputError, match="highlight"):
        plots.caterpillar(table, highlight="raw", ax=_ax())
