"""`footfall privacy audit`: checks every output against the privacy model and names
each violation by file, column and rule. Clean means no finding at all.

Rules (RULES below): addresses spelled out (`mac-text`) or as raw bytes or integers
(`mac-bytes`), network names (`ssid`), unkeyed hashes of addresses
(`unkeyed-hash`), mart counts below k (`below-k`), partitions past their retention
(`retention`), salts alive past their epoch and grace (`salt-expired`), secrets
readable by others (`permissions`), and files the audit cannot read
(`unreadable`: it cannot vouch for them).

What is scanned: every file under the data folder and the secrets folder (Parquet
decoded column by column and row group by row group, so memory stays small; every
other file, logs and records included, as bytes in chunks), plus any log file or
folder named with --log. The values found are never printed or recorded: a finding
says where and how many, not what.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from footfall import leftovers, outputs, storage, suppression
from footfall.collector.salts import orphaned_temporaries
from footfall.config import Settings
from footfall.data_folder import DataFolder
from footfall.errors import FootfallError, without_addresses
from footfall.privacy import inventory, permissions, records
from footfall.privacy.capture_secrets import CaptureSecrets, read_captures
from footfall.privacy.leak_patterns import MAC_BYTES, MAC_NUMBER, MAC_TEXT, SSID, UNKEYED, LeakMatcher, member
from footfall.privacy.retention import due_salts, leftovers_of_killed_processes, misdated_salts

BELOW_K = "below-k"
RETENTION = "retention"
MISDATED = "misdated"
STRAY = "stray-data"
SALT_EXPIRED = "salt-expired"
PERMISSIONS = "permissions"
UNREADABLE = "unreadable"

RULES = {
    MAC_TEXT: "a MAC address spelled out as text (any case, with or without separators)",
    MAC_BYTES: "the 6 bytes of a MAC address, in a binary value, a file or an integer column",
    MAC_NUMBER: "4 or 5 bytes of a capture's address printed as a number (decimal or hex, either byte order) in a log",
    SSID: "a network name (SSID) from a capture, or a column meant for one",
    UNKEYED: "an unkeyed SHA-256, SHA-1 or MD5 of a MAC address, whole or truncated to the column's width",
    BELOW_K: "a published mart count below k (k = 1 disables the rule)",
    RETENTION: "a partition older than its tier's retention",
    MISDATED: "a partition or salt dated more than a day ahead of now, or on an impossible date",
    STRAY: "data outside the published layout: what a killed run or collector left, or a Parquet file no dataset holds",
    SALT_EXPIRED: "a salt still alive after its epoch's end (and last use) plus the grace",
    PERMISSIONS: "a secret file wider than 0600 or a secret folder wider than 0700",
    UNREADABLE: "a file the audit could not read, so cannot vouch for",
}

CHUNK_BYTES = 4 << 20
OVERLAP = 256  # bytes repeated between chunks, so a value cut by a chunk edge is still seen
# The counts of the declared marts (some are stored as doubles). In a mart not declared,
# every integer column but a calendar dimension is taken for a count.
MART_COUNTS = {name: set(mart.counts()) for name, mart in outputs.MARTS.items()}
MART_DIMENSIONS = frozenset({"hour", "weekday", "week", "month", "year"})


@dataclass(frozen=True, order=True)
class Finding:
    rule: str
    file: Path
    column: str | None = None
    detail: str = ""

    @property
    def shown_file(self) -> str:
        """The file's path with any address in its names replaced: a finding names the
        place, never the value found."""
        return without_addresses(self.file)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "file": self.shown_file, "column": self.column, "detail": self.detail}


@dataclass
class AuditResult:
    time: datetime
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    captures_against: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings

    def by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(f.rule for f in self.findings).items()))

    def record(self) -> dict[str, Any]:
        """What the report and the dashboard show as "the last audit": counts only."""
        return {
            "time": records.timestamp(self.time),
            "clean": self.clean,
            "findings": len(self.findings),
            "by_rule": self.by_rule(),
            "files_scanned": self.files_scanned,
            "captures_against": self.captures_against,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.record(), "items": [f.as_dict() for f in self.findings]}


def audit(
    settings: Settings,
    against: list[Path] | None = None,
    logs: list[Path] | None = None,
    now: datetime | None = None,
) -> AuditResult:
    """Runs every rule (see the module docstring); `against` are captures whose
    addresses and SSIDs are looked for, `logs` extra files or folders to scan."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    DataFolder(settings.data_dir).require("audit")
    for path in logs or []:
        if not path.exists():
            raise FootfallError(f"--log: no such file or folder: {path}")
    secrets = read_captures(against or []) if against else CaptureSecrets()
    result = AuditResult(time=now, captures_against=len(against or []))
    matcher = LeakMatcher(secrets, _names(settings), not_ssids=[path.name for path in against or []])
    scanner = _Scanner(settings, matcher, result)
    data_files = []
    for root, path in _files(settings, logs or []):
        scanner.scan_file(path, root)
        if root == settings.data_dir:
            data_files.append(path)
    result.findings += _retention(settings, now)
    result.findings += _misdated(settings, now)
    result.findings += _stray(settings, data_files)
    result.findings += _salts(settings, now)
    result.findings += [
        Finding(PERMISSIONS, loose.path, None, loose.describe()) for loose in permissions.loose_secrets(settings)
    ]
    result.findings.sort(key=lambda f: (list(RULES).index(f.rule), str(f.file), f.column or ""))
    return result


