"""Where capture bytes come from: files, folders, globs and standard input,
gzip / bzip2 / xz compressed or not, read in bounded chunks.

While the parser walks the bytes, a helper thread hashes them (SHA-256 of the
decompressed stream, so a capture and its .gz are the same capture): the hash names
the capture in the ingest ledger and in its Parquet parts. hashlib releases the GIL,
so on two cores the hash costs no wall time.
"""

from __future__ import annotations

import bz2
import contextlib
import glob
import gzip
import hashlib
import lzma
import mmap
import os
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from footfall.errors import CaptureError
from footfall.storage import COMPRESSION_MAGIC as _MAGIC

STDIN = "-"
CHUNK_BYTES = 8 << 20
_WINDOW = 32 << 20  # memory-mapped files: hashed and released in windows of this size
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp", ".pcapdump")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
_GLOB_CHARS = set("*?[")


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CaptureSource:
    name: str  # as the user gave it, for messages
    path: Path | None  # None: standard input

    @property
    def size(self) -> int | None:
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None


def is_capture_name(path: Path) -> bool:
    name = path.name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    return name.endswith(CAPTURE_SUFFIXES)


def expand_inputs(args: list[str]) -> tuple[list[CaptureSource], list[str]]:
    """Files as given, folders recursively (capture file names only), globs expanded.
    Returns the sources, in order and without repeats, and one message per argument
    that names nothing."""
    sources: list[CaptureSource] = []
    problems: list[str] = []
    seen: set[str] = set()

    def add(source: CaptureSource) -> None:
        key = STDIN if source.path is None else str(source.path.resolve())
        if key not in seen:
            seen.add(key)
            sources.append(source)

    for arg in args:
        if arg == STDIN:
            add(CaptureSource("<stdin>", None))
            continue
        if _GLOB_CHARS & set(arg) and not Path(arg).exists():
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                problems.append(f"{arg}: no file matches this pattern")
            for match in matches:
                _add_path(Path(match), match, add, explicit=False)
            continue
        path = Path(arg)
        if not path.exists():
            problems.append(f"{arg}: no such file or folder")
            continue
        if not _add_path(path, arg, add, explicit=True):
            problems.append(f"{arg}: no capture in this folder (*.pcap, *.pcapng, *.cap, *.dmp, or compressed)")
    return sources, problems


