"""What a process killed part-way (kill -9, power loss, out of memory) leaves behind,
and how it is told from what a live process is still writing.

    DATA/_pipeline/staging-<pid>-<token>/     `footfall run`'s outputs before their rename
                                              (visits with device_key: pseudonymous)
    DATA/_pipeline/tmp-<pid>/                 DuckDB's spill files of that run
    DATA/<dataset>/store=S/date=D/.part-<pid>-<token>.parquet.tmp
                                              a collector's open part (sightings)
    SECRETS/**/.<name>.<pid>.<token>.tmp      a salt or key being written (salts.py)

Each name carries its writer's process id; once that process is gone the file is a
leftover, outside every dataset and every retention tier, so it would otherwise stay
for ever. `footfall run` removes the pipeline's leftovers when it starts, a collector
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
_RUN_FOLDER = re.compile(r"(?:staging-(\d+)-[0-9a-f]+|tmp-(\d+))")
_COLLECTOR_TEMP = re.compile(r"\.part-(\d+)-[0-9a-f]+\.parquet\.tmp")


def alive(pid: int) -> bool:
    """Whether the process exists (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_dir(data_dir: Path) -> Path:
    """A new folder name for this process's outputs before their rename."""
    return data_dir / PIPELINE / f"staging-{os.getpid()}-{secrets.token_hex(4)}"


def spill_dir(data_dir: Path) -> Path:
    """This process's folder for DuckDB's spill files."""
    return data_dir / PIPELINE / f"tmp-{os.getpid()}"


def pipeline_runs(data_dir: Path) -> list[Path]:
    """Staging and spill folders of pipeline runs whose process is gone."""
    try:
        entries = sorted((data_dir / PIPELINE).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        match = _RUN_FOLDER.fullmatch(entry.name)
        if match and entry.is_dir() and not alive(int(match.group(1) or match.group(2))):
            found.append(entry)
    return found


def collector_parts(data_dir: Path, store: str = "*") -> list[Path]:
    """Open parts of collectors (sightings, heartbeats) whose process is gone, of one
    store or all."""
    found = []
    for temp in sorted(data_dir.glob(f"*/{storage.STORE_KEY}{store}/{storage.DATE_KEY}*/.part-*.parquet.tmp")):
        match = _COLLECTOR_TEMP.fullmatch(temp.name)
        if match and not alive(int(match.group(1))):
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
