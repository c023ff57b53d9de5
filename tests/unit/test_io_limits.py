"""Bounded work (issue 13): size caps on files and decompressed content, and no reading
from pipes or devices."""

from __future__ import annotations

import gzip
import os
import zipfile

import pytest

import alliance_stats as als
from alliance_stats.errors import InputError

ROW = b"client,therapist,session,attended,wai_1\n" + b"c1,t1,1,1,3\n" * 50_000  # ~600 KB


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setenv("ALLIANCE_STATS_MAX_BYTES", "100000")


def test_gzip_bomb_stops_at_the_cap(tmp_path, small_cap):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(ROW))
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"decompresses to more than .*ALLIANCE_STATS_MAX_BYTES"):
        als.read_sessions(path)


def test_zip_member_over_the_cap(tmp_path, small_cap):
    path = tmp_path / "bomb.csv.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("s.csv", ROW)
    with pytest.raises(InputError, match="decompresses to more than"):
        als.read_sessions(path)


def test_plain_file_over_the_cap(tmp_path, small_cap):
    path = tmp_path / "big.csv"
    path.write_bytes(ROW)
    with pytest.raises(InputError, match=r"'.*big.csv' holds more than"):
        als.read_sessions(path)


def test_under_the_cap_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLIANCE_STATS_MAX_BYTES", "1e7")
    path = tmp_path / "ok.csv.gz"
    path.write_bytes(gzip.compress(b"client,therapist,session,attended\nc1,t1,1,1\nc1,t1,2,1\n"))
    assert len(als.read_sessions(path)) == 2


@pytest.mark.parametrize("value", ["lots", "-5"])
def test_bad_cap_setting(tmp_path, monkeypatch, value):
    monkeypatch.setenv("ALLIANCE_STATS_MAX_BYTES", value)
    path = tmp_path / "s.csv"
    path.write_bytes(b"client,therapist,session,attended\nc1,t1,1,1\n")
    with pytest.raises(InputError, match="ALLIANCE_STATS_MAX_BYTES must be"):
        als.read_sessions(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    with pytest.raises(InputError, match="not a regular file"):
        als.read_sessions(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_symlink_to_an_endless_device_refused(tmp_path):
    path = tmp_path / "zero.csv"
    path.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        als.read_sessions(path)