def _add_path(path: Path, name: str, add, explicit: bool) -> int:
    """How many captures the path holds (a folder: its capture files, searched down)."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and is_capture_name(p))
        for capture in found:
            add(CaptureSource(str(capture), capture))
        return len(found)
    if explicit or is_capture_name(path):
        add(CaptureSource(name, path))
        return 1
    return 0


class CaptureReader:
    """The decompressed bytes of one capture, in chunks, hashed on the side."""

    def __init__(self, source: CaptureSource) -> None:
        self.source = source
        self.compression: str | None = None
        self.damaged: str | None = None
        self._raw: BinaryIO | None = None  # the file we opened (not stdin)
        self._position: Callable[[], int] | None = None
        self._stream: Readable | None = None
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._released = 0
        self._hash_queued = 0  # bytes of the map handed to the hash thread
        self._hashing: deque[tuple[int, Future]] = deque()  # (end offset, task), in order
        self._hash = hashlib.sha256()
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-hash")
        self._pending: list[Future] = []

    def __enter__(self) -> CaptureReader:
        try:
            self._open()
        except OSError as exc:
            self.close()
            raise CaptureError(f"{self.source.name}: cannot read: {exc.strerror or exc}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self) -> None:
        if self.source.path is None:
            raw: BinaryIO = sys.stdin.buffer
        else:
            raw = open(self.source.path, "rb")  # noqa: SIM115 (closed in close())
            self._raw = raw
        head, readable = _peek(raw, 6)
        for magic, kind in _MAGIC.items():
            if head.startswith(magic):
                self.compression = kind
        if self.compression == "zstd":
            raise CaptureError(f"{self.source.name}: zstd-compressed; decompress it first (zstd -d)")
        self._position = raw.tell if raw.seekable() else None
        if self.compression == "gzip":
            self._stream = gzip.GzipFile(fileobj=readable, mode="rb")
        elif self.compression == "bzip2":
            self._stream = bz2.BZ2File(readable, mode="rb")
        elif self.compression == "xz":
            self._stream = lzma.LZMAFile(readable, mode="rb")  # noqa: SIM115 (closed in close())
        elif self.source.path is not None and self.source.size:
            self._map = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            self._map.madvise(mmap.MADV_SEQUENTIAL)
        else:
            self._stream = readable

    def chunks(self) -> Iterator[memoryview | bytes]:
        """The stream's bytes, in order. A memory-mapped file comes as one chunk."""
        if self._map is not None:
            self._view = memoryview(self._map)
            self._queue_hash(_WINDOW)
            yield self._view
            self._queue_hash(len(self._view))
            return
        stream = self._stream
        assert stream is not None
        read = getattr(stream, "read1", stream.read)
        while True:
            try:
                chunk = read(CHUNK_BYTES)
            except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
                self.damaged = f"{self.compression or 'stream'} data damaged ({exc})"
                return
            if not chunk:
                return
            self._pending.append(self._hasher.submit(self._hash.update, chunk))
            yield chunk

    def consumed(self, upto: int) -> None:
        """The parser is done with the first `upto` bytes of a memory-mapped file.

        The hash thread is kept a window ahead of the parser, and pages both are done
        with are dropped from this process (they stay in the page cache), so resident
        memory stays flat on multi-GB captures."""
        if self._map is None:
            return
        self._queue_hash(upto + _WINDOW)
        hashed = self._released
        while self._hashing and self._hashing[0][1].done():
            hashed = self._hashing.popleft()[0]
        if not self._hashing:
            hashed = self._hash_queued
        release = min(upto, hashed)
        release -= release % mmap.PAGESIZE
        if release - self._released >= _WINDOW:
            self._map.madvise(mmap.MADV_DONTNEED, 0, release)
            self._released = release

    def _hash_rest_of_map(self) -> None:
        """What the parser did not reach (it stopped at a corrupt record) is hashed a
        window at a time, each window's pages dropped once hashed: resident memory stays
        flat however much of the file is left."""
        assert self._view is not None and self._map is not None
        while self._hash_queued < len(self._view):
            self._queue_hash(self._hash_queued + _WINDOW)
            while self._hashing:
                self._hashing.popleft()[1].result()
            release = self._hash_queued - self._hash_queued % mmap.PAGESIZE
            if release > self._released:
                self._map.madvise(mmap.MADV_DONTNEED, 0, release)
                self._released = release

    def _queue_hash(self, upto: int) -> None:
        assert self._view is not None
        upto = min(upto, len(self._view))
        while self._hash_queued < upto:
            end = min(self._hash_queued + _WINDOW, upto)
            task = self._hasher.submit(self._hash.update, self._view[self._hash_queued : end])
            self._pending.append(task)
            self._hashing.append((end, task))
            self._hash_queued = end

    def position(self) -> int:
        """Bytes of the file (compressed, as on disk) read so far, for progress; -1 if unknown."""
        if self._map is not None or self._position is None:
            return -1
        try:
            return self._position()
        except OSError:
            return -1

    def content_hash(self) -> str:
        if self._view is not None:
            self._hash_rest_of_map()
        for future in self._pending:
            future.result()
        self._pending.clear()
        return self._hash.hexdigest()

    def close(self) -> None:
        for future in self._pending:
            future.result()
        self._pending.clear()
        self._hashing.clear()
        self._hasher.shutdown(wait=True)
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a caller still holds a view: freed with it
                self._map.close()
            self._map = None
        if self._stream is not None and self._stream is not self._raw:
            self._stream.close()
        if self._raw is not None:
            self._raw.close()


class _Prefixed:
    """A non-seekable stream with the bytes already taken from its start put back."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if not self._prefix:
            return self._rest.read(n)
        if n < 0 or n >= len(self._prefix):
            head, self._prefix = self._prefix, b""
        else:
            head, self._prefix = self._prefix[:n], self._prefix[n:]
        return head

    def read1(self, n: int = -1) -> bytes:
        if self._prefix:
            return self.read(n)
        read1 = getattr(self._rest, "read1", self._rest.read)
        return read1(n)

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("not seekable")

    def close(self) -> None:
        pass


def _peek(raw: BinaryIO, n: int) -> tuple[bytes, BinaryIO]:
    """The first n bytes, and a stream that still starts with them."""
    if raw.seekable():
        head = raw.read(n)
        raw.seek(0)
        return head, raw
    head = b""
    while len(head) < n:
        more = raw.read(n - len(head))
        if not more:
            break
        head += more
    return head, cast(BinaryIO, _Prefixed(head, raw))


def quick_fingerprint(path: Path) -> str | None:
    """Size and SHA-256 of the first MiB: cheap, to spot a capture seen before."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return None
    return f"{size}:{hashlib.sha256(head).hexdigest()[:32]}"


def full_hash(path: Path) -> str:
    """The content hash CaptureReader would compute, without parsing."""
    with CaptureReader(CaptureSource(str(path), path)) as reader:
        for _ in reader.chunks():
            pass
        return reader.content_hash()
