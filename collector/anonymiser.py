"""Raw probe batches -> pseudonymous sightings, in memory.

The pseudonym of a device is HMAC-SHA256(salt of the epoch, the 6 MAC bytes)
truncated to 64 bits, as DESIGN.md fixes it, so a privacy officer holding a salt can
recompute any pseudonym and nobody without it can reverse one. The element-layout
signature is keyed the same way (HMAC of a tagged, longer message, so the two can
never collide). Each distinct address is hashed once per epoch: the per-epoch caches
turn millions of frames into thousands of HMAC calls. Opted-out devices are dropped
here, and so are the store's listed equipment, before any column leaves memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from footfall.collector.equipment import EquipmentList
from footfall.collector.keyed_hash import HashHelper, KeyedHash, mac_to_bytes
from footfall.collector.optout import OptOutList
from footfall.collector.probe_parser import ProbeBatch
from footfall.collector.salts import SaltStore
from footfall.epochs import Labelled, StoreCalendar
from footfall.key_spaces import key_id

LAYOUT_TAG = b"footfall/ie-layout/v1:"


@dataclass
class Sightings:
    """Pseudonymous columns, ready for the sink (no raw address left)."""

    ts_us: np.ndarray
    device: np.ndarray  # int64 pseudonym
    randomized: np.ndarray
    rssi: np.ndarray
    has_rssi: np.ndarray
    freq: np.ndarray
    seq: np.ndarray
    directed: np.ndarray
    ie_hash: np.ndarray  # int64
    epoch: Labelled
    date: Labelled
    distinct_devices: dict[str, np.ndarray]  # per epoch label: the batch's pseudonyms, each once
    key_ids: dict[str, str] = field(default_factory=dict)  # epoch -> which salt keyed it (key_spaces)

    def __len__(self) -> int:
        return len(self.ts_us)


@dataclass(frozen=True)
class Filtered:
    """Probe requests dropped in memory, before anything was written: of opted-out
    devices and of the store's listed equipment."""

    opted_out: int = 0
    equipment: int = 0

    @property
    def total(self) -> int:
        return self.opted_out + self.equipment

    def __sub__(self, earlier: Filtered) -> Filtered:
        return Filtered(self.opted_out - earlier.opted_out, self.equipment - earlier.equipment)


