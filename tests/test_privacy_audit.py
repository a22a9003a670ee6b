"""`footfall privacy audit`: clean on what the system writes, and each rule fails loudly
on one planted violation, naming exactly that file, column and rule.

The addresses and SSIDs planted come from tshark (the independent reference), not
from the audit's own capture reader."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_privacy_invariant import _macs_and_ssids

from capture_files import SAMPLE_CAPTURES, SHARED_CAPTURES
from conftest import Collected
from faults import read_only_run
from footfall_command import run_footfall

DEMO_CAPTURE = SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz"


def audit(workspace: Path, *args: str | Path) -> tuple[int, list[tuple[str, Path, str | None]], dict]:
    """Runs the audit as a user does; returns its status and its findings as (rule, file, column)."""
    run = run_footfall("privacy", "audit", "--format", "json", *args, cwd=workspace)
    assert run.returncode in (0, 1), run.output
    result = json.loads(run.stdout)
    findings = [(item["rule"], Path(item["file"]).resolve(), item["column"]) for item in result["items"]]
    return run.returncode, findings, result


def copy_of(outputs: Collected, tmp_path: Path) -> Path:
    """A private copy of session outputs (modes and times kept), to change or audit."""
    target = tmp_path / "copy"
    shutil.copytree(outputs.workspace, target)
    return target


@pytest.fixture(scope="module")
def demo_secrets() -> tuple[bytes, bytes]:
    """One address and one SSID of the demo capture, as tshark reads them."""
    macs, ssids = _macs_and_ssids(DEMO_CAPTURE)
    telling = sorted(s for s in ssids if len(s) >= 6 and any(chr(c) in "ghijklmnopqrstuvwxyz" for c in s.lower()))
    assert macs and telling
    return sorted(macs)[len(macs) // 2], telling[0]


# --- clean on what the system writes ----------------------------------------------------------


def test_audit_is_clean_on_the_demo_outputs(demo_outputs: Collected, tmp_path: Path) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    for args in ([], ["--against", SAMPLE_CAPTURES]):
        status, findings, result = audit(workspace, *args)
        assert (status, findings) == (0, []), findings
        assert result["files_scanned"] >= 10  # sightings, heartbeats, visits, five marts, ledger, salts...
    assert result["captures_against"] == 3  # the two Brno days and the exthdr sample


def test_audit_is_clean_on_every_shared_capture(shared_outputs: Collected, tmp_path: Path) -> None:
    workspace = copy_of(shared_outputs, tmp_path)
    status, findings, result = audit(workspace, "--against", SHARED_CAPTURES)
    assert (status, findings) == (0, []), findings
    assert result["captures_against"] == len(shared_outputs.captures)


def test_audit_record_and_report(demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]) -> None:
    """The last audit is recorded (counts only) and the report shows it."""
    workspace = copy_of(demo_outputs, tmp_path)
    audit(workspace)
    clean = json.loads(run_footfall("privacy", "report", "--format", "json", cwd=workspace).stdout)
    assert clean["state"]["last_audit"]["clean"] is True
    assert any(line.startswith("The last audit") and "found nothing" in line for line in clean["explanation"])
    _plant_log(workspace, demo_secrets)
    audit(workspace, "--log", workspace / "logs")
    report = json.loads(run_footfall("privacy", "report", "--format", "json", cwd=workspace).stdout)
    last = report["state"]["last_audit"]
    assert (last["clean"], last["findings"], last["by_rule"]) == (False, 1, {"mac-text": 1})
    record = (workspace / "data" / "_privacy" / "last_audit.json").read_text()
    assert demo_secrets[0].hex() not in record.replace(":", "")


# --- one planted violation per rule -------------------------------------------------------------

Plant = Callable[[Path, tuple[bytes, bytes]], tuple[str, Path, str | None, list[str | Path]]]


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> Path:
    pq.write_table(change(pq.read_table(path)), path, compression="zstd")
    return path


def _first(workspace: Path, dataset: str) -> Path:
    return sorted((workspace / "data" / dataset).rglob("*.parquet"))[0]


def _one_row(table: pa.Table, value: object, kind: pa.DataType) -> pa.Array:
    return pa.array([value] + [None] * (table.num_rows - 1), kind)


def _plant_mac_text(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    spelled = "-".join(f"{b:02X}" for b in secrets[0])
    visits = _rewrite(
        _first(workspace, "visits"), lambda t: t.append_column("note", _one_row(t, f"seen {spelled}", pa.string()))
    )
    return "mac-text", visits, "note", []


def _plant_mac_bytes(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    visits = _rewrite(
        _first(workspace, "visits"), lambda t: t.append_column("blob", _one_row(t, b"\x00" + secrets[0], pa.binary()))
    )
    return "mac-bytes", visits, "blob", ["--against", DEMO_CAPTURE]


def _plant_ssid(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    text = "probing for " + secrets[1].decode()
    sightings = _rewrite(
        _first(workspace, "sightings"), lambda t: t.append_column("note", _one_row(t, text, pa.string()))
    )
    return "ssid", sightings, "note", ["--against", DEMO_CAPTURE]


def _plant_unkeyed_hash(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    unkeyed = int.from_bytes(hashlib.sha256(secrets[0]).digest()[:8], "big", signed=True)

    def change(table: pa.Table) -> pa.Table:
        devices = table.column("device").to_pylist()
        devices[len(devices) // 2] = unkeyed
        return table.set_column(table.schema.get_field_index("device"), "device", pa.array(devices, pa.int64()))

    return "unkeyed-hash", _rewrite(_first(workspace, "sightings"), change), "device", ["--against", DEMO_CAPTURE]


def _plant_small_cell(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    def change(table: pa.Table) -> pa.Table:
        return table.set_column(table.schema.get_field_index("visitors"), "visitors", pa.array([2], pa.int64()))

    return "below-k", _rewrite(_first(workspace, "marts/daily"), change), "visitors", []


def _plant_old_partition(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    source = _first(workspace, "sightings").parent
    old = datetime.now(UTC) - timedelta(days=5)
    target = source.parent / f"date={old.date().isoformat()}"
    shutil.copytree(source, target)  # fresh file times: footfall never collected that day
    return "retention", target, None, []


def _salt(workspace: Path) -> Path:
    return sorted((workspace / "secrets" / "salts").rglob("*.salt"))[0]


def _plant_expired_salt(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    salt = _salt(workspace)
    meta = json.loads(salt.with_suffix(".json").read_text())
    long_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    meta.update(epoch_end=long_ago, last_used=long_ago)
    salt.with_suffix(".json").write_text(json.dumps(meta))
    return "salt-expired", salt, None, []


def _plant_loose_salt(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    salt = _salt(workspace)
    salt.chmod(0o644)
    return "permissions", salt, None, []


def _plant_log(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    log = workspace / "logs" / "collector.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(f"{time.ctime()} probe request from {secrets[0].hex(':')} rssi -61\n" * 3)
    return "mac-text", log, None, ["--log", log.parent]


def _plant_store_name(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    source = _first(workspace, "visits")
    today = f"date={datetime.now(UTC).date().isoformat()}"  # a store never collected: dated today, not past retention
    target = workspace / "data" / "visits" / f"store={secrets[0].hex('-')}" / today / source.name
    target.parent.mkdir(parents=True)
    shutil.copy2(source, target)
    return "mac-text", target, None, []


def _dead_pid() -> int:
    """The id of a process that has just ended (ids are not reused at once)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _plant_future_partition(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    """One flipped bit in a record's seconds turns 2024 into 2092."""
    source = _first(workspace, "sightings").parent
    target = source.parent / "date=2092-03-15"
    shutil.copytree(source, target)
    return "misdated", target, None, []


def _plant_impossible_date(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    source = _first(workspace, "visits").parent
    target = source.parent / "date=2024-13-45"
    shutil.copytree(source, target)
    return "misdated", target, None, []


def _plant_future_salt(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    salt = _salt(workspace)
    future = salt.with_name("2092-03-15.salt")
    shutil.copy2(salt, future)
    shutil.copy2(salt.with_suffix(".json"), future.with_suffix(".json"))
    return "misdated", future, None, []


def _plant_killed_run(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    visits = _first(workspace, "visits")
    staging = workspace / "data" / "_pipeline" / f"staging-{_dead_pid()}-0a1b2c3d"
    target = staging / visits.relative_to(workspace / "data")
    target.parent.mkdir(parents=True)
    shutil.copy2(visits, target)
    return "stray-data", staging, None, []


def _plant_killed_collector(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    sightings = _first(workspace, "sightings")
    temp = sightings.with_name(f".part-{_dead_pid()}-0a1b2c3d.parquet.tmp")
    shutil.copy2(sightings, temp)
    return "stray-data", temp, None, []


def _plant_parquet_elsewhere(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    target = workspace / "data" / "exports" / "visits.parquet"
    target.parent.mkdir()
    shutil.copy2(_first(workspace, "visits"), target)
    return "stray-data", target, None, []


def _plant_secret_temporary(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    salt = _salt(workspace)
    temp = salt.with_name(f".{salt.name}.{_dead_pid()}.0a1b2c3d.tmp")
    shutil.copy2(salt, temp)
    return "stray-data", temp, None, []


def _window(mac: bytes, start: int, width: int, order: str) -> int:
    return int.from_bytes(mac[start : start + width], order)  # type: ignore[arg-type]


def _plant_length_in_a_log(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    """An error message that printed 4 bytes inside a frame as a record length."""
    log = workspace / "logs" / "collect.log"
    log.parent.mkdir(exist_ok=True)
    length = _window(secrets[0], 2, 4, "little")
    log.write_text(f"footfall: error: corrupt pcap record header at byte 333 (captured length {length})\n")
    return "mac-number", log, None, ["--log", log.parent, "--against", DEMO_CAPTURE]


def _plant_compressed_log(workspace: Path, secrets: tuple[bytes, bytes]) -> tuple:
    log = workspace / "logs" / "collector.log.1.gz"
    log.parent.mkdir(exist_ok=True)
    log.write_bytes(gzip.compress(f"{time.ctime()} probe from {secrets[0].hex(':')}\n".encode()))
    return "mac-text", log, None, ["--log", log.parent]


PLANTS = {
    "a MAC string in a Parquet column": _plant_mac_text,
    "the 6 raw bytes in a binary column": _plant_mac_bytes,
    "an SSID from the capture": _plant_ssid,
    "an unkeyed SHA-256 of a MAC": _plant_unkeyed_hash,
    "a mart cell of 2 with k = 5": _plant_small_cell,
    "a sightings partition older than retention": _plant_old_partition,
    "an expired salt": _plant_expired_salt,
    "a 0644 salt file": _plant_loose_salt,
    "a MAC in a log file": _plant_log,
    "a MAC as a folder name": _plant_store_name,
    "a partition dated 2092": _plant_future_partition,
    "a partition dated 2024-13-45": _plant_impossible_date,
    "a salt dated 2092": _plant_future_salt,
    "the staging folder of a killed run": _plant_killed_run,
    "the open part of a killed collector": _plant_killed_collector,
    "a Parquet file outside the layout": _plant_parquet_elsewhere,
    "a salt temporary of a killed collector": _plant_secret_temporary,
    "4 bytes of an address printed as a length": _plant_length_in_a_log,
    "a MAC in a gzipped log": _plant_compressed_log,
}


@pytest.mark.parametrize("plant", PLANTS.values(), ids=PLANTS.keys())
def test_each_planted_violation_is_named_exactly(
    plant: Plant, demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    rule, file, column, args = plant(workspace, demo_secrets)
    status, findings, result = audit(workspace, *args)
    assert status == 1
    # a finding names the place, never the value: an address in a folder name is masked
    shown = Path(str(file.resolve()).replace(demo_secrets[0].hex("-"), "<address>"))
    assert findings == [(rule, shown, column)]
    assert result["by_rule"] == {rule: 1} and result["clean"] is False


@pytest.mark.parametrize(
    "spelling",
    [
        lambda mac: mac.hex(":"),
        lambda mac: mac.hex("-").upper(),
        lambda mac: f"{mac.hex()[:4]}.{mac.hex()[4:8]}.{mac.hex()[8:]}",
        lambda mac: "id=" + mac.hex().upper(),
        lambda mac: "0f" + mac.hex() + "77",  # inside a longer hex run: found only against the capture
    ],
    ids=["colons", "upper-dashes", "cisco-dots", "bare-upper", "in-a-hex-run"],
)
def test_every_spelling_of_an_address_is_found(
    spelling: Callable[[bytes], str], demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    text = spelling(demo_secrets[0])
    _rewrite(_first(workspace, "visits"), lambda t: t.append_column("note", _one_row(t, text, pa.string())))
    status, findings, _ = audit(workspace, "--against", DEMO_CAPTURE)
    assert (status, [(rule, column) for rule, _, column in findings]) == (1, [("mac-text", "note")])


@pytest.mark.parametrize("algorithm", ["sha1", "md5"])
@pytest.mark.parametrize("message", ["bytes", "text"])
def test_unkeyed_hashes_as_hex_text_are_found(
    algorithm: str, message: str, demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    """A hash of the address (or of its usual text form), whole, kept as hex text."""
    mac = demo_secrets[0]
    digest = hashlib.new(algorithm, mac if message == "bytes" else mac.hex(":").encode()).hexdigest()
    workspace = copy_of(demo_outputs, tmp_path)
    _rewrite(_first(workspace, "visits"), lambda t: t.append_column("ref", _one_row(t, digest, pa.string())))
    status, findings, _ = audit(workspace, "--against", DEMO_CAPTURE)
    assert (status, [(rule, column) for rule, _, column in findings]) == (1, [("unkeyed-hash", "ref")])


@pytest.mark.parametrize(
    "printed",
    [
        lambda mac: str(_window(mac, 0, 4, "big")),
        lambda mac: str(_window(mac, 1, 4, "little")),
        lambda mac: hex(_window(mac, 2, 4, "little")),
        lambda mac: f"{_window(mac, 0, 5, 'big'):x}",
        lambda mac: str(_window(mac, 1, 5, "little")),
    ],
    ids=["decimal-be", "decimal-le", "0x-le", "hex-5-bytes", "decimal-5-bytes-le"],
)
def test_part_of_an_address_printed_as_a_number_in_a_log_is_found(
    printed: Callable[[bytes], str], demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    mac = demo_secrets[0]
    log = workspace / "logs" / "run.log"
    log.parent.mkdir()
    log.write_text(f"2024-03-15 10:00:01 frames 26997 value {printed(mac)} after 1710460800 s\n")
    status, findings, _ = audit(workspace, "--log", log, "--against", DEMO_CAPTURE)
    assert (status, findings) == (1, [("mac-number", log.resolve(), None)])
    log.write_text("2024-03-15 10:00:01 frames 26997 value 2863311530 after 1710460800 s, 0x5a5a5a5a\n")
    status, findings, _ = audit(workspace, "--log", log, "--against", DEMO_CAPTURE)
    assert (status, findings) == (0, []), "numbers that are no part of an address"


def test_a_log_naming_the_captures_is_not_an_ssid_leak(
    demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    """A capture named after the network it was made on: its file name in a log is
    the operator's word, not a phone's probe."""
    workspace = copy_of(demo_outputs, tmp_path)
    ssid = demo_secrets[1].decode()
    capture = tmp_path / "captures" / f"{ssid}_door_2024-03-15.pcap.gz"
    capture.parent.mkdir()
    shutil.copy(DEMO_CAPTURE, capture)
    log = workspace / "logs" / "collect.log"
    log.parent.mkdir()
    log.write_text(f"{capture} (pcap · radiotap) ok\n  frames 26,997\n")
    status, findings, _ = audit(workspace, "--log", log, "--against", capture)
    assert (status, findings) == (0, []), findings
    log.write_text(f"{capture} (pcap · radiotap) ok\nprobe for {ssid} from a phone\n")
    status, findings, result = audit(workspace, "--log", log, "--against", capture)
    assert findings == [("ssid", log.resolve(), None)], "the same word elsewhere is still found"
    assert result["items"][0]["detail"].startswith("1 occurrence")


def test_the_audit_of_a_read_only_data_folder_still_reports(demo_outputs: Collected, tmp_path: Path) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    _plant_log(workspace, (bytes.fromhex("3c5a10203040"), b""))
    run = read_only_run(workspace / "data", ["privacy", "audit", "--log", workspace / "logs"], workspace)
    assert run.returncode == 1, run.output
    assert "mac-text:" in run.stdout and "audit: 1 finding(s)" in run.stdout
    assert "could not be recorded" in run.stderr and "Traceback" not in run.output
    assert not (workspace / "data" / "_privacy" / "last_audit.json").exists()


def test_small_cells_respect_k_and_the_suppressed_flag(demo_outputs: Collected, tmp_path: Path) -> None:
    """A suppressed (null) cell is fine; a shown count below k is not, unless k = 1."""
    workspace = copy_of(demo_outputs, tmp_path)
    hourly = _first(workspace, "marts/hourly")
    table = pq.read_table(hourly)
    passersby = table.column("passersby").to_pylist()  # (the demo's lab has few arrivals: all below k)
    assert None in passersby and any(a is not None for a in passersby)  # the pipeline suppressed some
    shown = [a for a in passersby if a is not None]
    assert min(shown) >= 5
    assert audit(workspace)[0] == 0
    (workspace / "footfall.toml").write_text("[privacy]\nk = 100\n")
    status, findings, _ = audit(workspace)
    flagged = {(file.parent.parent.parent.name, column) for _, file, column in findings}
    assert status == 1 and ("hourly", "passersby") in flagged and ("daily", "visitors") in flagged
    (workspace / "footfall.toml").write_text("[privacy]\nk = 1\n")
    column = table.schema.get_field_index("passersby")
    _rewrite(hourly, lambda t: t.set_column(column, "passersby", pa.array([1] * t.num_rows, pa.int64())))
    assert audit(workspace)[0] == 0


def test_a_capture_that_is_not_one_is_an_error(workspace: Path) -> None:
    (workspace / "data").mkdir()
    (workspace / "notes.pcap").write_text("not a capture")
    run = run_footfall("privacy", "audit", "--against", "notes.pcap", cwd=workspace)
    assert run.returncode == 1 and "notes.pcap: not a readable pcap or pcapng capture" in run.stderr
    assert "Traceback" not in run.output
    missing = run_footfall("privacy", "audit", "--against", "nowhere.pcap", cwd=workspace)
    assert missing.returncode == 1 and "nowhere.pcap" in missing.stderr


def test_the_capture_reader_agrees_with_tshark() -> None:
    """Every address (any role) and every SSID of every shared capture, as tshark reads them."""
    from footfall.privacy.capture_secrets import MIN_SSID_BYTES, read_capture

    for capture in [*sorted(SHARED_CAPTURES.rglob("*.pcap*")), *sorted(SHARED_CAPTURES.rglob("*.cap")), DEMO_CAPTURE]:
        macs, ssids = _macs_and_ssids(capture)
        found = read_capture(capture)
        assert found.macs == macs, capture.name
        assert found.ssids == {s for s in ssids if len(s) >= MIN_SSID_BYTES}, capture.name


def test_six_byte_values_are_addresses_by_their_form(
    demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    """Without a capture to compare with, a binary value of exactly 6 bytes is an address."""
    workspace = copy_of(demo_outputs, tmp_path)
    visits = _first(workspace, "visits")
    _rewrite(visits, lambda t: t.append_column("hw", _one_row(t, demo_secrets[0], pa.binary(6))))
    status, findings, _ = audit(workspace)
    assert (status, findings) == (1, [("mac-bytes", visits.resolve(), "hw")])


def test_a_damaged_parquet_file_cannot_be_vouched_for(demo_outputs: Collected, tmp_path: Path) -> None:
    workspace = copy_of(demo_outputs, tmp_path)
    daily = _first(workspace, "marts/daily")
    daily.write_bytes(daily.read_bytes()[:40])
    status, findings, _ = audit(workspace)
    assert (status, findings) == (1, [("unreadable", daily.resolve(), None)])


def test_a_finding_in_a_log_gives_its_lines(
    demo_outputs: Collected, tmp_path: Path, demo_secrets: tuple[bytes, bytes]
) -> None:
    """Issue 13: a finding in a log named the file only; its reader needs the lines."""
    workspace = copy_of(demo_outputs, tmp_path)
    log = workspace / "logs" / "collector.log"
    log.parent.mkdir()
    lines = [f"{time.ctime()} started"] * 40
    for number in (3, 17, 40):  # 1-based
        lines[number - 1] = f"{time.ctime()} probe request from {demo_secrets[0].hex(':')} rssi -61"
    log.write_text("\n".join(lines) + "\n")
    text = run_footfall("privacy", "audit", "--log", log, cwd=workspace)
    assert text.returncode == 1
    (finding,) = [line for line in text.stdout.splitlines() if line.startswith("mac-text:")]
    assert finding.endswith("3 occurrence(s) in the file, lines 3, 17 and 40"), finding
    status, _, result = audit(workspace, "--log", log)
    assert status == 1
    (item,) = [i for i in result["items"] if i["rule"] == "mac-text"]
    assert item["detail"] == "3 occurrence(s) in the file, lines 3, 17 and 40"
    assert demo_secrets[0].hex(":") not in text.output, "the place, never the value"
