"""`footfall collect --live`: scapy's sniff loop, without Wi-Fi hardware.

The loop is AsyncSniffer over an opened socket, as in production; here the socket is
scapy's PcapReader over a capture (an interface that ends) or an ObjectPipe fed
with its packets (an interface that stays open until the stop signal). Packets,
rolling parts, heartbeats and the epoch rollover go through the same code as on a
monitor-mode interface, and must give what the file mode gives for the same frames.
The failures a user meets first (not in monitor mode, no such interface, no
permission) are checked with a real interface and with scapy's own exceptions."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest
from scapy.automaton import ObjectPipe
from scapy.utils import PcapReader
from test_privacy_invariant import _macs_and_ssids, assert_nothing_leaks

from footfall.collector import live_capture
from footfall.collector.capture_sources import CaptureSource
from footfall.collector.channels import ChannelHopper, ChannelPlan, parse_channels, set_channel
from footfall.collector.collect import Collector
from footfall.collector.live_capture import PacketCapture, open_socket, scrub
from footfall.collector.stream_collect import RollPolicy, StopSignals, StreamCollector, run_stream
from footfall.config import load_settings
from footfall.errors import CaptureError, FootfallError

from capture_builder import midnight_capture
from footfall_command import run_footfall

START_US = 1_715_722_800_000_000  # 2024-05-14 21:40 UTC, 23:40 in Prague
PLAN = "1,6,11/0.5s"


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "air.pcap"
    midnight_capture(path, START_US, minutes=60, quiet=(10, 15))
    return path


def settings(tmp_path: Path, data: str):
    config = tmp_path / "footfall.toml"
    config.write_text('[stores.lab]\ntimezone = "Europe/Prague"\n')
    return load_settings(config, tmp_path / data)


def sightings(data: Path) -> list[tuple]:
    return duckdb.sql(
        "select epoch_us(ts), sensor, device, randomized, rssi, freq_mhz, seq, directed, ie_hash, epoch, "
        f"date::varchar from read_parquet('{data}/sightings/**/*.parquet', hive_partitioning=true) order by all"
    ).fetchall()


def sniff(
    tmp_path: Path, opened_socket, *, stop_after: float | None = None, linktype: int | None = None, endless=False
):
    """The live loop over an opened socket; with stop_after, SIGTERM arrives then."""
    logs: list[str] = []
    with Collector(settings(tmp_path, "live"), "lab", "s1") as collector, StopSignals() as stop:
        source = PacketCapture(opened_socket, "--live test0", linktype=linktype, endless=endless)
        policy = RollPolicy(60, 40)
        engine = StreamCollector(collector, source.name, policy, channels=PLAN, reports_drops=True, log=logs.append)
        if stop_after is not None:
            threading.Timer(stop_after, os.kill, (os.getpid(), signal.SIGTERM)).start()
        report = run_stream(engine, source, stop)
        source.close()
        return report, logs, collector.anonymiser.epochs_in_use()


def file_mode(tmp_path: Path, capture: Path) -> list[tuple]:
    with Collector(settings(tmp_path, "file"), "lab", "s1") as collector:
        assert collector.collect(CaptureSource(str(capture), capture)).status == "ok"
    return sightings(tmp_path / "file")


def test_the_sniff_loop_collects_what_the_file_mode_does_across_midnight(tmp_path: Path, capture: Path) -> None:
    expected = file_mode(tmp_path, capture)
    report, logs, in_use = sniff(tmp_path, PcapReader(str(capture)))
    assert report.status == "ok", report.error
    data = tmp_path / "live"
    assert sightings(data) == expected
    assert {row[9] for row in expected} == {"2024-05-14", "2024-05-15"}, "two epochs"
    assert in_use == ["2024-05-15"] and any("epoch 2024-05-14 is over" in line for line in logs)

    parts = sorted((data / "sightings").rglob("part-*.parquet"))
    assert len(parts) >= -(-len(expected) // 40), "rolling parts of at most 40 sightings"
    beats = duckdb.sql(
        "select epoch_us(minute) // 60000000 as m, sum(frames), sum(probes), sum(drops), "
        f"list_distinct(list(channels)) from read_parquet('{data}/heartbeats/**/*.parquet') group by m order by m"
    ).fetchall()
    first = START_US // 60_000_000
    assert [row[0] for row in beats] == list(range(first, first + 60)), "every minute, quiet ones too"
    assert all(row[1:4] == (0, 0, 0) for row in beats[10:15])
    assert all(row[1:3] == (7, 5) for row in beats[:10] + beats[15:])  # 5 probes and 2 beacons a minute
    assert all(row[3] == 0 and row[4] == [PLAN] for row in beats), "drops reported (none) and the hop plan"

    macs, ssids = _macs_and_ssids(capture)
    assert b"HomeNet-42" in ssids
    assert_nothing_leaks(data, "\n".join(logs), macs, ssids, capture)


def test_sigterm_on_an_open_interface_flushes_the_open_part(tmp_path: Path, capture: Path) -> None:
    """An interface never ends: the stop signal does, and every frame received is written."""
    expected = file_mode(tmp_path, capture)
    interface = ObjectPipe[object]("air")
    with PcapReader(str(capture)) as reader:
        for packet in reader:
            interface.send(packet)
    report, _, _ = sniff(tmp_path, interface, stop_after=3.0, linktype=127)
    assert report.status == "ok", report.error
    assert "stopped by SIGTERM" in " ".join(report.notes)
    assert sightings(tmp_path / "live") == expected
    assert not list((tmp_path / "live").rglob("*.tmp"))


class _FailingSocket(ObjectPipe[object]):
    """A socket whose wait fails, with a message that names an address (as a driver might)."""

    @staticmethod
    def select(sockets, remain=None):
        time.sleep(0.05)
        raise RuntimeError("device 3c:5a:10:00:00:01 vanished")


def test_an_interface_that_goes_away_is_an_error_after_its_frames_are_written(tmp_path: Path, capture: Path) -> None:
    expected = file_mode(tmp_path, capture)
    report, _, _ = sniff(tmp_path, PcapReader(str(capture)), endless=True)
    assert report.failed and report.error == "--live test0: the capture stopped: the interface went down or away"
    assert sightings(tmp_path / "live") == expected


def test_a_failing_capture_is_an_error_without_any_address(tmp_path: Path) -> None:
    report, _, _ = sniff(tmp_path, _FailingSocket("x"), linktype=127)
    assert report.failed
    assert "<address>" in (report.error or "") and "3c:5a" not in (report.error or "")
    assert scrub("aa-bb-cc-dd-ee-ff, AABB.CCDD.EEFF and aabbccddeeff") == "<address>, <address> and <address>"


def test_an_interface_not_in_monitor_mode_is_refused_with_the_fix(workspace: Path) -> None:
    """The loopback interface is real everywhere and has no 802.11 link type: libpcap
    itself refuses the probe-request filter, as on a managed-mode Wi-Fi interface."""
    run = run_footfall("collect", "--live", "lo", "--store", "s", "--sensor", "x", cwd=workspace)
    assert run.returncode == 1 and "Traceback" not in run.output
    assert len(run.stderr.strip().splitlines()) == 1
    message = run.stderr
    assert message.startswith("footfall: error: --live lo:")
    assert "802.11 link-layer types supported only on 802.11" in message, "libpcap's own reason"
    assert "lo is not in monitor mode (its link type is loopback)" in message
    assert "sudo iw dev lo set type monitor" in message and "sudo airmon-ng start lo" in message
    assert not (workspace / "data").exists()
    missing = run_footfall("collect", "--live", "nosuch0", "--store", "s", "--sensor", "x", cwd=workspace)
    assert missing.returncode == 1 and "nosuch0: no such network interface (there are: " in missing.stderr


def test_scapy_failures_when_opening_the_socket_become_one_line_fixes(monkeypatch: pytest.MonkeyPatch) -> None:
    from scapy.config import conf
    from scapy.error import Scapy_Exception

    def refuse(exception: Exception):
        def open_(**kwargs):
            raise exception

        monkeypatch.setattr(conf, "L2listen", open_)

    # what scapy's L2ListenSocket raises when the kernel filter cannot be compiled
    refuse(
        Scapy_Exception(
            "Cannot set filter: Failed to compile filter expression 'type mgt subtype probe-req' "
            "(802.11 link-layer types supported only on 802.11)"
        )
    )
    with pytest.raises(CaptureError) as failure:
        open_socket("wlan0")
    assert "(libpcap: 802.11 link-layer types supported only on 802.11): wlan0 is not in monitor mode" in str(
        failure.value
    )
    assert "iw dev wlan0 set type monitor" in str(failure.value)
    refuse(PermissionError(1, "Operation not permitted"))
    with pytest.raises(CaptureError, match=r"needs root or the CAP_NET_RAW capability.*setcap cap_net_raw"):
        open_socket("wlan0")
    refuse(OSError(100, "Network is down"))
    with pytest.raises(CaptureError, match="wlan0: cannot capture: Network is down"):
        open_socket("wlan0")

    import scapy.arch.common

    def no_libpcap(*args, **kwargs):
        raise ImportError("libpcap is not available. Cannot compile filter !")

    monkeypatch.setattr(scapy.arch.common, "compile_filter", no_libpcap)
    with pytest.raises(CaptureError, match=r"libpcap is needed.*apt-get install libpcap0\.8"):
        live_capture.compile_probe_filter("lo")


def test_channel_plans_are_set_through_iw_and_hop_in_order() -> None:
    commands: list[list[str]] = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    def run(command):
        commands.append(list(command))
        return Done()

    plan = ChannelPlan(parse_channels("1, 6,11,6", "--hop"), dwell_s=0.02)
    assert plan.channels == (1, 6, 11) and plan.describe() == "1,6,11/0.02s"
    assert ChannelPlan((6,)).describe() == "6"
    hopper = ChannelHopper("wlan0mon", plan, run=run)
    hopper.start()
    # six hops take 0.1 s; a loaded machine can starve the thread for longer than any
    # fixed sleep (3 hops in 0.3 s were seen under load), so wait for them (the order is the test)
    deadline = time.monotonic() + 30
    while len(commands) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    hopper.stop()
    channels = [int(command[-1]) for command in commands]
    assert commands[0] == ["iw", "dev", "wlan0mon", "set", "channel", "1"]
    assert len(channels) >= 6 and channels[:6] == [1, 6, 11, 1, 6, 11]

    class Busy:
        returncode, stdout, stderr = 240, "", "command failed: Device or resource busy (-16)\n"

    with pytest.raises(FootfallError, match=r"set channel 6: command failed: Device or resource busy.*nmcli"):
        set_channel("wlan0mon", 6, run=lambda command: Busy())

    def missing(command):
        raise FileNotFoundError("iw")

    with pytest.raises(FootfallError, match="needs the `iw` tool"):
        set_channel("wlan0mon", 6, run=missing)
    with pytest.raises(FootfallError, match="not a Wi-Fi channel"):
        parse_channels("1,0", "--hop")
