"""`footfall retention`: deletes every partition past its tier's retention and destroys
every salt past its epoch and grace.

A partition goes whole and at once: its folder is renamed into DATA/_privacy/trash
(outside every dataset, so no reader's glob sees it any more) and only then deleted,
so a reader sees the partition entire or not at all. Each deletion is logged in
DATA/_privacy/retention.log by store, dataset and date: nothing from inside the data.

Deleting the sightings of a day is not a change the pipeline should act on: the
store-days next to it that were up to date are recorded as up to date again, so a
later `footfall run` does not rebuild their visits and marts from fewer sightings.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from footfall import leftovers, storage
from footfall.collector.salts import SaltState, SaltStore
from footfall.config import Settings
from footfall.data_folder import DataFolder
from footfall.epochs import label_first_day
from footfall.errors import without_addresses
from footfall.outputs import COLLECTOR_DATASETS
from footfall.privacy import inventory, records
from footfall.privacy.inventory import Misdated
from footfall.storage import Partition
from footfall.store_days import RunState, StoreDay

TRASH = "trash"


@dataclass(frozen=True)
class NextDue:
    """What falls due next, and when (UTC)."""

    at: datetime
    store: str
    what: str  # `sightings store=S date=D`, `salt store=S epoch=E`


@dataclass
class RetentionResult:
    time: datetime
    dry_run: bool
    partitions: list[Partition] = field(default_factory=list)  # deleted (or, dry run, due)
    salts: list[SaltState] = field(default_factory=list)  # destroyed (or, dry run, due): expired
    misdated: list[Misdated] = field(default_factory=list)  # partitions of impossible or future dates
    misdated_salts: list[SaltState] = field(default_factory=list)  # salts of impossible or future epochs
    leftovers: list[Path] = field(default_factory=list)  # what killed runs and collectors left
    next_due: NextDue | None = None  # the next of what remains

    def as_dict(self, settings: Settings) -> dict[str, Any]:
        """The run as `footfall retention --format json` prints it (a misdated folder's
        name masked like an address, as in the text output)."""
        return {
            "time": records.timestamp(self.time),
            "dry_run": self.dry_run,
            "partitions": [
                {"dataset": p.dataset, "store": p.store, "date": p.date.isoformat()} for p in self.partitions
            ],
            "misdated": [
                {"dataset": m.dataset, "store": m.store, "date": without_addresses(m.name), "reason": m.reason}
                for m in self.misdated
            ],
            "salts": [{"store": s.store, "epoch": s.epoch} for s in self.salts],
            "misdated_salts": [{"store": s.store, "epoch": without_addresses(s.epoch)} for s in self.misdated_salts],
            "leftovers": [str(path) for path in self.leftovers],
            "retention_days": settings.file.retention.model_dump(),
            "next_due": None
            if self.next_due is None
            else {"at": records.timestamp(self.next_due.at), "store": self.next_due.store, "what": self.next_due.what},
        }

    def deleted_by_dataset(self) -> dict[str, int]:
        datasets = [p.dataset for p in self.partitions] + [m.dataset for m in self.misdated]
        return dict(sorted(Counter(datasets).items()))

    def record(self) -> dict[str, Any]:
        return {
            "time": records.timestamp(self.time),
            "partitions_deleted": len(self.partitions) + len(self.misdated),
            "deleted": self.deleted_by_dataset(),
            "salts_destroyed": len(self.salts) + len(self.misdated_salts),
            "misdated_deleted": len(self.misdated) + len(self.misdated_salts),
            "leftovers_removed": len(self.leftovers),
        }


def due(settings: Settings, now: datetime) -> list[Partition]:
    """The partitions past their retention, oldest first."""
    ages = inventory.Ages(settings, now)
    found = [partition for partition in inventory.partitions(settings.data_dir) if ages.expired(partition)]
    return sorted(found, key=lambda p: (p.date, p.store, p.dataset))


def due_salts(settings: Settings, now: datetime) -> list[SaltState]:
    """The salts alive past their epoch's end (and last use) plus the grace."""
    store = _salt_store(settings)
    return [state for state in store.states() if now > state.expires(store.grace)]


def misdated_salts(settings: Settings, now: datetime) -> list[SaltState]:
    """Salts of an epoch that starts more than a day after the store's today, or of a
    label no calendar makes: made for a corrupt timestamp, never due by their end."""
    found = []
    for state in _salt_store(settings).states():
        first = label_first_day(state.epoch)
        today = now.astimezone(inventory.store_zone(settings, state.store)).date()
        if first is None or (first - today).days > 1:
            found.append(state)
    return found


