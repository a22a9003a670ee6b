"""`footfall collect` end to end, as a user runs it: inputs, outputs, summary, bad input."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from capture_builder import Probe, Record, dot11_probe, radiotap, write_pcap
from capture_files import CONTRACT_COLUMNS, SHARED_CAPTURES, real_captures
from footfall_command import read_sightings, run_footfall
from reference_dissectors import tshark_probes

BRNO_SMALL = SHARED_CAPTURES / "brno" / "position_1_2023-04-16.pcap"
EXTHDR = SHARED_CAPTURES / "formats" / "tcpdump_ieee802.11_exthdr.pcap"
PCAPNG = SHARED_CAPTURES / "formats" / "iot_indoor_location_irt_test.pcapng"


def _parts_of(data: Path, capture: Path) -> list[Path]:
    digest = hashlib.sha256(capture.read_bytes()).hexdigest()[:16]
    return sorted((data / "sightings").rglob(f"part-{digest}-*.parquet"))


def test_every_shared_capture_collected_with_one_sighting_per_probe(workspace: Path) -> None:
    run = run_footfall("collect", SHARED_CAPTURES, "--store", "lab", "--sensor", "s1", cwd=workspace)
    assert run.returncode == 0, run.output
    data = workspace / "data"
    for capture in real_captures():
        reference = tshark_probes(capture)
        parts = _parts_of(data, capture)
        rows = [row for part in parts for row in pq.read_table(part).to_pylist()]
        assert len(rows) == len(reference), capture.name
        got = sorted(
            (int(r["ts"].timestamp() * 1e6 + 0.5), r["rssi"], r["freq_mhz"], r["seq"], r["directed"]) for r in rows
        )
        want = sorted((p.ts_us, p.rssi, p.freq, p.seq, p.directed) for p in reference)
        assert got == want, capture.name
        # one pseudonym per distinct address and epoch (a UTC day: the store has no timezone)
        per_epoch = {(p.ts_us // 86_400_000_000, p.mac) for p in reference}
        assert len({(r["epoch"], r["device"]) for r in rows}) == len(per_epoch), capture.name
        assert Counter(r["randomized"] for r in rows) == Counter(bool(p.mac >> 41 & 1) for p in reference)


def test_output_is_hive_partitioned_parquet_readable_with_nothing_else(workspace: Path) -> None:
    """The Brno Sunday runs from local midnight to midnight: one partition in Prague time."""
    (workspace / "footfall.toml").write_text('[stores.lab]\ntimezone = "Europe/Prague"\n')
    run = run_footfall("collect", BRNO_SMALL, "--store", "lab", "--sensor", "position_1", cwd=workspace)
    assert run.returncode == 0, run.output
    partition = workspace / "data" / "sightings" / "store=lab" / "date=2023-04-16"
    assert len(list(partition.glob("part-*.parquet"))) == 1
    table = read_sightings(workspace / "data")
    assert list(table.columns[:10]) == CONTRACT_COLUMNS
    assert set(table.columns[10:]) == {"store", "date"}  # from the Hive path
    assert set(table["store"]) == {"lab"} and set(table["sensor"]) == {"position_1"}
    assert set(table["epoch"]) == {"2023-04-16"}
    assert len(table) == 2021
    import pandas as pd

    frame = pd.read_parquet(workspace / "data" / "sightings")
    assert len(frame) == 2021 and set(frame["store"].astype(str)) == {"lab"}


def test_summary_names_every_figure_per_file(workspace: Path) -> None:
    run = run_footfall("collect", PCAPNG, "--store", "lab", "--sensor", "s1", cwd=workspace)
    assert run.returncode == 0, run.output
    text = " ".join(run.stdout.split())
    assert "iot_indoor_location_irt_test.pcapng" in text
    assert "frames 6,219" in text
    assert "probe requests kept 12" in text
    assert "beacon 3,863" in text and "action 1,276" in text
    assert "malformed 0" in text
    assert "devices (pseudonyms) 6" in text
    assert "2021-03-07 20:40:48 → 20:41:15 UTC" in text


def test_gzip_glob_folder_and_stdin_give_the_same_sightings(workspace: Path, tmp_path: Path) -> None:
    captures = tmp_path / "in"
    (captures / "nested").mkdir(parents=True)
    shutil.copy(EXTHDR, captures / "a.pcap")
    with gzip.open(captures / "nested" / "b.pcap.gz", "wb") as out:
        out.write(BRNO_SMALL.read_bytes())
    (captures / "notes.txt").write_text("not a capture, ignored inside folders")

    def collect(*args: str | Path, data: str, stdin: bytes | None = None) -> None:
        run = run_footfall(
            "collect", *args, "--store", "s", "--sensor", "x", "--data", data, cwd=workspace, stdin=stdin
        )
        assert run.returncode == 0, run.output

    collect(EXTHDR, BRNO_SMALL, data="plain")
    collect(captures, data="folder")
    collect(str(captures / "**" / "*.pcap*"), data="glob")
    collect("-", data="stdin", stdin=BRNO_SMALL.read_bytes())
    collect("-", data="stdin", stdin=gzip.compress(EXTHDR.read_bytes()))
    expected = read_sightings(workspace / "plain")
    for data in ("folder", "glob", "stdin"):
        assert read_sightings(workspace / data).equals(expected), data


def test_collecting_a_capture_again_adds_nothing(workspace: Path, tmp_path: Path) -> None:
    args = ("--store", "s", "--sensor", "x")
    assert run_footfall("collect", BRNO_SMALL, *args, cwd=workspace).returncode == 0
    first = read_sightings(workspace / "data")
    compressed = tmp_path / "again.pcap.gz"
    compressed.write_bytes(gzip.compress(BRNO_SMALL.read_bytes()))
    again = run_footfall("collect", BRNO_SMALL, compressed, *args, cwd=workspace)
    assert again.returncode == 0
    assert again.stdout.count("duplicate") == 2 and "already collected" in again.stdout
    assert read_sightings(workspace / "data").equals(first)
    stream = run_footfall("collect", "-", *args, cwd=workspace, stdin=BRNO_SMALL.read_bytes())
    assert "duplicate" in stream.stdout
    forced = run_footfall("collect", BRNO_SMALL, "--force", *args, cwd=workspace)
    assert forced.returncode == 0 and "duplicate" not in forced.stdout
    assert read_sightings(workspace / "data").equals(first)
    assert not list((workspace / "data").rglob("*.tmp"))


# --- bad input ---------------------------------------------------------------------------------


def _capture(tmp_path: Path, count: int = 10) -> tuple[Path, list[int]]:
    """A radiotap capture of `count` probes; returns it and each record's end offset."""
    probes = [Probe(1_700_000_000_000_000 + i * 1000, f"3c:5a:00:00:00:{i:02x}", -50, 2437, i) for i in range(count)]
    path = write_pcap(tmp_path / "good.pcap", 127, [Record(p.ts_us, radiotap(p, dot11_probe(p))) for p in probes])
    data = path.read_bytes()
    ends, pos = [], 24
    while pos < len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        ends.append(pos)
    return path, ends


