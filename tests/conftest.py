"""Shared fixtures: the real captures, the independent references (tshark, scapy) and
a way to run the `footfall` command exactly as a user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CAPTURES = REPO.parent / "shared" / "captures"
SAMPLE_CAPTURES = REPO / "sample_captures"
FOOTFALL = Path(sys.executable).with_name("footfall")

sys.path.insert(0, str(SAMPLE_CAPTURES))


def real_captures() -> list[Path]:
    """Every capture in ../shared/captures (the tests fail, not skip, when it is missing)."""
    found = sorted(p for p in SHARED_CAPTURES.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap"))
    assert found, f"no captures under {SHARED_CAPTURES}: the tests need ../shared beside the repository"
    return found


# the sightings columns of DESIGN.md's output contract, in the order the collector writes them
CONTRACT_COLUMNS = ["ts", "sensor", "device", "randomized", "rssi", "freq_mhz", "seq", "directed", "ie_hash", "epoch"]


@dataclass(frozen=True)
class RefProbe:
    """A probe request as an independent dissector reads it."""

    ts_us: int
    mac: int
    rssi: int | None
    freq: int | None
    seq: int
    directed: bool


# --- tshark ------------------------------------------------------------------------


def tshark_path() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is needed as the reference dissector; `make test` installs it (apt-get install tshark)"
    return path


_TSHARK_FIELDS = [
    "frame.time_epoch",
    "wlan.sa",
    "radiotap.dbm_antsignal",
    "ppi.80211-common.dbm.antsignal",
    "wlancap.dbm_antsignal",
    "prism.did.signal",
    "prism.did.channel",
    "wlan.seq",
    "wlan_radio.frequency",
    "wlan.tag.number",
    "wlan.tag.length",
]


def tshark_fields(path: Path, fields: list[str], display_filter: str | None = None) -> list[list[str]]:
    """tshark's field extraction: one list of values per frame (repeated values joined by ',')."""
    command = [tshark_path(), "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    command += ["-E", "aggregator=,", *(["-Y", display_filter] if display_filter else [])]
    for field in fields:
        command += ["-e", field]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def tshark_probes(path: Path) -> list[RefProbe]:
    """Probe requests as tshark dissects them (bad-FCS frames excluded, as the collector does)."""
    rows = tshark_fields(path, _TSHARK_FIELDS, "wlan.fc.type_subtype == 4 && !(radiotap.flags.badfcs == 1)")
    probes = []
    for row in rows:
        values = dict(zip(_TSHARK_FIELDS, row, strict=True))
        rssi = next(
            (
                _first_int(values[field])
                for field in ("radiotap.dbm_antsignal", "ppi.80211-common.dbm.antsignal", "wlancap.dbm_antsignal")
                if values[field]
            ),
            None,
        )
        if rssi is None and values["prism.did.signal"]:
            signal = _first_int(values["prism.did.signal"])
            rssi = signal if signal is not None and -128 <= signal <= 0 else None  # others are not dBm
        freq = _first_int(values["wlan_radio.frequency"])
        if freq is None and values["prism.did.channel"]:
            freq = _channel_mhz(int(values["prism.did.channel"]))
        numbers = [int(n) for n in values["wlan.tag.number"].split(",") if n]
        lengths = [int(n) for n in values["wlan.tag.length"].split(",") if n]
        directed = bool(numbers) and numbers[0] == 0 and lengths[0] > 0
        probes.append(
            RefProbe(
                ts_us=_epoch_us(values["frame.time_epoch"]),
                mac=int(values["wlan.sa"].replace(":", ""), 16),
                rssi=rssi,
                freq=freq,
                seq=int(values["wlan.seq"]),
                directed=directed,
            )
        )
    return probes


def _first_int(text: str) -> int | None:
    first = text.split(",")[0]
    return int(first) if first else None


def _epoch_us(text: str) -> int:
    """'1615149648.087906546' -> microseconds, truncated like the collector (no float)."""
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


# --- scapy -----------------------------------------------------------------------------


def scapy_probes(path: Path) -> list[RefProbe]:
    """Probe requests as scapy dissects them (slow: small files only)."""
    from scapy.layers.dot11 import Dot11, Dot11Elt, PrismHeader, RadioTap
    from scapy.utils import PcapReader

    probes = []
    with PcapReader(str(path)) as reader:
        for packet in reader:
            if not packet.haslayer(Dot11):
                continue
            frame = packet[Dot11]
            if frame.type != 0 or frame.subtype != 4:
                continue
            rssi = freq = None
            if packet.haslayer(RadioTap):
                radio = packet[RadioTap]
                rssi = radio.dBm_AntSignal
                freq = radio.ChannelFrequency
            elif packet.haslayer(PrismHeader):
                prism = packet[PrismHeader]
                signal = prism.signal - (1 << 32) if prism.signal >= 1 << 31 else prism.signal
                rssi = signal if prism.signal_status == 0 and -128 <= signal <= 0 else None
                freq = _channel_mhz(prism.channel) if prism.channel_status == 0 else None
            else:
                from scapy.contrib.ppi_cace import PPI_Dot11Common

                if packet.haslayer(PPI_Dot11Common):
                    common = packet[PPI_Dot11Common]
                    rssi = common.Antsignal if common.Antsignal != -128 else None
                    freq = common.Ch_Freq or None
            ssid = packet.getlayer(Dot11Elt, ID=0)
            probes.append(
                RefProbe(
                    ts_us=int(Decimal(str(packet.time)) * 1_000_000),
                    mac=int(frame.addr2.replace(":", ""), 16),
                    rssi=rssi,
                    freq=freq,
                    seq=frame.SC >> 4,
                    directed=ssid is not None and len(ssid.info) > 0,
                )
            )
    return probes


def _channel_mhz(channel: int) -> int | None:
    if channel == 14:
        return 2484
    if 1 <= channel < 14:
        return 2407 + 5 * channel
    if 15 <= channel <= 196:
        return 5000 + 5 * channel
    return None


# --- the parser under test, read the same way ----------------------------------------------


def parsed_probes(path: Path) -> list[RefProbe]:
    from footfall.collector.capture_sources import CaptureReader, CaptureSource
    from footfall.collector.probe_parser import STATUS_FULL, ProbeParser

    parser = ProbeParser()
    probes: list[RefProbe] = []
    with CaptureReader(CaptureSource(str(path), path)) as reader:
        data = b"".join(bytes(chunk) for chunk in reader.chunks())
    pos = 0
    while True:
        result = parser.parse(memoryview(data)[pos:])
        pos += result.consumed
        batch = result.batch
        for i in range(len(batch)):
            probes.append(
                RefProbe(
                    ts_us=int(batch.ts_us[i]),
                    mac=int(batch.mac[i]),
                    rssi=int(batch.rssi[i]) if batch.has_rssi[i] else None,
                    freq=int(batch.freq[i]) or None,
                    seq=int(batch.seq[i]),
                    directed=bool(batch.directed[i]),
                )
            )
        if result.status != STATUS_FULL:
            return probes


# --- running the command ------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_footfall(*args: str | os.PathLike, cwd: Path, stdin: bytes | None = None, env: dict | None = None) -> Run:
    """The installed `footfall` console script, in its own process, as a user runs it."""
    environment = {k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"}
    environment.update(env or {})
    done = subprocess.run(
        [str(FOOTFALL), *map(str, args)], cwd=cwd, input=stdin, capture_output=True, env=environment, timeout=600
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty working folder (data/ and secrets/ land here by default)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def read_sightings(data_dir: Path):
    """Every sightings row, with store and date from the Hive path (as analysts read it)."""
    import duckdb

    files = sorted((data_dir / "sightings").rglob("*.parquet"))
    if not files:
        return None
    return duckdb.sql(
        f"select * from read_parquet('{data_dir}/sightings/**/*.parquet', hive_partitioning=true) order by ts, device"
    ).df()


# --- outputs shared by the privacy tests (collected once per session) ------------------------


@dataclass(frozen=True)
class Collected:
    """A workspace after `footfall collect` and `footfall run`, and what they printed."""

    workspace: Path
    captures: list[Path]
    console: str

    @property
    def data(self) -> Path:
        return self.workspace / "data"


def _collect_and_run(workspace: Path, batches: list[tuple[list[Path], str, str]]) -> Collected:
    workspace.mkdir(parents=True)
    console = ""
    for captures, store, sensor in batches:
        collect = run_footfall("collect", *captures, "--store", store, "--sensor", sensor, cwd=workspace)
        assert collect.returncode == 0, collect.output
        console += collect.output
    pipeline = run_footfall("run", cwd=workspace)
    assert pipeline.returncode == 0, pipeline.output
    assert any((workspace / "data" / "marts" / "daily").rglob("*.parquet"))
    return Collected(workspace, [c for captures, _, _ in batches for c in captures], console + pipeline.output)


@pytest.fixture(scope="session")
def shared_outputs(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """Every capture of ../shared/captures collected as one store, and the pipeline run.
    Read-only: copy it (shutil.copytree) before changing anything."""
    workspace = tmp_path_factory.mktemp("shared-outputs") / "work"
    return _collect_and_run(workspace, [(real_captures(), "lab", "s1")])


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> Collected:
    """What `make demo` writes: the two sensors of the Brno sample day, and the pipeline
    run. Read-only: copy it before changing anything."""
    workspace = tmp_path_factory.mktemp("demo-outputs") / "work"
    sensors = ["position_1", "position_2"]
    batches = [([SAMPLE_CAPTURES / f"brno_{sensor}_2024-03-15.pcap.gz"], "demo", sensor) for sensor in sensors]
    return _collect_and_run(workspace, batches)
