"""How footfall keeps files: the Hive layout of every dataset, which files of a
partition are published, how a file replaces another, and how a compressed input
is recognised. The one place that knows these rules; every writer and reader asks here.

    DATA/<dataset>/store=<store>/date=<YYYY-MM-DD>/<part>.parquet

A dataset is `sightings`, `heartbeats`, `visits` or `marts/<mart>` (footfall.outputs
declares them); `date` is the store's local day. A partition is published part by
part: each part is written under a hidden name and renamed into place (replace()),
so that a reader (and a crash) never sees half a file. Names starting with `.` or
`_` are not published: a writer's temporaries, a staging area, a trash folder.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from footfall.errors import writing

STORE_KEY = "store="
DATE_KEY = "date="
HIDDEN = (".", "_")
PART_SUFFIX = ".parquet"

# The first bytes of a compressed file (gzip, bzip2, xz, zstd): inputs are recognised
# by their content, never by their name.
COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


# --- paths -------------------------------------------------------------------------------


def store_folder(data_dir: Path, dataset: str, store: str) -> Path:
    return data_dir / dataset / f"{STORE_KEY}{store}"


def partition(data_dir: Path, dataset: str, store: str, day: date | str) -> Path:
    """DATA/<dataset>/store=S/date=D (day as a date or as its YYYY-MM-DD label)."""
    return Path(partition_folder(str(data_dir), dataset, store, day))


def partition_folder(data_dir: str, dataset: str, store: str, day: date | str) -> str:
    """The same path as a string: readers that name tens of thousands of partitions
    (the dashboard over a year of 100 stores) build them without pathlib."""
    label = day if isinstance(day, str) else day.isoformat()
    return f"{data_dir}/{dataset}/{STORE_KEY}{store}/{DATE_KEY}{label}"


def store_of(path: str) -> str:
    """The store named in a path's `store=` folder."""
    return next(part.removeprefix(STORE_KEY) for part in path.split("/") if part.startswith(STORE_KEY))


# --- what is published ---------------------------------------------------------------------


def is_published(name: str) -> bool:
    """A part readers count: a Parquet file whose name is not hidden."""
    return name.endswith(PART_SUFFIX) and not name.startswith(HIDDEN)


def is_published_path(parts: tuple[str, ...]) -> bool:
    """Whether a file, by its path's parts under the data folder, is a published part:
    DATASET/store=S/date=D/NAME.parquet, DATASET a collector's, visits or marts/MART."""
    if parts[:1] == ("marts",):
        parts = ("/".join(parts[:2]), *parts[2:])
    return (
        len(parts) == 4
        and (parts[0] in ("sightings", "heartbeats", "visits") or parts[0].startswith("marts/"))
        and parts[1].startswith(STORE_KEY)
        and parts[2].startswith(DATE_KEY)
        and is_published(parts[3])
    )


def published_files(folder: Path) -> list[Path]:
    """The published parts of a partition, sorted by name (none if it does not exist)."""
    return [folder / name for name in published_names(str(folder))]


def published_names(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(name for name in names if is_published(name))


def partition_values(folder: Path | str, key: str) -> list[str]:
    """The values of the Hive folders `key=value` directly under folder (`store=`, `date=`)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [name.removeprefix(key) for name in names if name.startswith(key)]


def parse_day(label: str) -> date | None:
    """A `date=` folder's value as a date; None for a folder no writer made."""
    try:
        return date.fromisoformat(label)
    except ValueError:
        return None


# --- the partition walk ------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One `store=S/date=D` folder of a dataset and the files it holds."""

    dataset: str  # "sightings", "heartbeats", "visits" or "marts/<name>"
    store: str
    date: date
    folder: str  # a string, not a Path: a year of 100 stores makes 180,000 of these
    names: tuple[str, ...]  # its files, hidden ones (a writer's temporaries) left out

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(Path(self.folder, name) for name in self.names)

    @property
    def published(self) -> bool:
        """Whether it holds a published part (what the pipeline reads)."""
        return any(is_published(name) for name in self.names)


def partitions(data_dir: Path, dataset: str, store: str | None = None) -> Iterator[Partition]:
    """Every `store=S/date=D` folder of a dataset (of one store, or all), in order.
    os.scandir and strings, not pathlib: a year of 100 stores is 180,000 folders, and
    the file types come with the listing instead of a stat each."""
    stores = [f"{STORE_KEY}{store}"] if store else None
    for store_dir in _subfolders(data_dir / dataset, STORE_KEY, stores):
        name = store_dir.name.removeprefix(STORE_KEY)
        for day_dir in _subfolders(store_dir.path, DATE_KEY):
            day = parse_day(day_dir.name.removeprefix(DATE_KEY))
            if day is None:
                continue
            with os.scandir(day_dir.path) as entries:
                files = tuple(sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file()))
            yield Partition(dataset, name, day, day_dir.path, files)


