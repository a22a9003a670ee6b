"""`footfall privacy report`: the settings in force and what is true now, for a
privacy officer, the dashboard's privacy page and other tools (JSON).

build_report() reads only the configuration, folder listings, salt metadata and the
records of the last audit and retention run: never a Parquet value, so it is cheap
and cannot echo personal data. Its result is typed (report_model.PrivacyReport, which
also documents every key); render_markdown() gives the words for people, and
render_html() the same Markdown as a page (documents.html_page, as for the notice).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from footfall import outputs
from footfall.collector.salts import SALT_BYTES, SaltStore
from footfall.config import RetentionSettings, Settings, StoreSettings, VisitSettings
from footfall.errors import FootfallError
from footfall.privacy import documents, inventory, notice, permissions, records, wording
from footfall.privacy.report_model import (
    AuditRun,
    DatasetHeld,
    Destruction,
    LiveSalt,
    OptOut,
    PrivacyReport,
    ReportSettings,
    ReportState,
    RetentionRun,
    SaltStorage,
    StoreHeld,
    StoreSettingsInForce,
    TierDates,
)
from footfall.thresholds import visit_thresholds

RecordT = TypeVar("RecordT", AuditRun, RetentionRun)

HASH = "HMAC-SHA256"
PSEUDONYM_BITS = 64


def build_report(settings: Settings, now: datetime | None = None) -> PrivacyReport:
    """The report (footfall.privacy.report_model describes every key)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = PrivacyReport(
        generated_at=records.timestamp(now),
        config_file=str(settings.source.resolve()) if settings.source else None,
        settings=_settings(settings),
        state=_state(settings, now),
    )
    report.explanation = explain(report)
    return report


# --- settings ---------------------------------------------------------------------------


def _settings(settings: Settings) -> ReportSettings:
    privacy = settings.privacy
    salts = settings.secrets_dir / "salts"
    entries, problem = _optout_entries(settings)
    return ReportSettings(
        hash=HASH,
        pseudonym_bits=PSEUDONYM_BITS,
        salt_bytes=SALT_BYTES,
        epoch=privacy.epoch,
        salt_grace_hours=privacy.salt_grace_hours,
        k=privacy.k,
        data_dir=str(settings.data_dir),
        secrets_dir=str(settings.secrets_dir),
        salt_storage=SaltStorage(
            path=str(salts),
            mode=permissions.mode_text(salts),
            secrets_dir_mode=permissions.mode_text(settings.secrets_dir),
            loose_paths=len(permissions.loose_secrets(settings)),
        ),
        optout=OptOut(path=str(settings.optout_path), entries=entries, problem=problem),
        retention_days=settings.file.retention,
        visits=settings.file.visits,
        stores={name: _store_settings(settings, name) for name in inventory.stores(settings)},
        notice=settings.file.notice,
        notice_missing=notice.missing(settings),
    )


def _optout_entries(settings: Settings) -> tuple[int | None, str | None]:
    from footfall.collector.optout import OptOutList

    try:
        return len(OptOutList(settings.secrets_dir, settings.optout_path)), None
    except FootfallError as exc:
        return None, str(exc)


def _store_settings(settings: Settings, store: str) -> StoreSettingsInForce:
    own = settings.file.stores.get(store)
    listed = own or StoreSettings()
    return StoreSettingsInForce(
        configured=own is not None,
        timezone=listed.timezone,
        opening_hours=listed.opening_hours,
        equipment_entries=len(listed.equipment),
        visits=visit_thresholds(settings, store),
        sensors=dict(sorted(listed.sensors.items())),
    )


# --- state ------------------------------------------------------------------------------


