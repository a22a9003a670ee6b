"""The dashboard never opens a sightings or a visits file: every page, with its
filters moved, runs under an inotify watch (Linux) of every folder of those two
tiers. inotify sees the opens of DuckDB's and Arrow's C++ readers as well as
Python's, and a control read proves the watch would report one."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import footfall.dashboard

from conftest import Collected

APP = str(Path(footfall.dashboard.__file__).with_name("app.py"))
PAGES = ["hourly", "dwell", "capture_rate", "occupancy", "stores", "sensor_health", "privacy"]
IN_ACCESS, IN_OPEN, IN_ISDIR = 0x1, 0x20, 0x40000000
EVENT = struct.Struct("iIII")


class OpenWatch:
    """Every open (and read) of a file or folder under some folders, by any code of
    this process or another, from the kernel's inotify."""

    def __init__(self, roots: list[Path]) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self._fd >= 0, f"inotify_init1: errno {ctypes.get_errno()}"
        self._folders: dict[int, Path] = {}
        for root in roots:
            for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
                wd = self._libc.inotify_add_watch(self._fd, str(folder).encode(), IN_OPEN | IN_ACCESS)
                assert wd >= 0, f"inotify_add_watch {folder}: errno {ctypes.get_errno()}"
                self._folders[wd] = folder

    def events(self) -> list[tuple[Path, bool]]:
        """(path, is a folder) for each open or read since the last call."""
        found = []
        while True:
            try:
                buffer = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(buffer):
                wd, mask, _, length = EVENT.unpack_from(buffer, offset)
                name = buffer[offset + EVENT.size : offset + EVENT.size + length].rstrip(b"\0").decode()
                offset += EVENT.size + length
                folder = self._folders[wd]
                found.append((folder / name if name else folder, bool(mask & IN_ISDIR)))

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def watched(demo_outputs: Collected, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FOOTFALL_DASHBOARD_DATA", str(demo_outputs.data))
    monkeypatch.delenv("FOOTFALL_CONFIG", raising=False)
    monkeypatch.chdir(demo_outputs.workspace)
    tiers = [demo_outputs.data / "sightings", demo_outputs.data / "visits"]
    assert all(any(tier.rglob("*.parquet")) for tier in tiers), "the demo has sightings and visits to watch"
    watch = OpenWatch(tiers)
    yield watch, tiers
    watch.close()


def test_the_watch_sees_a_read_by_duckdb(watched) -> None:
    """The control: a DuckDB (C++) read of a sightings file is reported."""
    watch, tiers = watched
    watch.events()
    (first,) = list((tiers[0]).rglob("*.parquet"))[:1]
    duckdb.sql(f"select count(*) from read_parquet('{first}')").fetchall()
    opened = [path for path, folder in watch.events() if not folder]
    assert first in opened


def test_no_page_opens_a_sightings_or_visits_file(watched) -> None:
    watch, _ = watched
    watch.events()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.metric, "the overview rendered the demo's figures"
    at.date_input(key="dates").set_value((date(2024, 3, 1), date(2024, 3, 15))).run()
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
    events = watch.events()
    files = sorted({str(path) for path, folder in events if not folder})
    assert files == [], f"the dashboard opened: {files}"
