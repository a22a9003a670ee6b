"""Which store-days a run covers, and which have changed since the last run.

A store-day is one store's local day (the `date=` partitions of the collector). Its
outputs depend on its own sightings and heartbeats, on those of the day before and
after (visits crossing midnight), on the store's settings and on the pipeline's SQL.
A fingerprint of all that, kept per store-day in DATA/_pipeline/state.json after a
successful run, tells a later run what is new or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from footfall.errors import writing

INPUTS = ("sightings", "heartbeats")
STATE = Path("_pipeline") / "state.json"


@dataclass(frozen=True, order=True)
class StoreDay:
    store: str
    date: date

    @property
    def key(self) -> str:
        return f"{self.store}/{self.date.isoformat()}"


def partition(data_dir: Path, dataset: str, store: str, day: date) -> Path:
    return data_dir / dataset / f"store={store}" / f"date={day.isoformat()}"


def parquet_files(folder: Path) -> list[Path]:
    """The published parts of a partition (temporary and hidden files excluded)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def days_with_inputs(data_dir: Path, store: str | None = None) -> list[StoreDay]:
    """Every store-day with published sightings or heartbeats (of one store, or all):
    a day a sensor was up but heard no phone still gets its (empty) outputs."""
    found = set()
    for dataset in INPUTS:
        root = data_dir / dataset
        stores = [root / f"store={store}"] if store else sorted(root.glob("store=*"))
        for store_dir in stores:
            name = store_dir.name.removeprefix("store=")
            for day_dir in sorted(store_dir.glob("date=*")):
                try:
                    day = date.fromisoformat(day_dir.name.removeprefix("date="))
                except ValueError:
                    continue
                if parquet_files(day_dir):
                    found.add(StoreDay(name, day))
    return sorted(found)


def input_files(data_dir: Path, days: Iterable[StoreDay], dataset: str) -> list[Path]:
    """The parts a set of store-days needs: their own and their neighbours'."""
    needed = {StoreDay(d.store, d.date + timedelta(days=shift)) for d in days for shift in (-1, 0, 1)}
    return [f for d in sorted(needed) for f in parquet_files(partition(data_dir, dataset, d.store, d.date))]


class RunState:
    """Fingerprints of the store-days as they were when last run."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / STATE
        try:
            self._done: dict[str, str] = json.loads(self.path.read_text())["store_days"]
        except (OSError, ValueError, KeyError, TypeError):
            self._done = {}

    def fingerprint(self, day: StoreDay, settings_digest: str) -> str:
        digest = hashlib.sha256(settings_digest.encode())
        for dataset in INPUTS:
            for shift in (-1, 0, 1):
                folder = partition(self.data_dir, dataset, day.store, day.date + timedelta(days=shift))
                for file in parquet_files(folder):
                    stat = file.stat()
                    digest.update(f"{dataset}/{shift}/{file.name}/{stat.st_size}/{stat.st_mtime_ns}".encode())
        return digest.hexdigest()

    def changed(self, day: StoreDay, fingerprint: str) -> bool:
        return self._done.get(day.key) != fingerprint

    def record(self, done: dict[StoreDay, str]) -> None:
        self._done.update({day.key: fingerprint for day, fingerprint in done.items()})
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with writing(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps({"store_days": dict(sorted(self._done.items()))}, indent=1))
            os.replace(temp, self.path)
