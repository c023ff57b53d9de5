"""The report folder survives kills, full disks and symlinks (alliance_stats.report.output)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import alliance_stats as als
from alliance_stats.report import build_report, output


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _fake_report(folder, text="old"):
    folder.mkdir()
    (folder / "report.html").write_text(text)
    (folder / output.REPORT_MANIFEST).write_text(json.dumps({"files": ["report.html"]}))


def test_recover_puts_back_an_orphaned_old_report_and_removes_dead_temporaries(tmp_path):
    out = tmp_path / "rep"
    dead = _dead_pid()
    _fake_report(tmp_path / f".rep.old-{dead}-abc")
    (tmp_path / f".rep.tmp-{dead}-xyz").mkdir()
    (tmp_path / f".rep.tmp-{dead}-xyz" / "report.html").write_text("half")
    alive = tmp_path / f".rep.tmp-{os.getpid()}-live"
    alive.mkdir()  # a run still going on: left alone
    done = output.recover(out)
    assert (out / "report.html").read_text() == "old"
    assert not (tmp_path / f".rep.old-{dead}-abc").exists()
    assert not (tmp_path / f".rep.tmp-{dead}-xyz").exists()
    assert alive.is_dir()
    assert any("restored" in d for d in done) and any("removed" in d for d in done)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    sim = als.simulate_study(n_therapists=6, clients_per_therapist=5, max_sessions=8, seed=4)
    sim.sessions.to_csv(folder / "s.csv", index=False)
    return folder


def _config(small):
    return {"data": {"path": str(small / "s.csv")}, "output": {"formats": ["html"], "tables": []},
            "study": {"date": "2024-01-01"}}  # fmt: skip


def test_a_full_disk_leaves_the_old_report_and_no_temporary(small, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    build_report(config=_config(small), out=out)
    before = (out / "report.html").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "write_manifest", full)
    with pytest.raises(als.AllianceStatsError, match="No space left on device.*unchanged"):
        build_report(config=_config(small), out=out)
    assert (out / "report.html").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_a_symlinked_output_folder_stays_a_link(small, tmp_path):
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    real.mkdir()
    build_report(config=_config(small), out=link)
    build_report(config=_config(small), out=link)  # a re-run replaces the real folder
    assert link.is_symlink() and (link / "report.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


@pytest.mark.slow
def test_a_killed_run_is_cleaned_up_by_the_next(small, tmp_path):
    out = tmp_path / "rep"
    build_report(config=_config(small), out=out)
    first = (out / "report.html").read_bytes()
    cfg = tmp_path / "study.toml"
    cfg.write_text(f'[study]\ndate = "2024-01-01"\n[data]\npath = "{small / "s.csv"}"\n'
                   '[output]\nformats = ["html"]\ntables = []\n')  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "alliance_stats.cli", "report", "--config", str(cfg), "--out",
         str(out), "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".rep.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".rep.tmp-*"))  # the killed run left its staging folder
    assert (out / "report.html").read_bytes() == first  # and the old report in place
    report = build_report(config=_config(small), out=out)
    assert not list(tmp_path.glob(".rep.*"))
    assert any("left by a stopped run" in n for n in report.notes)


def test_atomic_write_turns_a_full_disk_into_a_clear_error(tmp_path):
    from alliance_stats.files import atomic_write

    target = tmp_path / "problems.csv"
    target.write_text("old")

    def full(path):
        path.write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(als.InputError, match=r"could not write .*No space left.*nothing was"):
        atomic_write(target, full)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["problems.csv"]
