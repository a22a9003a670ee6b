"""What a process killed part-way (kill -9, power loss, out of memory) leaves behind,
and how it is told from what a live process is still writing.

    DATA/_pipeline/staging-<tag>-<token>/     `footfall run`'s outputs before their rename
                                              (visits with device_key: pseudonymous)
    DATA/_pipeline/tmp-<tag>/                 DuckDB's spill files of that run
    DATA/<dataset>/store=S/date=D/.part-<tag>-<token>.parquet.tmp
                                              a collector's open part (sightings)
    SECRETS/**/.<name>.<tag>.<token>.tmp      a salt or key being written (salts.py)

Each name carries its writer's tag: its process id and when that process started
(`<pid>_<clock ticks since boot>`; a bare `<pid>` from older versions). Once that
process is gone the file is a leftover, outside every dataset and every retention
tier, so it would otherwise stay for ever. The start tells a later process that took
the dead writer's id (after a restart ids are handed out again from the start) from
the writer itself. `footfall run` removes the pipeline's leftovers when it starts, a collector
its own store's, `footfall retention` all of them, and the audit names any it finds.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from footfall import storage

PIPELINE = "_pipeline"
TAG = r"\d+(?:_\d+)?"  # a writer's tag in a file name: process id, and when it started
_RUN_FOLDER = re.compile(rf"(?:staging-({TAG})-[0-9a-f]+|tmp-({TAG}))")
_COLLECTOR_TEMP = re.compile(rf"\.part-({TAG})-[0-9a-f]+\.parquet\.tmp")


def alive(pid: int) -> bool:
    """Whether the process exists (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_started(pid: int) -> int | None:
    """When the process started (clock ticks since boot, from /proc): a dead writer's
    id taken by a later process is not taken for that writer. None where unknown."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def tag() -> str:
    """This process's tag, for the names of what it writes and may leave behind."""
    pid = os.getpid()
    started = process_started(pid)
    return str(pid) if started is None else f"{pid}_{started}"


def writer_alive(writer: str) -> bool:
    """Whether the process a tag names still runs: its id exists and, where the tag
    says when it started, the process of that id started then."""
    pid, _, started = writer.partition("_")
    if not alive(int(pid)):
        return False
    now = process_started(int(pid))
    return not started or now is None or now == int(started)


def staging_dir(data_dir: Path) -> Path:
    """A new folder for this process's outputs before their rename."""
    return data_dir / PIPELINE / staging_name()


def staging_name() -> str:
    """A new name, under _pipeline/, of this process's staging folder."""
    return f"staging-{tag()}-{secrets.token_hex(4)}"


def spill_dir(data_dir: Path) -> Path:
    """This process's folder for DuckDB's spill files."""
    return data_dir / PIPELINE / f"tmp-{tag()}"


def pipeline_runs(data_dir: Path) -> list[Path]:
    """Staging and spill folders of pipeline runs whose process is gone."""
    try:
        entries = sorted((data_dir / PIPELINE).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        match = _RUN_FOLDER.fullmatch(entry.name)
        if match and entry.is_dir() and not writer_alive(match.group(1) or match.group(2)):
            found.append(entry)
    return found


def collector_parts(data_dir: Path, store: str = "*") -> list[Path]:
    """Open parts of collectors (sightings, heartbeats) whose process is gone, of one
    store or all."""
    found = []
    for temp in sorted(data_dir.glob(f"*/{storage.STORE_KEY}{store}/{storage.DATE_KEY}*/.part-*.parquet.tmp")):
        match = _COLLECTOR_TEMP.fullmatch(temp.name)
        if match and not writer_alive(match.group(1)):
            found.append(temp)
    return found


def remove(paths: list[Path]) -> list[Path]:
    """Deletes files and folders; returns those that are gone."""
    removed = []
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            removed.append(path)
    return removed
