"""`footfall collect --live IFACE`: probe requests from a monitor-mode interface, through scapy.

The kernel filters the frames (BPF `type mgt subtype probe-req`), scapy's sniff loop
(AsyncSniffer over a packet socket) receives them, and each packet goes on as its raw
bytes with its time and link type, written as a pcapng byte stream: from there it
takes the stream mode's path (the C parser, the anonymiser, rolling parts,
heartbeats, epochs). The packet socket is set to hand over undissected frames, so
scapy's loop costs tens of microseconds per packet (about 20,000 frames/s on the
development machine), far above the probe requests a shop's air carries once the
kernel has filtered out everything else.

The classic failure of monitor-mode tools is an interface that is not in monitor
mode: it has no 802.11 link type, so libpcap cannot compile an 802.11 filter, and a
tool that ignores this captures nothing, silently. Here the filter is compiled before
anything starts, and the error says what is wrong and how to fix it. Messages from
scapy or the system pass through `scrub` (errors.without_addresses), so no address
ever reaches a log line.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from footfall.collector.capture_report import CaptureReport
from footfall.collector.channels import ChannelHopper, ChannelPlan
from footfall.collector.collect import Collector
from footfall.collector.stream_collect import Log, RollPolicy, StopSignals, StreamCollector, run_stream
from footfall.errors import CaptureError
from footfall.errors import without_addresses as scrub

PROBE_FILTER = "type mgt subtype probe-req"
BUFFER_LIMIT = 64 << 20  # received frames waiting for the parser; beyond, they are dropped and counted
NOTIFY_BYTES = 256 << 10  # wake the parser before its tick when this much is waiting
SOCKET_BUFFER = 8 << 20
SOL_PACKET, PACKET_STATISTICS = 263, 6

# /sys/class/net/IFACE/type (ARPHRD) -> capture link type; the 802.11 ones are monitor mode
_MONITOR_LINKS = {801: 105, 802: 119, 803: 127, 804: 192}
_LINK_NAMES = {1: "Ethernet", 772: "loopback", 65534: "none (a tunnel)", 776: "IPv6-in-IPv4", 778: "GRE"}


def monitor_fix(iface: str) -> str:
    return (
        f"put it into monitor mode: sudo ip link set {iface} down && sudo iw dev {iface} set type monitor && "
        f"sudo ip link set {iface} up (or: sudo airmon-ng start {iface}, then --live with the interface it "
        f"creates, e.g. {iface}mon)"
    )


def filter_error(iface: str, detail: object) -> CaptureError:
    """`detail`: scapy's message, e.g. "Failed to compile filter expression '...' (802.11
    link-layer types supported only on 802.11)"; the part in parentheses is libpcap's."""
    found = re.search(r"\(([^()]*)\)\W*$", str(detail))
    detail = found.group(1) if found else detail
    link = _link_type(iface)
    kind = f" (its link type is {_LINK_NAMES.get(link, link)})" if link is not None else ""
    return CaptureError(
        f"--live {iface}: the probe-request filter cannot be compiled for this interface "
        f"(libpcap: {scrub(detail)}): {iface} is not in monitor mode{kind}; {monitor_fix(iface)}"
    )


def check_interface(iface: str) -> int:
    """The interface exists, is up and is in monitor mode (the filter compiles for it);
    returns its capture link type. Needs no privilege."""
    try:
        socket.if_nametoindex(iface)
    except OSError:
        known = ", ".join(sorted(name for _, name in socket.if_nameindex()))
        raise CaptureError(f"--live {iface}: no such network interface (there are: {known})") from None
    link = _link_type(iface)
    compile_probe_filter(iface)
    if not _is_up(iface):
        raise CaptureError(f"--live {iface}: the interface is down; bring it up: sudo ip link set {iface} up")
    return _MONITOR_LINKS.get(link or 0, 127)


def compile_probe_filter(iface: str) -> None:
    _scapy()
    from scapy.arch.common import compile_filter
    from scapy.error import Scapy_Exception

    try:
        compile_filter(PROBE_FILTER, iface=iface)
    except ImportError:
        raise CaptureError(
            f"--live {iface}: libpcap is needed to compile the kernel filter: sudo apt-get install libpcap0.8"
        ) from None
    except (Scapy_Exception, OSError, ValueError) as exc:
        raise filter_error(iface, exc) from None


def open_socket(iface: str) -> Any:
    """scapy's packet socket on the interface, with the probe-request filter in the kernel."""
    _scapy()
    from scapy.config import conf
    from scapy.error import Scapy_Exception

    try:
        sock: Any = conf.L2listen(iface=iface, filter=PROBE_FILTER)
    except PermissionError:
        raise CaptureError(
            f"--live {iface}: capturing needs root or the CAP_NET_RAW capability: run it with sudo, or grant it "
            f"once: sudo setcap cap_net_raw,cap_net_admin=eip {Path(sys.executable).resolve()}"
        ) from None
    except Scapy_Exception as exc:
        if "filter" in str(exc).lower():
            raise filter_error(iface, exc) from None
        raise CaptureError(f"--live {iface}: cannot capture: {scrub(exc)}") from None
    except OSError as exc:
        raise CaptureError(f"--live {iface}: cannot capture: {scrub(exc.strerror or exc)}") from None
    sock.LL = conf.raw_layer  # hand frames over undissected: the C parser reads them
    with contextlib.suppress(AttributeError, OSError):
        sock.ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    return sock


