"""Every error of the `footfall` command is one `footfall: error: ...` line: usage errors
(exit 2) like all the others (exit 1), never Click's usage text or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall_command import run_footfall


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--bogus"], "No such option: --bogus"),
        (["nope"], "No such command 'nope'"),
        (["privacy", "audit", "--format", "xml"], "'--format'"),
        (["dashboard", "--port", "0"], "'--port'"),
        (["collect", "--roll-rows", "many"], "'--roll-rows'"),
        (["retention", "--dry-run", "extra"], "extra"),
    ],
)
def test_a_usage_error_is_one_line_with_exit_status_2(workspace: Path, args: list[str], named: str) -> None:
    run = run_footfall(*args, cwd=workspace)
    assert run.returncode == 2, run.output
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("footfall: error: "), run.stderr
    assert named in lines[0] and "--help" in lines[0]
    assert "Usage:" not in run.output and "Traceback" not in run.output


def test_an_address_typed_as_a_bad_value_is_not_repeated(workspace: Path) -> None:
    run = run_footfall("collect", "--roll-rows", "da:a1:19:e7:5c:3b", cwd=workspace)
    assert run.returncode == 2 and run.stderr.startswith("footfall: error: ")
    assert "da:a1:19:e7:5c:3b" not in run.output


def test_other_errors_keep_exit_status_1_and_help_still_works(workspace: Path) -> None:
    run = run_footfall("run", "--date", "2024-13-45", cwd=workspace)
    assert run.returncode == 1 and run.stderr.startswith("footfall: error: --date:")
    helped = run_footfall("run", "--help", cwd=workspace)
    assert helped.returncode == 0 and "Usage: footfall run" in helped.stdout
    version = run_footfall("--version", cwd=workspace)
    assert version.returncode == 0 and version.stdout.startswith("footfall ")
