"""Bytes of an endless capture stream: standard input, a pipe or a FIFO.

A running collector must keep its own clock (roll parts, write quiet minutes, rotate
salts) while no byte arrives, and must stop promptly on a signal, so the stream is
read with select() and a timeout, never with a blocking read. On a stop request it
takes exactly what is already waiting in the pipe (FIONREAD), so every frame a
sender wrote before the signal is collected, while a sender that never pauses cannot
keep it running.

A compressed stream (gzip, bzip2, xz: detected from its first bytes) is decompressed
incrementally, in bounded pieces.
"""

from __future__ import annotations

import array
import bz2
import contextlib
import fcntl
import lzma
import os
import select
import stat
import termios
import zlib
from pathlib import Path
from typing import Any

from footfall.collector.capture_sources import _MAGIC
from footfall.errors import CaptureError

READ_BYTES = 1 << 20  # one read(); a pipe holds at most this much (after F_SETPIPE_SZ)
GATHER_BYTES = 4 << 20  # what is already waiting is read up to this, then parsed at once
PIECE_BYTES = 16 << 20  # decompressed output handed on at a time
INPUT_STEP_BYTES = 64 << 10  # compressed input given to zlib at a time
DRAIN_LIMIT = 64 << 20  # on a stop request: at most this much of what is waiting
_DAMAGE = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


class _Member:
    """One compressed member (gzip member, bzip2 stream, xz stream), bounded output."""

    def __init__(self, compression: str) -> None:
        self._zlib = compression == "gzip"
        self.salvaged = b""  # what the step that met damaged data gave before it
        self._inner: Any
        if self._zlib:
            self._inner = zlib.decompressobj(wbits=31)
        else:
            self._inner = bz2.BZ2Decompressor() if compression == "bzip2" else lzma.LZMADecompressor()

    @property
    def eof(self) -> bool:
        return self._inner.eof

    def has_output(self) -> bool:
        """Output is waiting inside (bz2 / lzma keep their unconsumed input)."""
        return not self._zlib and not self._inner.eof and not self._inner.needs_input

    def step(self, data: bytes | memoryview, limit: int) -> tuple[bytes, bytes | memoryview]:
        """Output (at most `limit`) and the input still to give. zlib gets its input in
        bounded steps, and when it meets damaged data (it raises, and the output of that
        call would be lost) the step is done again from a copy of its state, a byte at a
        time, so that everything zlib can give before the damage is kept (`salvaged`):
        a stream keeps every frame that the same bytes read as a file keep."""
        if not self._zlib:
            out = self._inner.decompress(data, limit)
            return out, self._inner.unused_data if self._inner.eof else b""
        view = memoryview(data)  # slices without copies: the rest may be megabytes
        head, rest = view[:INPUT_STEP_BYTES], view[INPUT_STEP_BYTES:]
        before = self._inner.copy()
        try:
            out = self._inner.decompress(head, limit)
        except zlib.error:
            self.salvaged = _salvage(before, head, limit)
            raise
        if self._inner.eof:
            return out, self._inner.unused_data + rest
        tail = self._inner.unconsumed_tail
        return out, tail + rest if tail else rest


def _salvage(inner: Any, data: memoryview, limit: int) -> bytes:
    """Feeds `data` to a zlib decompressor one byte at a time until it raises: the
    output it gave up to the damage (at most `limit`)."""
    pieces: list[bytes] = []
    size = 0
    for position in range(len(data)):
        try:
            piece = inner.decompress(data[position : position + 1], limit - size)
        except zlib.error:
            break
        pieces.append(piece)
        size += len(piece)
        if inner.unconsumed_tail or inner.eof or size >= limit:
            break
    return b"".join(pieces)


