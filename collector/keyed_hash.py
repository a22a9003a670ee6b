"""HMAC-SHA256 (RFC 2104) with pycryptodome, fast enough for rotating addresses.

Phones that are not connected draw a new random address for every scan, so a busy
store day holds hundreds of thousands of distinct addresses, each hashed once per
epoch. `Crypto.Hash.HMAC.new(key, msg, SHA256)` costs about 30 us a call here, most
of it Python objects around two tiny SHA-256 computations. This class hashes the
key's inner and outer pads once and, per message, copies those two states inside
pycryptodome's own SHA-256 library into preallocated buffers (about 4 us with the
cffi backend). The fast path uses pycryptodome internals; it checks itself against
the public API when it starts and falls back to the public API (still with the pads
hashed once) if they ever change. tests/test_anonymiser.py compares both paths with
`Crypto.Hash.HMAC`.
"""

from __future__ import annotations

import array
import multiprocessing
import signal
from collections.abc import Callable

from Crypto.Hash import SHA256

BLOCK = 64
DIGEST = 32
SALT_BYTES = 32  # the helper's request framing (collector/salts.py makes 32-byte salts)
_SELF_TEST = b"footfall self-test"


class KeyedHash:
    def __init__(self, key: bytes, *, allow_fast: bool = True) -> None:
        if len(key) > BLOCK:
            key = SHA256.new(key).digest()
        padded = key.ljust(BLOCK, b"\0")
        self._inner = SHA256.new(bytes(b ^ 0x36 for b in padded))
        self._outer = SHA256.new(bytes(b ^ 0x5C for b in padded))
        self.int64s: Callable[[list[bytes]], list[int]] = self._public_int64s
        if allow_fast:
            fast = _raw_int64s(self._inner, self._outer)
            if fast is not None and fast([_SELF_TEST]) == self._public_int64s([_SELF_TEST]):
                self.int64s = fast

    @property
    def fast(self) -> bool:
        return self.int64s != self._public_int64s

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def int64(self, message: bytes) -> int:
        """The first 64 bits of the HMAC as a signed integer (Parquet's portable INT64)."""
        return int.from_bytes(self.digest(message)[:8], "big", signed=True)

    def _public_int64s(self, messages: list[bytes]) -> list[int]:
        return [self.int64(message) for message in messages]


def _raw_int64s(
    inner_hash: SHA256.SHA256Hash, outer_hash: SHA256.SHA256Hash
) -> Callable[[list[bytes]], list[int]] | None:
    """int64 of many messages, driving pycryptodome's SHA-256 library directly."""
    try:
        from Crypto.Hash.SHA256 import _raw_sha256_lib as lib
        from Crypto.Util import _raw_api

        work_inner, work_outer = SHA256.new(), SHA256.new()
        inner, outer = inner_hash._state.get(), outer_hash._state.get()
        state_in, state_out = work_inner._state.get(), work_outer._state.get()
        copy, update, finish = lib.SHA256_copy, lib.SHA256_update, lib.SHA256_digest
        middle = _raw_api.create_string_buffer(DIGEST)
        result = _raw_api.create_string_buffer(DIGEST)
        view = memoryview(_raw_api.ffi.buffer(result)) if _raw_api.backend == "cffi" else memoryview(result)
        size = _raw_api.c_size_t
    except (ImportError, AttributeError, TypeError):
        return None
    digest_size = size(DIGEST)
    sizes = {n: size(n) for n in range(64)}
    from_bytes = int.from_bytes

    def int64s(messages: list[bytes]) -> list[int]:
        out: list[int] = []
        append = out.append
        for message in messages:
            copy(inner, state_in)
            update(state_in, message, sizes.get(len(message)) or size(len(message)))
            finish(state_in, middle, digest_size)
            copy(outer, state_out)
            update(state_out, middle, digest_size)
            finish(state_out, result, digest_size)
            append(from_bytes(view[:8], "big", signed=True))
        return out

    int64s.keep_alive = (inner_hash, outer_hash, work_inner, work_outer, middle, result)  # type: ignore[attr-defined]
    return int64s


def mac_to_bytes(mac: int) -> bytes:
    return mac.to_bytes(6, "big")


class HashHelper:
    """A second process that computes half of each large batch of HMACs.

    Hashing newly seen addresses is the collector's largest cost when phones rotate
    their address at every scan, and it is Python-bound, so a thread cannot use the
    machine's second core; a forked process can. The helper is forked before the
    collector starts any thread, receives the epoch's salt and the 6-byte addresses
    through a pipe (memory only, like everything else holding a raw address) and
    sends back their pseudonyms. If it cannot start or dies, hashing stays local.
    """

    PARALLEL_MIN = 4096  # below this, the round trip costs more than it saves

    def __init__(self) -> None:
        self._connection = None
        self._process = None
        try:
            context = multiprocessing.get_context("fork")
            parent, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child, parent), daemon=True, name="footfall-hmac")
            self._process.start()
            child.close()
            self._connection = parent
        except (ValueError, OSError):
            self._process = None

    def int64s(self, salt: bytes, hasher: KeyedHash, messages: list[bytes]) -> list[int]:
        """hasher.int64s(messages), with the second half computed by the helper."""
        if self._connection is None or len(messages) < self.PARALLEL_MIN:
            return hasher.int64s(messages)
        half = len(messages) // 2
        try:
            self._connection.send_bytes(salt + b"".join(messages[half:]))
        except OSError:
            self.close()
            return hasher.int64s(messages)
        local = hasher.int64s(messages[:half])
        try:
            remote = array.array("q", self._connection.recv_bytes())
        except (OSError, EOFError):
            self.close()
            return local + hasher.int64s(messages[half:])
        return local + remote.tolist()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
            self._process = None


def _serve(connection, parent_end) -> None:
    """The helper's loop: (salt + 6-byte addresses) in, native int64 pseudonyms out.
    It ends when the collector closes its end of the pipe (so it must not hold a copy).
    Ctrl-C and a service stop signal the whole process group: the helper leaves the
    shutdown to the collector, which flushes its open part and then closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent_end.close()
    hashers: dict[bytes, KeyedHash] = {}
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        salt, blob = request[:SALT_BYTES], request[SALT_BYTES:]
        hasher = hashers.get(salt)
        if hasher is None:
            hashers.clear()
            hasher = hashers[salt] = KeyedHash(salt)
        values = hasher.int64s([blob[i : i + 6] for i in range(0, len(blob), 6)])
        connection.send_bytes(array.array("q", values).tobytes())
