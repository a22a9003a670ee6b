"""The privacy report as a typed model: what `footfall privacy report --format json`
prints, what the dashboard's Privacy page shows, and where its JSON schema and its
key table in docs/ come from (`python -m footfall.reference_docs`).

The structure is stable: `report_version` changes if a key changes meaning or goes
away; keys may be added. Times are ISO 8601 in UTC, dates YYYY-MM-DD (the store's
local day), paths absolute. Numbers keep the type they were configured with (a
grace of 6 stays 6, 2.5 stays 2.5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from footfall.config import NoticeSettings, RetentionSettings, SensorSettings, VisitSettings

REPORT_VERSION = 1

Number = int | float


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Record(BaseModel):
    """A record another command wrote (DATA/_privacy/): keys it may add pass through."""

    model_config = ConfigDict(extra="allow")


class SaltStorage(_Part):
    path: str = Field(description="the salts folder")
    mode: str | None = Field(description="its permissions, e.g. `0700` (null: not created yet)")
    secrets_dir_mode: str | None = Field(description="the secrets folder's permissions (null: not created yet)")
    loose_paths: int = Field(description="secret files or folders wider than 0600 / 0700 (the audit names them)")


class OptOut(_Part):
    path: str = Field(description="the opt-out list")
    entries: int | None = Field(description="its keyed hashes (null: it cannot be read)")
    problem: str | None = Field(description="why it cannot be read, or null")


class StoreSettingsInForce(_Part):
    configured: bool = Field(description="the configuration lists the store (else it only has data)")
    timezone: str = Field(description="its IANA time zone")
    opening_hours: str | None = Field(description="HH:MM-HH:MM, or null")
    equipment_entries: int = Field(description="the size of its equipment list (addresses and vendor prefixes)")
    visits: VisitSettings = Field(description="the visit thresholds in force for it (its own, else the defaults)")
    sensors: dict[str, SensorSettings] = Field(description="per sensor: its `rssi_threshold_dbm` (null: the store's)")


class ReportSettings(_Part):
    hash: str = Field(description="the keyed hash of the pseudonyms: `HMAC-SHA256`")
    pseudonym_bits: int = Field(description="the pseudonym's width: 64")
    salt_bytes: int = Field(description="a salt's size: 32")
    epoch: Literal["hour", "day", "week"] = Field(description="how long one salt links a device (local time)")
    salt_grace_hours: Number = Field(description="how long a salt outlives its epoch's end and its last use")
    k: int = Field(description="the smallest count published")
    data_dir: str = Field(description="the data folder")
    secrets_dir: str = Field(description="the secrets folder")
    salt_storage: SaltStorage = Field(description="where the salts are kept")
    optout: OptOut = Field(description="the opt-out list")
    retention_days: RetentionSettings = Field(description="per tier: `sightings`, `visits`, `marts` (0 = for ever)")
    visits: VisitSettings = Field(description="the default visit thresholds, as configured")
    stores: dict[str, StoreSettingsInForce] = Field(description="per store, configured or with data")
    notice: NoticeSettings = Field(description="the [notice] keys, as configured")
    notice_missing: list[str] = Field(
        default_factory=list, description="the [notice] keys GDPR art. 13 asks for that are not set (`notice.dpo`, ...)"
    )


class LiveSalt(_Part):
    store: str = Field(description="the store")
    epoch: str = Field(description="its epoch's label")
    epoch_end: str = Field(description="when the epoch ends")
    last_used: str = Field(description="the salt's last use")
    destroy_after: str = Field(description="epoch end or last use, whichever is later, plus the grace")
    overdue: bool = Field(description="past destroy_after: the next `footfall retention` or `collect` destroys it")


class Destruction(_Part):
    store: str = Field(description="the store")
    epoch: str = Field(description="the epoch whose salt was destroyed")
    destroyed_at: str = Field(description="when")


class TierDates(_Part):
    sightings: str | None = Field(description="the oldest local date of sightings (and heartbeats) held, or null")
    visits: str | None = Field(description="the oldest local date of visits held, or null")
    marts: str | None = Field(description="the oldest local date of any mart held, or null")


class DatasetHeld(_Part):
    partitions: int = Field(description="store-day partitions held")
    oldest: str = Field(description="the oldest one's date")
    newest: str = Field(description="the newest one's date")
    past_retention: int = Field(description="partitions `footfall retention` would delete now")


class StoreHeld(_Part):
    oldest: TierDates = Field(description="per tier, the oldest local date held")
    datasets: dict[str, DatasetHeld] = Field(description="per dataset (`sightings`, `marts/daily`, ...)")


class RetentionRun(_Record):
    time: str = Field(description="when it ran")
    partitions_deleted: int = Field(description="partitions deleted")
    deleted: dict[str, int] = Field(description="partitions deleted per dataset")
    salts_destroyed: int = Field(description="salts destroyed")
    misdated_deleted: int = Field(
        0, description="partitions and salts of an impossible date or more than a day ahead, deleted"
    )
    leftovers_removed: int = Field(0, description="staging, spill and temporary files of killed processes removed")


class AuditRun(_Record):
    time: str = Field(description="when it ran")
    clean: bool = Field(description="no finding at all")
    findings: int = Field(description="how many findings")
    by_rule: dict[str, int] = Field(description="findings per rule")
    files_scanned: int = Field(description="files scanned")
    captures_against: int = Field(description="captures whose addresses and SSIDs were looked for")


class ReportState(_Part):
    salts_alive: int = Field(description="live salts")
    salts: list[LiveSalt] = Field(description="one entry per live salt, oldest first")
    salts_destroyed: int = Field(description="salts destroyed so far (tombstones)")
    last_destruction: Destruction | None = Field(description="the latest destruction, or null")
    stores: dict[str, StoreHeld] = Field(description="per store: what is held")
    last_retention: RetentionRun | None = Field(description="the last `footfall retention` run, or null")
    last_audit: AuditRun | None = Field(description="the last `footfall privacy audit`, or null")


class PrivacyReport(_Part):
    """The settings in force and what is true now, for a privacy officer and other tools."""

    report_version: int = Field(REPORT_VERSION, description="1; changes if a key changes meaning or goes away")
    generated_at: str = Field(description="when the report was built")
    config_file: str | None = Field(description="the configuration file in force, or null (the defaults)")
    settings: ReportSettings = Field(description="what is configured")
    state: ReportState = Field(description="what is true now")
    explanation: list[str] = Field(
        default_factory=list,
        description="plain-language sentences: what someone holding the outputs could and could not learn",
    )

    def as_json_value(self) -> dict:
        """Plain JSON values, numbers as they were configured (int or float)."""
        return self.model_dump()
