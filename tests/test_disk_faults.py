"""A full disk, for real (a small tmpfs, see faults.py): every command says which file
it could not write, where, and why, on one line, and exits 1."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from capture_files import SAMPLE_CAPTURES
from conftest import Collected
from faults import disk_full_run
from footfall_command import Run

CAPTURE = SAMPLE_CAPTURES / "brno_position_1_2024-03-15.pcap.gz"


def _names_a_file_under(run: Run, folder: Path) -> None:
    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("footfall: error:")]
    assert len(errors) == 1, run.stderr
    assert "No space left on device" in errors[0], errors[0]
    paths = [Path(p) for p in re.findall(r"(/[^\s\"':]+)", errors[0])]
    assert any(p.is_relative_to(folder) and p != folder for p in paths), errors[0]


@pytest.fixture
def demo_copy(demo_outputs: Collected, tmp_path: Path) -> Path:
    workspace = tmp_path / "demo"
    shutil.copytree(demo_outputs.workspace, workspace)
    return workspace


def test_collect_into_a_full_data_folder_names_the_file(workspace: Path) -> None:
    (workspace / "data").mkdir()
    run = disk_full_run(workspace / "data", 0, ["collect", CAPTURE, "--store", "s", "--sensor", "x"], workspace)
    _names_a_file_under(run, workspace / "data")


def test_a_stream_into_a_full_data_folder_names_the_file(workspace: Path) -> None:
    (workspace / "data").mkdir()
    args = ["collect", "-", "--store", "s", "--sensor", "x", "--roll-rows", "100"]
    run = disk_full_run(workspace / "data", 0, args, workspace, stdin=gzip.decompress(CAPTURE.read_bytes()))
    _names_a_file_under(run, workspace / "data")


def test_collect_with_a_full_secrets_folder_names_the_salt(workspace: Path) -> None:
    (workspace / "secrets").mkdir()
    run = disk_full_run(workspace / "secrets", 0, ["collect", CAPTURE, "--store", "s", "--sensor", "x"], workspace)
    _names_a_file_under(run, workspace / "secrets")


def test_run_on_a_full_data_folder_names_the_file(demo_copy: Path) -> None:
    run = disk_full_run(demo_copy / "data", 0, ["run", "--date", "2024-03-15"], demo_copy)
    _names_a_file_under(run, demo_copy / "data")


def test_retention_on_a_full_data_folder_names_the_file(demo_copy: Path) -> None:
    run = disk_full_run(demo_copy / "data", 0, ["retention"], demo_copy)
    _names_a_file_under(run, demo_copy / "data")
