"""`footfall retention`: deletes exactly the partitions past their tier's retention,
whole, logs them without personal data, and destroys salts past epoch and grace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import Collected
from footfall_command import run_footfall

DATASETS = ["sightings", "heartbeats", "visits", "marts/daily", "marts/hourly"]
TIER = {"sightings": "sightings", "heartbeats": "sightings", "visits": "visits"}
AGES = [0, 1, 2, 3, 29, 30, 31, 40, 41, 400]


def _aged_data(demo: Collected, workspace: Path, today: date) -> set[tuple[str, str, date]]:
    """The demo's partitions copied to several ages, for stores footfall never
    collected (no ledger: each ages from its own date, whatever its file times);
    returns every (dataset, store, date) planted."""
    planted = set()
    for dataset in DATASETS:
        template = next((demo.data / dataset).rglob("date=*"))
        for store in ("north", "south"):
            for age in AGES:
                day = today - timedelta(days=age)
                target = workspace / "data" / dataset / f"store={store}" / f"date={day.isoformat()}"
                shutil.copytree(template, target)
                planted.add((dataset, store, day))
    return planted


# The longest the tests that plant partitions by age and run `footfall retention` take
# (about 10 s; far more on a loaded machine): their "today" must stay the command's.
ONE_DAY_MARGIN = timedelta(minutes=3)


@pytest.fixture
def utc_today() -> date:
    """Today (UTC), the same for the test and the commands it runs: within a few minutes
    of midnight the test first waits for it, else a run across midnight (a 10 s window: once in
    9,000 runs for each such test) would age every partition a day past the expectations."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    if midnight - now < ONE_DAY_MARGIN:
        time.sleep((midnight - now).total_seconds() + 1)
    return datetime.now(UTC).date()


def _on_disk(workspace: Path) -> set[tuple[str, str, date]]:
    found = set()
    for dataset in DATASETS:
        for folder in (workspace / "data" / dataset).glob("store=*/date=*"):
            found.add((dataset, folder.parent.name.removeprefix("store="), date.fromisoformat(folder.name[5:])))
    return found


def _listed(output: str, verb: str) -> set[tuple[str, str, date]]:
    found = set()
    for line in output.splitlines():
        if line.startswith(f"{verb} ") and " store=" in line:
            dataset, store, day = line.removeprefix(f"{verb} ").split(" ")
            found.add((dataset, store.removeprefix("store="), date.fromisoformat(day.removeprefix("date="))))
    return found


@pytest.mark.parametrize(
    "days", [{"sightings": 1, "visits": 30, "marts": 40}, {"sightings": 3, "visits": 0, "marts": 0}]
)
def test_retention_deletes_exactly_the_expired_partitions(
    days: dict[str, int], demo_outputs: Collected, workspace: Path, utc_today: date
) -> None:
    config = "[retention]\n" + "".join(f"{tier} = {n}\n" for tier, n in days.items())
    (workspace / "footfall.toml").write_text(config)
    today = utc_today
    planted = _aged_data(demo_outputs, workspace, today)
    # by hand: more whole days old than the tier keeps; 0 keeps for ever
    expired = {
        (dataset, store, day)
        for dataset, store, day in planted
        if (limit := days[TIER.get(dataset, "marts")]) and (today - day).days > limit
    }
    assert expired and expired != planted

    dry = run_footfall("retention", "--dry-run", cwd=workspace)
    assert dry.returncode == 0, dry.output
    assert _listed(dry.stdout, "would delete") == expired
    assert _on_disk(workspace) == planted

    done = run_footfall("retention", cwd=workspace)
    assert done.returncode == 0, done.output
    assert _listed(done.stdout, "deleted") == expired
    assert _on_disk(workspace) == planted - expired
    log = [json.loads(line) for line in (workspace / "data" / "_privacy" / "retention.log").read_text().splitlines()]
    assert {(e["dataset"], e["store"], date.fromisoformat(e["date"])) for e in log} == expired
    assert all(set(e) == {"time", "action", "store", "dataset", "date"} for e in log)
    assert not any((workspace / "data" / "_privacy" / "trash").iterdir())
    last = json.loads(run_footfall("privacy", "report", "--format", "json", cwd=workspace).stdout)["state"]
    assert last["last_retention"]["partitions_deleted"] == len(expired)
    assert sum(last["last_retention"]["deleted"].values()) == len(expired)

    again = run_footfall("retention", cwd=workspace)
    assert _listed(again.stdout, "deleted") == set() and _on_disk(workspace) == planted - expired