class _SortedCache:
    """uint64 keys -> int64 values, looked up for a whole batch at once.

    A dict would cost a Python step per distinct address per batch; with phones
    rotating their address every scan that loop, not the parse, would dominate."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.uint64)
        self.values = np.zeros(0, np.int64)

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted distinct queries: (values, found); values are 0 where not found."""
        if len(self.keys) == 0:
            return np.zeros(len(queries), np.int64), np.zeros(len(queries), bool)
        at = np.minimum(np.searchsorted(self.keys, queries), len(self.keys) - 1)
        found = self.keys[at] == queries
        return np.where(found, self.values[at], 0), found

    def insert(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Adds sorted keys that are not in the cache yet."""
        at = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, at, keys)
        self.values = np.insert(self.values, at, values)

    def __len__(self) -> int:
        return len(self.keys)


class _EpochKeys:
    """One epoch's keyed hashes and caches."""

    def __init__(self, salt: bytes, optout: OptOutList, helper: HashHelper | None) -> None:
        self._salt = salt
        self._hasher = KeyedHash(salt)
        self.key_id = key_id(salt)
        self._helper = helper
        self._optout = optout
        self._devices = _SortedCache()
        self._opted_out = np.zeros(0, np.uint64)
        self._layouts: dict[int, int] = {}

    def pseudonyms(self, macs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: the pseudonym and whether it may be kept (not opted out); and the
        batch's distinct pseudonyms."""
        distinct, inverse = np.unique(macs, return_inverse=True)
        values, found = self._devices.lookup(distinct)
        if not found.all():
            new = distinct[~found]
            hashed = self._hash_new(new)
            values[~found] = hashed
            self._devices.insert(new, hashed)
        rows = values[inverse.reshape(-1)]
        if len(self._opted_out) == 0:
            return rows, np.ones(len(macs), bool), values
        allowed = ~np.isin(distinct, self._opted_out)
        return rows, allowed[inverse.reshape(-1)], values[allowed]

    def _hash_new(self, macs: np.ndarray) -> np.ndarray:
        raw = [mac_to_bytes(mac) for mac in macs.tolist()]
        if len(self._optout):
            dropped = [mac for mac, data in zip(macs.tolist(), raw, strict=True) if self._optout.contains(data)]
            if dropped:
                self._opted_out = np.union1d(self._opted_out, np.array(dropped, np.uint64))
        if self._helper is not None:
            return np.array(self._helper.int64s(self._salt, self._hasher, raw), np.int64)
        return np.array(self._hasher.int64s(raw), np.int64)

    @property
    def devices(self) -> int:
        """Distinct pseudonyms kept in this epoch so far (opted-out devices excluded)."""
        return len(self._devices) - len(self._opted_out)

    def layouts(self, signatures: np.ndarray) -> np.ndarray:
        distinct, inverse = np.unique(signatures, return_inverse=True)
        cache = self._layouts
        for signature in distinct.tolist():
            if signature not in cache:
                cache[signature] = self._hasher.int64(LAYOUT_TAG + signature.to_bytes(8, "big"))
        values = np.array([cache[signature] for signature in distinct.tolist()], np.int64)
        return values[inverse.reshape(-1)]


class Anonymiser:
    """Pseudonymises the probe requests of one store."""

    def __init__(
        self,
        store: str,
        calendar: StoreCalendar,
        salts: SaltStore,
        optout: OptOutList,
        helper: HashHelper | None = None,
        equipment: EquipmentList | None = None,
    ) -> None:
        self.store = store
        self._equipment = equipment
        self.equipment_frames = 0
        self._helper = helper
        self.calendar = calendar
        self._salts = salts
        self._optout = optout
        self._epochs: dict[str, _EpochKeys] = {}
        self.opted_out_frames = 0

    def apply(self, batch: ProbeBatch) -> Sightings:
        if self._equipment:
            listed = self._equipment.matches(batch.mac)
            if listed.any():
                self.equipment_frames += int(listed.sum())
                batch = batch.take(np.flatnonzero(~listed))
        dates, epochs = self.calendar.label(batch.ts_us)
        devices = np.empty(len(batch), np.int64)
        layouts = np.empty(len(batch), np.int64)
        keep = np.ones(len(batch), bool)
        distinct = {}
        for code, label in enumerate(epochs.labels):
            rows = slice(None) if len(epochs.labels) == 1 else np.flatnonzero(epochs.codes == code)
            keys = self._keys(label)
            devices[rows], keep[rows], seen = keys.pseudonyms(batch.mac[rows])
            layouts[rows] = keys.layouts(batch.layout[rows])
            distinct[label] = seen
        if not keep.all():
            self.opted_out_frames += int((~keep).sum())
            rows = np.flatnonzero(keep)
            batch, devices, layouts = batch.take(rows), devices[rows], layouts[rows]
            dates = Labelled(dates.codes[rows], dates.labels)
            epochs = Labelled(epochs.codes[rows], epochs.labels)
        return Sightings(
            ts_us=batch.ts_us,
            device=devices,
            randomized=batch.randomized,
            rssi=batch.rssi,
            has_rssi=batch.has_rssi,
            freq=batch.freq,
            seq=batch.seq,
            directed=batch.directed,
            ie_hash=layouts,
            epoch=epochs,
            date=dates,
            distinct_devices=distinct,
            key_ids={label: self._epochs[label].key_id for label in epochs.labels if label in self._epochs},
        )

    @property
    def filtered(self) -> Filtered:
        """Frames dropped so far (the counters only grow: a capture's are the difference)."""
        return Filtered(self.opted_out_frames, self.equipment_frames)

    def touch_salts(self) -> None:
        """Records now as the last use of every salt in use."""
        for label in self._epochs:
            self._salts.touch(self.store, self.calendar.epoch_of(label))

    def epochs_in_use(self) -> list[str]:
        return sorted(self._epochs)

    def retire(self, label: str) -> int:
        """Forgets an epoch that is over: its key and caches leave memory (a collector
        that runs for months keeps only the current epoch's), its salt is marked used
        now, so it is destroyed one grace period later. A late frame of that epoch
        would load the salt again while it exists. Returns the epoch's device count."""
        keys = self._epochs.pop(label, None)
        if keys is None:
            return 0
        self._salts.touch(self.store, self.calendar.epoch_of(label))
        return keys.devices

    def devices(self, label: str) -> int:
        keys = self._epochs.get(label)
        return 0 if keys is None else keys.devices

    def _keys(self, label: str) -> _EpochKeys:
        keys = self._epochs.get(label)
        if keys is None:
            salt = self._salts.salt(self.store, self.calendar.epoch_of(label))
            keys = self._epochs[label] = _EpochKeys(salt, self._optout, self._helper)
        return keys
