"""The opt-out list: devices whose owners asked not to be counted.

The list holds no MAC address, only HMAC-SHA256(opt-out key, MAC) in hex, one per
line; the key is a random secret in the secrets folder (optout.key, 0600), apart from
the epoch salts so that it survives their destruction. The collector checks each
new address against the list in memory and drops its frames before anything is
written.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from footfall.collector.keyed_hash import KeyedHash
from footfall.collector.salts import private_dir, tighten, write_private_file
from footfall.errors import FootfallError

KEY_NAME = "optout.key"


class OptOutList:
    def __init__(self, secrets_dir: Path, list_path: Path) -> None:
        self.secrets_dir = secrets_dir
        self.path = list_path
        self._hasher: KeyedHash | None = None
        self.entries: frozenset[str] = self._read()

    def __len__(self) -> int:
        return len(self.entries)

    def contains(self, mac: bytes) -> bool:
        return bool(self.entries) and self._hash(mac) in self.entries

    def add(self, macs: list[bytes]) -> int:
        """Adds the devices; returns how many were new."""
        new = {self._hash(mac) for mac in macs} - self.entries
        if new:
            self._write(self.entries | new)
        return len(new)

    def remove(self, macs: list[bytes]) -> int:
        """Takes the devices off the list; returns how many were on it. The key stays:
        without the list, it reveals nothing."""
        if not self.entries:
            return 0
        gone = {self._hash(mac) for mac in macs} & self.entries
        if gone:
            self._write(self.entries - gone)
        return len(gone)

    def _write(self, entries: frozenset[str]) -> None:
        self.entries = entries
        private_dir(self.secrets_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{entry}\n" for entry in sorted(self.entries))
        write_private_file(self.path, body.encode())

    def _hash(self, mac: bytes) -> str:
        if self._hasher is None:
            self._hasher = KeyedHash(self._key())
        return self._hasher.digest(mac).hex()

    def _key(self) -> bytes:
        path = self.secrets_dir / KEY_NAME
        if not path.exists():
            private_dir(self.secrets_dir)
            write_private_file(path, secrets.token_bytes(32), exclusive=True)
        tighten(path)
        key = path.read_bytes()
        if len(key) != 32:
            raise FootfallError(f"opt-out key {path} is damaged ({len(key)} bytes instead of 32)")
        return key

    def _read(self) -> frozenset[str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return frozenset()
        except (OSError, UnicodeDecodeError) as exc:
            raise FootfallError(f"cannot read the opt-out list {self.path}: {exc}") from None
        entries = set()
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            if not re.fullmatch(r"[0-9a-f]{64}", line):
                raise FootfallError(
                    f"opt-out list {self.path}: line {number} is not a keyed hash (64 hex digits); "
                    "add devices with `footfall optout add`, never by hand"
                )
            entries.add(line)
        return frozenset(entries)
