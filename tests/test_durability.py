"""Power loss: whatever footfall makes visible by a rename (a Parquet part, a mart, a
salt, a record, the run state, a stream's progress) is on disk as a whole once it is
visible. The bytes of the file are fsynced before the rename, the folder that holds
the new name after it; a salt (file and folder) before the first sighting keyed with
it is written.

The oracle is the system calls themselves: os.replace, os.link and os.fsync are
wrapped, each fsync resolved to the path it synced (/proc/self/fd), and every command
that publishes is run in this process (typer's runner) with the spies in place."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footfall.cli import app

from capture_files import REPO, SAMPLE_CAPTURES

CAPTURE = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
BRNO = SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz"


@dataclass(frozen=True)
class Event:
    kind: str  # "rename" | "link" | "fsync"
    path: Path  # the new name (rename, link) or what was synced
    source: Path | None = None


class Syscalls:
    """Every rename, link and fsync of this process, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[Event] = []
        real_replace, real_rename, real_link, real_fsync = os.replace, os.rename, os.link, os.fsync

        def replace(src, dst, **kwargs):
            real_replace(src, dst, **kwargs)
            self.events.append(Event("rename", Path(dst).absolute(), Path(src).absolute()))

        def rename(src, dst, **kwargs):
            real_rename(src, dst, **kwargs)
            self.events.append(Event("rename", Path(dst).absolute(), Path(src).absolute()))

        def link(src, dst, **kwargs):
            real_link(src, dst, **kwargs)
            self.events.append(Event("link", Path(dst).absolute(), Path(src).absolute()))

        def fsync(fd):
            path = Path(os.readlink(f"/proc/self/fd/{fd if isinstance(fd, int) else fd.fileno()}"))
            real_fsync(fd)
            self.events.append(Event("fsync", path))

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "rename", rename)
        monkeypatch.setattr(os, "link", link)
        monkeypatch.setattr(os, "fsync", fsync)

    def names(self) -> list[Event]:
        return [e for e in self.events if e.kind in ("rename", "link")]

    def undurable(self) -> list[str]:
        """Every rename or link not preceded by an fsync of its source's bytes, or not
        followed, before the next rename, by an fsync of the folder of its new name."""
        problems = []
        for index, event in enumerate(self.events):
            if event.kind == "fsync":
                continue
            before = {e.path for e in self.events[:index] if e.kind == "fsync"}
            if event.source not in before:
                problems.append(f"{event.kind} {event.source} -> {event.path}: its bytes were not fsynced first")
            after = []
            for later in self.events[index + 1 :]:
                if later.kind != "fsync":
                    break
                after.append(later.path)
            if event.path.parent not in after:
                problems.append(f"{event.kind} -> {event.path}: its folder was not fsynced after")
        return problems