def collect_live(
    collector: Collector,
    iface: str,
    plan: ChannelPlan | None,
    policy: RollPolicy,
    stop: StopSignals,
    log: Log | None = None,
) -> CaptureReport:
    """Captures until a stop signal; an interface that goes away is an error (exit 1,
    so a service manager restarts the collector)."""
    linktype = check_interface(iface)
    sock = open_socket(iface)
    hopper = ChannelHopper(iface, plan, log=log) if plan else None
    source = None
    try:
        if hopper is not None:
            hopper.start()
        source = PacketCapture(sock, f"--live {iface}", linktype=linktype, endless=True)
        channels = plan.describe() if plan else None
        engine = StreamCollector(collector, source.name, policy, channels=channels, reports_drops=True, log=log)
        return run_stream(engine, source, stop)
    finally:
        if hopper is not None:
            hopper.stop()
        if source is not None:
            source.close()
        else:
            sock.close()


class PcapngWriter:
    """Packets -> a pcapng byte stream (one interface block per link type met)."""

    def __init__(self) -> None:
        self._interfaces: dict[int, int] = {}

    @staticmethod
    def header() -> bytes:
        return struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)

    def record(self, linktype: int, ts_us: int, data: bytes) -> bytes:
        out = b""
        interface = self._interfaces.get(linktype)
        if interface is None:
            interface = self._interfaces[linktype] = len(self._interfaces)
            out = struct.pack("<IIHHII", 1, 20, linktype, 0, 0, 20)
        padding = -len(data) % 4
        length = 32 + len(data) + padding
        head = struct.pack("<IIIIIII", 6, length, interface, ts_us >> 32, ts_us & 0xFFFFFFFF, len(data), len(data))
        return out + head + data + b"\0" * padding + struct.pack("<I", length)


class PacketCapture:
    """A byte source over scapy's sniff loop (AsyncSniffer) on an opened socket: the
    live packet socket, or, in tests and replays, any socket scapy can sniff (a
    PcapReader). `endless`: the capture should never end; if it does, the interface
    went away, which is an error."""

    compression = None

    def __init__(self, opened_socket: Any, name: str, *, linktype: int | None = None, endless: bool = False):
        _scapy()
        from scapy.sendrecv import AsyncSniffer

        self.name = name
        self.endless = endless
        self.unreadable = 0
        self._socket = opened_socket
        self._linktype = linktype or getattr(opened_socket, "linktype", None)
        self._writer = PcapngWriter()
        self._buffer = bytearray(self._writer.header())
        self._ready = threading.Condition()
        self._overflow = 0
        self._sniffer = AsyncSniffer(opened_socket=opened_socket, prn=self._on_packet, store=False)
        self._sniffer.start()

    def _on_packet(self, packet: Any) -> None:
        """In the sniffer's thread: must never raise (scapy would close the socket)."""
        try:
            linktype = self._linktype or _layer_linktype(packet)
            data = bytes(packet.original or bytes(packet))
            record = self._writer.record(linktype, _packet_us(packet.time), data)
        except Exception:
            self.unreadable += 1
            return
        with self._ready:
            if len(self._buffer) + len(record) > BUFFER_LIMIT:
                self._overflow += 1
                return
            self._buffer += record
            if len(self._buffer) >= NOTIFY_BYTES:
                self._ready.notify()

    def read(self, timeout: float) -> bytes | None:
        with self._ready:
            if not self._buffer and self._running():
                self._ready.wait(timeout)
            data = bytes(self._buffer)
            self._buffer.clear()
        if data:
            return data
        if self._running():
            return b""
        self._check_ended()
        return None

    def drain(self) -> bytes:
        self.stop()
        with self._ready:
            data = bytes(self._buffer)
            self._buffer.clear()
        return data

    def drops(self) -> int | None:
        dropped, self._overflow = self._overflow, 0
        ins = getattr(self._socket, "ins", None)
        if ins is not None:
            try:
                _, kernel = struct.unpack("II", ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
                dropped += kernel
            except OSError:
                pass
        return dropped

    def problem(self) -> str | None:
        return None

    def stop(self) -> None:
        from scapy.error import Scapy_Exception

        sniffer = self._sniffer
        if sniffer.running:
            with contextlib.suppress(Scapy_Exception):
                sniffer.stop(join=False)
        if sniffer.thread is not None:
            sniffer.thread.join(timeout=5)

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            self._socket.close()

    def _running(self) -> bool:
        thread = self._sniffer.thread
        return thread is not None and thread.is_alive()

    def _check_ended(self) -> None:
        failure = self._sniffer.exception
        if failure is not None:
            raise CaptureError(f"{self.name}: capture failed: {scrub(failure)}")
        if self.endless:
            raise CaptureError(f"{self.name}: the capture stopped: the interface went down or away")


def _packet_us(when: Any) -> int:
    """Microseconds, truncated like the C parser (scapy's EDecimal times are exact)."""
    if isinstance(when, Decimal):
        return int(when * 1_000_000)
    return round(float(when) * 1_000_000)


def _layer_linktype(packet: Any) -> int:
    from scapy.config import conf

    linktype = conf.l2types.layer2num.get(type(packet))
    if linktype is None:
        raise ValueError("unknown link type")
    return linktype


def _link_type(iface: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{iface}/type").read_text())
    except (OSError, ValueError):
        return None


def _is_up(iface: str) -> bool:
    try:
        return bool(int(Path(f"/sys/class/net/{iface}/flags").read_text(), 16) & 0x1)
    except (OSError, ValueError):
        return True


def _scapy() -> None:
    """scapy's platform layer (packet sockets, libpcap) without `scapy.all`, quietly."""
    import logging

    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    import scapy.arch  # noqa: F401 (sets conf.L2listen)
