"""What the audit and retention leave behind for the report and the dashboard:
their last result, under DATA/_privacy/, and retention's deletion log.

Only counts, dates, store and dataset names go here, never a value read from the
data: the audit's own record must pass the audit.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from footfall import storage
from footfall.errors import writing

FOLDER = "_privacy"
LAST_AUDIT = "last_audit.json"
LAST_RETENTION = "last_retention.json"
RETENTION_LOG = "retention.log"


def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def read(data_dir: Path, name: str) -> dict[str, Any] | None:
    """The record, or None when there is none (or it cannot be read: the report
    then says "never", which is the safe reading)."""
    try:
        value = json.loads((folder(data_dir) / name).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write(data_dir: Path, name: str, record: dict[str, Any]) -> Path:
    """Replaces the record atomically (a reader sees the old one or the new one)."""
    return storage.write_atomically(folder(data_dir) / name, json.dumps(record, indent=1, sort_keys=True) + "\n")


def append_log(data_dir: Path, lines: list[dict[str, Any]]) -> Path:
    """Appends JSON lines to the retention log (one write per line, O_APPEND)."""
    target = folder(data_dir) / RETENTION_LOG
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for line in lines:
                os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        finally:
            os.close(fd)
    return target


def timestamp(now: datetime) -> str:
    return now.isoformat(timespec="seconds")