def test_a_bad_batch_goes_on_and_exits_non_zero(workspace: Path, tmp_path: Path) -> None:
    good, ends = _capture(tmp_path)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pcap"
    truncated.write_bytes(data[: ends[6] + 20])  # 7 whole records and part of the 8th
    corrupt = tmp_path / "corrupt.pcap"
    broken = bytearray(data)
    struct.pack_into("<I", broken, ends[3] + 8, 0x7FFFFFFF)  # record 5 claims 2 GB
    corrupt.write_bytes(bytes(broken))
    not_capture = tmp_path / "notes.pcap"
    not_capture.write_text("hello, these are my notes\n" * 10)
    ethernet = write_pcap(tmp_path / "ethernet.pcap", 1, [Record(1_700_000_000_000_000, bytes(60))])
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")

    run = run_footfall(
        "collect",
        not_capture,
        good,
        truncated,
        corrupt,
        ethernet,
        empty,
        tmp_path / "missing.pcap",
        "--store",
        "s",
        "--sensor",
        "x",
        cwd=workspace,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("footfall: error:")]
    assert any("missing.pcap" in e and "no such file" in e for e in errors)
    assert any("notes.pcap" in e and "not a pcap or pcapng capture" in e for e in errors)
    assert any("ethernet.pcap" in e and "unsupported link type 1" in e for e in errors)
    assert any("corrupt.pcap" in e and "corrupt pcap record header" in e for e in errors)
    assert any("empty.pcap" in e for e in errors)
    assert "truncated.pcap" in run.stdout and "ends inside a record" in " ".join(run.stdout.split())
    for words in ("not a pcap or pcapng capture", "unsupported link type 1", "corrupt pcap record header"):
        assert run.output.count(words) == 1, f"an error is printed once, on stderr: {words}"

    counts = {}
    for capture in (good, truncated, corrupt):
        counts[capture.name] = sum(pq.read_metadata(p).num_rows for p in _parts_of(workspace / "data", capture))
    assert counts == {"good.pcap": 10, "truncated.pcap": 7, "corrupt.pcap": 4}