def record(settings: Settings, result: AuditResult) -> Path:
    return records.write(settings.data_dir, records.LAST_AUDIT, result.record())


def _names(settings: Settings) -> list[str]:
    """Store and sensor names: the operator's words, which an SSID may share."""
    names = set(inventory.stores(settings))
    for store in settings.file.stores.values():
        names |= set(store.sensors)
    return sorted(names)


def _files(settings: Settings, logs: list[Path]) -> Iterator[tuple[Path, Path]]:
    """(root, file) for every file under the roots, each file once."""
    seen: set[Path] = set()
    roots = [settings.data_dir, settings.secrets_dir, settings.optout_path, *logs]
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in candidates:
            resolved = path.resolve()
            if path.is_file() and resolved not in seen:
                seen.add(resolved)
                yield (root.parent if root.is_file() else root), path


# --- values -----------------------------------------------------------------------------


class _Scanner:
    def __init__(self, settings: Settings, matcher: LeakMatcher, result: AuditResult) -> None:
        self.settings = settings
        self.matcher = matcher
        self.result = result

    def scan_file(self, path: Path, root: Path) -> None:
        self.result.files_scanned += 1
        name = str(path.relative_to(root) if path.is_relative_to(root) else path).encode()
        self._report(self.matcher.scan(name), path, None, "the file's name or folders")
        try:
            if path.suffix == ".parquet" and not path.name.startswith("."):
                self._parquet(path)
            else:
                self._blob_file(path)
        except OSError as exc:
            self._add(UNREADABLE, path, None, f"cannot read it: {exc.strerror or exc}")

    def _add(self, rule: str, path: Path, column: str | None, detail: str) -> None:
        self.result.findings.append(Finding(rule, path, column, detail))

    def _report(self, found: Counter[str], path: Path, column: str | None, where: str) -> None:
        for rule, count in sorted(found.items()):
            self._add(rule, path, column, f"{count} occurrence(s) in {where}")

    def _blob_file(self, path: Path) -> None:
        """Every other file as bytes; a compressed one (a rotated log.gz) decompressed.
        Numbers are looked at here only: logs and records print numbers, data does not."""
        found: Counter[str] = Counter()
        with _open_blob(path) as (handle, compression):
            tail = b""
            try:
                while chunk := handle.read(CHUNK_BYTES):
                    blob = tail + chunk
                    found.update(self.matcher.scan(blob) + self.matcher.scan_numbers(blob))
                    found.subtract(self.matcher.scan(tail) + self.matcher.scan_numbers(tail))  # counted already
                    tail = blob[-OVERLAP:]
            except (EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
                if compression is None:
                    raise
                self._add(UNREADABLE, path, None, f"{compression} data damaged after what was scanned ({exc})")
        where = "the file" if compression is None else f"the file ({compression}-decompressed)"
        found = +found
        if found:
            self._report_lines(found, path, where)

    def _report_lines(self, found: Counter[str], path: Path, where: str) -> None:
        """A text file's findings with the lines they are on (a log's reader goes there);
        a binary file has no lines."""
        lines = _leak_lines(path, self.matcher)
        for rule, count in sorted(found.items()):
            on = lines.get(rule, [])
            self._add(rule, path, None, f"{count} occurrence(s) in {where}" + (f", {_line_list(on)}" if on else ""))

    def _parquet(self, path: Path) -> None:
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
        except (pa.ArrowException, ValueError) as exc:
            self._add(UNREADABLE, path, None, f"not a readable Parquet file ({type(exc).__name__})")
            self._blob_file(path)
            return
        header = "\n".join(schema.names).encode()
        for key, value in (schema.metadata or {}).items():
            if key != b"ARROW:schema":
                header += b"\n" + key + b"\n" + value
        self._report(self.matcher.scan(header), path, None, "the file's schema or metadata")
        mart = self._mart(path)
        for name in schema.names:
            if "ssid" in name.lower():
                self._add(SSID, path, name, "a column named for network names")
            kind = _kind(schema.field(name).type)
            is_count = mart is not None and _is_count(mart, name, kind)
            if kind in ("text", "binary", "nested") or is_count or (kind == "int64" and self.matcher.knows_captures):
                try:
                    self._column(parquet, path, name, is_count)
                except (pa.ArrowException, ValueError) as exc:
                    self._add(UNREADABLE, path, name, f"cannot decode the column ({type(exc).__name__})")

    def _mart(self, path: Path) -> str | None:
        """The mart's name when the file is a mart's."""
        try:
            parts = path.relative_to(self.settings.data_dir).parts
        except ValueError:
            return None
        return parts[1] if len(parts) > 2 and parts[0] == "marts" else None

    def _column(self, parquet: pq.ParquetFile, path: Path, name: str, is_count: bool) -> None:
        found: Counter[str] = Counter()
        below_k = 0
        k = self.settings.privacy.k
        for group in range(parquet.num_row_groups):
            for leaf in _leaves(parquet.read_row_group(group, columns=[name]).column(0)):
                kind = _kind(leaf.type)
                if kind in ("text", "binary"):
                    found += self._values(leaf, kind)
                elif kind == "int64" and self.matcher.knows_captures:
                    found += self._integers(leaf)
                if is_count:
                    below_k += suppression.below_k(leaf, k)
        self._report(found, path, name, "the column's values")
        if below_k:
            self._add(BELOW_K, path, name, f"{below_k} cell(s) below k = {k} not suppressed")

    def _values(self, leaf: pa.Array, kind: str) -> Counter[str]:
        if pa.types.is_dictionary(leaf.type):
            leaf = leaf.dictionary
        distinct = pc.unique(leaf.cast(pa.large_binary())).drop_null().to_pylist()
        found = self.matcher.scan(b"\n".join(distinct))
        if kind == "binary":
            mac_like = sum(self.matcher.is_mac_like_value(v) for v in distinct)
            if mac_like:
                found[MAC_BYTES] += mac_like
        return found

    def _integers(self, leaf: pa.Array) -> Counter[str]:
        values = leaf.drop_null().to_numpy(zero_copy_only=False)
        unsigned = values.dtype == np.uint64
        unkeyed = self.matcher.unkeyed_uint64 if unsigned else self.matcher.unkeyed_int64
        macs = self.matcher.mac_integers.astype(values.dtype)
        found: Counter[str] = Counter()
        found[UNKEYED] = int(member(values, unkeyed).sum())
        found[MAC_BYTES] = int(member(values, macs).sum())
        return +found


@contextlib.contextmanager
def _open_blob(path: Path) -> Iterator[tuple[BinaryIO, str | None]]:
    """The file's bytes, decompressed when it starts like gzip, bzip2 or xz."""
    with open(path, "rb") as raw:
        kind = storage.compression_of(raw.read(6))
        raw.seek(0)
        opener = _DECOMPRESS.get(kind or "")
        if opener is None:  # not compressed (zstd is scanned as it is)
            yield raw, None
            return
        with opener(raw) as inner:
            yield inner, kind


_DECOMPRESS: dict[str, Any] = {
    "gzip": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"),
    "bzip2": lambda raw: bz2.BZ2File(raw, mode="rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, mode="rb"),  # noqa: SIM115 (closed by the caller)
}


LINES_SHOWN = 10


def _leak_lines(path: Path, matcher: LeakMatcher) -> dict[str, list[int]]:
    """Per rule, the numbers of the lines that hold a finding; nothing for a file that is
    not text (a NUL byte), where a line means nothing."""
    lines: dict[str, list[int]] = {}
    with _open_blob(path) as (handle, _), contextlib.suppress(EOFError, zlib.error, lzma.LZMAError, OSError):
        for number, line in enumerate(handle, 1):
            if b"\0" in line:
                return {}
            for rule in matcher.scan(line) + matcher.scan_numbers(line):
                lines.setdefault(rule, []).append(number)
    return lines


def _line_list(numbers: list[int]) -> str:
    """'line 3', 'lines 3, 17 and 40', 'lines 3, 17, ... (12 lines)'."""
    if len(numbers) == 1:
        return f"line {numbers[0]}"
    shown = ", ".join(str(n) for n in numbers[:LINES_SHOWN])
    if len(numbers) > LINES_SHOWN:
        return f"lines {shown}, ... ({len(numbers)} lines)"
    head, last = shown.rsplit(", ", 1)
    return f"lines {head} and {last}"


def _is_count(mart: str, column: str, kind: str) -> bool:
    return column in MART_COUNTS.get(mart, ()) or (kind in ("int", "int64") and column not in MART_DIMENSIONS)


def _kind(arrow_type: pa.DataType) -> str:
    """How a column is searched: text and binary values for every rule, 64-bit
    integers for hashes and addresses, other integers only as mart counts."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "binary"
    if pa.types.is_fixed_size_binary(arrow_type):
        return "binary"
    if pa.types.is_int64(arrow_type) or pa.types.is_uint64(arrow_type):
        return "int64"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_nested(arrow_type):
        return "nested"
    return "other"


def _leaves(column: pa.ChunkedArray | pa.Array) -> Iterator[pa.Array]:
    """The arrays of a column, nested lists and structs flattened to their values."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if pa.types.is_struct(chunk.type):
            for index in range(chunk.type.num_fields):
                yield from _leaves(chunk.field(index))
        elif pa.types.is_list(chunk.type) or pa.types.is_large_list(chunk.type):
            yield from _leaves(chunk.flatten())
        else:
            yield chunk


# --- state ------------------------------------------------------------------------------


def _retention(settings: Settings, now: datetime) -> list[Finding]:
    found = []
    ages = inventory.Ages(settings, now)
    for partition in inventory.partitions(settings.data_dir):
        if partition.names and ages.expired(partition):
            tier = outputs.tier_of(partition.dataset)
            days = inventory.retention_days(settings, tier)
            found.append(
                Finding(
                    RETENTION,
                    partition.path,
                    None,
                    f"{partition.dataset} of {partition.date} is kept {days} day(s) ({tier}): "
                    "`footfall retention` deletes it",
                )
            )
    return found


def _misdated(settings: Settings, now: datetime) -> list[Finding]:
    found = [
        Finding(MISDATED, folder.path, None, f"{folder.dataset} dated {folder.reason}: `footfall retention` deletes it")
        for folder in inventory.misdated(settings, now)
    ]
    found += [
        Finding(MISDATED, state.path, None, "a salt of an impossible or future epoch: `footfall retention` destroys it")
        for state in misdated_salts(settings, now)
    ]
    return found


def _stray(settings: Settings, data_files: list[Path]) -> list[Finding]:
    """What killed processes left (pseudonymous, outside every tier), and any Parquet
    file of the data folder outside the published layout DATASET/store=S/date=D/."""
    killed = "left by a killed process (it is gone): `footfall retention` removes it"
    found = [Finding(STRAY, path, None, killed) for path in leftovers_of_killed_processes(settings)]
    found += [Finding(STRAY, path, None, killed) for path in orphaned_temporaries(settings.secrets_dir)]
    outside = "a Parquet file outside the published layout: no tier keeps or ages it"
    for path in data_files:
        parts = path.relative_to(settings.data_dir).parts
        if path.suffix != ".parquet" or parts[0] == leftovers.PIPELINE or storage.is_published_path(parts):
            continue  # the pipeline's folders: a live run's (a killed run's are listed above)
        found.append(Finding(STRAY, path, None, outside))
    return found


def _salts(settings: Settings, now: datetime) -> list[Finding]:
    grace = timedelta(hours=settings.privacy.salt_grace_hours)
    return [
        Finding(
            SALT_EXPIRED,
            state.path,
            None,
            f"epoch {state.epoch}: due for destruction at {records.timestamp(state.expires(grace).astimezone(UTC))}",
        )
        for state in due_salts(settings, now)
    ]
