"""A capture or a stream sent twice, whole or after a crash, gives each frame once.

The oracle is the file mode, with the same salts: the capture collected once as a
file. Crashes are real where they can be (SIGKILL of a real `footfall collect -`
fed through an OS pipe, tests/resend_trials.py), and exact where a real kill cannot
aim: a simulated kill before each rename of a stream's commit in turn (its heartbeat
day files, then its sightings parts, its progress record before both)."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from resend_trials import ARGS, heartbeat_minutes, kill_and_resend, reference, sightings

from footfall.collector.capture_sources import CaptureSource
from footfall.collector.collect import Collector
from footfall.collector.stream_collect import RollPolicy, StreamCollector
from footfall.config import load_settings

from capture_builder import midnight_capture
from capture_files import SHARED_CAPTURES
from footfall_command import Collecting, run_footfall

BRNO = SHARED_CAPTURES / "brno" / "position_1_2022-10-25.pcap"
PCAPNG = SHARED_CAPTURES / "formats" / "iot_indoor_location_irt_test.pcapng"


@pytest.fixture
def brno(workspace: Path) -> Path:
    """The workspace with the file mode's output of the Brno capture in `file`."""
    reference(workspace, BRNO)
    return workspace


@pytest.mark.parametrize("seed", range(4))
def test_a_stream_killed_and_sent_again_gives_each_frame_once(brno: Path, seed: int) -> None:
    """kill -9 at a random moment (sometimes twice), then the same bytes again: before
    this was fixed, every such trial added rows (+8 % to +102 %) and heartbeat frames."""
    trial = kill_and_resend(brno, BRNO, seed)
    assert trial.equal, trial
    assert trial.sightings == trial.expected == 15_668 and trial.heartbeat_frames == trial.expected_frames


def _stream(workspace: Path, data: bytes, *extra: str) -> Collecting:
    stream = Collecting(workspace, *ARGS, "--data", "stream", *extra)
    stream.write(data)
    return stream


def test_a_stream_sent_again_whole_publishes_nothing_while_it_runs(brno: Path) -> None:
    data = BRNO.read_bytes()
    code, _, err = _stream(brno, data, "--roll-rows", "500").finish()
    assert code == 0, err
    first = sightings(brno / "stream")
    assert first == sightings(brno / "file")
    # the same bytes again, killed after a second: nothing of it was published meanwhile
    again = _stream(brno, data, "--roll-rows", "500")
    time.sleep(1)
    again.process.kill()
    again.wait()
    assert sightings(brno / "stream") == first
    code, out, err = _stream(brno, data, "--roll-rows", "500").finish()
    assert code == 0, err
    assert "duplicate" in out and sightings(brno / "stream") == first
    assert heartbeat_minutes(brno / "stream") == heartbeat_minutes(brno / "file")


def _parts(data: Path) -> list[Path]:
    return [p for p in (data / "sightings").rglob("*.parquet") if not p.name.startswith(".")]