def _state(settings: Settings, now: datetime) -> ReportState:
    grace = timedelta(hours=settings.privacy.salt_grace_hours)
    salt_store = SaltStore(settings.secrets_dir, grace)
    alive = [
        LiveSalt(
            store=s.store,
            epoch=s.epoch,
            epoch_end=records.timestamp(s.epoch_end.astimezone(UTC)),
            last_used=records.timestamp(s.last_used.astimezone(UTC)),
            destroy_after=records.timestamp(s.expires(grace).astimezone(UTC)),
            overdue=now > s.expires(grace),
        )
        for s in salt_store.states()
    ]
    destroyed = _destructions(salt_store.root)
    last = max(destroyed, key=lambda d: d.destroyed_at, default=None)
    return ReportState(
        salts_alive=len(alive),
        salts=alive,
        salts_destroyed=len(destroyed),
        last_destruction=last,
        stores=_data_state(settings, now),
        last_retention=_record(RetentionRun, records.read(settings.data_dir, records.LAST_RETENTION)),
        last_audit=_record(AuditRun, records.read(settings.data_dir, records.LAST_AUDIT)),
    )


def _record(model: type[RecordT], value: dict[str, Any] | None) -> RecordT | None:
    """A record of the last run as the report types it; one that does not fit (edited
    by hand, cut short) reads as none, like a record that cannot be read at all."""
    try:
        return None if value is None else model.model_validate(value)
    except ValidationError:
        return None


def _destructions(salts_root: Path) -> list[Destruction]:
    """Every tombstone of salts/<store>/destroyed.jsonl (epoch and time, no key)."""
    found = []
    for log in sorted(salts_root.glob("*/destroyed.jsonl")) if salts_root.is_dir() else []:
        try:
            lines = log.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                entry = json.loads(line)
                when = datetime.fromisoformat(entry["destroyed_at"]).astimezone(UTC)
            except (ValueError, KeyError, TypeError):
                continue
            store, epoch = log.parent.name, str(entry["epoch"])
            found.append(Destruction(store=store, epoch=epoch, destroyed_at=records.timestamp(when)))
    return found


def _data_state(settings: Settings, now: datetime) -> dict[str, StoreHeld]:
    stores = {
        name: StoreHeld(oldest=TierDates(sightings=None, visits=None, marts=None), datasets={})
        for name in inventory.stores(settings)
    }
    ages = inventory.Ages(settings, now)
    for partition in inventory.partitions(settings.data_dir):
        if not partition.names:
            continue
        store = stores[partition.store]
        day = partition.date.isoformat()
        summary = store.datasets.setdefault(
            partition.dataset, DatasetHeld(partitions=0, oldest=day, newest=day, past_retention=0)
        )
        summary.partitions += 1
        summary.oldest = min(summary.oldest, day)
        summary.newest = max(summary.newest, day)
        summary.past_retention += ages.expired(partition)
        tier = outputs.tier_of(partition.dataset)
        oldest = getattr(store.oldest, tier)
        if oldest is None or day < oldest:
            setattr(store.oldest, tier, day)
    return stores


# --- explanation ------------------------------------------------------------------------