class StreamDecoder:
    """Raw stream bytes in, capture bytes out; the format is told by the first bytes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.compression: str | None = None
        self.damaged: str | None = None
        self._decided = False
        self._input: bytes | memoryview = b""
        self._member: _Member | None = None

    def push(self, data: bytes) -> None:
        if not self.damaged:
            self._input = bytes(self._input) + data
            if not self._decided and len(self._input) >= 6:
                self._decide()

    def end(self) -> None:
        """The stream is over: what it started with decides its format."""
        if not self._decided:
            self._decide()

    def truncated(self) -> bool:
        """A compressed stream that stopped inside a member."""
        return self._member is not None and not self._member.eof

    def pull(self, limit: int = PIECE_BYTES) -> bytes:
        """Up to about `limit` bytes of capture (b"" when more input is needed)."""
        if not self._decided:
            return b""
        if self.compression is None:
            out, self._input = bytes(self._input), b""
            return out
        pieces: list[bytes] = []
        size = 0
        while size < limit and not self.damaged:
            member = self._member
            if member is None or member.eof:
                if not self._input:
                    break
                member = self._member = _Member(self.compression)
            if not self._input and not member.has_output():
                break
            try:
                piece, self._input = member.step(self._input, limit - size)
            except _DAMAGE as exc:
                self.damaged = f"{self.compression} data damaged ({exc})"
                pieces.append(member.salvaged)
                break
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces)

    def _decide(self) -> None:
        self._decided = True
        for magic, kind in _MAGIC.items():
            if bytes(self._input[: len(magic)]) == magic:
                self.compression = kind
        if self.compression == "zstd":
            raise CaptureError(f"{self.name}: zstd-compressed; decompress it first (zstd -dc ... | footfall collect -)")


class PipeSource:
    """A capture stream on a file descriptor (standard input, a pipe, a FIFO)."""

    def __init__(self, fd: int, name: str, wake_fd: int | None = None) -> None:
        self.fd = fd
        self.name = name
        self.wake_fd = wake_fd  # readable when a signal arrived: ends a wait at once
        self.decoder = StreamDecoder(name)
        self.ended = False
        with contextlib.suppress(OSError, AttributeError):
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, READ_BYTES)  # fewer, larger reads

    @classmethod
    def open_fifo(cls, path: Path, name: str, wake_fd: int | None = None) -> PipeSource:
        """Non-blocking open: a FIFO without a writer yet simply has nothing to read
        (Linux reports no end of stream before a writer has come and gone)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise CaptureError(f"{name}: cannot read: {exc.strerror or exc}") from None
        return cls(fd, name, wake_fd)

    @property
    def compression(self) -> str | None:
        return self.decoder.compression

    def read(self, timeout: float) -> bytes | None:
        """Capture bytes that arrived within `timeout` (b"" if none); None at the end."""
        waiting = self.decoder.pull()
        if waiting:
            return waiting
        if self.ended:
            return None
        watched = [self.fd] + ([self.wake_fd] if self.wake_fd is not None else [])
        ready, _, _ = select.select(watched, [], [], timeout)
        if self.wake_fd in ready:
            _empty(self.wake_fd)
        if self.fd not in ready:
            return b""
        gathered = 0
        while gathered < GATHER_BYTES:
            chunk = self._read(READ_BYTES)
            if chunk is None:
                break
            if not chunk:
                self._end()
                break
            self.decoder.push(chunk)
            gathered += len(chunk)
            if not select.select([self.fd], [], [], 0)[0]:
                break
        out = self.decoder.pull()
        if self.decoder.damaged:
            self.ended = True
        return out if out or not self.ended else None

    def drain(self) -> bytes:
        """What is waiting in the pipe now (on a stop request), decoded."""
        waiting = self._waiting()
        while waiting > 0 and not self.ended:
            chunk = self._read(min(waiting, READ_BYTES))
            if not chunk:
                break
            self.decoder.push(chunk)
            waiting -= len(chunk)
        pieces = []
        while piece := self.decoder.pull():
            pieces.append(piece)
        return b"".join(pieces)

    def drops(self) -> int | None:
        return None  # the sender knows (tcpdump prints its drops when it ends), not the pipe

    def problem(self) -> str | None:
        return self.decoder.damaged

    def close(self) -> None:
        if self.fd > 2:
            os.close(self.fd)

    def _read(self, size: int) -> bytes | None:
        """Bytes, b"" at the end of the stream, None when nothing is there after all."""
        try:
            return os.read(self.fd, size)
        except BlockingIOError:
            return None

    def _end(self) -> None:
        self.ended = True
        self.decoder.end()

    def _waiting(self) -> int:
        buffer = array.array("i", [0])
        try:
            fcntl.ioctl(self.fd, termios.FIONREAD, buffer, True)
        except OSError:
            return 0
        return min(buffer[0], DRAIN_LIMIT)


def _empty(fd: int) -> None:
    with contextlib.suppress(BlockingIOError, OSError):
        while os.read(fd, 512):
            pass
