"""Report building blocks: APA formatting, table exports, privacy, provenance, configuration."""

import pandas as pd
import pytest

from alliance_stats.config import StudyConfig, example_config, load_config
from alliance_stats.errors import InputError
from alliance_stats.report import privacy, provenance
from alliance_stats.report import tables as T
from alliance_stats.report.methods import random_terms


def test_apa_number_formatting():
    assert T.fmt_p(0.0004) == "< .001"
    assert T.fmt_p(0.0123) == ".012"
    assert T.fmt_p(float("nan")) == T.DASH
    assert T.fmt_num(-0.0001) == "0.00"
    assert T.fmt_num(1234.567) == "1,234.57"
    assert T.fmt_ci(0.1234, 2.5) == "[0.12, 2.50]"
    assert T.suppressed(3, 5) and not T.suppressed(0, 5) and not T.suppressed(7, 5)


@pytest.fixture
def table():
    frame = pd.DataFrame({"Term": ["a_b", "  c"], "p": ["< .001", ".5|0"]})
    return T.Table("demo", "Demo & test", frame, note="100% simulated", number=3)


def test_table_exports(table, tmp_path):
    assert table.to_csv().splitlines() == ["Term,p", "a_b,< .001", "  c,.5|0"]
    md = table.to_markdown()
    assert "**Table 3.** *Demo & test*" in md and r"| a_b | .5\|0 |" not in md
    assert "| a_b | < .001 |" in md and "*Note.* 100% simulated" in md
    tex = table.to_latex()
    assert r"\caption{Demo \& test}" in tex and r"a\_b & \textless{} .001 \\" in tex
    assert r"100\% simulated" in tex
    html = table.to_html()
    assert 'class="apa"' in html and "Demo &amp; test" in html and 'class="label indent"' in html
    paths = table.write(tmp_path, ["csv", "md", "tex", "html"])
    assert sorted(p.name for p in paths) == ["demo.csv", "demo.html", "demo.md", "demo.tex"]


def test_group_table_suppresses_small_cells():
    rows = []
    for i in range(12):
        g = "small" if i < 2 else "big"
        for s in (1, 2):
            rows.append({"client": f"c{i}", "therapist": "t", "session": s, "attended": True,
                         "g": g})  # fmt: skip
    df = pd.DataFrame(rows)
    drop = pd.Series([1.0] * 3 + [0.0] * 9, index=[f"c{i}" for i in range(12)])
    t = T.group_table(df, "g", drop, min_cell=5)
    small = t.frame[t.frame["g"] == "small"].iloc[0]
    assert small["Clients"] == "< 5" and small["Dropout n (%)"] == T.DASH
    big = t.frame[t.frame["g"] == "big"].iloc[0]
    assert big["Clients"] == "10" and big["Dropout n (%)"] == "< 5"


def test_pseudonyms_are_seeded_and_hide_order():
    ids = [f"C{i:03d}" for i in range(1, 21)]
    a = privacy.pseudonyms(ids, "Client", seed=1)
    assert a == privacy.pseudonyms(reversed(ids), "Client", seed=1)
    # letters of their own sequence, skipping C (the ids' letter): never "Client 7" for C007
    assert sorted(a.values()) == [f"Client {c}" for c in "ABDEFGHIJKLMNOPQRSTU"]
    assert [a[i] for i in ids] != sorted(a.values())  # not in id order
    assert a != privacy.pseudonyms(ids, "Client", seed=2)


def test_find_identifiers_ignores_embedded_figures_and_small_numbers():
    text = '<p>Client A vs T01</p><img src="data:image/png;base64,QUJDC001T01+/=">'
    assert privacy.find_identifiers(text, ["T01", "C001", "1"]) == ["T01"]
    assert privacy.find_identifiers("XT01 T012", ["T01"]) == []


def test_report_date_from_config_or_source_date_epoch(monkeypatch):
    assert provenance.report_date("2024-06-30") == "2024-06-30"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert provenance.report_date(None) == "1970-01-01"
    assert provenance.package_versions()["pandas"] == pd.__version__
    assert provenance.frame_sha256(pd.DataFrame({"a": [1]})) != provenance.frame_sha256(
        pd.DataFrame({"a": [2]})
    )