def explain(report: PrivacyReport) -> list[str]:
    """What an attacker holding every output (not the secrets) could and could not
    learn, in the terms of this configuration and state."""
    settings, state = report.settings, report.state
    epoch = settings.epoch
    grace = wording.hours(settings.salt_grace_hours)
    k = settings.k
    storage = settings.salt_storage
    lines = [
        f"No device address is stored. In the collector's memory each address is replaced by a keyed hash "
        f"({settings.hash}) under a secret random salt of {settings.salt_bytes} bytes, "
        f"kept to {settings.pseudonym_bits} bits. Without the salt the pseudonym cannot be turned back "
        "into the address, not even by trying every possible address.",
        f"Each salt serves one {epoch} (the store's local time) and is destroyed (overwritten, then deleted) "
        f"{grace} after the {epoch} ends and after its last use. From then on no one, the operator included, can "
        f"link that {epoch}'s pseudonyms to an address or to the pseudonyms of another {epoch}.",
        f"Someone holding the outputs can tell that the same (estimated) device was seen several times within "
        f"one {epoch}, and so follow its visits during that {epoch}; they cannot link it across {epoch}s.",
        f"While a salt is alive (now {state.salts_alive}), whoever holds it and already knows a device's "
        f"address could recompute that device's pseudonym for that {epoch}. The salts are kept apart from the "
        f"outputs in {storage.path}, "
        + (
            "readable by their owner only."
            if not storage.loose_paths
            else f"but {storage.loose_paths} secret file(s) or folder(s) there can be read by "
            "others: fix their permissions (`footfall privacy audit` names them)."
        ),
        "Network names (SSIDs) that phones ask for are never stored, only whether a probe named one; "
        "nothing a phone sends beyond its probe (no content, no name, no phone number) is ever received.",
        f"Each sighting also keeps `ie_hash`, a keyed hash (under the same salt) of the layout of the information "
        f"elements the phone announced. It is a device-family fingerprint: phones of one model, system version "
        f"and settings share it. Within one {epoch} it lets the pipeline link the changing random addresses of one "
        f"phone, and lets whoever holds the sightings tell devices of different families apart and count how many "
        f"of each family came; a rare family (an unusual phone) can single a device out within the {epoch}. It "
        f"cannot be matched against a public list of layouts or across {epoch}s, because its key is the salt.",
    ]
    if epoch == "hour":
        lines.append(wording.HOURLY_EPOCH_INFLATES)
    if k > 1:
        lines.append(
            f"The aggregates (marts, dashboard) suppress every count below {k}: such a cell is empty and flagged, "
            "so a published figure never describes one or a few people."
        )
    else:
        lines.append(
            "Small-cell suppression is off (k = 1): the aggregates show every count, including counts of one or "
            "two people, which can single someone out when combined with other knowledge."
        )
    lines.append(_retention_sentence(settings.retention_days))
    optout = settings.optout.entries
    lines.append(
        f"{optout if optout is not None else 'An unreadable number of'} device(s) have opted out: their frames are "
        "dropped in memory before anything is written, and the list holds only keyed hashes of their addresses."
    )
    equipment = sum(store.equipment_entries for store in settings.stores.values())
    if equipment:
        lines.append(
            f"{equipment} address(es) or vendor prefix(es) of the stores' own equipment are dropped the same way."
        )
    lines.append(_audit_sentence(state.last_audit))
    return lines


def _retention_sentence(days: RetentionSettings) -> str:
    def kept(tier: str) -> str:
        value = getattr(days, tier)
        return "for ever" if value == 0 else f"for {wording.days(value)}"

    sentence = (
        f"Sightings are kept {kept('sightings')}, visits {kept('visits')} and aggregates {kept('marts')} "
        "(counted from the day the data describes, or from the day footfall collected it if later), "
        "deleted by `footfall retention`."
    )
    if days.sightings == 0 or days.visits == 0:
        sentence += " Pseudonymous data kept for ever is a risk: set a retention for sightings and visits."
    return sentence


def _audit_sentence(audit: AuditRun | None) -> str:
    if audit is None:
        return "No audit has been recorded yet: run `footfall privacy audit`."
    if audit.clean:
        return f"The last audit ({audit.time}) found nothing: no address, network name or small cell."
    rules = ", ".join(f"{rule} ({count})" for rule, count in sorted(audit.by_rule.items()))
    return f"The last audit ({audit.time}) found {audit.findings} problem(s): {rules}."


# --- rendering ----------------------------------------------------------------------------

Rows = list[tuple[str, str]] | list[str]


