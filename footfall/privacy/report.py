"""`footfall privacy report`: the settings in force and what is true now, for a
privacy officer, the dashboard's privacy page and other tools (JSON).

build_report() reads only the configuration, folder listings, salt metadata and the
records of the last audit and retention run: never a Parquet value, so it is cheap
and cannot echo personal data. render_markdown() and render_html() give the same
words for people.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from footfall import outputs
from footfall.collector.salts import SALT_BYTES, SaltStore
from footfall.config import Settings, StoreSettings
from footfall.errors import FootfallError
from footfall.privacy import inventory, permissions, records, wording
from footfall.thresholds import visit_thresholds

REPORT_VERSION = 1
HASH = "HMAC-SHA256"
PSEUDONYM_BITS = 64


def build_report(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The report as plain JSON values (str, int, float, bool, None, lists, dicts).

    The structure is stable (`report_version` changes if a key changes meaning or
    goes away; keys may be added). Times are ISO 8601 in UTC, dates YYYY-MM-DD
    (the store's local day), paths absolute.

    - `report_version` (int), `generated_at` (time), `config_file` (path or None)
    - `settings`: what is configured
        - `hash` ("HMAC-SHA256"), `pseudonym_bits` (64), `salt_bytes` (32),
          `epoch` ("hour" | "day" | "week"), `salt_grace_hours`, `k`
        - `data_dir`, `secrets_dir`
        - `salt_storage`: `path` (the salts folder), `mode` ("0700" or None when it
          does not exist yet), `secrets_dir_mode`, `loose_paths` (how many secret
          files or folders are wider than 0600 / 0700; the audit names them)
        - `optout`: `path`, `entries` (int, None when the list cannot be read),
          `problem` (None or why it cannot be read)
        - `retention_days`: `sightings`, `visits`, `marts` (0 = kept for ever)
        - `visits`: the default thresholds `gap_min`, `min_dwell_min`,
          `rssi_threshold_dbm`, `staff_daily_hours`
        - `stores`: per store (configured ones and those with data):
          `configured` (bool), `timezone`, `opening_hours`, `equipment_entries`
          (the size of its equipment list), `visits` (thresholds in force for the
          store), `sensors` ({name: {`rssi_threshold_dbm`}})
        - `notice`: `controller`, `contact`
    - `state`: what is true now
        - `salts_alive` (int), `salts`: one entry per live salt, oldest first:
          `store`, `epoch`, `epoch_end`, `last_used`, `destroy_after` (epoch end or
          last use, whichever is later, plus the grace), `overdue` (bool: past
          destroy_after, so the next `footfall retention` or `collect` destroys it)
        - `salts_destroyed` (int), `last_destruction`: None or `store`, `epoch`,
          `destroyed_at`
        - `stores`: per store: `oldest` ({`sightings`, `visits`, `marts`}: the
          oldest local date held, or None), `datasets` ({dataset: `partitions`,
          `oldest`, `newest`, `past_retention` (partitions retention would delete
          now)})
        - `last_retention`: None or `time`, `partitions_deleted`, `deleted`
          ({dataset: count}), `salts_destroyed`
        - `last_audit`: None or `time`, `clean` (bool), `findings` (int),
          `by_rule` ({rule: count}), `files_scanned`, `captures_against`
    - `explanation`: plain-language sentences: what someone holding the outputs
      could and could not learn, given these settings and this state
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    settings_part = _settings(settings)
    state = _state(settings, now)
    report = {
        "report_version": REPORT_VERSION,
        "generated_at": records.timestamp(now),
        "config_file": str(settings.source.resolve()) if settings.source else None,
        "settings": settings_part,
        "state": state,
    }
    report["explanation"] = explain(report)
    return report


# --- settings ---------------------------------------------------------------------------


def _settings(settings: Settings) -> dict[str, Any]:
    privacy = settings.privacy
    salts = settings.secrets_dir / "salts"
    entries, problem = _optout_entries(settings)
    return {
        "hash": HASH,
        "pseudonym_bits": PSEUDONYM_BITS,
        "salt_bytes": SALT_BYTES,
        "epoch": privacy.epoch,
        "salt_grace_hours": privacy.salt_grace_hours,
        "k": privacy.k,
        "data_dir": str(settings.data_dir),
        "secrets_dir": str(settings.secrets_dir),
        "salt_storage": {
            "path": str(salts),
            "mode": permissions.mode_text(salts),
            "secrets_dir_mode": permissions.mode_text(settings.secrets_dir),
            "loose_paths": len(permissions.loose_secrets(settings)),
        },
        "optout": {"path": str(settings.optout_path), "entries": entries, "problem": problem},
        "retention_days": settings.file.retention.model_dump(),
        "visits": settings.file.visits.model_dump(),
        "stores": {name: _store_settings(settings, name) for name in inventory.stores(settings)},
        "notice": settings.file.notice.model_dump(),
    }


def _optout_entries(settings: Settings) -> tuple[int | None, str | None]:
    from footfall.collector.optout import OptOutList

    try:
        return len(OptOutList(settings.secrets_dir, settings.optout_path)), None
    except FootfallError as exc:
        return None, str(exc)


def _store_settings(settings: Settings, store: str) -> dict[str, Any]:
    own = settings.file.stores.get(store)
    listed = own or StoreSettings()
    return {
        "configured": own is not None,
        "timezone": listed.timezone,
        "opening_hours": listed.opening_hours,
        "equipment_entries": len(listed.equipment),
        "visits": visit_thresholds(settings, store).model_dump(),
        "sensors": {name: {"rssi_threshold_dbm": s.rssi_threshold_dbm} for name, s in sorted(listed.sensors.items())},
    }


# --- state ------------------------------------------------------------------------------


def _state(settings: Settings, now: datetime) -> dict[str, Any]:
    grace = timedelta(hours=settings.privacy.salt_grace_hours)
    salt_store = SaltStore(settings.secrets_dir, grace)
    alive = [
        {
            "store": s.store,
            "epoch": s.epoch,
            "epoch_end": records.timestamp(s.epoch_end.astimezone(UTC)),
            "last_used": records.timestamp(s.last_used.astimezone(UTC)),
            "destroy_after": records.timestamp(s.expires(grace).astimezone(UTC)),
            "overdue": now > s.expires(grace),
        }
        for s in salt_store.states()
    ]
    destroyed = _destructions(salt_store.root)
    last = max(destroyed, key=lambda d: d["destroyed_at"], default=None)
    return {
        "salts_alive": len(alive),
        "salts": alive,
        "salts_destroyed": len(destroyed),
        "last_destruction": last,
        "stores": _data_state(settings, now),
        "last_retention": records.read(settings.data_dir, records.LAST_RETENTION),
        "last_audit": records.read(settings.data_dir, records.LAST_AUDIT),
    }


def _destructions(salts_root: Path) -> list[dict[str, str]]:
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
            found.append({"store": store, "epoch": epoch, "destroyed_at": records.timestamp(when)})
    return found


def _data_state(settings: Settings, now: datetime) -> dict[str, Any]:
    stores: dict[str, Any] = {
        name: {"oldest": dict.fromkeys(outputs.TIERS), "datasets": {}} for name in inventory.stores(settings)
    }
    ages = inventory.Ages(settings, now)
    for partition in inventory.partitions(settings.data_dir):
        if not partition.names:
            continue
        store = stores[partition.store]
        day = partition.date.isoformat()
        summary = store["datasets"].setdefault(
            partition.dataset, {"partitions": 0, "oldest": day, "newest": day, "past_retention": 0}
        )
        summary["partitions"] += 1
        summary["oldest"] = min(summary["oldest"], day)
        summary["newest"] = max(summary["newest"], day)
        summary["past_retention"] += ages.expired(partition)
        oldest = store["oldest"]
        tier = outputs.tier_of(partition.dataset)
        if oldest[tier] is None or day < oldest[tier]:
            oldest[tier] = day
    return stores


# --- explanation ------------------------------------------------------------------------


def explain(report: dict[str, Any]) -> list[str]:
    """What an attacker holding every output (not the secrets) could and could not
    learn, in the terms of this configuration and state."""
    settings, state = report["settings"], report["state"]
    epoch = settings["epoch"]
    grace = wording.hours(settings["salt_grace_hours"])
    k = settings["k"]
    retention = settings["retention_days"]
    lines = [
        f"No device address is stored. In the collector's memory each address is replaced by a keyed hash "
        f"({settings['hash']}) under a secret random salt of {settings['salt_bytes']} bytes, "
        f"kept to {settings['pseudonym_bits']} bits. Without the salt the pseudonym cannot be turned back "
        "into the address, not even by trying every possible address.",
        f"Each salt serves one {epoch} (the store's local time) and is destroyed (overwritten, then deleted) "
        f"{grace} after the {epoch} ends and after its last use. From then on no one, the operator included, can "
        f"link that {epoch}'s pseudonyms to an address or to the pseudonyms of another {epoch}.",
        f"Someone holding the outputs can tell that the same (estimated) device was seen several times within "
        f"one {epoch}, and so follow its visits during that {epoch}; they cannot link it across {epoch}s.",
        f"While a salt is alive (now {state['salts_alive']}), whoever holds it and already knows a device's "
        f"address could recompute that device's pseudonym for that {epoch}. The salts are kept apart from the "
        f"outputs in {settings['salt_storage']['path']}, "
        + (
            "readable by their owner only."
            if not settings["salt_storage"]["loose_paths"]
            else f"but {settings['salt_storage']['loose_paths']} secret file(s) or folder(s) there can be read by "
            "others: fix their permissions (`footfall privacy audit` names them)."
        ),
        "Network names (SSIDs) that phones ask for are never stored, only whether a probe named one; "
        "nothing a phone sends beyond its probe (no content, no name, no phone number) is ever received.",
    ]
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
    lines.append(_retention_sentence(retention))
    optout = settings["optout"]["entries"]
    lines.append(
        f"{optout if optout is not None else 'An unreadable number of'} device(s) have opted out: their frames are "
        "dropped in memory before anything is written, and the list holds only keyed hashes of their addresses."
    )
    equipment = sum(store["equipment_entries"] for store in settings["stores"].values())
    if equipment:
        lines.append(
            f"{equipment} address(es) or vendor prefix(es) of the stores' own equipment are dropped the same way."
        )
    lines.append(_audit_sentence(state["last_audit"]))
    return lines


def _retention_sentence(days: dict[str, int]) -> str:
    def kept(tier: str) -> str:
        return "for ever" if days[tier] == 0 else f"for {wording.days(days[tier])}"

    sentence = (
        f"Sightings are kept {kept('sightings')}, visits {kept('visits')} and aggregates {kept('marts')} "
        "(counted from the day the data describes, or from the day footfall collected it if later), "
        "deleted by `footfall retention`."
    )
    if days["sightings"] == 0 or days["visits"] == 0:
        sentence += " Pseudonymous data kept for ever is a risk: set a retention for sightings and visits."
    return sentence


def _audit_sentence(audit: dict[str, Any] | None) -> str:
    if audit is None:
        return "No audit has been recorded yet: run `footfall privacy audit`."
    if audit.get("clean"):
        return f"The last audit ({audit.get('time')}) found nothing: no address, network name or small cell."
    rules = ", ".join(f"{rule} ({count})" for rule, count in sorted(audit.get("by_rule", {}).items()))
    return f"The last audit ({audit.get('time')}) found {audit.get('findings')} problem(s): {rules}."


# --- rendering ----------------------------------------------------------------------------


def sections(report: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]] | list[str]]]:
    """The report as titled sections of (label, value) rows or of sentences: the one
    layout that both the Markdown and the HTML renderings follow."""
    settings, state = report["settings"], report["state"]
    retention = settings["retention_days"]
    storage = settings["salt_storage"]
    in_force = [
        ("pseudonym", f"{settings['hash']}, {settings['pseudonym_bits']} bits, salt of {settings['salt_bytes']} bytes"),
        ("salt epoch", f"{settings['epoch']} (store's local time)"),
        ("salt grace", wording.hours(settings["salt_grace_hours"])),
        ("salt storage", f"{storage['path']} (mode {storage['mode'] or 'not created yet'})"),
        ("secret files wider than 0600/0700", str(storage["loose_paths"])),
        ("k (smallest published count)", str(settings["k"])),
        ("retention (days, 0 = for ever)", ", ".join(f"{tier} {retention[tier]}" for tier in outputs.TIERS)),
        ("visit thresholds", _visits(settings["visits"])),
        ("opt-out entries", str(settings["optout"]["entries"] if settings["optout"]["entries"] is not None else "?")),
        ("data folder", settings["data_dir"]),
        ("configuration", report["config_file"] or "defaults (no file)"),
    ]
    stores = []
    for name, own in settings["stores"].items():
        held = state["stores"].get(name, {}).get("oldest", {})
        oldest = ", ".join(f"{tier} {held.get(tier) or '-'}" for tier in outputs.TIERS)
        stores.append(
            (
                name,
                f"timezone {own['timezone']}; equipment list {own['equipment_entries']} entries; "
                f"{_visits(own['visits'])}; oldest data: {oldest}",
            )
        )
    salts = [
        (f"{s['store']} {s['epoch']}", f"destroy after {s['destroy_after']}{' (overdue)' if s['overdue'] else ''}")
        for s in state["salts"]
    ] or [("salts alive", "none")]
    last = state["last_destruction"]
    destruction = f"{last['store']} {last['epoch']} at {last['destroyed_at']}" if last else "never"
    salts.append(("last destruction", destruction))
    runs = [
        ("last retention run", _retention_run(state["last_retention"])),
        ("last audit", _audit(state["last_audit"])),
    ]
    return [
        ("Settings in force", in_force),
        ("Stores", stores or [("stores", "none configured, no data yet")]),
        ("Salts", salts),
        ("Retention and audit", runs),
        ("What the outputs reveal", report["explanation"]),
    ]


def _visits(values: dict[str, float]) -> str:
    return (
        f"visit gap {values['gap_min']} min, minimum visit {values['min_dwell_min']} min, "
        f"signal {values['rssi_threshold_dbm']} dBm, staff after {values['staff_daily_hours']} h"
    )


def _retention_run(run: dict[str, Any] | None) -> str:
    if run is None:
        return "never"
    deleted, destroyed = run.get("partitions_deleted", 0), run.get("salts_destroyed", 0)
    return f"{run.get('time')}: {deleted} partition(s) deleted, {destroyed} salt(s) destroyed"


def _audit(audit: dict[str, Any] | None) -> str:
    if audit is None:
        return "never"
    verdict = "clean" if audit.get("clean") else f"{audit.get('findings')} finding(s)"
    return f"{audit.get('time')}: {verdict}"


def render_markdown(report: dict[str, Any]) -> str:
    out = [f"# Privacy report ({report['generated_at']})", ""]
    for title, rows in sections(report):
        out += [f"## {title}", ""]
        for row in rows:
            out.append(f"- **{row[0]}**: {row[1]}" if isinstance(row, tuple) else f"- {row}")
        out.append("")
    return "\n".join(out)


def render_html(report: dict[str, Any]) -> str:
    def e(text: object) -> str:
        return html.escape(str(text))

    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>footfall privacy report</title></head><body>',
        f"<h1>Privacy report ({e(report['generated_at'])})</h1>",
    ]
    for title, rows in sections(report):
        out.append(f"<h2>{e(title)}</h2>")
        if rows and isinstance(rows[0], tuple):
            out.append("<table>")
            out += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in rows]  # type: ignore[misc]
            out.append("</table>")
        else:
            out.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in rows) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"