def leftovers_of_killed_processes(settings: Settings) -> list[Path]:
    """Staging and spill folders of killed pipeline runs, open parts of killed collectors."""
    return leftovers.pipeline_runs(settings.data_dir) + leftovers.collector_parts(settings.data_dir)


def next_due(settings: Settings, now: datetime) -> NextDue | None:
    """The first partition or salt to fall due after now (of those not due yet)."""
    ages = inventory.Ages(settings, now)
    candidates = []
    for partition in inventory.partitions(settings.data_dir):
        at = ages.due_at(partition) if partition.names else None
        if at is not None and at > now:
            what = f"{partition.dataset} store={partition.store} date={partition.date}"
            candidates.append(NextDue(at, partition.store, what))
    store = _salt_store(settings)
    for state in store.states():
        at = state.expires(store.grace).astimezone(UTC)
        if at > now:
            candidates.append(NextDue(at, state.store, f"salt store={state.store} epoch={state.epoch}"))
    return min(candidates, key=lambda c: (c.at, c.what), default=None)


def apply(settings: Settings, now: datetime | None = None, dry_run: bool = False) -> RetentionResult:
    """Deletes what is due (nothing with dry_run, which only lists it) and records the run."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    result = RetentionResult(now, dry_run, due(settings, now))
    result.misdated = inventory.misdated(settings, now)
    result.misdated_salts = misdated_salts(settings, now)
    result.leftovers = leftovers_of_killed_processes(settings)
    if dry_run:
        result.salts = due_salts(settings, now)
        result.next_due = next_due(settings, now)
        return result
    when = records.timestamp(now)
    unchanged = _up_to_date_neighbours(settings, result.partitions)
    for partition in result.partitions:
        delete_partition(settings.data_dir, partition.path)
        line = {"time": when, "action": "deleted", "store": partition.store, "dataset": partition.dataset}
        records.append_log(settings.data_dir, [{**line, "date": partition.date.isoformat()}])
    _still_up_to_date(settings, unchanged)
    for folder in result.misdated:
        delete_partition(settings.data_dir, folder.path)
        line = {"time": when, "action": "deleted", "store": folder.store, "dataset": folder.dataset}
        label = without_addresses(folder.name)  # the log holds nothing from the data, a folder name included
        records.append_log(settings.data_dir, [{**line, "date": label, "reason": folder.reason}])
    result.leftovers = leftovers.remove(result.leftovers)
    salts = _salt_store(settings)
    for state in result.misdated_salts:
        salts.destroy(state, now)
    result.salts = salts.destroy_expired(now)
    if settings.data_dir.is_dir():  # a run with no data folder yet does not create one
        destroyed = [
            {"time": when, "action": "salt destroyed", "store": s.store, "epoch": s.epoch}
            for s in [*result.misdated_salts, *result.salts]
        ]
        if destroyed:
            records.append_log(settings.data_dir, destroyed)
        records.write(settings.data_dir, records.LAST_RETENTION, result.record())
    result.next_due = next_due(settings, now)
    return result


def _salt_store(settings: Settings) -> SaltStore:
    return SaltStore(settings.secrets_dir, timedelta(hours=settings.privacy.salt_grace_hours))


def delete_partition(data_dir: Path, folder: Path) -> None:
    """Moves the partition out of its dataset in one rename, then deletes it."""
    trash = records.folder(data_dir) / TRASH
    trash.mkdir(parents=True, exist_ok=True)
    _empty_trash(trash)  # what an interrupted run left
    target = trash / f"{os.getpid()}-{secrets.token_hex(4)}"
    storage.replace(folder, target)
    shutil.rmtree(target)
    store_dir = folder.parent
    if not any(store_dir.iterdir()):
        store_dir.rmdir()


def _empty_trash(trash: Path) -> None:
    for leftover in trash.iterdir():
        shutil.rmtree(leftover, ignore_errors=True)


def _up_to_date_neighbours(settings: Settings, partitions: list[Partition]) -> list[StoreDay]:
    """The store-days whose pipeline inputs lose a partition and that were run on the
    inputs they have now: to record them again after the deletion."""
    state = RunState(DataFolder(settings.data_dir))
    days = {
        neighbour
        for partition in partitions
        if partition.dataset in COLLECTOR_DATASETS
        for neighbour in StoreDay(partition.store, partition.date).neighbourhood()
    }
    return [day for day in sorted(days) if state.inputs_unchanged(day)]


def _still_up_to_date(settings: Settings, days: list[StoreDay]) -> None:
    RunState(DataFolder(settings.data_dir)).record_inputs(days)