def sections(report: PrivacyReport) -> list[tuple[str, Rows]]:
    """The report as titled sections of (label, value) rows or of sentences."""
    settings, state = report.settings, report.state
    retention = settings.retention_days
    storage = settings.salt_storage
    optout = settings.optout.entries
    in_force = [
        ("pseudonym", f"{settings.hash}, {settings.pseudonym_bits} bits, salt of {settings.salt_bytes} bytes"),
        ("salt epoch", f"{settings.epoch} (store's local time)"),
        ("salt grace", wording.hours(settings.salt_grace_hours)),
        ("salt storage", f"{storage.path} (mode {storage.mode or 'not created yet'})"),
        ("secret files wider than 0600/0700", str(storage.loose_paths)),
        ("k (smallest published count)", str(settings.k)),
        ("retention (days, 0 = for ever)", ", ".join(f"{t} {getattr(retention, t)}" for t in outputs.TIERS)),
        ("visit thresholds", _visits(settings.visits)),
        ("opt-out entries", str(optout if optout is not None else "?")),
        ("data folder", settings.data_dir),
        ("configuration", report.config_file or "defaults (no file)"),
    ]
    stores = []
    for name, own in settings.stores.items():
        held = state.stores.get(name)
        oldest = ", ".join(f"{t} {(getattr(held.oldest, t) if held else None) or '-'}" for t in outputs.TIERS)
        stores.append(
            (
                name,
                f"timezone {own.timezone}; equipment list {own.equipment_entries} entries; "
                f"{_visits(own.visits)}; oldest data: {oldest}",
            )
        )
    salts = [
        (f"{s.store} {s.epoch}", f"destroy after {s.destroy_after}{' (overdue)' if s.overdue else ''}")
        for s in state.salts
    ] or [("salts alive", "none")]
    last = state.last_destruction
    salts.append(("last destruction", f"{last.store} {last.epoch} at {last.destroyed_at}" if last else "never"))
    runs = [
        ("last retention run", _retention_run(state.last_retention)),
        ("last audit", _audit(state.last_audit)),
    ]
    given = settings.notice
    unset = ", ".join(settings.notice_missing)
    notice_rows = [
        ("controller", given.controller or "not set"),
        ("contact", given.contact or "not set"),
        ("data protection officer", given.dpo or "not set"),
        ("legal basis", given.legal_basis or "not set"),
        ("supervisory authority", given.authority or "not set"),
        ("purpose", "counting visits, their time and length, to plan staff and opening hours"),
        ("rights", "to object (opt-out list, for future counting), access and erasure while the salt lives"),
        (
            "missing",
            f"{unset}: `footfall privacy notice` prints brackets in their place" if unset else "nothing",
        ),
    ]
    return [
        ("Settings in force", in_force),
        ("Customer notice (GDPR art. 13)", notice_rows),
        ("Stores", stores or [("stores", "none configured, no data yet")]),
        ("Salts", salts),
        ("Retention and audit", runs),
        ("What the outputs reveal", report.explanation),
    ]


def _visits(values: VisitSettings) -> str:
    return (
        f"visit gap {values.gap_min} min, minimum visit {values.min_dwell_min} min, "
        f"signal {values.rssi_threshold_dbm} dBm, staff after {values.staff_daily_hours} h"
    )


def _retention_run(run: RetentionRun | None) -> str:
    if run is None:
        return "never"
    return f"{run.time}: {run.partitions_deleted} partition(s) deleted, {run.salts_destroyed} salt(s) destroyed"


def _audit(audit: AuditRun | None) -> str:
    if audit is None:
        return "never"
    verdict = "clean" if audit.clean else f"{audit.findings} finding(s)"
    return f"{audit.time}: {verdict}"


def title(report: PrivacyReport) -> str:
    return f"Privacy report ({report.generated_at})"


def render_markdown(report: PrivacyReport) -> str:
    out = [f"# {title(report)}", ""]
    for heading, rows in sections(report):
        out += [f"## {heading}", ""]
        for row in rows:
            out.append(f"- **{row[0]}**: {row[1]}" if isinstance(row, tuple) else f"- {row}")
        out.append("")
    return "\n".join(out)


def render_html(report: PrivacyReport) -> str:
    return documents.html_page(title(report), render_markdown(report))


def render_json(report: PrivacyReport) -> str:
    return json.dumps(report.as_json_value(), indent=2, sort_keys=True) + "\n"
