"""The keys behind one store's pseudonyms, over a collector's life: the salts of its
epochs, the opt-out list, the anonymiser and its HMAC helper process.

Making a SaltKeeper reads and writes nothing. start() does the start-up work, in
this order: salts past their epoch and grace are destroyed, the opt-out list is
read, core dumps are switched off (raw addresses are about to live in this
process's memory), the HMAC helper is forked (before any thread exists) and the
anonymiser is made. close() stops the helper, records the last use of every salt
in use and destroys the expired ones again. Between the two, a running collector
retires the epochs that are over and does its housekeeping through it.
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable
from datetime import datetime, timedelta

from footfall.collector.anonymiser import Anonymiser, Filtered, Sightings
from footfall.collector.equipment import EquipmentList
from footfall.collector.keyed_hash import HashHelper
from footfall.collector.optout import OptOutList
from footfall.collector.probe_parser import ProbeBatch
from footfall.collector.salts import SaltState, SaltStore
from footfall.config import Settings
from footfall.epochs import StoreCalendar, utc_us


class SaltKeeper:
    def __init__(self, settings: Settings, store: str, clock: Callable[[], datetime] | None = None) -> None:
        store_settings = settings.store(store)
        privacy = settings.privacy
        self.store = store
        self.salts = SaltStore(settings.secrets_dir, timedelta(hours=privacy.salt_grace_hours), clock)
        self.calendar = StoreCalendar(store_settings.timezone, privacy.epoch)
        self._optout_files = (settings.secrets_dir, settings.optout_path)
        self._equipment = store_settings.equipment
        self._helper: HashHelper | None = None
        self._anonymiser: Anonymiser | None = None

    @property
    def now(self) -> Callable[[], datetime]:
        """The clock of uses and destruction (a test or a replay may set its own)."""
        return self.salts.now

    @property
    def anonymiser(self) -> Anonymiser:
        if self._anonymiser is None:
            raise RuntimeError("the salt keeper is not started")
        return self._anonymiser

    def start(self) -> None:
        self.salts.destroy_expired()
        optout = OptOutList(*self._optout_files)
        _no_core_dumps()
        self._helper = HashHelper()  # forked now, before any thread exists
        self._anonymiser = Anonymiser(
            self.store, self.calendar, self.salts, optout, self._helper, EquipmentList(self._equipment)
        )

    def close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None
        if self._anonymiser is not None:
            self._anonymiser.touch_salts()
            self.salts.destroy_expired()

    def pseudonymise(self, batch: ProbeBatch) -> Sightings:
        return self.anonymiser.apply(batch)

    @property
    def filtered(self) -> Filtered:
        return self.anonymiser.filtered

    def retire_ended(self, stream_us: int, after: timedelta) -> list[str]:
        """Epochs in use that ended more than `after` before this stream time: their
        keys leave memory and their salts start their grace (Anonymiser.retire)."""
        anonymiser = self.anonymiser
        retired = []
        for label in anonymiser.epochs_in_use():
            if stream_us > utc_us(self.calendar.epoch_of(label).end + after):
                anonymiser.retire(label)
                retired.append(label)
        return retired

    def housekeeping(self, now: datetime) -> list[SaltState]:
        """Records a use of the salts in use, destroys the expired ones; returns those."""
        self.anonymiser.touch_salts()
        return self.salts.destroy_expired(now)


def _no_core_dumps() -> None:
    """Raw addresses live in this process's memory: a crash must not write them to a core file."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