def test_random_terms():
    assert random_terms("y ~ x + (1 + x || g) + (1|h)") == ["(1 + x | g)", "(1 | h)"]


# ----------------------------------------------------------------------------- config
def test_example_config_matches_the_repository_copy():
    from pathlib import Path

    repo = Path(__file__).parents[2] / "reports" / "example_study.toml"
    assert load_config(repo).to_dict() == example_config().to_dict()
    cfg = example_config(strategies={"columns": ["validation"]}, study={"seed": 9})
    assert cfg.strategies.columns == ("validation",) and cfg.study.seed == 9


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"stdy": {}}, "unknown section"),
        ({"study": {"sede": 1}}, "unknown key(s) ['sede']"),
        ({"study": {"seed": "one"}}, "wrong type"),
        ({"study": {"seed": True}}, "wrong type"),
        ({"study": {"date": "June"}}, "not a date"),
        ({"data": {"path": "a.csv", "dataset": "clinic"}}, "not both"),
        ({"data": {"dataset": "nope"}}, "unknown"),
        ({"data": {"columns": {"ClientID": 3}}}, "canonical name"),
        ({"instruments": [{"name": "wai_xx"}]}, "unknown instrument"),
        ({"instruments": [{"items": "x"}]}, "needs a name"),
        ({"outcome": {"definition": "dropout_before_n"}}, "needs n"),
        ({"strategies": {"adjust": "bonferroni"}}, "holm"),
        ({"strategies": {"columns": "validation"}}, "list of column names"),
        ({"output": {"tables": ["xlsx"]}}, "'xlsx' is not allowed"),
        ({"privacy": {"min_cell": -1}}, "min_cell"),
    ],
)
def test_config_errors_name_the_key(raw, needle):
    with pytest.raises(InputError, match=None) as err:
        StudyConfig.from_dict(raw, source="study.toml")
    assert needle in str(err.value) and "study.toml" in str(err.value)


def test_load_config_missing_and_bad_toml(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\n")
    with pytest.raises(InputError, match="not valid TOML.*line 1"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text('[data]\npath = "s.csv"\n[study]\ndate = 2024-06-30\n')
    cfg = load_config(good)
    assert cfg.data_path() == tmp_path / "s.csv" and cfg.study.date == "2024-06-30"


def test_logistic_model_table_keeps_each_scale_apart():
    """b and SE on the log-odds scale, the OR and its CI beside them, no OR for the intercept
    (exp of it is the baseline odds, not a ratio), and a note that ends its sentences."""
    import alliance_stats as als

    data = als.datasets.load("clinic")
    rows_in = data.assign(attended=data["attended"].astype(int))
    res = als.fit_mixed("attended ~ session + (1 | therapist)", rows_in, family="binomial")
    t = T.model_table(res, "Attendance", "attendance")
    assert list(t.frame.columns) == ["Parameter", "b (log odds)", "SE", "OR", "OR 95% CI", "z", "p"]
    rows = t.frame.set_index(t.frame["Parameter"].str.strip())
    assert rows.loc["(Intercept)", "OR"] == "" and rows.loc["(Intercept)", "b (log odds)"] != ""
    session = res.coefficients.loc["session"]
    assert rows.loc["session", "OR"] == T.fmt_num(session["odds_ratio"])
    assert rows.loc["session", "SE"] == T.fmt_num(session["std_error"])
    assert "Fit converged." in t.note and "log-odds scale" in t.note


def test_reliability_table_says_which_ratings_it_counts():
    """SRS rows with some items blank: alpha uses every rating with an item (pairwise), the
    score needs all four; the table's n is labelled as the former and the note says so."""
    import alliance_stats as als

    data = als.datasets.load("clinic")
    data = data[data["attended"]]
    items = data[[f"srs_{i}" for i in range(1, 5)]]
    rel = als.reliability(data, "srs", items="srs_{}")
    t = T.reliability_table(rel)
    assert t.frame.loc[0, "n (any item)"] == T.fmt_int(int(items.notna().any(axis=1).sum()))
    assert items.notna().all(axis=1).sum() < items.notna().any(axis=1).sum()  # they differ
    assert (
        "at least one item answered" in t.note and "descriptive table counts the scores" in t.note
    )
