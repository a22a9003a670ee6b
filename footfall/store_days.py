"""Store-days: the unit the pipeline runs and retention deletes, and which of them
changed since the last run.

A store-day is one store's local day (the `date=` partitions of the collector). Its
outputs depend on its own sightings and heartbeats, on those of the day before and
after (visits crossing midnight), on the store's settings and on the pipeline's SQL.
DATA/_pipeline/state.json keeps, per store-day run successfully, a fingerprint of
both halves: the settings digest the runner computed (footfall.pipeline.runner) and
the digest of the input files. A later run redoes what is new or changed; retention,
deleting sightings, records the inputs of an up-to-date day again without needing
to know the settings (so the privacy tools never reach into the runner).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.outputs import COLLECTOR_DATASETS

if TYPE_CHECKING:
    from footfall.data_folder import DataFolder

STATE = Path("_pipeline") / "state.json"
_SEPARATOR = "/"  # between the settings digest and the inputs digest of a fingerprint


@dataclass(frozen=True, order=True)
class StoreDay:
    store: str
    date: date

    @property
    def key(self) -> str:
        return f"{self.store}/{self.date.isoformat()}"

    def neighbourhood(self) -> list[StoreDay]:
        """The day before, itself and the day after: whose inputs its visits may read."""
        return [StoreDay(self.store, self.date + timedelta(days=shift)) for shift in (-1, 0, 1)]


def days_with_inputs(data: DataFolder, store: str | None = None) -> list[StoreDay]:
    """Every store-day with published sightings or heartbeats (of one store, or all):
    a day a sensor was up but heard no phone still gets its (empty) outputs."""
    found = {
        StoreDay(partition.store, partition.date)
        for dataset in COLLECTOR_DATASETS
        for partition in data.partitions(dataset, store)
        if partition.published
    }
    return sorted(found)


def input_files(data: DataFolder, days: Iterable[StoreDay], dataset: str) -> list[str]:
    """The parts a set of store-days needs: their own and their neighbours'."""
    needed = {neighbour for day in days for neighbour in day.neighbourhood()}
    folders = [data.partition(dataset, d.store, d.date) for d in sorted(needed)]
    return [file for folder in folders for file in data.published_files(folder)]


class RunState:
    """Fingerprints of the store-days as they were when last run."""

    def __init__(self, data: DataFolder) -> None:
        self.data = data
        self.path = data.join(*STATE.parts)
        try:
            self._done: dict[str, str] = json.loads(data.read_text(self.path) or "")["store_days"]
        except (ValueError, KeyError, TypeError):
            self._done = {}

    def fingerprint(self, day: StoreDay, settings_digest: str) -> str:
        return f"{settings_digest}{_SEPARATOR}{self.inputs_digest(day)}"

    def inputs_digest(self, day: StoreDay) -> str:
        """The names, sizes and times of the input files of the day and its neighbours."""
        digest = hashlib.sha256()
        for dataset in COLLECTOR_DATASETS:
            for shift, neighbour in zip((-1, 0, 1), day.neighbourhood(), strict=True):
                folder = self.data.partition(dataset, neighbour.store, neighbour.date)
                for file in self.data.published_files(folder):
                    size, mtime_ns = self.data.stat(file)
                    digest.update(f"{dataset}/{shift}/{posixpath.basename(file)}/{size}/{mtime_ns}".encode())
        return digest.hexdigest()

    def changed(self, day: StoreDay, fingerprint: str) -> bool:
        return self._done.get(day.key) != fingerprint

    def inputs_unchanged(self, day: StoreDay) -> bool:
        """The day was run on the inputs it has now (whatever the settings were)."""
        stored = self._done.get(day.key, "")
        return stored.rpartition(_SEPARATOR)[2] == self.inputs_digest(day)

    def record(self, done: dict[StoreDay, str]) -> None:
        self._done.update({day.key: fingerprint for day, fingerprint in done.items()})
        self.data.write_text(self.path, json.dumps({"store_days": dict(sorted(self._done.items()))}, indent=1))

    def record_inputs(self, days: Iterable[StoreDay]) -> None:
        """Days whose inputs changed without a reason to run them again (retention
        deleted a neighbour's sightings): their fingerprint keeps its settings half."""
        done = {}
        for day in days:
            settings_digest = self._done[day.key].rpartition(_SEPARATOR)[0]
            done[day] = self.fingerprint(day, settings_digest)
        if done:
            self.record(done)
