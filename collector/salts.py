"""Per-epoch salts of each store: created at random, shared by the store's sensors,
destroyed once their epoch and a grace period are over.

Layout under the secrets folder (folders 0700, files 0600):

    salts/<store>/<epoch>.salt        32 random bytes, the HMAC key of that epoch
    salts/<store>/<epoch>.json        when the epoch ends and when the salt was last used
    salts/<store>/destroyed.jsonl     one line per destroyed salt: epoch and time, no key

A salt is destroyed when the current time is past both its epoch's end and its last
use by more than the grace: a live sensor forgets yesterday soon after midnight,
while an import of several sensors' old captures, done within the grace, still
links a phone across them. Once destroyed, nobody (the operator included) can link
that epoch's pseudonyms to a MAC address or to another epoch.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from footfall import leftovers, storage
from footfall.epochs import Epoch
from footfall.errors import FootfallError, writing

SALT_BYTES = 32
DIR_MODE = 0o700
FILE_MODE = 0o600
_TEMPORARY = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}\.tmp")  # write_private_file's


@dataclass(frozen=True)
class SaltState:
    store: str
    epoch: str
    epoch_end: datetime
    last_used: datetime
    path: Path

    def expires(self, grace: timedelta) -> datetime:
        return max(self.epoch_end, self.last_used) + grace


def _utc_now() -> datetime:
    return datetime.now(UTC)


def private_dir(path: Path, below: Path | None = None) -> Path:
    """Creates the folder owner-only, and tightens it if it already exists; with
    `below`, every folder from `below` down to `path` gets the same treatment."""
    levels = [path]
    if below is not None:
        levels = [below, *reversed([p for p in path.parents if p.is_relative_to(below) and p != below]), path]
    for level in levels:
        level.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        if level.stat().st_mode & 0o077:
            os.chmod(level, DIR_MODE)
    return path


def tighten(path: Path) -> None:
    """A secret file readable by others (copied in, restored from a backup, written
    by an older version) is made owner-only before it is used again."""
    if path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)


def write_private_file(path: Path, data: bytes, *, exclusive: bool = False) -> bool:
    """Writes a 0600 file atomically. With exclusive=True an existing file wins and
    False is returned, so two collectors starting an epoch together agree on one salt.
    A writer killed before the rename leaves its temporary (`orphaned_temporaries`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    with writing(path):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with writing(path), os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        storage.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def orphaned_temporaries(secrets_dir: Path) -> list[Path]:
    """Temporaries of write_private_file whose writer is gone: a salt or key, half
    written or never renamed, that nothing would ever destroy."""
    found = []
    for temp in sorted(secrets_dir.rglob(".*.tmp")) if secrets_dir.is_dir() else []:
        match = _TEMPORARY.fullmatch(temp.name)
        if match and temp.is_file() and not leftovers.alive(int(match.group(1))):
            found.append(temp)
    return found


def shred(path: Path) -> None:
    """Overwrites then unlinks. (On copy-on-write or journalled storage the old blocks
    may survive the overwrite; keep the secrets folder on a plain local filesystem.)"""
    try:
        size = path.stat().st_size
        with open(path, "r+b", buffering=0) as handle:
            handle.write(b"\0" * size)
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return
    path.unlink(missing_ok=True)


class SaltStore:
    """The salts of every store under one secrets folder."""

    def __init__(self, secrets_dir: Path, grace: timedelta, clock: Callable[[], datetime] | None = None) -> None:
        self.secrets_dir = secrets_dir
        self.now = clock or _utc_now
        """What "now" is for uses and destruction (a test or a replay may set its own clock)."""
        self.root = secrets_dir / "salts"
        self.grace = grace
        self.recreated: set[tuple[str, str]] = set()
        """(store, epoch) whose salt had been destroyed and was made anew in this run:
        their new pseudonyms do not link with the earlier ones."""

    def salt(self, store: str, epoch: Epoch, now: datetime | None = None) -> bytes:
        """The epoch's salt, created if this is the epoch's first use; records the use."""
        folder = private_dir(self.root / store, below=self.secrets_dir)
        key_path = folder / f"{epoch.label}.salt"
        if not key_path.exists():
            if self._was_destroyed(store, epoch.label):
                self.recreated.add((store, epoch.label))
            write_private_file(key_path, secrets.token_bytes(SALT_BYTES), exclusive=True)
        try:
            tighten(key_path)
            key = key_path.read_bytes()
        except OSError as exc:
            raise FootfallError(
                f"cannot read the salt of store {store!r}, epoch {epoch.label}: {exc.strerror}"
            ) from None
        if len(key) != SALT_BYTES:
            raise FootfallError(f"salt file {key_path} is damaged ({len(key)} bytes instead of {SALT_BYTES})")
        self.touch(store, epoch, now)
        return key

    def touch(self, store: str, epoch: Epoch, now: datetime | None = None) -> None:
        """Records a use of the salt, which postpones its destruction by the grace."""
        now = now or self.now()
        meta = {
            "store": store,
            "epoch": epoch.label,
            "epoch_start": epoch.start.isoformat(),
            "epoch_end": epoch.end.isoformat(),
            "last_used": now.isoformat(),
        }
        write_private_file(self.root / store / f"{epoch.label}.json", json.dumps(meta).encode())

    def states(self) -> list[SaltState]:
        """Every live salt, oldest epoch first."""
        found: list[SaltState] = []
        if not self.root.is_dir():
            return found
        for key_path in sorted(self.root.glob("*/*.salt")):
            meta = self._meta(key_path)
            found.append(
                SaltState(
                    store=key_path.parent.name,
                    epoch=key_path.stem,
                    epoch_end=meta["epoch_end"],
                    last_used=meta["last_used"],
                    path=key_path,
                )
            )
        return sorted(found, key=lambda s: (s.epoch_end, s.store))

    def destroy_expired(self, now: datetime | None = None) -> list[SaltState]:
        """Destroys every salt past its epoch and grace; returns what was destroyed."""
        now = now or self.now()
        for temp in orphaned_temporaries(self.secrets_dir):
            shred(temp)
        destroyed = []
        for state in self.states():
            if now > state.expires(self.grace):
                self.destroy(state, now)
                destroyed.append(state)
        return destroyed

    def destroy(self, state: SaltState, now: datetime | None = None) -> None:
        """Destroys one salt now (overwritten, unlinked, a tombstone recorded)."""
        shred(state.path)
        shred(state.path.with_suffix(".json"))
        self._record_destruction(state, now or self.now())

    def _meta(self, key_path: Path) -> dict[str, datetime]:
        """A salt without readable metadata counts as used now and ended now, so it
        is kept for one more grace period rather than destroyed or kept for ever."""
        try:
            raw = json.loads(key_path.with_suffix(".json").read_text())
            return {
                "epoch_end": datetime.fromisoformat(raw["epoch_end"]),
                "last_used": datetime.fromisoformat(raw["last_used"]),
            }
        except (OSError, ValueError, KeyError, TypeError):
            mtime = datetime.fromtimestamp(key_path.stat().st_mtime, UTC)
            return {"epoch_end": mtime, "last_used": mtime}

    def _record_destruction(self, state: SaltState, now: datetime) -> None:
        line = json.dumps({"epoch": state.epoch, "destroyed_at": now.isoformat()}) + "\n"
        log = self.root / state.store / "destroyed.jsonl"
        with writing(log):
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            with os.fdopen(fd, "a") as handle:
                handle.write(line)

    def _was_destroyed(self, store: str, label: str) -> bool:
        log = self.root / store / "destroyed.jsonl"
        if not log.exists():
            return False
        for line in log.read_text().splitlines():
            try:
                if json.loads(line).get("epoch") == label:
                    return True
            except ValueError:
                continue
        return False