def test_malformed_frames_are_reported_with_the_file(workspace: Path, tmp_path: Path) -> None:
    probe = Probe(1_700_000_000_000_000, "3c:5a:00:00:00:01", -50, 2437, 1)
    good = radiotap(probe, dot11_probe(probe))
    past_frame = good[:2] + struct.pack("<H", len(good) + 50) + good[4:]
    short = radiotap(probe, dot11_probe(probe)[:16])
    garbage_elements = radiotap(probe, dot11_probe(probe) + b"\xdd\xff\x00")
    path = write_pcap(
        tmp_path / "odd.pcap",
        127,
        [Record(probe.ts_us + i, f) for i, f in enumerate([good, past_frame, short, garbage_elements])],
    )
    run = run_footfall("collect", path, "--store", "s", "--sensor", "x", cwd=workspace)
    assert run.returncode == 0, run.output
    text = " ".join(run.stdout.split())
    assert "probe requests kept 2" in text and "malformed 2" in text
    assert "1 radio header length past the frame or inconsistent" in text
    assert "1 frame shorter than its 802.11 header" in text
    assert "1 kept probe requests have a malformed element list" in text


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ("[privacy]\nepoch = 'month'\n", "privacy.epoch"),
        ("[privacy]\nk = 0\n", "privacy.k"),
        ("[visits]\nrssi_threshold_dbm = 10\n", "visits.rssi_threshold_dbm"),
        ("[visits]\ngap_min = -1\n", "visits.gap_min"),
        ("[stores.demo]\ntimezone = 'Mars/Olympus'\n", "stores.demo.timezone"),
        ("[stores.demo]\nopening_hours = '9 to 5'\n", "stores.demo.opening_hours"),
        ("[retention]\nsightngs = 3\n", "retention.sightngs"),
        ("secrets_dir = 'data/secrets'\n", "secrets_dir"),
        ("[stores.'bad/name']\n", "store"),
        ("data_dir = \n", "not valid TOML"),
        ("[privacy]\nsalt_grace_hours = inf\n", "privacy.salt_grace_hours"),
        ("[privacy]\nsalt_grace_hours = 1e300\n", "privacy.salt_grace_hours"),
        ("[privacy]\nsalt_grace_hours = 1e8\n", "privacy.salt_grace_hours"),
        ("[visits]\ngap_min = inf\n", "visits.gap_min"),
        ("[visits]\nmin_dwell_min = 1e300\n", "visits.min_dwell_min"),
        ('data_dir = "da\\u0000ta"\n', "data_dir"),
    ],
)
def test_a_bad_config_names_the_key(workspace: Path, config: str, key: str) -> None:
    (workspace / "footfall.toml").write_text(config)
    run = run_footfall("collect", EXTHDR, "--store", "demo", "--sensor", "x", cwd=workspace)
    assert run.returncode == 1
    assert "Traceback" not in run.output
    assert run.stderr.startswith("footfall: error:") and key in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (workspace / "data").exists()


@pytest.mark.parametrize("flag", ["--store", "--sensor"])
def test_a_name_ending_in_a_newline_is_refused(workspace: Path, flag: str) -> None:
    names = {"--store": "s", "--sensor": "x", flag: "lab\n"}
    run = run_footfall("collect", EXTHDR, "--store", names["--store"], "--sensor", names["--sensor"], cwd=workspace)
    assert run.returncode == 1 and "Traceback" not in run.output
    assert run.stderr.startswith(f"footfall: error: {flag}:") and "is not a valid" in run.stderr
    assert not (workspace / "data").exists()


def test_store_sensor_and_timezone_come_from_the_config(workspace: Path, tmp_path: Path) -> None:
    """A probe at 23:30 UTC belongs to the next local day in Prague (UTC+1 in winter)."""
    config = tmp_path / "site" / "footfall.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "out"\n[stores.brno]\ntimezone = "Europe/Prague"\n[stores.brno.sensors.door]\n')
    probe = Probe(1_706_225_400_000_000, "3c:5a:00:00:00:01", -50, 2437, 1)  # 2024-01-25 23:30 UTC
    capture = write_pcap(tmp_path / "late.pcap", 127, [Record(probe.ts_us, radiotap(probe, dot11_probe(probe)))])
    run = run_footfall("collect", capture, "--config", config, cwd=workspace)
    assert run.returncode == 0, run.output
    data = config.parent / "out"  # relative to the config file, not the working folder
    table = read_sightings(data)
    assert str(table["date"][0])[:10] == "2024-01-26"
    assert list(table["epoch"]) == ["2024-01-26"] and list(table["sensor"]) == ["door"]
    assert (config.parent / "secrets" / "salts" / "brno" / "2024-01-26.salt").exists()
    override = run_footfall("collect", capture, "--config", config, "--data", "elsewhere", cwd=workspace)
    assert override.returncode == 0 and read_sightings(workspace / "elsewhere") is not None
    unknown = run_footfall("collect", capture, "--config", config, "--store", "prague", "--sensor", "x", cwd=workspace)
    assert unknown.returncode == 0 and "note: store 'prague' is not in" in unknown.stderr
    assert (config.parent / "out" / "sightings" / "store=prague" / "date=2024-01-25").is_dir(), "UTC: still the 25th"


def test_every_command_takes_config_and_data(workspace: Path) -> None:
    for command in (["collect"], ["optout", "add"], ["optout", "count"]):
        run = run_footfall(*command, "--help", cwd=workspace)
        assert run.returncode == 0
        assert "--config" in run.stdout and "--data" in run.stdout, command


def test_a_folder_without_captures_is_named(workspace: Path, tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a capture")
    run = run_footfall("collect", empty, "--store", "demo", "--sensor", "s1", cwd=workspace)
    assert run.returncode == 1
    assert f"{empty}: no capture in this folder" in run.stderr and "Traceback" not in run.output
