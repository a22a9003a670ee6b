"""How far a capture's bytes are already collected: a stream sent again (whole, or
after its collector was killed) and a capture whose bytes a stream sent give each
frame once.

Every capture leaves marks: SHA-256 hashes of its first bytes, at offsets.

    head     the first HEAD_BYTES bytes (or fewer, in a shorter capture): tells
             another capture apart within its first few frames
    done     an offset at a record boundary up to which every frame is published,
             in every dataset and on every date
    pending  a stream's commit under way when its writer stopped: its offset and
             the files it was renaming into place (whether they all arrived is
             read from the files themselves)

A stream records its marks at every commit, before its parts are renamed, in a
small file of its session (DATA/_ingest/streams/<store>/<session>.json, replaced
whole); a capture file's head and end go with its line in the ingest ledger.

A new capture watches the marks of the earlier ones (PrefixWatch): it hashes the
bytes the parser consumes and stops the parser exactly at each offset to check.
While an earlier capture may still match, nothing is published (a stream defers its
rolls); at a mark that matches, what the new capture holds of the bytes before it
is discarded, since it is on disk already; once every earlier capture has matched
to its last mark or differed, the rest is collected as usual. A capture that
differs is told within its first HEAD_BYTES bytes (a frame's time and address are
in them), so a new stream waits for its first few frames at most.

The hashes are of long runs of capture bytes (frames with their times, sequence
numbers and addresses), as the ledger's content hash is: not of an address alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from footfall import leftovers, storage

HEAD_BYTES = 4096
OFFSET_KEY = b"footfall.stream_offset"  # a heartbeat day file's footer: the bytes it covers


@dataclass(frozen=True)
class Mark:
    offset: int
    sha256: str  # of the capture's bytes [0, offset)

    def as_json(self) -> list[Any]:
        return [self.offset, self.sha256]

    @classmethod
    def of(cls, value: Any) -> Mark | None:
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and value[0] > 0
            and isinstance(value[1], str)
        ):
            return cls(value[0], value[1])
        return None


@dataclass(frozen=True)
class Pending:
    """A commit that was renaming its files into place: sightings parts (new names)
    and heartbeat day files (replaced; their footer says how far they cover)."""

    mark: Mark
    sightings: tuple[str, ...] = ()  # paths under the data folder
    heartbeats: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """The marks one earlier capture (a stream's session, or a file) left."""

    name: str
    head: Mark
    done: Mark | None = None
    pending: Pending | None = None
    pid: int | None = None  # a stream's collector, while it may be running
    started: int | None = None  # and when that process started (a later process may reuse its id)

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "head": self.head.as_json(), "pid": self.pid}
        if self.started is not None:
            found["started"] = self.started
        if self.done is not None:
            found["done"] = self.done.as_json()
        if self.pending is not None:
            found["pending"] = {
                "mark": self.pending.mark.as_json(),
                "sightings": list(self.pending.sightings),
                "heartbeats": list(self.pending.heartbeats),
            }
        return found

    @classmethod
    def of(cls, value: Any) -> Progress | None:
        """From its JSON; None for anything damaged (a capture then simply counts as new)."""
        if not isinstance(value, dict) or (head := Mark.of(value.get("head"))) is None:
            return None
        pending = None
        raw = value.get("pending")
        if isinstance(raw, dict) and (mark := Mark.of(raw.get("mark"))) is not None:
            pending = Pending(mark, _paths(raw.get("sightings")), _paths(raw.get("heartbeats")))
        pid, started = value.get("pid"), value.get("started")
        return cls(
            str(value.get("name", "")),
            head,
            Mark.of(value.get("done")),
            pending,
            pid if isinstance(pid, int) else None,
            started if isinstance(started, int) else None,
        )


