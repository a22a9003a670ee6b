"""The salt lifecycle: created per epoch, private, destroyed after its epoch and grace."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from footfall.collector.salts import SALT_BYTES, SaltStore
from footfall.epochs import StoreCalendar

from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall

GRACE = timedelta(hours=6)
PRAGUE = StoreCalendar("Europe/Prague", "day")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_new_epoch_makes_a_new_private_salt(tmp_path: Path) -> None:
    store = SaltStore(tmp_path / "secrets", GRACE)
    first = store.salt("demo", PRAGUE.epoch_of("2024-03-15"), now=_at("2024-03-15 10:00"))
    again = store.salt("demo", PRAGUE.epoch_of("2024-03-15"), now=_at("2024-03-15 11:00"))
    second = store.salt("demo", PRAGUE.epoch_of("2024-03-16"), now=_at("2024-03-16 10:00"))
    assert len(first) == SALT_BYTES and first == again and first != second
    folder = tmp_path / "secrets" / "salts" / "demo"
    for path in [tmp_path / "secrets", tmp_path / "secrets" / "salts", folder]:
        assert path.stat().st_mode & 0o777 == 0o700, path
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_salt_destroyed_only_after_epoch_end_and_last_use_plus_grace(tmp_path: Path) -> None:
    store = SaltStore(tmp_path / "secrets", GRACE)
    epoch = PRAGUE.epoch_of("2024-03-15")  # ends 2024-03-15 23:00 UTC
    assert epoch.end == _at("2024-03-15 23:00")
    store.salt("demo", epoch, now=_at("2024-03-15 12:00"))
    path = tmp_path / "secrets" / "salts" / "demo" / "2024-03-15.salt"
    assert store.destroy_expired(now=_at("2024-03-16 04:59")) == []
    assert path.exists()
    destroyed = store.destroy_expired(now=_at("2024-03-16 05:01"))
    assert [s.epoch for s in destroyed] == ["2024-03-15"]
    assert not path.exists() and not path.with_suffix(".json").exists()
    log = (tmp_path / "secrets" / "salts" / "demo" / "destroyed.jsonl").read_text()
    assert '"epoch": "2024-03-15"' in log


def test_a_late_import_keeps_the_salt_for_the_grace_after_its_last_use(tmp_path: Path) -> None:
    """Importing last year's captures from two sensors a few hours apart links a phone
    across them; a day later the salt is gone."""
    store = SaltStore(tmp_path / "secrets", GRACE)
    old = PRAGUE.epoch_of("2023-04-16")
    first = store.salt("lab", old, now=_at("2024-05-01 09:00"))
    assert store.destroy_expired(now=_at("2024-05-01 14:00")) == []
    assert store.salt("lab", old, now=_at("2024-05-01 14:00")) == first
    assert store.destroy_expired(now=_at("2024-05-01 19:59")) == []
    assert [s.epoch for s in store.destroy_expired(now=_at("2024-05-01 20:01"))] == ["2023-04-16"]
    fresh = store.salt("lab", old, now=_at("2024-05-02 09:00"))
    assert fresh != first, "a destroyed salt is never recovered"
    assert ("lab", "2023-04-16") in store.recreated


def test_concurrent_first_use_agrees_on_one_salt(tmp_path: Path) -> None:
    """Two collectors (two sensors) starting the same epoch at once share its salt."""
    epoch = PRAGUE.epoch_of("2024-03-15")
    results: list[bytes] = []

    def take() -> None:
        results.append(SaltStore(tmp_path / "secrets", GRACE).salt("demo", epoch))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert len(list((tmp_path / "secrets" / "salts" / "demo").glob("*.salt"))) == 1


def test_destruction_overwrites_before_unlinking(tmp_path: Path, monkeypatch) -> None:
    from footfall.collector import salts as module

    store = SaltStore(tmp_path / "secrets", GRACE)
    store.salt("demo", PRAGUE.epoch_of("2024-03-15"), now=_at("2024-03-15 12:00"))
    seen: dict[str, bytes] = {}
    real_unlink = Path.unlink

    def spy(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".salt":
            seen["before unlink"] = self.read_bytes()
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(module.Path, "unlink", spy)
    store.destroy_expired(now=_at("2024-03-17 00:00"))
    assert seen["before unlink"] == b"\0" * SALT_BYTES


def test_collect_destroys_expired_salts_and_keeps_current_ones(workspace: Path) -> None:
    from capture_files import SHARED_CAPTURES
    from footfall_command import run_footfall

    old = SaltStore(workspace / "secrets", GRACE)
    old.salt("lab", PRAGUE.epoch_of("2020-01-01"), now=_at("2020-01-01 12:00"))
    run = run_footfall(
        "collect",
        SHARED_CAPTURES / "formats" / "tcpdump_ieee802.11_exthdr.pcap",
        "--store",
        "lab",
        "--sensor",
        "s1",
        cwd=workspace,
    )
    assert run.returncode == 0, run.output
    remaining = sorted(p.stem for p in (workspace / "secrets" / "salts" / "lab").glob("*.salt"))
    assert remaining == ["2013-04-17"], "the 2020 salt expired; the one just used is kept for its grace"


def test_collect_tightens_salts_and_the_optout_key_others_can_read(workspace: Path) -> None:
    """A salt copied in or restored from a backup with mode 0644 is made 0600 before use."""
    capture = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
    assert run_footfall("optout", "add", "02:00:00:00:00:01", cwd=workspace).returncode == 0
    assert run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace).returncode == 0
    secrets = workspace / "secrets"
    salts = sorted(secrets.rglob("*.salt"))
    assert salts
    for path in [*salts, secrets / "optout.key"]:
        path.chmod(0o644)
    again = run_footfall("collect", capture, "--store", "s", "--sensor", "x", "--force", cwd=workspace)
    assert again.returncode == 0, again.output
    for path in [*salts, secrets / "optout.key"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_collect_destroys_salt_temporaries_a_killed_writer_left(workspace: Path) -> None:
    capture = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
    assert run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace).returncode == 0
    salt = sorted((workspace / "secrets").rglob("*.salt"))[0]
    child = subprocess.Popen(["true"])
    child.wait()
    orphan = salt.with_name(f".{salt.name}.{child.pid}.0a1b2c3d.tmp")
    in_progress = salt.with_name(f".{salt.name}.{os.getpid()}.0a1b2c3d.tmp")  # a live writer's
    for temp in (orphan, in_progress):
        temp.write_bytes(salt.read_bytes())
    again = run_footfall("collect", capture, "--store", "s", "--sensor", "x", "--force", cwd=workspace)
    assert again.returncode == 0, again.output
    assert not orphan.exists() and in_progress.exists()