def _next_day(data: Path, dataset: str, column: str) -> None:
    """The day after the demo's, made of its rows a day later (a second day of inputs)."""
    for part in (data / dataset / "store=demo" / "date=2024-03-15").glob("*.parquet"):
        table = pq.read_table(part)
        shifted = pc.add(table.column(column), pa.scalar(timedelta(days=1), pa.duration("us")))
        table = table.set_column(table.schema.get_field_index(column), column, shifted)
        if "epoch" in table.column_names:
            table = table.set_column(
                table.schema.get_field_index("epoch"), "epoch", pa.array(["2024-03-16"] * len(table))
            )
        target = data / dataset / "store=demo" / "date=2024-03-16" / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target)


def test_an_import_of_old_captures_is_kept_for_the_full_retention(demo_outputs: Collected, tmp_path: Path) -> None:
    """The demo's day is from 2024 but was collected now (the ingest ledger says so):
    nothing is due. Once its sightings are old they go, and the pipeline does not take
    that for a change of the next day's inputs (it would rebuild that day from fewer
    sightings)."""
    workspace = tmp_path / "demo"
    shutil.copytree(demo_outputs.workspace, workspace)
    data = workspace / "data"
    first = run_footfall("retention", cwd=workspace)
    assert first.returncode == 0 and _listed(first.stdout, "deleted") == set()
    # as if the demo's captures had been collected three days ago, and a next day's today
    ledger = data / "_ingest" / "demo.jsonl"
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert {day for entry in entries for day in entry["dates"]} == {"2024-03-15"}
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    entries = [{**entry, "collected_at": three_days_ago} for entry in entries]
    entries.append({"collected_at": datetime.now(UTC).isoformat(timespec="seconds"), "dates": ["2024-03-16"]})
    ledger.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    _next_day(data, "sightings", "ts")
    _next_day(data, "heartbeats", "minute")
    assert run_footfall("run", cwd=workspace).returncode == 0
    marts_before = {p: p.stat().st_mtime_ns for p in (data / "marts").rglob("*.parquet")}
    assert any("date=2024-03-16" in str(p) for p in marts_before)

    done = run_footfall("retention", cwd=workspace)
    assert _listed(done.stdout, "deleted") == {
        ("sightings", "demo", date(2024, 3, 15)),
        ("heartbeats", "demo", date(2024, 3, 15)),
    }
    rerun = run_footfall("run", cwd=workspace)
    assert rerun.returncode == 0 and "nothing new: 1 store-day(s) unchanged" in rerun.output, rerun.output
    assert {p: p.stat().st_mtime_ns for p in (data / "marts").rglob("*.parquet")} == marts_before


def test_retention_destroys_salts_past_epoch_and_grace(demo_outputs: Collected, tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    shutil.copytree(demo_outputs.workspace, workspace)
    salts = sorted((workspace / "secrets" / "salts").rglob("*.salt"))
    old = salts[0]
    meta = json.loads(old.with_suffix(".json").read_text())
    long_ago = (datetime.now(UTC) - timedelta(hours=7)).isoformat()  # the grace is 6 h by default
    meta.update(epoch_end=long_ago, last_used=long_ago)
    old.with_suffix(".json").write_text(json.dumps(meta))

    dry = run_footfall("retention", "--dry-run", cwd=workspace)
    assert f"would destroy salt store=demo epoch={old.stem}" in dry.stdout and old.exists()
    done = run_footfall("retention", cwd=workspace)
    assert f"destroyed salt store=demo epoch={old.stem}" in done.stdout
    assert not old.exists() and not old.with_suffix(".json").exists()
    tombstones = (old.parent / "destroyed.jsonl").read_text()
    assert json.loads(tombstones.splitlines()[-1])["epoch"] == old.stem
    state = json.loads(run_footfall("privacy", "report", "--format", "json", cwd=workspace).stdout)["state"]
    assert state["last_destruction"]["epoch"] == old.stem and state["salts_alive"] == len(salts) - 1
    audit = run_footfall("privacy", "audit", cwd=workspace)
    assert audit.returncode == 0, audit.output


def test_today_is_the_store_s_local_day(tmp_path: Path) -> None:
    """At 12:00 UTC it is already tomorrow in Kiritimati (UTC+14), still today in Pago Pago (UTC-11)."""
    from footfall.config import load_settings
    from footfall.privacy import retention

    config = tmp_path / "footfall.toml"
    config.write_text(
        '[retention]\nsightings = 1\n[stores.east]\ntimezone = "Pacific/Kiritimati"\n'
        '[stores.west]\ntimezone = "Pacific/Pago_Pago"\n'
    )
    day = date(2026, 1, 9)
    for store in ("east", "west"):
        folder = tmp_path / "data" / "sightings" / f"store={store}" / f"date={day}"
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"PAR1")
    settings = load_settings(config)
    due = retention.due(settings, datetime(2026, 1, 10, 12, tzinfo=UTC))
    assert [(p.store, p.date) for p in due] == [("east", day)]