def footfall(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def inside(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("FOOTFALL_CONFIG", raising=False)
    return workspace


def test_collect_publishes_parts_salts_and_the_ledger_durably(inside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Syscalls(monkeypatch)
    footfall("collect", CAPTURE, "--store", "lab", "--sensor", "s1")
    named = calls.names()
    assert {e.path.suffix for e in named} >= {".parquet", ".salt", ".json"}, named
    assert any("heartbeats" in e.path.parts for e in named) and any("sightings" in e.path.parts for e in named)
    assert calls.undurable() == []
    # the ledger's line is appended, not renamed: it is fsynced itself
    ledger = inside / "data" / "_ingest" / "lab.jsonl"
    assert ledger in {e.path for e in calls.events if e.kind == "fsync"}


def test_a_salt_is_on_disk_before_the_first_sighting_keyed_with_it(inside: Path, monkeypatch) -> None:
    calls = Syscalls(monkeypatch)
    footfall("collect", CAPTURE, "--store", "lab", "--sensor", "s1")
    salts = [i for i, e in enumerate(calls.events) if e.kind == "link" and e.path.suffix == ".salt"]
    parts = [i for i, e in enumerate(calls.events) if e.kind == "rename" and e.path.suffix == ".parquet"]
    assert salts and parts
    salt = calls.events[salts[0]].path
    synced = [i for i, e in enumerate(calls.events) if e.kind == "fsync" and e.path == salt.parent]
    assert any(salts[0] < i < parts[0] for i in synced), "the salt's folder is fsynced before the first part"
    # and every folder on the way to it, made by this collect, is fsynced in its parent
    made = [e.path for e in calls.events if e.kind == "fsync"]
    for folder in (salt.parent, salt.parent.parent, salt.parent.parent.parent):
        assert folder.parent in made, folder


def test_run_and_retention_publish_marts_visits_and_state_durably(inside: Path, monkeypatch) -> None:
    footfall("collect", BRNO, "--store", "demo", "--sensor", "position_1")
    calls = Syscalls(monkeypatch)
    footfall("run")
    renamed = {e.path.relative_to(inside / "data").parts[0] for e in calls.names()}
    assert {"marts", "visits", "_pipeline"} <= renamed, renamed  # _pipeline: the run state
    assert calls.undurable() == []

    misdated = inside / "data" / "sightings" / "store=demo" / "date=2099-01-01"
    misdated.mkdir()
    (misdated / "part-0.parquet").write_bytes(b"PAR1")  # retention deletes a partition from the future
    calls = Syscalls(monkeypatch)
    footfall("retention")
    moved = [e for e in calls.names() if e.source == misdated]
    assert moved and not misdated.exists(), "retention moves a partition out in one rename"
    assert any(e.path.name == "last_retention.json" for e in calls.names())
    assert calls.undurable() == []


def test_a_stream_publishes_parts_heartbeat_days_and_its_progress_durably(tmp_path: Path, monkeypatch) -> None:
    from datetime import UTC, datetime

    from footfall.collector.collect import Collector
    from footfall.collector.stream_collect import RollPolicy, StreamCollector
    from footfall.config import load_settings

    from capture_builder import midnight_capture

    capture = tmp_path / "midnight.pcap"
    midnight_capture(capture, int(datetime(2024, 5, 14, 21, 40, tzinfo=UTC).timestamp() * 1_000_000))
    config = tmp_path / "footfall.toml"
    config.write_text(f'data_dir = "{tmp_path}/data"\n[stores.shop]\ntimezone = "Europe/Prague"\n')
    calls = Syscalls(monkeypatch)
    with Collector(load_settings(config), "shop", "s1") as collector:
        stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=3600, rows=40))
        stream.feed(capture.read_bytes())
        stream.finish(
            stopped_by=None,
            error=None,
            source=type("Source", (), {"compression": None, "problem": lambda self: None})(),
        )
    names = [e.path for e in calls.names()]
    assert any(n.name.endswith("-day.parquet") for n in names), "heartbeat day files"
    assert any(n.suffix == ".parquet" and "sightings" in n.parts for n in names)
    assert any(n.suffix == ".json" and "streams" in n.parts for n in names), "the stream's progress records"
    assert calls.undurable() == []


def _renames_outside_storage() -> list[str]:
    """Calls that rename or link a file, anywhere in the installed packages but the one
    module that makes them durable: os.rename/replace/link/renames, shutil.move, and
    Path.rename / Path.replace (one positional argument: str.replace takes two)."""
    found = []
    for folder in ("footfall", "collector", "pipeline", "dashboard"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == REPO / "footfall" / "storage.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
                attribute = node.func.attr
                if (
                    (owner == "os" and attribute in ("rename", "replace", "link", "renames"))
                    or (owner == "shutil" and attribute == "move")
                    or (attribute in ("rename", "replace") and len(node.args) == 1 and not node.keywords)
                ):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_rename_goes_through_storage() -> None:
    assert _renames_outside_storage() == []
