"""`footfall privacy report`: the settings in force and the state, as the files say."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from footfall.privacy.report_model import PrivacyReport

from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall

CONFIG = """
[privacy]
epoch = "hour"
salt_grace_hours = 2.5
k = 3

[retention]
sightings = 2
visits = 40
marts = 0

[visits]
gap_min = 12

[stores.lab]
timezone = "Europe/Prague"
equipment = ["dc:fb:48", "40:ec:99", "02:11:22:33:44:55"]
min_dwell_min = 4

[stores.lab.sensors.s1]
rssi_threshold_dbm = -60

[stores.other]
timezone = "America/New_York"
"""


def _report(workspace: Path) -> dict:
    run = run_footfall("privacy", "report", "--format", "json", cwd=workspace)
    assert run.returncode == 0, run.output
    report = json.loads(run.stdout)
    PrivacyReport.model_validate(report)  # what it prints is what the model (and its schema in docs/) says
    return report


def test_report_shows_the_configuration_in_force(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(CONFIG)
    settings = _report(workspace)["settings"]
    assert (settings["hash"], settings["pseudonym_bits"], settings["epoch"]) == ("HMAC-SHA256", 64, "hour")
    assert (settings["salt_grace_hours"], settings["k"]) == (2.5, 3)
    assert settings["retention_days"] == {"sightings": 2, "visits": 40, "marts": 0}
    assert settings["salt_storage"]["path"] == str(workspace / "secrets" / "salts")
    assert settings["salt_storage"]["mode"] is None  # nothing collected yet
    lab, other = settings["stores"]["lab"], settings["stores"]["other"]
    assert (lab["equipment_entries"], other["equipment_entries"]) == (3, 0)
    assert lab["visits"] == {"gap_min": 12, "min_dwell_min": 4, "rssi_threshold_dbm": -70, "staff_daily_hours": 6}
    assert other["visits"]["min_dwell_min"] == 5 and other["timezone"] == "America/New_York"
    assert lab["sensors"] == {"s1": {"rssi_threshold_dbm": -60}}


def test_report_shows_salts_data_and_optout_as_they_are(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(CONFIG)
    capture = SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz"
    assert run_footfall("collect", capture, "--store", "lab", "--sensor", "s1", cwd=workspace).returncode == 0
    added = run_footfall("optout", "add", "02:00:00:00:00:01", "02:00:00:00:00:02", cwd=workspace)
    assert added.returncode == 0
    report = _report(workspace)

    # the epochs and dates the collector wrote, read from the sightings themselves
    sightings = duckdb.sql(
        f"select distinct epoch, date from read_parquet('{workspace}/data/sightings/**/*.parquet', "
        "hive_partitioning=true)"
    ).fetchall()
    epochs = sorted({epoch for epoch, _ in sightings})
    state = report["state"]
    assert [s["epoch"] for s in state["salts"] if s["store"] == "lab"] == epochs
    assert state["salts_alive"] == len(epochs) and not any(s["overdue"] for s in state["salts"])
    assert state["stores"]["lab"]["oldest"]["sightings"] == min(str(d) for _, d in sightings)
    assert state["stores"]["lab"]["oldest"]["visits"] is None  # not run yet
    assert state["stores"]["lab"]["datasets"]["sightings"]["past_retention"] == 0  # just written
    assert state["stores"]["other"]["datasets"] == {}
    assert report["settings"]["optout"]["entries"] == 2
    assert report["settings"]["salt_storage"]["mode"] == "0700"
    assert (state["last_destruction"], state["last_audit"], state["last_retention"]) == (None, None, None)


def test_report_names_the_last_salt_destruction(workspace: Path) -> None:
    salts = workspace / "secrets" / "salts"
    for store, lines in {
        "a": ['{"epoch": "2024-03-14", "destroyed_at": "2024-03-15T06:00:00+00:00"}'],
        "b": ['{"epoch": "2024-03-15", "destroyed_at": "2024-03-16T07:30:00+01:00"}', "not json"],
    }.items():
        (salts / store).mkdir(parents=True)
        (salts / store / "destroyed.jsonl").write_text("\n".join(lines) + "\n")
    state = _report(workspace)["state"]
    assert state["salts_destroyed"] == 2
    last = {"store": "b", "epoch": "2024-03-15", "destroyed_at": "2024-03-16T06:30:00+00:00"}
    assert state["last_destruction"] == last


def test_markdown_and_html_say_the_same_as_the_json(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(CONFIG.replace("k = 3", "k = 1"))
    report = _report(workspace)
    assert any("suppression is off (k = 1)" in line for line in report["explanation"])
    markdown = run_footfall("privacy", "report", cwd=workspace).stdout
    page = run_footfall("privacy", "report", "--format", "html", cwd=workspace).stdout
    for line in report["explanation"]:
        assert f"- {line}" in markdown
    assert "equipment list 3 entries" in markdown and "equipment list 3 entries" in page
    assert page.startswith("<!doctype html>") and "<li>Small-cell suppression is off (k = 1)" in page


def test_the_report_carries_the_notices_gdpr_items_and_says_what_ie_hash_allows(workspace: Path) -> None:
    (workspace / "footfall.toml").write_text(
        '[notice]\ncontroller = "Corner Store Co"\ncontact = "dpo@corner.example"\n'
        'legal_basis = "legitimate interest (art. 6(1)(f))"\n'
    )
    report = _report(workspace)
    assert report["settings"]["notice_missing"] == ["notice.dpo", "notice.authority"]
    assert report["settings"]["notice"]["controller"] == "Corner Store Co"
    fingerprint = [line for line in report["explanation"] if "ie_hash" in line]
    assert len(fingerprint) == 1 and "device-family fingerprint" in fingerprint[0]
    assert "single a device out" in fingerprint[0] and "across days" in fingerprint[0]
    for fmt in ("md", "html"):
        text = run_footfall("privacy", "report", "--format", fmt, cwd=workspace).stdout
        assert "Customer notice (GDPR art. 13)" in text and "Corner Store Co" in text
        assert "device-family fingerprint" in text
        assert "notice.dpo, notice.authority" in text