def _paths(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


class StreamRecords:
    """The marks of a store's streams, one small file per session."""

    def __init__(self, data_dir: Path, store: str) -> None:
        self.folder = data_dir / "_ingest" / "streams" / store

    def write(self, session: str, progress: Progress) -> None:
        storage.write_atomically(self.folder / f"{session}.json", json.dumps(progress.as_json()) + "\n")

    def remove(self, session: str) -> None:
        """A withdrawn stream's record (its parts are gone: it covers nothing)."""
        (self.folder / f"{session}.json").unlink(missing_ok=True)

    def read(self, but: str | None = None) -> list[Progress]:
        """Every session's marks (but one's own); sessions whose collector still runs
        are left out: their commit under way is not a crash's."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            if path.stem == but:
                continue
            try:
                progress = Progress.of(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
            if progress is not None and not _running(progress):
                found.append(progress)

        return found


def _running(progress: Progress) -> bool:
    """Whether the session's collector is still at work (another process than this one)."""
    pid = progress.pid
    if pid is None or pid == os.getpid() or not leftovers.alive(pid):
        return False
    return progress.started is None or leftovers.process_started(pid) == progress.started


@dataclass
class Coverage:
    """What is on disk already of the bytes before a mark just reached."""

    sightings: bool = False
    heartbeat_dates: set[str] | None = field(default_factory=set)  # None: every date

    def add(self, other: Coverage) -> None:
        self.sightings |= other.sightings
        if self.heartbeat_dates is None or other.heartbeat_dates is None:
            self.heartbeat_dates = None
        else:
            self.heartbeat_dates |= other.heartbeat_dates

    def covers(self, date: str) -> bool:
        return self.heartbeat_dates is None or date in self.heartbeat_dates

    @property
    def anything(self) -> bool:
        return self.sightings or self.heartbeat_dates is None or bool(self.heartbeat_dates)


EVERYTHING = Coverage(True, None)


class _Candidate:
    """An earlier capture the bytes may repeat: its marks, checked in order."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        checks: list[tuple[int, str, str]] = [(progress.head.offset, progress.head.sha256, "head")]
        if progress.done is not None:
            checks.append((progress.done.offset, progress.done.sha256, "done"))
        if progress.pending is not None:
            checks.append((progress.pending.mark.offset, progress.pending.mark.sha256, "pending"))
        self.checks = sorted(checks, key=lambda check: (check[0], check[2] != "head"))

    @property
    def next_offset(self) -> int:
        return self.checks[0][0]

    def next_stop(self) -> int | None:
        """The next record boundary to stop at (head checks need none)."""
        for offset, _, kind in self.checks:
            if kind != "head":
                return offset
        return None


class PrefixWatch:
    """The bytes the parser consumed, hashed, and the earlier captures they may repeat."""

    def __init__(self, data_dir: Path, earlier: Iterable[Progress], *, always: bool) -> None:
        self.data_dir = data_dir
        self.offset = 0
        self.head: Mark | None = None
        """This capture's own head, once it has HEAD_BYTES bytes (or its end)."""
        self.matched: Mark | None = None
        """The furthest mark of an earlier capture these bytes repeat."""
        self._always = always  # a stream: its commits need the hash of everything
        self._sha: Any = hashlib.sha256()
        self._candidates = [_Candidate(progress) for progress in earlier]

    @property
    def live(self) -> bool:
        """Whether an earlier capture may still match a mark ahead (publishing waits)."""
        return bool(self._candidates)

    @property
    def hashing(self) -> bool:
        return self._sha is not None

    def next_stop(self) -> int | None:
        """The nearest offset ahead the parser must stop at exactly (a record boundary
        of the earlier capture)."""
        stops = [stop for c in self._candidates if (stop := c.next_stop()) is not None and stop > self.offset]
        return min(stops) if stops else None

    def unreachable(self, stop: int) -> None:
        """The parser could not stop at `stop`: no record ends there, so the captures
        that have a mark there are other captures."""
        self._candidates = [c for c in self._candidates if c.next_stop() != stop]

    def mark(self) -> Mark:
        """The mark of everything consumed so far (a stream's commit)."""
        assert self._sha is not None, "a stream hashes everything"
        return Mark(self.offset, self._sha.hexdigest())

    def digest_with(self, rest: bytes) -> str:
        """The SHA-256 of everything consumed and then `rest` (a stream's bytes not yet
        parsed at its end): a whole stream's content hash, as a file's."""
        assert self._sha is not None, "a stream hashes everything"
        sha = self._sha.copy()
        sha.update(rest)
        return sha.hexdigest()

    def consume(self, data: memoryview | bytes) -> Coverage:
        """The parser's next consumed bytes; returns what the marks reached on the way
        (at their very end: the parser stops at each) say is on disk already."""
        found = Coverage()
        if self._sha is None:
            self.offset += len(data)
            return found
        start = self.offset
        end = start + len(data)
        checkpoints = {offset for c in self._candidates for offset, _, _ in c.checks if start < offset <= end}
        if self.head is None and start < HEAD_BYTES <= end:
            checkpoints.add(HEAD_BYTES)
        done = 0
        for offset in sorted(checkpoints):
            self._sha.update(data[done : offset - start])
            done = offset - start
            self.offset = offset
            digest = self._sha.hexdigest()
            if offset == HEAD_BYTES and self.head is None:
                self.head = Mark(offset, digest)
            found.add(self._check(offset, digest, at_end=offset == end))
        self._sha.update(data[done:])
        self.offset = end
        if not self._always and not self._candidates and self.head is not None:
            self._sha = None  # a file hashes its head, and as long as it may repeat another capture
        return found

    def own_head(self) -> Mark | None:
        """This capture's head: its first HEAD_BYTES bytes, or all of it when shorter."""
        if self.head is None and self._sha is not None and self.offset:
            return Mark(self.offset, self._sha.hexdigest())
        return self.head

    def _check(self, offset: int, digest: str, *, at_end: bool) -> Coverage:
        """The marks at this offset. A record boundary (done, pending) counts only where
        the parser stopped: what was parsed up to here is what the mark covers."""
        found = Coverage()
        staying = []
        for candidate in self._candidates:
            while candidate.checks and candidate.checks[0][0] == offset:
                _, expected, kind = candidate.checks.pop(0)
                if expected != digest or (kind != "head" and not at_end):
                    candidate.checks = []
                    break
                if kind == "head":
                    continue
                self.matched = Mark(offset, digest)
                if kind == "done":
                    found.add(EVERYTHING)
                else:
                    assert candidate.progress.pending is not None
                    found.add(self._arrived(candidate.progress.pending))
            if candidate.checks:
                staying.append(candidate)
        self._candidates = staying
        return found

    def _arrived(self, pending: Pending) -> Coverage:
        """What of an interrupted commit reached its place. Its heartbeat day files were
        replaced first, each one's footer saying how far it covers; then its sightings
        parts were renamed: all of them, or the ones that arrived are removed (the bytes
        are collected again)."""
        dates = set()
        for name in pending.heartbeats:
            path = self.data_dir / name
            if _covered_offset(path) >= pending.mark.offset:
                dates.add(path.parent.name.removeprefix(storage.DATE_KEY))
        parts = [self.data_dir / name for name in pending.sightings]
        if all(part.exists() for part in parts):
            return Coverage(True, None if len(dates) == len(pending.heartbeats) else dates)
        for part in parts:
            part.unlink(missing_ok=True)
        return Coverage(False, None if len(dates) == len(pending.heartbeats) else dates)


def _covered_offset(path: Path) -> int:
    try:
        metadata = pq.read_metadata(path).metadata or {}
        return int(metadata.get(OFFSET_KEY, b"0"))
    except (OSError, ValueError):
        return 0
