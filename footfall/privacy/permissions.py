"""Whether the secrets (salts, the opt-out key and list) are readable by their owner
only: folders at most 0700, files at most 0600."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from footfall.collector.salts import DIR_MODE as DIR_ALLOWED
from footfall.collector.salts import FILE_MODE as FILE_ALLOWED
from footfall.config import Settings


@dataclass(frozen=True)
class LoosePath:
    path: Path
    mode: int
    allowed: int

    def describe(self) -> str:
        kind = "folder" if self.allowed == DIR_ALLOWED else "file"
        return f"secret {kind} has mode {self.mode:04o}, wider than {self.allowed:04o}"


def secret_paths(settings: Settings) -> list[Path]:
    """The secrets folder, everything in it, and the opt-out list wherever it is."""
    found: list[Path] = []
    if settings.secrets_dir.exists():
        found.append(settings.secrets_dir)
        found += sorted(settings.secrets_dir.rglob("*"))
    if settings.optout_path.exists() and settings.optout_path not in found:
        found.append(settings.optout_path)
    return found


def too_wide(path: Path) -> LoosePath | None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return None  # a link's own mode means nothing; its target is checked where it lives
    allowed = DIR_ALLOWED if stat.S_ISDIR(mode) else FILE_ALLOWED
    permissions = stat.S_IMODE(mode)
    return LoosePath(path, permissions, allowed) if permissions & ~allowed else None


def loose_secrets(settings: Settings) -> list[LoosePath]:
    return [found for path in secret_paths(settings) if (found := too_wide(path)) is not None]


def mode_text(path: Path) -> str | None:
    try:
        return f"{stat.S_IMODE(path.stat().st_mode):04o}"
    except OSError:
        return None
