"""The table at the end of `footfall run`: one row per store-day, from the daily mart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from footfall.config import Settings
from footfall.pipeline.runner import OUTPUTS, RunReport


def render(report: RunReport, settings: Settings, console: Console) -> None:
    k = settings.privacy.k
    table = Table(title="footfall run", title_justify="left")
    for name, justify in [
        ("store", "left"),
        ("date", "left"),
        ("visitors", "right"),
        ("passers-by", "right"),
        ("capture rate", "right"),
        ("median dwell", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in report.daily:
        table.add_row(
            row["store"],
            row["date"].isoformat(),
            _visitors(row, k),
            _count(row["passersby"], k),
            "-" if row["capture_rate"] is None else f"{row['capture_rate']:.0%}",
            "-" if row["dwell_p50_s"] is None else _duration(row["dwell_p50_s"]),
        )
    if report.daily:
        console.print(table)
    suppressed = any(row["suppressed"] for row in report.daily)
    if suppressed:
        console.print(f"'< {k}': fewer than k = {k}, suppressed (privacy.k in the configuration)", highlight=False)
    folders = sorted({_shown(settings, dataset.name) for dataset in OUTPUTS.values()})
    if report.outputs:
        console.print(f"{len(report.done)} store-day(s) written under: {', '.join(folders)}", highlight=False)


def nothing_to_do(settings: Settings, store: str | None, first: date | None, last: date | None, unchanged: int) -> str:
    which = f"store {store!r}" if store else "any store"
    if first is not None:
        span = first.isoformat() if first == last else f"{first} to {last}"
        return f"no sightings for {which} on {span} under {_shown(settings)}: nothing to do"
    if unchanged:
        return f"nothing new: {unchanged} store-day(s) unchanged since the last run (--date D to redo one)"
    return f"no sightings for {which} under {_shown(settings)}: run `footfall collect` first"


def _count(value: int | None, k: int) -> str:
    return f"< {k}" if value is None else f"{value:,}"


def _visitors(row: dict, k: int) -> str:
    """Visitors and, where it is not the count itself, their plausible range."""
    low, high = row.get("visitors_low"), row.get("visitors_high")
    if row["visitors"] is None or low is None or high is None or low == high:
        return _count(row["visitors"], k)
    return f"{row['visitors']:,} ({low:,}-{high:,})"


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _shown(settings: Settings, *parts: str) -> str:
    """A folder of the data folder, relative to the working folder where it is inside it
    (a data folder at a URI as its URI)."""
    if isinstance(settings.data, str):
        return "/".join((settings.data.rstrip("/"), *parts))
    path = settings.data.joinpath(*parts)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