def _subfolders(folder: Path | str, prefix: str, only: list[str] | None = None) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            found = [e for e in entries if e.name.startswith(prefix) and (only is None or e.name in only)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted((e for e in found if e.is_dir()), key=lambda e: e.name)


# --- writing ---------------------------------------------------------------------------------
#
# Power loss: a rename is only durable once the folder that holds the new name is
# fsynced, and the renamed file only holds its bytes if they were fsynced before the
# rename. replace() does both, so every publication, record and salt of footfall is
# on disk as a whole once it is visible.


def replace(source: Path, target: Path) -> None:
    """Puts a finished file (or folder) in place of target in one rename: a reader sees
    the old one or the new one, never a mix, and after a power loss too. Every
    publication of footfall goes through here."""
    sync(source)  # a file's bytes (a folder's entries) before its name changes
    os.replace(source, target)
    sync_folder(target.parent)
    if source.parent != target.parent:
        sync_folder(source.parent)


def publish_partition(written: Path | None, target: Path) -> Path | None:
    """Puts a store-day's newly written output file in place as the partition's
    `part-0.parquet` and removes every other published file of it; with no new file
    (no rows), the partition loses its files. Outputs are replaced whole, by either
    engine. Returns the published file."""
    final = None
    if written is not None:
        target.mkdir(parents=True, exist_ok=True)
        final = target / "part-0.parquet"
        replace(written, final)
    for old in published_files(target):
        if old != final:
            old.unlink()
    return final


def link_new(source: Path, target: Path) -> bool:
    """Gives a finished file a second name, target, unless target exists (then False):
    the first of several writers wins, atomically. Durable like replace()."""
    sync(source)
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    sync_folder(target.parent)
    return True


def write_atomically(target: Path, text: str) -> Path:
    """Writes a small text file (a record, a state) under a hidden name beside target,
    then replaces target with it."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with writing(target):  # a full disk or a read-only folder: one line naming the file
        make_folder(target.parent)
        temp.write_text(text)
        replace(temp, target)
    return target


def append_line(path: Path, line: str, mode: int = 0o644) -> None:
    """Appends one line in a single write (concurrent writers do not interleave) and
    fsyncs it: a ledger or a log that forgets its last line after a power loss would
    let a capture be collected twice, or a salt be made again."""
    with writing(path):
        make_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def make_folder(folder: Path, mode: int = 0o777) -> Path:
    """mkdir -p whose new folders survive a power loss (each one's parent fsynced after
    it is made); `mode` for the folder itself, the default for its missing parents."""
    missing = []
    level = folder
    while not level.is_dir() and level.parent != level:
        missing.append(level)
        level = level.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=mode if created == folder else 0o777)
        except FileExistsError:
            continue
        sync_folder(created.parent)
    return folder


def sync(path: Path) -> None:
    """fsync of a file's bytes, or of a folder's entries."""
    if path.is_dir():
        sync_folder(path)
        return
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """fsync of a folder: the names created, renamed or removed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # a file system that cannot sync folders has nothing to make durable
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


# --- compressed inputs -------------------------------------------------------------------------


def compression_of(head: bytes) -> str | None:
    """The compression whose magic bytes start `head` (gzip, bzip2, xz, zstd), or None."""
    for magic, kind in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            return kind
    return None
