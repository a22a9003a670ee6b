"""The screen at the end of `footfall collect`: one row per capture, then its notes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rich.console import Console
from rich.markup import escape

from footfall.collector.capture_report import CaptureReport

_STATUS_STYLE = {"ok": "green", "duplicate": "yellow", "failed": "bold red"}


def render(reports: list[CaptureReport], console: Console, data_hint: str) -> None:
    """A block of a few lines per capture, readable at any terminal width."""
    for report in reports:
        console.print(_heading(report), highlight=False)
        if report.status != "ok" and not report.frames:
            for line in _notes(report):
                console.print(f"  {line}", highlight=False)
            continue
        console.print(
            f"  frames {report.frames:,} · probe requests kept [bold]{report.kept:,}[/]"
            f" · malformed {sum(report.parsed.malformed.values()):,} · devices (pseudonyms) {report.devices:,}",
            highlight=False,
        )
        console.print(f"  skipped by kind: {_kinds(report.parsed.skipped)}", highlight=False)
        console.print(f"  time span: {_span(report.span.first, report.span.last)}", highlight=False)
        for line in _notes(report):
            console.print(f"  {line}", highlight=False)
    if len(reports) > 1:
        failed = sum(r.failed for r in reports)
        console.print(
            f"[bold]{len(reports)} captures[/]: frames {sum(r.frames for r in reports):,} · "
            f"probe requests kept {sum(r.kept for r in reports):,} · "
            f"malformed {sum(sum(r.parsed.malformed.values()) for r in reports):,}"
            + (f" · [bold red]{failed} failed[/]" if failed else ""),
            highlight=False,
        )
    written = sum(r.part_count for r in reports)
    if written:
        days = sorted({d for r in reports for d in r.dates})
        console.print(
            f"{written} Parquet part{'s' if written != 1 else ''} for "
            f"{len(days)} local day{'s' if len(days) != 1 else ''} ({_days(days)}) under {escape(data_hint)}",
            highlight=False,
        )


def _heading(report: CaptureReport) -> str:
    parsed = report.parsed
    details = [d for d in (parsed.format, ", ".join(parsed.linktypes) or None, report.compression) if d]
    kind = f" [dim]({' · '.join(details)})[/]" if details else ""
    return f"[bold]{escape(report.source)}[/]{kind} [{_STATUS_STYLE[report.status]}]{report.status}[/]"


def _kinds(kinds: Counter[str], limit: int = 4) -> str:
    if not kinds:
        return "-"
    common = kinds.most_common()
    shown = [f"{name} {count:,}" for name, count in common[:limit]]
    rest = sum(count for _, count in common[limit:])
    if rest:
        shown.append(f"other {rest:,}")
    return " · ".join(shown)


def _span(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return "-"
    seconds = int((last - first).total_seconds())
    hours, rest = divmod(seconds, 3600)
    if hours:
        length = f"{hours} h {rest // 60:02d} min"
    elif rest >= 60:
        length = f"{rest // 60} min {rest % 60:02d} s"
    else:
        length = f"{rest} s"
    end = last.strftime("%H:%M:%S") if last.date() == first.date() else last.strftime("%Y-%m-%d %H:%M:%S")
    return f"{first:%Y-%m-%d %H:%M:%S} → {end} UTC ({length})"


def _days(days: list[str]) -> str:
    return days[0] if len(days) == 1 else f"{days[0]} … {days[-1]}"


def _notes(report: CaptureReport) -> list[str]:
    lines = []
    if report.error:  # its words are on standard error, once
        lines.append("[red]failed[/]: the error is on standard error (footfall: error: ...)")
    lines.extend(f"[yellow]warning[/]: {escape(w)}" for w in report.warnings)
    lines.extend(escape(note) for note in report.notes)
    parsed, filtered = report.parsed, report.filtered
    if parsed.probes_bad_ies:
        lines.append(f"{parsed.probes_bad_ies:,} kept probe requests have a malformed element list")
    if parsed.malformed:
        lines.append("malformed: " + ", ".join(f"{count:,} {why}" for why, count in parsed.malformed.most_common()))
    if filtered.opted_out:
        lines.append(f"{filtered.opted_out:,} probe requests of opted-out devices dropped")
    if filtered.equipment:
        lines.append(f"{filtered.equipment:,} probe requests of the store's listed equipment dropped")
    if filtered.salt_destroyed:
        lines.append(
            f"{filtered.salt_destroyed:,} probe requests dropped: they came after the salt's destruction "
            "(their epoch's salt is gone, and a new one would count its phones twice)"
        )
    return lines
