"""The channel a monitor-mode adapter listens on: fixed, or hopping through `iw`.

A phone probes on every channel in turn, so one channel hears most phones (1, 6 and
11 carry most 2.4 GHz probes); hopping hears 5 GHz-only phones too, at the cost of
missing the bursts sent while the adapter is elsewhere. Which plan was in force is
recorded with every heartbeat row (`channels`: "6", or "1,6,11/0.5s"), so a change of
counts can be told from a change of plan.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from footfall.errors import FootfallError, without_addresses

IW_TIMEOUT_SECONDS = 5.0
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=IW_TIMEOUT_SECONDS, check=False)


@dataclass(frozen=True)
class ChannelPlan:
    channels: tuple[int, ...]
    dwell_s: float = 0.5

    @property
    def hops(self) -> bool:
        return len(self.channels) > 1

    def describe(self) -> str:
        listed = ",".join(str(c) for c in self.channels)
        return f"{listed}/{self.dwell_s:g}s" if self.hops else listed


def parse_channels(text: str, flag: str) -> tuple[int, ...]:
    """'1,6,11' -> (1, 6, 11); 802.11 channel numbers run from 1 to 196."""
    channels = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item.isdigit() or not 1 <= int(item) <= 196:
            raise FootfallError(f"{flag}: {item!r} is not a Wi-Fi channel number (1-196)")
        channels.append(int(item))
    if not channels:
        raise FootfallError(f"{flag}: give at least one channel, e.g. 1,6,11")
    return tuple(dict.fromkeys(channels))


def set_channel(iface: str, channel: int, run: Runner = _run) -> None:
    command = ["iw", "dev", iface, "set", "channel", str(channel)]
    try:
        done = run(command)
    except FileNotFoundError:
        raise FootfallError("setting the channel needs the `iw` tool: sudo apt-get install iw") from None
    except subprocess.TimeoutExpired:
        raise FootfallError(f"{' '.join(command)}: no answer within {IW_TIMEOUT_SECONDS:g} s") from None
    if done.returncode != 0:
        why = without_addresses(done.stderr or done.stdout).strip().splitlines()
        hint = (
            f" (is a network manager using {iface}? nmcli device set {iface} managed no)" if "busy" in str(why) else ""
        )
        raise FootfallError(f"{' '.join(command)}: {why[-1] if why else f'exit status {done.returncode}'}{hint}")


class ChannelHopper:
    """Tunes the adapter to the plan's first channel now (a failure is an error the
    user sees at start), then, for a hopping plan, cycles through it in a thread."""

    def __init__(self, iface: str, plan: ChannelPlan, run: Runner = _run, log: Callable[[str], None] | None = None):
        self.iface = iface
        self.plan = plan
        self.hops_done = 0
        self.failures = 0
        self._run = run
        self._log = log or (lambda message: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        set_channel(self.iface, self.plan.channels[0], self._run)
        if self.plan.hops:
            self._thread = threading.Thread(target=self._hop, name="footfall-hop", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=IW_TIMEOUT_SECONDS + 1)

    def _hop(self) -> None:
        position = 0
        while not self._stop.wait(self.plan.dwell_s):
            position = (position + 1) % len(self.plan.channels)
            try:
                set_channel(self.iface, self.plan.channels[position], self._run)
                self.hops_done += 1
            except FootfallError as exc:
                self.failures += 1
                if self.failures == 1:
                    self._log(f"channel hop failed ({exc}); hopping goes on")
