"""The opt-out list from the command line: add, remove, check and count, each saying
what it did and never showing the list or echoing an address; --secrets on every
command that touches the salts or the list, so that the folder is the one meant."""

from __future__ import annotations

from pathlib import Path

import typer.main

from footfall import cli

from capture_files import SAMPLE_CAPTURES
from footfall_command import run_footfall

GLOBAL = "3c:5a:10:20:30:40"  # a maker's (globally administered) address
RANDOM = "3e:5a:10:20:30:41"  # the locally administered bit (0x02) set


def test_add_check_remove_count(workspace: Path) -> None:
    added = run_footfall("optout", "add", GLOBAL, "3C-5A-10-20-30-42", cwd=workspace)
    assert added.returncode == 0
    assert added.stdout.startswith("2 device(s) added") and "next capture" in added.stdout
    listed = (workspace / "secrets" / "optout.txt").read_text()
    for command in (["check", GLOBAL], ["check", "3c5a.1020.3042"]):
        check = run_footfall("optout", *command, cwd=workspace)
        assert check.returncode == 0 and check.stdout.startswith("on the opt-out list"), command
        assert not any(entry in check.output for entry in listed.split()), "the list is never shown"
    absent = run_footfall("optout", "check", "3c:5a:10:20:30:43", cwd=workspace)
    assert absent.returncode == 0 and absent.stdout.startswith("not on the opt-out list")
    removed = run_footfall("optout", "remove", GLOBAL, "3c:5a:10:20:30:43", cwd=workspace)
    assert removed.returncode == 0 and removed.stdout.startswith("1 device(s) removed (1 were not on it)")
    assert run_footfall("optout", "check", GLOBAL, cwd=workspace).stdout.startswith("not on the opt-out list")
    count = run_footfall("optout", "count", cwd=workspace)
    assert count.stdout.startswith("the opt-out list holds 1 device address(es), as keyed hashes")
    assert "secrets/optout.txt" in count.stdout, "says which list it counts"
    for run in (added, removed, count):
        assert "3c:5a" not in run.output.lower() and "3c-5a" not in run.output.lower()


def test_a_random_address_is_added_with_a_warning(workspace: Path) -> None:
    done = run_footfall("optout", "add", GLOBAL, RANDOM, cwd=workspace)
    assert done.returncode == 0 and "2 device(s) added" in done.stdout
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("footfall: warning: argument 2 is a locally administered (random) address")
    assert "next one" in warning and RANDOM not in done.output
    quiet = run_footfall("optout", "add", "3c:5a:10:20:30:44", cwd=workspace)
    assert quiet.stderr == "", "a maker's address needs no warning"


def test_removing_a_device_counts_it_again_from_its_next_capture(workspace: Path) -> None:
    capture = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
    first = run_footfall("collect", capture, "--store", "s", "--sensor", "x", cwd=workspace)
    kept = int(first.stdout.split("probe requests kept")[1].split()[0])
    assert kept > 0
    # every address of that capture: opting all of them out drops every probe
    from reference_dissectors import scapy_probes

    addresses = sorted({f"{p.mac:012x}" for p in scapy_probes(capture)})
    assert run_footfall("optout", "add", *addresses, cwd=workspace).returncode == 0
    dropped = run_footfall("collect", capture, "--store", "s2", "--sensor", "x", cwd=workspace)
    assert "probe requests kept 0" in dropped.stdout
    assert run_footfall("optout", "remove", *addresses, cwd=workspace).returncode == 0
    again = run_footfall("collect", capture, "--store", "s3", "--sensor", "x", cwd=workspace)
    assert f"probe requests kept {kept}" in again.stdout


def commands() -> dict[str, list[str]]:
    """Each command path -> its long options."""
    found = {}

    def walk(group, path):
        for name, command in getattr(group, "commands", {}).items():
            walk(command, f"{path} {name}")
        if not hasattr(group, "commands"):
            found[path] = [o for p in group.params for o in p.opts if o.startswith("--")]

    walk(typer.main.get_command(cli.app), "footfall")
    return found


SALTS_OR_OPTOUT = [
    "footfall collect",
    "footfall dashboard",
    "footfall retention",
    "footfall privacy report",
    "footfall privacy audit",
    "footfall optout add",
    "footfall optout remove",
    "footfall optout check",
    "footfall optout count",
]


def test_every_command_that_touches_salts_or_the_list_takes_secrets() -> None:
    options = commands()
    for path in SALTS_OR_OPTOUT:
        assert "--secrets" in options[path], path
    for path in set(options) - set(SALTS_OR_OPTOUT):
        assert "--secrets" not in options[path], f"{path}: --secrets would do nothing"
    assert "--data" not in options["footfall privacy notice"], "the notice reads no data"


def test_secrets_says_where_the_salts_and_the_list_are(workspace: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    capture = SAMPLE_CAPTURES / "tcpdump_ieee802.11_exthdr.pcap"
    collect = run_footfall("collect", capture, "--store", "s", "--sensor", "x", "--secrets", vault, cwd=workspace)
    assert collect.returncode == 0, collect.output
    assert list((vault / "salts" / "s").glob("*.salt")) and not (workspace / "secrets").exists()
    assert run_footfall("optout", "add", GLOBAL, "--secrets", vault, cwd=workspace).returncode == 0
    assert (vault / "optout.txt").is_file() and not (workspace / "secrets").exists()
    report = run_footfall("privacy", "report", "--format", "json", "--secrets", vault, cwd=workspace)
    assert '"salts_alive": 1' in report.stdout and '"entries": 1' in report.stdout
    elsewhere = run_footfall("privacy", "report", "--format", "json", cwd=workspace)
    assert '"salts_alive": 0' in elsewhere.stdout, "without --secrets: the folder the configuration names"
    audit = run_footfall("privacy", "audit", "--secrets", vault, cwd=workspace)
    assert audit.returncode == 0, audit.output
    retention = run_footfall("retention", "--dry-run", "--secrets", vault, cwd=workspace)
    assert "next due: salt store=s" in retention.stdout
