"""The argument vocabulary (alliance_stats.arguments, CONTRIBUTING.md): every old argument
name still works, warns with a DeprecationWarning naming the new one, and gives the same
result; ``seed`` takes an int, a SeedSequence or a Generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alliance_stats as als
from alliance_stats.errors import DataWarning, InputError
from alliance_stats.ruptures import rupture_dropout_link


@pytest.fixture(scope="module")
def sessions() -> pd.DataFrame:
    return als.simulate_study(n_therapists=4, clients_per_therapist=5, seed=3).sessions


def scored(sessions):
    return als.score(sessions, "wai_sr", items="wai_{}")


def same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a == b


CASES = [
    # (call with the old name, call with the new one, the old name, the new name)
    (
        lambda d: als.decompose(scored(d), "wai_sr_total", by="client", min_sessions=1),
        lambda d: als.decompose(scored(d), "wai_sr_total", client="client", min_sessions=1),
        "by",
        "client",
    ),
    (
        lambda d: als.add_lags(scored(d), "wai_sr_total", order="session"),
        lambda d: als.add_lags(scored(d), "wai_sr_total", session="session"),
        "order",
        "session",
    ),
    (
        lambda d: als.detect_ruptures(scored(d), "wai_sr_total", by="client"),
        lambda d: als.detect_ruptures(scored(d), "wai_sr_total", client="client"),
        "by",
        "client",
    ),
    (
        lambda d: als.reliability(d, "wai_sr", items="wai_{}", ci=0.9),
        lambda d: als.reliability(d, "wai_sr", items="wai_{}", conf_level=0.9),
        "ci",
        "conf_level",
    ),
]


@pytest.mark.parametrize("old, new, old_name, new_name", CASES)
def test_old_argument_names_warn_and_give_the_same_result(sessions, old, new, old_name, new_name):
    with pytest.warns(DeprecationWarning, match=rf"\({old_name}=\.\.\.\) is deprecated: use "):
        before = old(sessions)
    same(before, new(sessions))


def test_alpha_of_the_rupture_link_becomes_its_conf_level(sessions):
    data = scored(sessions)
    episodes = als.detect_ruptures(data, "wai_sr_total")
    with pytest.warns(DeprecationWarning, match="conf_level = 1 - alpha"):
        old = rupture_dropout_link(episodes, data, alpha=0.1)
    new = rupture_dropout_link(episodes, data, conf_level=0.9)
    assert old.conf_level == new.conf_level == pytest.approx(0.9)
    assert (old.conf_low, old.conf_high) == (new.conf_low, new.conf_high)
    with pytest.raises(InputError, match="alpha must be a number"):
        rupture_dropout_link(episodes, data, alpha="0.1")


def test_old_and_new_name_together_are_refused(sessions):
    with pytest.raises(InputError, match="give client= only"):
        als.decompose(scored(sessions), "wai_sr_total", by="client", client="therapist")


def test_warnings_still_point_at_the_callers_line(sessions):
    """A deprecated name is resolved inside the function (no wrapper frame), so the data
    warnings it raises with ``stacklevel=2`` name the caller's file."""
    with pytest.warns(DataWarning) as caught:
        als.decompose(scored(sessions), "wai_sr_total", client="client", min_sessions=20)
    assert {w.filename for w in caught if w.category is DataWarning} == {__file__}


def test_seed_takes_an_int_a_seed_sequence_or_a_generator():
    by_int = als.simulate_study(3, 3, 4, seed=5).sessions
    by_sequence = als.simulate_study(3, 3, 4, seed=np.random.SeedSequence(5)).sessions
    pd.testing.assert_frame_equal(by_int, by_sequence)
    first = als.simulate_study(3, 3, 4, seed=np.random.default_rng(9)).sessions
    again = als.simulate_study(3, 3, 4, seed=np.random.default_rng(9)).sessions
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(InputError, match="non-negative integer, a numpy SeedSequence or a"):
        als.simulate_study(3, 3, 4, seed=-1)


def test_power_records_the_seed_it_was_given():
    from alliance_stats.power.run import recorded_seed

    assert recorded_seed(np.random.SeedSequence(11)) == 11
    first, again = (recorded_seed(np.random.default_rng(4)) for _ in range(2))
    assert first == again  # the same Generator state gives the same recorded seed
    with pytest.raises(InputError, match="not a spawned child"):
        recorded_seed(np.random.SeedSequence(1).spawn(1)[0])
    with pytest.raises(InputError, match="non-negative integer"):
        recorded_seed(-1)