def test_a_partition_leaves_its_dataset_in_one_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When its files are deleted the partition is already out of the dataset, whole;
    a run cut short there leaves it in the trash, which the next run empties."""
    from footfall.privacy import retention

    folder = tmp_path / "data" / "sightings" / "store=s" / "date=2020-01-01"
    folder.mkdir(parents=True)
    names = {f"part-{i}.parquet" for i in range(3)}
    for name in names:
        (folder / name).write_bytes(b"x")
    seen = []

    def crash(path: Path, *args: object, **kwargs: object) -> None:
        seen.append((folder.exists(), {p.name for p in Path(path).iterdir()}))
        raise KeyboardInterrupt

    monkeypatch.setattr(retention.shutil, "rmtree", crash)
    with pytest.raises(KeyboardInterrupt):
        retention.delete_partition(tmp_path / "data", folder)
    assert seen == [(False, names)]
    monkeypatch.undo()
    other = tmp_path / "data" / "sightings" / "store=s" / "date=2020-01-02"
    other.mkdir()
    retention.delete_partition(tmp_path / "data", other)
    assert not any((tmp_path / "data" / "_privacy" / "trash").iterdir())
    assert not (tmp_path / "data" / "sightings" / "store=s").exists()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_retention_deletes_what_no_tier_can_age(demo_outputs: Collected, tmp_path: Path) -> None:
    """A partition or salt dated 2092 (one flipped bit in a record's seconds) or on an
    impossible date, and what killed processes left: all go, and the audit is clean
    after. Tomorrow (a sensor clock a little ahead) and a live run's files stay."""
    workspace = tmp_path / "demo"
    shutil.copytree(demo_outputs.workspace, workspace)
    data = workspace / "data"
    source = next((data / "sightings" / "store=demo").glob("date=*"))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    planted = {name: source.parent / f"date={name}" for name in ("2092-03-15", "2024-13-45", tomorrow)}
    for folder in planted.values():
        shutil.copytree(source, folder)
    shutil.copytree(
        data / "visits" / "store=demo" / "date=2024-03-15", data / "visits" / "store=demo" / "date=2092-03-15"
    )
    salt = next((workspace / "secrets" / "salts" / "demo").glob("*.salt"))
    future_salt = salt.with_name("2092-03-15.salt")
    shutil.copy2(salt, future_salt)
    shutil.copy2(salt.with_suffix(".json"), future_salt.with_suffix(".json"))
    dead, alive = _dead_pid(), os.getpid()
    killed_run = data / "_pipeline" / f"staging-{dead}-0a1b2c3d"
    live_run = data / "_pipeline" / f"staging-{alive}-0a1b2c3d"
    for run in (killed_run, live_run, data / "_pipeline" / f"tmp-{dead}"):
        (run / "visits").mkdir(parents=True)
        shutil.copy2(next((data / "visits").rglob("*.parquet")), run / "visits" / "data_0.parquet")
    killed_part = source / f".part-{dead}-0a1b2c3d.parquet.tmp"
    shutil.copy2(next(source.glob("*.parquet")), killed_part)
    salt_temp = salt.with_name(f".{salt.name}.{dead}.0a1b2c3d.tmp")
    shutil.copy2(salt, salt_temp)

    dry = run_footfall("retention", "--dry-run", cwd=workspace)
    assert dry.returncode == 0, dry.output
    for name in ("2092-03-15", "2024-13-45"):
        assert f"would delete sightings store=demo date={name}" in dry.stdout
    assert "would delete visits store=demo date=2092-03-15" in dry.stdout
    assert "would destroy salt store=demo epoch=2092-03-15" in dry.stdout
    assert f"staging-{dead}-" in dry.stdout and f"tmp-{dead}" in dry.stdout and killed_part.name in dry.stdout
    assert killed_run.exists() and future_salt.exists()

    done = run_footfall("retention", cwd=workspace)
    assert done.returncode == 0, done.output
    assert not planted["2092-03-15"].exists() and not planted["2024-13-45"].exists()
    assert not (data / "visits" / "store=demo" / "date=2092-03-15").exists()
    assert planted[tomorrow].exists(), "a day ahead is a clock a little fast, not a corrupt date"
    assert not future_salt.exists() and not future_salt.with_suffix(".json").exists() and salt.exists()
    assert not killed_run.exists() and not (data / "_pipeline" / f"tmp-{dead}").exists() and not killed_part.exists()
    assert live_run.exists(), "a live run's staging is left to it"
    assert not salt_temp.exists()
    log = [json.loads(line) for line in (data / "_privacy" / "retention.log").read_text().splitlines()]
    assert {(e["dataset"], e["date"]) for e in log if "reason" in e} == {
        ("sightings", "2092-03-15"),
        ("sightings", "2024-13-45"),
        ("visits", "2092-03-15"),
    }
    shutil.rmtree(live_run)
    audit = run_footfall("privacy", "audit", cwd=workspace)
    assert audit.returncode == 0, audit.output


def test_the_dry_run_says_what_falls_due_next_and_json_says_the_same(
    demo_outputs: Collected, workspace: Path, utc_today: date
) -> None:
    """Issue 13: a dry run listed nothing when nothing was due, and never said when
    something would be; retention had no --format json like the audit."""
    (workspace / "footfall.toml").write_text("[retention]\nsightings = 2\nvisits = 30\nmarts = 0\n")
    today = utc_today  # the stores are not configured: UTC
    planted = _aged_data(demo_outputs, workspace, today)
    ages = {(dataset, store, day) for dataset, store, day in planted if dataset in TIER}
    # by hand: a partition of age a and retention n falls due at midnight of day date + n + 1;
    # of those not yet due, the first is the sightings of age 2 (due tomorrow at 00:00 UTC)
    pending = [
        (day + timedelta(days=(2 if TIER[dataset] == "sightings" else 30) + 1), dataset, store, day)
        for dataset, store, day in ages
        if (today - day).days <= (2 if TIER[dataset] == "sightings" else 30)
    ]
    first_due, dataset, store, day = min(pending)
    assert first_due == today + timedelta(days=1)
    dry = run_footfall("retention", "--dry-run", cwd=workspace)
    assert dry.returncode == 0
    (line,) = [line for line in dry.stdout.splitlines() if line.startswith("next due: ")]
    assert line.startswith(f"next due: {dataset} store={store} date={day} on {first_due} 00:00 UTC (in ")
    assert day == today - timedelta(days=2)
    as_json = json.loads(run_footfall("retention", "--dry-run", "--format", "json", cwd=workspace).stdout)
    assert as_json["dry_run"] is True and as_json["retention_days"] == {"sightings": 2, "visits": 30, "marts": 0}
    assert as_json["next_due"]["at"] == f"{first_due}T00:00:00+00:00"
    listed = {(p["dataset"], p["store"], date.fromisoformat(p["date"])) for p in as_json["partitions"]}
    assert listed == _listed(dry.stdout, "would delete") and listed
    deleted = json.loads(run_footfall("retention", "--format", "json", cwd=workspace).stdout)
    assert deleted["dry_run"] is False and len(deleted["partitions"]) == len(listed)
    assert _on_disk(workspace) == planted - listed
    nothing = workspace / "other"
    nothing.mkdir()
    (nothing / "footfall.toml").write_text("[retention]\nsightings = 0\nvisits = 0\nmarts = 0\n")
    assert "next due: nothing" in run_footfall("retention", "--dry-run", cwd=nothing).stdout