def test_a_file_collected_after_a_killed_stream_adds_only_what_the_stream_lost(brno: Path) -> None:
    data = BRNO.read_bytes()
    killed = _stream(brno, data[: len(data) // 2], "--roll-rows", "300")
    deadline = time.monotonic() + 60
    while len(_parts(brno / "stream")) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.process.kill()
    killed.wait()
    assert 0 < len(sightings(brno / "stream")) < 15_668
    run = run_footfall("collect", BRNO, *ARGS, "--data", "stream", cwd=brno)
    assert run.returncode == 0, run.output
    assert "repeat a capture or stream collected before" in " ".join(run.stdout.split())
    assert sightings(brno / "stream") == sightings(brno / "file")
    assert heartbeat_minutes(brno / "stream") == heartbeat_minutes(brno / "file")


def test_a_stream_of_a_collected_file_adds_nothing_even_when_killed(brno: Path) -> None:
    data = BRNO.read_bytes()
    killed = Collecting(brno, *ARGS, "--data", "file", "--roll-rows", "300")
    killed.write(data[: len(data) * 3 // 4])
    killed.process.kill()
    killed.wait()
    assert run_footfall("collect", BRNO, *ARGS, "--data", "second", cwd=brno).returncode == 0
    assert sightings(brno / "file") == sightings(brno / "second")
    stream = Collecting(brno, *ARGS, "--data", "file", "--roll-rows", "300")
    stream.write(data)
    code, out, err = stream.finish()
    assert code == 0 and "duplicate" in out, err
    assert sightings(brno / "file") == sightings(brno / "second")


def test_force_still_collects_a_file_again_without_doubling_it(brno: Path) -> None:
    once = sightings(brno / "file")
    again = run_footfall("collect", BRNO, *ARGS, "--data", "file", cwd=brno)
    assert again.returncode == 0 and "duplicate" in again.stdout
    forced = run_footfall("collect", BRNO, *ARGS, "--data", "file", "--force", cwd=brno)
    assert forced.returncode == 0 and "duplicate" not in forced.stdout
    assert "probe requests kept 15,668" in " ".join(forced.stdout.split())
    assert sightings(brno / "file") == once


# --- a kill between two renames of one commit ----------------------------------------------


class Killed(BaseException):
    """What a SIGKILL is to the code it stops: nothing after it runs."""


class _Source:
    compression = None

    def problem(self) -> None:
        return None


def _settings(folder: Path, data: str):
    config = folder / "footfall.toml"
    config.write_text(f'data_dir = "{data}"\nsecrets_dir = "secrets"\n[stores.shop]\ntimezone = "Europe/Prague"\n')
    return load_settings(config)


@pytest.fixture(scope="module")
def midnight(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An hour across local midnight as a file, and the file mode's output of it."""
    folder = tmp_path_factory.mktemp("midnight")
    capture = folder / "midnight.pcap"
    midnight_capture(capture, int(datetime(2024, 5, 14, 21, 40, tzinfo=UTC).timestamp() * 1_000_000))
    with Collector(_settings(folder, "file"), "shop", "s1") as collector:
        assert collector.collect(CaptureSource("midnight", capture)).status == "ok"
    return folder, capture


def _kill_at(folder: Path, capture: Path, work: Path, kill_at: int, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Streams the capture (a part every 40 sightings) and kills the collector just
    before its `kill_at`-th rename; returns whether it came that far."""
    from footfall import storage

    shutil.copytree(folder / "secrets", work / "secrets")
    settings = _settings(work, "stream")
    data = capture.read_bytes()
    calls = [0]
    real_replace = storage.replace

    def replace(source: Path, target: Path) -> None:
        calls[0] += 1
        if calls[0] == kill_at:
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(storage, "replace", replace)
    collector = Collector(settings, "shop", "s1").start()
    stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=3600, rows=40))
    try:
        for start in range(0, len(data), 1000):
            stream.feed(data[start : start + 1000])
        stream.finish(stopped_by=None, error=None, source=_Source())
        return False
    except Killed:
        return True
    finally:
        monkeypatch.setattr(storage, "replace", real_replace)
        collector.close()


def test_a_kill_before_any_rename_of_a_stream_is_repaired_by_sending_it_again(
    midnight: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rename of the stream in turn (its progress records, heartbeat day files and
    sightings parts, across local midnight): killed just before it, then sent again whole."""
    folder, capture = midnight
    kill_at = 1
    while _kill_at(folder, capture, work := tmp_path / str(kill_at), kill_at, monkeypatch):
        with Collector(_settings(work, "stream"), "shop", "s1") as collector:
            stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=3600, rows=40))
            stream.feed(capture.read_bytes())
            report = stream.finish(stopped_by=None, error=None, source=_Source())
        assert report.status == "ok", report
        assert sightings(work / "stream") == sightings(folder / "file"), kill_at
        assert heartbeat_minutes(work / "stream") == heartbeat_minutes(folder / "file"), kill_at
        kill_at += 1
    assert kill_at > 20, "every rename of seven commits and their records was tried"


def test_a_session_whose_collector_runs_is_left_alone_but_not_one_whose_id_was_reused(tmp_path: Path) -> None:
    """A running collector's commit under way is not a crash's; a dead one's process id,
    taken by a later process, does not make it look running."""
    import os

    from footfall.collector.progress import Mark, Progress, StreamRecords
    from footfall.leftovers import process_started

    records = StreamRecords(tmp_path, "lab")
    parent = os.getppid()
    head = Mark(4096, "0" * 64)
    records.write("running", Progress("running", head, pid=parent, started=process_started(parent)))
    records.write("reused", Progress("reused", head, pid=parent, started=(process_started(parent) or 0) + 1))
    records.write("ended", Progress("ended", head, done=Mark(5000, "1" * 64)))
    assert sorted(p.name for p in records.read()) == ["ended", "reused"]


def test_a_streams_content_hash_is_the_sha256_of_every_byte_it_was_sent(
    midnight: tuple[Path, Path], tmp_path: Path
) -> None:
    """The stream's bytes are hashed once, by the engine as it parses them: the hash
    of the whole stream is still a file's (hashlib over the same bytes), the bytes held
    back at a cut and the bytes the parser could not read on included."""
    import hashlib
    import struct

    _, capture = midnight
    whole = capture.read_bytes()
    cut = whole[:-5]  # a stream that ends inside a record
    unreadable = whole + struct.pack("<IIII", 1_715_722_800, 0, 0x7FFF_FFFF, 0x7FFF_FFFF) + b"\0" * 64
    for index, data in enumerate([whole, cut, unreadable]):
        (tmp_path / str(index)).mkdir()
        with Collector(_settings(tmp_path / str(index), "stream"), "shop", "s1") as collector:
            stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=3600, rows=40))
            for start in range(0, len(data), 999):
                if not stream.engine.feed(data[start : start + 999]):
                    break
            report = stream.finish(stopped_by=None, error=None, source=_Source())
        assert report.content_hash == hashlib.sha256(data).hexdigest(), index


def test_a_stream_withdrawn_as_a_duplicate_leaves_no_record_of_bytes_on_disk(midnight: tuple[Path, Path]) -> None:
    """A stream whose whole bytes the ledger knows (a line of a footfall that kept no
    marks) is withdrawn at its end: its parts are deleted, so its progress record, which
    says its bytes are on disk, goes too (else a later copy of the bytes would be dropped
    as collected)."""
    import json

    folder, capture = midnight
    ledger = folder / "file" / "_ingest" / "shop.jsonl"
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    for line in lines:
        line.pop("marks", None)  # as written before marks existed: the stream cannot be told early
    unmarked = folder / "unmarked"
    shutil.copytree(folder / "file", unmarked)
    (unmarked / "_ingest" / "shop.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    with Collector(_settings(folder, "unmarked"), "shop", "s1") as collector:
        stream = StreamCollector(collector, "<pipe>", RollPolicy(seconds=3600, rows=40))
        stream.feed(capture.read_bytes())
        report = stream.finish(stopped_by=None, error=None, source=_Source())
    assert report.status == "duplicate"
    assert sightings(unmarked) == sightings(folder / "file")
    records = unmarked / "_ingest" / "streams" / "shop"
    assert not (records.is_dir() and list(records.glob("*.json")))
