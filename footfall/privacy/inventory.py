"""What the system has written under the data folder, partition by partition, and
which retention tier each dataset belongs to.

The datasets are Hive-partitioned (`DATASET/store=S/date=D/`), so a partition is the
unit that retention keeps or deletes whole and that the report dates. Heartbeats
belong to the sightings tier: they are the collector's output beside the
sightings, and keeping them after the sightings are gone would make the pipeline
see a day whose inputs changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from footfall import storage
from footfall.collector.ingest_ledger import IngestLedger
from footfall.config import Settings, StoreSettings
from footfall.outputs import COLLECTOR_DATASETS, tier_of
from footfall.storage import Partition


def datasets(data_dir: Path) -> list[str]:
    """Every dataset present: the collector's, visits, and each mart folder."""
    found = [name for name in (*COLLECTOR_DATASETS, "visits") if (data_dir / name).is_dir()]
    marts = data_dir / "marts"
    if marts.is_dir():
        found += [
            f"marts/{p.name}" for p in sorted(marts.iterdir()) if p.is_dir() and not p.name.startswith(storage.HIDDEN)
        ]
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
    """Every `store=S/date=D` folder of the datasets (hidden and temporary files are
    not counted as the partition's files, but stay in its folder)."""
    names = [dataset] if dataset else datasets(data_dir)
    return [found for name in names for found in storage.partitions(data_dir, name)]


def age_date(partition: Partition, collected: dict[str, datetime], zone: ZoneInfo) -> date:
    """The day its retention counts from: its own date, or the local day footfall
    last collected data of that date into the store when that is later (from the
    ingest ledger: an import of last year's captures is kept for the full
    retention after the import, like data collected live). File times are not
    trusted: a copy renews them; a partition footfall never collected ages from its
    date."""
    when = collected.get(partition.date.isoformat())
    if when is None:
        return partition.date
    return max(partition.date, when.astimezone(zone).date())


def misdated(settings: Settings, now: datetime) -> list[Misdated]:
    """Every `date=` folder dated impossibly, or more than a day after the store's today."""
    found = []
    for name in datasets(settings.data_dir):
        for store in sorted(storage.partition_values(settings.data_dir / name, storage.STORE_KEY)):
            store_folder = storage.store_folder(settings.data_dir, name, store)
            today = now.astimezone(store_zone(settings, store)).date()
            for label in sorted(storage.partition_values(store_folder, storage.DATE_KEY)):
                folder = storage.partition(settings.data_dir, name, store, label)
                day = storage.parse_day(label)
                if not folder.is_dir() or (day is not None and (day - today).days <= 1):
                    continue
                reason = "an impossible date" if day is None else "more than a day ahead of today"
                found.append(Misdated(name, store, label, str(folder), reason))
    return found


def stores(settings: Settings) -> list[str]:
    """The configured stores and every store with data on disk."""
    folders = [settings.data_dir / name for name in datasets(settings.data_dir)]
    on_disk = {store for folder in folders for store in storage.partition_values(folder, storage.STORE_KEY)}
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
        days = retention_days(self._settings, tier_of(partition.dataset))
        if days == 0:
            return False
        today, zone, collected = self._store(partition.store)
        if (today - partition.date).days <= days:
            return False  # young by its own date: no need for its provenance
        return (today - age_date(partition, collected, zone)).days > days

    def due_at(self, partition: Partition) -> datetime | None:
        """When it falls past retention (the store's local midnight, in UTC); None when
        its tier is kept for ever."""
        days = retention_days(self._settings, tier_of(partition.dataset))
        if days == 0:
            return None
        _, zone, collected = self._store(partition.store)
        first_day_past = age_date(partition, collected, zone) + timedelta(days=days + 1)
        return datetime.combine(first_day_past, time(0), zone).astimezone(UTC)

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
