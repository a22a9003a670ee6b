"""Which captures a store has already collected, by content hash.

One JSON line per collected capture in DATA/_ingest/<store>.jsonl: the SHA-256 of its
(decompressed) bytes, a cheap fingerprint (size and hash of the first MiB) to spot a
repeat before reading a whole file, the sensor, when, and what came out. No path and
nothing from inside the capture. Collecting a capture found here is skipped, so
re-running a collection never double counts. A running stream adds a line (dates and
time only) when it first writes a new date, so that retention knows when every
partition of sightings was written by footfall.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from footfall.errors import writing


class IngestLedger:
    def __init__(self, data_dir: Path, store: str) -> None:
        self.store = store
        self.path = data_dir / "_ingest" / f"{store}.jsonl"

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            try:
                found.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash: the capture will simply be collected again
        return found

    def find(self, content_hash: str) -> dict[str, Any] | None:
        for entry in self.entries():
            if entry.get("sha256") == content_hash:
                return entry
        return None

    def collected(self) -> dict[str, datetime]:
        """When each local date (YYYY-MM-DD) of the store last received collected data:
        the provenance retention counts from (a partition footfall did not write has
        none, and ages from its own date)."""
        latest: dict[str, datetime] = {}
        for entry in self.entries():
            try:
                when = datetime.fromisoformat(entry["collected_at"])
            except (KeyError, TypeError, ValueError):
                continue
            for day in [*(entry.get("dates") or []), *(entry.get("heartbeat_dates") or [])]:
                if isinstance(day, str) and (day not in latest or when > latest[day]):
                    latest[day] = when
        return latest

    def record_capture(
        self,
        content_hash: str,
        *,
        fingerprint: str | None,
        sensor: str,
        frames: int,
        sightings: int,
        dates: list[str],
        heartbeat_dates: list[str],
        status: str,
    ) -> None:
        """A capture collected whole (a file, or a stream to its end): what makes a
        repeat of it a duplicate. Heartbeat dates too: frames may fall on days without a probe."""
        self.record(
            {
                "sha256": content_hash,
                "fingerprint": fingerprint,
                "sensor": sensor,
                "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "frames": frames,
                "sightings": sightings,
                "dates": dates,
                "heartbeat_dates": heartbeat_dates,
                "status": status,
            }
        )

    def record_dates(self, sensor: str, dates: list[str]) -> None:
        """A stream's parts for new local dates: provenance only (no content hash, so it
        never makes a capture look collected)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.record({"collected_at": now, "dates": sorted(dates), "sensor": sensor, "status": "streaming"})

    def knows_fingerprint(self, fingerprint: str) -> bool:
        return any(entry.get("fingerprint") == fingerprint for entry in self.entries())

    def record(self, entry: dict[str, Any]) -> None:
        """Appends one line (a single write, so concurrent collectors do not interleave)."""
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with writing(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
