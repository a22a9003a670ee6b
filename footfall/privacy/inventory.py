"""What the system has written under the data folder, partition by partition, and
which retention tier each dataset belongs to.

The datasets are Hive-partitioned (`DATASET/store=S/date=D/`), so a partition is the
unit that retention keeps or deletes whole and that the report dates. Heartbeats
belong to the sightings tier: they are the collector's output beside the
sightings, and keeping them after the sightings are gone would make the pipeline
see a day whose inputs changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from footfall.collector.ingest_ledger import IngestLedger
from footfall.config import Settings, StoreSettings

TIERS = ("sightings", "visits", "marts")
COLLECTOR_DATASETS = ("sightings", "heartbeats")
HIDDEN = (".", "_")
Day = date  # the Partition field `date` shadows the type inside the class


@dataclass(frozen=True)
class Partition:
    dataset: str  # "sightings", "heartbeats", "visits" or "marts/<name>"
    store: str
    date: date
    folder: str  # a string, not a Path: a year of 100 stores makes 180,000 of these
    names: tuple[str, ...]  # its files

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(Path(self.folder, name) for name in self.names)

    @property
    def tier(self) -> str:
        return tier_of(self.dataset)

    def age_date(self, collected: dict[str, datetime], zone: ZoneInfo) -> Day:
        """The day its retention counts from: its own date, or the local day footfall
        last collected data of that date into the store when that is later (from the
        ingest ledger: an import of last year's captures is kept for the full
        retention after the import, like data collected live). File times are not
        trusted: a copy renews them; a partition footfall never collected ages from its
        date."""
        when = collected.get(self.date.isoformat())
        if when is None:
            return self.date
        return max(self.date, when.astimezone(zone).date())


def tier_of(dataset: str) -> str:
    if dataset in COLLECTOR_DATASETS:
        return "sightings"
    if dataset == "visits":
        return "visits"
    return "marts"


def is_published_part(parts: tuple[str, ...]) -> bool:
    """Whether a file (its path's parts under the data folder) is where readers look:
    DATASET/store=S/date=D/NAME.parquet, DATASET a collector's, visits or marts/MART."""
    if parts[:1] == ("marts",):
        parts = ("/".join(parts[:2]), *parts[2:])
    return (
        len(parts) == 4
        and (parts[0] in (*COLLECTOR_DATASETS, "visits") or parts[0].startswith("marts/"))
        and parts[1].startswith("store=")
        and parts[2].startswith("date=")
        and parts[3].endswith(".parquet")
        and not parts[3].startswith(HIDDEN)
    )


def datasets(data_dir: Path) -> list[str]:
    """Every dataset present: the collector's, visits, and each mart folder."""
    found = [name for name in (*COLLECTOR_DATASETS, "visits") if (data_dir / name).is_dir()]
    marts = data_dir / "marts"
    if marts.is_dir():
        found += [f"marts/{p.name}" for p in sorted(marts.iterdir()) if p.is_dir() and not p.name.startswith(HIDDEN)]
    return found


@dataclass(frozen=True)
class Misdated:
    """A `date=` folder no collector should have written: an impossible date, or one
    more than a day ahead of the store's today (a corrupt timestamp's, such as 2092
    from one flipped bit). Retention cannot age it, so it deletes it."""

    dataset: str
    store: str
    name: str  # what follows `date=`, as found
    folder: str
    reason: str

    @property
    def path(self) -> Path:
        return Path(self.folder)


def partitions(data_dir: Path, dataset: str | None = None) -> list[Partition]:
    """Every `store=S/date=D` folder of the datasets with a real date (hidden and
    temporary files are not counted as the partition's files, but stay in its folder).
    os.scandir and strings, not pathlib: a year of 100 stores is 180,000 folders, and
    the file types come with the listing instead of a stat each."""
    found = []
    for name, store, day_dir in _date_folders(data_dir, dataset):
        day = _date(day_dir.name)
        if day is None:
            continue
        with os.scandir(day_dir.path) as entries:
            files = tuple(sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file()))
        found.append(Partition(name, store, day, day_dir.path, files))
    return found


def misdated(settings: Settings, now: datetime) -> list[Misdated]:
    """Every `date=` folder dated impossibly, or more than a day after the store's today."""
    found = []
    todays: dict[str, date] = {}
    for name, store, day_dir in _date_folders(settings.data_dir):
        day = _date(day_dir.name)
        if day is None:
            reason = "an impossible date"
        else:
            if store not in todays:
                todays[store] = now.astimezone(store_zone(settings, store)).date()
            if (day - todays[store]).days <= 1:
                continue
            reason = "more than a day ahead of today"
        found.append(Misdated(name, store, day_dir.name.removeprefix("date="), day_dir.path, reason))
    return found


def _date_folders(data_dir: Path, dataset: str | None = None) -> list[tuple[str, str, os.DirEntry[str]]]:
    """(dataset, store, `date=` folder) of every partition folder."""
    found = []
    for name in [dataset] if dataset else datasets(data_dir):
        for store_dir in _subfolders(data_dir / name, "store="):
            store = store_dir.name.removeprefix("store=")
            found += [(name, store, day_dir) for day_dir in _subfolders(store_dir.path, "date=")]
    return found


def _date(folder_name: str) -> date | None:
    try:
        return date.fromisoformat(folder_name.removeprefix("date="))
    except ValueError:
        return None


def _subfolders(folder: Path | str, prefix: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted((e for e in entries if e.name.startswith(prefix) and e.is_dir()), key=lambda e: e.name)
    except FileNotFoundError:
        return []


def stores(settings: Settings) -> list[str]:
    """The configured stores and every store with data on disk."""
    on_disk = {
        folder.name.removeprefix("store=")
        for name in datasets(settings.data_dir)
        for folder in (settings.data_dir / name).glob("store=*")
        if folder.is_dir()
    }
    return sorted(set(settings.file.stores) | on_disk)


def retention_days(settings: Settings, tier: str) -> int:
    return int(getattr(settings.file.retention, tier))


class Ages:
    """Which partitions are past their tier's retention at `now`: more whole days old
    than configured (0 keeps for ever), counted in each store's local day. Each
    store's local day and ingest ledger (when footfall collected each date) are read
    once, however many partitions it has."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self._settings = settings
        self._now = now
        self._stores: dict[str, tuple[date, ZoneInfo, dict[str, datetime]]] = {}

    def expired(self, partition: Partition) -> bool:
        days = retention_days(self._settings, partition.tier)
        if days == 0:
            return False
        today, zone, collected = self._store(partition.store)
        if (today - partition.date).days <= days:
            return False  # young by its own date: no need for its provenance
        return (today - partition.age_date(collected, zone)).days > days

    def _store(self, store: str) -> tuple[date, ZoneInfo, dict[str, datetime]]:
        if store not in self._stores:
            zone = store_zone(self._settings, store)
            collected = IngestLedger(self._settings.data_dir, store).collected()
            self._stores[store] = (self._now.astimezone(zone).date(), zone, collected)
        return self._stores[store]


def store_zone(settings: Settings, store: str) -> ZoneInfo:
    """The store's timezone (a folder the configuration does not list gets UTC, as
    the collector gave it; a folder name is not checked like a --store flag)."""
    return settings.file.stores.get(store, StoreSettings()).zone
