"""The `footfall` command: thin wrappers over the library, errors as one line.

Every command takes --config and --data. A FootfallError (bad input, bad config)
becomes `footfall: error: ...` on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from footfall import data_folder, storage
from footfall.config import Settings, load_settings
from footfall.errors import FootfallError, without_addresses

app = typer.Typer(
    name="footfall",
    help="Privacy-first in-store presence analytics from Wi-Fi probe requests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
optout_app = typer.Typer(help="The opt-out list: devices never counted (stored as keyed hashes only).")
app.add_typer(optout_app, name="optout")
privacy_app = typer.Typer(help="The privacy officer's toolkit: report, audit, notice.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Configuration file (default: ./footfall.toml or $FOOTFALL_CONFIG).", dir_okay=False
    ),
]
ReportFormat = Literal["md", "html", "json"]
AuditFormat = Literal["text", "json"]
NoticeFormat = Literal["md", "html"]
NoticeKind = Literal["sign", "web"]
EngineName = Literal["duckdb", "spark"]
DataOption = Annotated[
    str | None,
    typer.Option("--data", help="Data folder (overrides data_dir); for `run`, also a URI: s3a://BUCKET/PATH, gs://..."),
]
SecretsOption = Annotated[
    Path | None,
    typer.Option(
        "--secrets", help="Secrets folder: the salts and the opt-out key (overrides secrets_dir).", file_okay=False
    ),
]

# no emoji codes: an address printed as aa:cd:... must not turn ":cd:" into a picture
stdout = Console(highlight=False, soft_wrap=True, emoji=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

# Progress bars only where they help: an interactive terminal and a long input.
PROGRESS_MIN_BYTES = 32 << 20


def _version(value: bool) -> None:
    if value:
        from footfall import __version__

        stdout.print(f"footfall {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Privacy-first in-store presence analytics from Wi-Fi probe requests."""


@app.command()
def collect(
    captures: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CAPTURE",
            help="Capture files, folders or globs (pcap / pcapng, optionally .gz/.bz2/.xz); - for a stream "
            "on stdin (or a FIFO), collected as it comes.",
        ),
    ] = None,
    store: Annotated[str | None, typer.Option(help="Store name (default: the only store in the config).")] = None,
    sensor: Annotated[str | None, typer.Option(help="Sensor name (default: the store's only sensor).")] = None,
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
    force: Annotated[bool, typer.Option(help="Collect captures again even if already collected.")] = False,
    progress: Annotated[
        bool | None, typer.Option(help="Show a progress bar (default: on a terminal, for long inputs).")
    ] = None,
    live: Annotated[
        str | None, typer.Option("--live", metavar="IFACE", help="Capture from this monitor-mode interface.")
    ] = None,
    channel: Annotated[int | None, typer.Option(help="With --live: tune the interface to this channel (iw).")] = None,
    hop: Annotated[
        str | None, typer.Option(metavar="CHANNELS", help="With --live: hop through these channels (e.g. 1,6,11).")
    ] = None,
    dwell: Annotated[float, typer.Option(help="With --hop: seconds on each channel.")] = 0.5,
    roll_seconds: Annotated[
        float | None, typer.Option(help="Stream / live: publish a part at least this often (collector.roll_seconds).")
    ] = None,
    roll_rows: Annotated[
        int | None, typer.Option(help="Stream / live: or when this many sightings wait (collector.roll_rows).")
    ] = None,
) -> None:
    """Read captures, keep only probe requests, pseudonymise them and write sightings.

    A stream (- or a FIFO) or a live interface (--live) is collected as it comes: a
    part is published every minute (or N sightings) with the sensor's heartbeat, and
    SIGINT / SIGTERM publish the open part and stop cleanly (exit 0)."""
    from footfall import collect_summary
    from footfall.collector.capture_sources import expand_inputs
    from footfall.collector.collect import Collector

    settings = load_settings(config, data, secrets)
    store = store or settings.default_store()
    sensor = sensor or settings.default_sensor(store)
    running = _running_options(settings, captures, live, channel, hop, dwell, roll_seconds, roll_rows)
    if live is not None:
        return _collect_running(settings, store, sensor, force, running, live=live)
    if not captures:
        raise FootfallError("give captures to collect, - for a stream on standard input, or --live IFACE")
    sources, problems = expand_inputs(captures)
    for problem in problems:
        stderr.print(f"footfall: error: {problem}", markup=False)
    if not sources:
        raise typer.Exit(1)
    if "-" in captures and sys.stdin.isatty():
        raise FootfallError(
            "-: standard input is a terminal; pipe a pcap stream into it (tcpdump -w - ... | footfall collect -)"
        )
    if any(_is_stream(source) for source in sources):
        if len(sources) > 1 or problems:
            raise FootfallError("a stream (- or a FIFO) is collected on its own: give it as the only input")
        return _collect_running(settings, store, sensor, force, running, stream=sources[0])
    reports = []
    with Collector(settings, store, sensor, force=force) as collector, _progress(sources, progress) as bar:
        if collector.note:
            stderr.print(f"footfall: note: {collector.note}", markup=False)
        for source in sources:
            report = collector.collect(source, bar.callback(source))
            reports.append(report)
            if report.error:
                stderr.print(f"footfall: error: {report.error}", markup=False)
    collect_summary.render(reports, stdout, _shown(storage.store_folder(settings.data_dir, "sightings", store)))
    if problems or any(report.failed for report in reports):
        raise typer.Exit(1)


def _is_stream(source) -> bool:
    from footfall.collector.stream_collect import is_stream

    return is_stream(source)


def _running_options(settings: Settings, captures, live, channel, hop, dwell, roll_seconds, roll_rows):
    """Checks the stream / live flags; returns (roll policy, channel plan)."""
    from footfall.collector.channels import ChannelPlan, parse_channels
    from footfall.collector.stream_collect import RollPolicy

    if live is not None and captures:
        raise FootfallError("--live: give either captures or --live IFACE, not both")
    if live is None and (channel is not None or hop is not None):
        raise FootfallError(f"{'--channel' if channel is not None else '--hop'}: only with --live IFACE")
    if channel is not None and hop is not None:
        raise FootfallError("--hop: give either --channel or --hop, not both")
    if not 0 < dwell <= 3600:  # also refuses nan
        raise FootfallError(f"--dwell: must be more than 0 and at most 3600 seconds (got {dwell:g})")
    if roll_seconds is not None and not 0 < roll_seconds <= 86_400:
        raise FootfallError(f"--roll-seconds: must be more than 0 and at most 86400 (got {roll_seconds:g})")
    if roll_rows is not None and not 1 <= roll_rows <= 10_000_000:
        raise FootfallError(f"--roll-rows: must be between 1 and 10,000,000 (got {roll_rows})")
    plan = None
    if channel is not None:
        plan = ChannelPlan(parse_channels(str(channel), "--channel"))
    elif hop is not None:
        plan = ChannelPlan(parse_channels(hop, "--hop"), dwell)
    defaults = settings.file.collector
    policy = RollPolicy(roll_seconds or defaults.roll_seconds, roll_rows or defaults.roll_rows)
    return policy, plan


def _collect_running(settings: Settings, store: str, sensor: str, force: bool, running, *, live=None, stream=None):
    """A stream or a live interface, until its end or SIGINT / SIGTERM."""
    from footfall import collect_summary
    from footfall.collector.collect import Collector
    from footfall.collector.stream_collect import StopSignals, collect_stream

    policy, plan = running

    def log(message: str) -> None:
        stderr.print(f"footfall: {message}", markup=False)

    with Collector(settings, store, sensor, force=force) as collector, StopSignals() as stop:
        if collector.note:
            log(f"note: {collector.note}")
        if live is not None:
            from footfall.collector.live_capture import collect_live

            report = collect_live(collector, live, plan, policy, stop, log)
        else:
            report = collect_stream(collector, stream, policy, stop, log)
    if report.error:
        stderr.print(f"footfall: error: {report.error}", markup=False)
    collect_summary.render([report], stdout, _shown(storage.store_folder(settings.data_dir, "sightings", store)))
    if report.failed:
        raise typer.Exit(1)


StoreOption = Annotated[str | None, typer.Option("--store", help="Only this store (default: every store).")]
DateOption = Annotated[str | None, typer.Option("--date", help="Only this local day (YYYY-MM-DD).")]
FromOption = Annotated[str | None, typer.Option("--from", help="First local day of a range (YYYY-MM-DD).")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last local day of a range (default: --from).")]


def _store_days(config, data, store, date, start, end, doing: str):
    """The settings, and the store and days a command is asked for, checked; the data
    folder must exist (`no data folder at ...: nothing to <doing>`)."""
    settings = load_settings(config, data)
    if store is not None:
        settings.store(store)  # checks the name
    first, last = _date_range(date, start, end)
    data_folder.of(settings).require(doing)  # run and export also work on a data folder at a URI
    return settings, first, last


@app.command("run")
def run_pipeline(
    store: StoreOption = None,
    date: DateOption = None,
    start: FromOption = None,
    end: ToOption = None,
    config: ConfigOption = None,
    data: DataOption = None,
    engine: Annotated[
        EngineName | None, typer.Option("--engine", help="duckdb (this machine) or spark (overrides [engine] name).")
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master URL: local[*], spark://HOST:PORT, yarn, k8s://... "
            "(overrides [engine] spark_master; implies --engine spark).",
        ),
    ] = None,
) -> None:
    """Turn sightings into visits and marts (default: every store-day new or changed since the last run)."""
    from footfall import run_summary
    from footfall.pipeline import runner

    settings, first, last = _store_days(config, data, store, date, start, end, "run")
    chosen = _engine(settings, engine, spark_master)
    work = runner.plan(settings, store, first, last)
    if not work.targets:
        if work.unchanged and first is None:  # up to date: not a mistake
            stderr.print(run_summary.nothing_to_do(settings, store, first, last, work.unchanged), markup=False)
            return
        raise FootfallError(run_summary.nothing_to_do(settings, store, first, last, work.unchanged))
    with stderr.status("running the pipeline", spinner="dots") as status:
        report = runner.run(settings, work, progress=lambda step: status.update(f"pipeline: {step}"), engine=chosen)
    for error in report.errors:
        stderr.print(f"footfall: error: {error}", markup=False)
    run_summary.render(report, settings, stdout)
    if report.failed:
        raise typer.Exit(1)


def _engine(settings: Settings, name: str | None, master: str | None):
    """The configuration's [engine], with the command line's choices over it."""
    from footfall.config import check_spark_master

    update: dict[str, str] = {}
    if master is not None:
        try:
            update["spark_master"] = check_spark_master(master)
        except ValueError as exc:
            raise FootfallError(f"--spark-master: {exc}") from None
        if name == "duckdb":
            raise FootfallError("--spark-master goes with --engine spark, not duckdb")
        update["name"] = "spark"
    if name is not None:
        update["name"] = name
    return settings.file.engine.model_copy(update=update)


ExportFormat = Literal["csv", "parquet", "json"]
SqlFormat = Literal["table", "csv", "json"]
Exportable = Literal["daily", "hourly", "dwell", "occupancy", "sensor_health", "visits"]


@app.command("export")
def export_dataset(
    mart: Annotated[
        Exportable,
        typer.Argument(metavar="MART", help="daily, hourly, dwell, occupancy, sensor_health or visits."),
    ],
    store: StoreOption = None,
    date: DateOption = None,
    start: FromOption = None,
    end: ToOption = None,
    format: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="csv, parquet or json (default: the --output file's suffix, else csv)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (default: standard output).", dir_okay=False),
    ] = None,
    config: ConfigOption = None,
    data: DataOption = None,
) -> None:
    """Write a mart (or the visits) as CSV, Parquet or JSON: the rows of a store and days, in order."""
    from footfall import export, views

    settings, first, last = _store_days(config, data, store, date, start, end, "export")
    fmt = export.format_of(format, output)
    if fmt == "parquet" and output is None and sys.stdout.isatty():
        raise FootfallError("--format parquet: Parquet is binary; give --output FILE (or redirect the output)")
    dataset = views.VIEWS[mart]
    con = views.connect(data_folder.of(settings), settings.privacy.k, only=[mart])
    written = export.export(con, dataset, export.Rows(store, first, last), fmt, output)
    where = f" to {_shown(output)}" if output is not None else ""
    stderr.print(f"footfall: {written:,} row(s) of {dataset.name} written{where}", markup=False)


@app.command("sql")
def sql_shell(
    query: Annotated[
        str | None, typer.Option("--query", "-q", metavar="SQL", help="Run this SQL, print the result and exit.")
    ] = None,
    format: Annotated[
        SqlFormat, typer.Option("--format", help="table (default: the first and last rows), csv or json (all rows).")
    ] = "table",
    config: ConfigOption = None,
    data: DataOption = None,
) -> None:
    """DuckDB with one view per dataset (sightings, heartbeats, visits, daily, hourly, dwell,
    occupancy, sensor_health): a shell, or --query SQL."""
    from footfall import sql_shell as shell
    from footfall import views

    settings = load_settings(config, data)
    folder = data_folder.of(settings)
    folder.require("query")
    con = views.connect(folder, settings.privacy.k)
    if query is not None:
        shell.run_statements(con, query, format, sys.stdout)
        return
    status = shell.shell(con, format, sys.stdin, sys.stdout, sys.stderr)
    if status:
        raise typer.Exit(status)


def _date_range(date: str | None, start: str | None, end: str | None):
    from datetime import date as Date

    def parse(value: str | None, flag: str):
        if value is None:
            return None
        try:
            return Date.fromisoformat(value)
        except ValueError:
            raise FootfallError(f"{flag}: {value!r} is not a date (YYYY-MM-DD)") from None

    if date is not None and (start is not None or end is not None):
        raise FootfallError("--date: give either --date or --from/--to, not both")
    if end is not None and start is None:
        raise FootfallError("--to: needs --from")
    first = parse(date, "--date") or parse(start, "--from")
    last = parse(date, "--date") or parse(end, "--to") or first
    if first and last and last < first:
        raise FootfallError(f"--to: {last} is before --from {first}")
    return first, last


@app.command()
def dashboard(
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    browser: Annotated[
        bool | None, typer.Option("--browser/--no-browser", help="Open a browser tab (default: if there is a display).")
    ] = None,
) -> None:
    """Serve the dashboard (aggregates from the marts only) on http://HOST:PORT."""
    from footfall.dashboard import launch

    launch.serve(load_settings(config, data, secrets), host, port, browser)


MacArguments = Annotated[list[str], typer.Argument(metavar="MAC", help="MAC addresses (aa:bb:cc:dd:ee:ff).")]


@optout_app.command("add")
def optout_add(
    macs: MacArguments, config: ConfigOption = None, data: DataOption = None, secrets: SecretsOption = None
) -> None:
    """Register devices whose owners asked not to be counted (from the next capture on)."""
    from footfall.addresses import is_locally_administered

    parsed = _macs(macs)
    for position, mac in enumerate(parsed, 1):
        if is_locally_administered(mac):
            stderr.print(
                f"footfall: warning: argument {position} is a locally administered (random) address: the phone "
                "changes it, so opting it out stops counting this address only, not the phone's next one; "
                "the address its maker gave it (shown in its Wi-Fi settings with randomisation off) lasts",
                markup=False,
            )
    optout = _optout(load_settings(config, data, secrets))
    added = optout.add(parsed)
    stdout.print(
        f"{added} device(s) added (not counted from their next capture on; data already collected is not changed); "
        f"{_listed(len(optout), optout.path)}",
        markup=False,
    )


@optout_app.command("remove")
def optout_remove(
    macs: MacArguments, config: ConfigOption = None, data: DataOption = None, secrets: SecretsOption = None
) -> None:
    """Take devices off the opt-out list: they are counted again from their next capture on."""
    parsed = _macs(macs)
    optout = _optout(load_settings(config, data, secrets))
    removed = optout.remove(parsed)
    not_listed = len(parsed) - removed
    tail = f" ({not_listed} were not on it)" if not_listed else ""
    stdout.print(f"{removed} device(s) removed{tail}; {_listed(len(optout), optout.path)}", markup=False)


@optout_app.command("check")
def optout_check(
    mac: Annotated[str, typer.Argument(metavar="ADDRESS", help="One MAC address (aa:bb:cc:dd:ee:ff).")],
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
) -> None:
    """Whether one address is on the opt-out list (the list itself is never shown)."""
    (parsed,) = _macs([mac])
    listed = _optout(load_settings(config, data, secrets)).contains(parsed)
    stdout.print(
        "on the opt-out list: its frames are dropped before anything is written"
        if listed
        else "not on the opt-out list: it is counted",
        markup=False,
    )


@optout_app.command("count")
def optout_count(config: ConfigOption = None, data: DataOption = None, secrets: SecretsOption = None) -> None:
    """How many device addresses are on the opt-out list."""
    optout = _optout(load_settings(config, data, secrets))
    stdout.print(_listed(len(optout), optout.path), markup=False)


def _macs(texts: list[str]) -> list[bytes]:
    from footfall.addresses import parse_mac

    parsed = []
    for position, mac in enumerate(texts, 1):
        try:
            parsed.append(parse_mac(mac))
        except FootfallError as exc:
            raise FootfallError(f"argument {position}: {exc}") from None
    return parsed


def _listed(entries: int, path: Path) -> str:
    return (
        f"the opt-out list holds {entries} device address(es), as keyed hashes (never the addresses), in {_shown(path)}"
    )


@privacy_app.command("report")
def privacy_report(
    format: Annotated[ReportFormat, typer.Option("--format", help="md (default), html or json.")] = "md",
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
) -> None:
    """The settings in force and what is true now: salts, data held, last retention run and audit."""
    from footfall.privacy import report

    built = report.build_report(load_settings(config, data, secrets))
    renderers = {"md": report.render_markdown, "html": report.render_html, "json": report.render_json}
    sys.stdout.write(renderers[format](built))


@privacy_app.command("audit")
def privacy_audit(
    against: Annotated[
        list[str] | None,
        typer.Option(
            "--against",
            metavar="CAPTURE",
            help="A capture (file, folder or glob) whose addresses and SSIDs to look for, with their unkeyed hashes.",
        ),
    ] = None,
    logs: Annotated[
        list[Path] | None, typer.Option("--log", metavar="PATH", help="Also scan this log file or folder.")
    ] = None,
    format: Annotated[AuditFormat, typer.Option("--format", help="text (default) or json.")] = "text",
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
) -> None:
    """Scan every output for addresses, SSIDs, unkeyed hashes, small cells, expired data and salts,
    and loose permissions. Exit status 1 on any finding."""
    import json

    from footfall.collector.capture_sources import expand_inputs
    from footfall.privacy import audit

    settings = load_settings(config, data, secrets)
    sources, problems = expand_inputs(against or [])
    if problems:
        raise FootfallError(f"--against: {problems[0]}")
    if any(source.path is None for source in sources):
        raise FootfallError("--against: give capture files, not standard input")
    with stderr.status("auditing", spinner="dots"):
        result = audit.audit(settings, [s.path for s in sources if s.path], list(logs or []))
    if format == "json":
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        for finding in result.findings:
            column = f" column {finding.column}:" if finding.column else ""
            shown = without_addresses(_shown(finding.file))
            stdout.print(f"{finding.rule}: {shown}:{column} {finding.detail}", markup=False)
        scanned = f"{result.files_scanned} files scanned" + (
            f", against {len(sources)} capture(s)"
            if sources
            else " (no --against capture: addresses by their form only)"
        )
        verdict = "clean" if result.clean else f"{len(result.findings)} finding(s)"
        stdout.print(f"audit: {verdict}; {scanned}", markup=False)
    try:  # after the findings are out: a read-only data folder still gets its audit
        audit.record(settings, result)
    except FootfallError as exc:  # it says which file and why
        stderr.print(f"footfall: note: the audit could not be recorded: {exc}", markup=False)
    if not result.clean:
        raise typer.Exit(1)


@privacy_app.command("notice")
def privacy_notice(
    format: Annotated[NoticeFormat, typer.Option("--format", help="md (default) or html.")] = "md",
    kind: Annotated[
        NoticeKind, typer.Option("--kind", help="sign (short, for the entrance; default) or web (the long version).")
    ] = "sign",
    config: ConfigOption = None,
) -> None:
    """The customer-facing notice, generated from the configuration (controller, contact, epoch, retention)."""
    from footfall.privacy import notice

    settings = load_settings(config)
    unset = notice.missing(settings)
    if unset:
        stderr.print(
            f"footfall: note: not set in the configuration, so the notice says so in brackets: {', '.join(unset)} "
            "(GDPR art. 13 asks a notice to give them)",
            markup=False,
        )
    sys.stdout.write(notice.render(settings, kind, format))


RetentionFormat = Literal["text", "json"]


@app.command("retention")
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what is due without deleting anything.")] = False,
    format: Annotated[RetentionFormat, typer.Option("--format", help="text (default) or json.")] = "text",
    config: ConfigOption = None,
    data: DataOption = None,
    secrets: SecretsOption = None,
) -> None:
    """Delete every partition past its retention (whole, atomically) and destroy salts past epoch and grace;
    say what falls due next."""
    import json

    from footfall.privacy import retention as retention_policy

    settings = load_settings(config, data, secrets)
    result = retention_policy.apply(settings, dry_run=dry_run)
    if format == "json":
        sys.stdout.write(json.dumps(result.as_dict(settings), indent=2) + "\n")
        return
    verb = "would delete" if dry_run else "deleted"
    destroy = "would destroy" if dry_run else "destroyed"
    for partition in result.partitions:
        stdout.print(f"{verb} {partition.dataset} store={partition.store} date={partition.date}", markup=False)
    for folder in result.misdated:
        where = without_addresses(f"store={folder.store} date={folder.name}")  # a folder name may be anything
        stdout.print(f"{verb} {folder.dataset} {where} ({folder.reason})", markup=False)
    for salt in result.misdated_salts:
        stdout.print(
            f"{destroy} salt store={salt.store} epoch={salt.epoch} (an impossible or future epoch)", markup=False
        )
    for salt in result.salts:
        stdout.print(f"{destroy} salt store={salt.store} epoch={salt.epoch}", markup=False)
    for leftover in result.leftovers:
        stdout.print(
            f"{'would remove' if dry_run else 'removed'} {_shown(leftover)} (left by a killed process)", markup=False
        )
    days = settings.file.retention
    done = "due (dry run: nothing deleted)" if dry_run else "deleted"
    partitions = len(result.partitions) + len(result.misdated)
    salts = len(result.salts) + len(result.misdated_salts)
    stdout.print(
        f"{partitions} partition(s) and {salts} salt(s) {done}; retention in days: "
        f"sightings {days.sightings}, visits {days.visits}, marts {days.marts} (0 = kept for ever)",
        markup=False,
    )
    stdout.print(_next_due(settings, result.next_due, result.time), markup=False)


def _next_due(settings: Settings, due, now) -> str:
    """'next due: sightings store=demo date=2024-03-15 on 2024-03-17 00:00 Europe/Prague (in 1 day, 5 h)'."""
    if due is None:
        return "next due: nothing (nothing held falls due: what remains is kept for ever)"
    from footfall.privacy.inventory import store_zone

    local = due.at.astimezone(store_zone(settings, due.store))
    wait = due.at - now
    days, hours = wait.days, wait.seconds // 3600
    minutes = (wait.seconds % 3600) // 60
    span = f"{days} day(s), {hours} h" if days else f"{hours} h {minutes:02d} min"
    return f"next due: {due.what} on {local:%Y-%m-%d %H:%M} {local.tzinfo} (in {span})"


def _optout(settings: Settings):
    from footfall.collector.optout import OptOutList

    return OptOutList(settings.secrets_dir, settings.optout_path)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Bar:
    """A rich progress bar over bytes, or nothing."""

    def __init__(self, sources, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=stderr,
                transient=True,
            )

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def callback(self, source):
        if self._progress is None:
            return None
        task = self._progress.add_task(Path(source.name).name, total=source.size)
        return lambda done: self._progress.update(task, completed=done)


def _progress(sources, requested: bool | None) -> _Bar:
    if requested is None:
        total = sum(source.size or 0 for source in sources)
        requested = stderr.is_terminal and (total >= PROGRESS_MIN_BYTES or any(s.path is None for s in sources))
    return _Bar(sources, requested)


USAGE_ERROR = 2  # a command line that cannot be parsed (unknown option, bad option value)


def main() -> None:
    """Exit status: 0 done, 1 an error (bad input, configuration, environment, a failed
    capture or store-day), 2 a usage error; every error is one `footfall: error:` line."""
    try:
        status = typer.main.get_command(app).main(prog_name="footfall", standalone_mode=False)
    except FootfallError as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", 1)
    except KeyboardInterrupt:  # before a running collector took over the signal
        sys.exit(130)
    except Exception as exc:
        _command_line_error(exc)
    sys.exit(status if isinstance(status, int) else 0)


def _command_line_error(exc: Exception) -> None:
    """Click's errors (Typer's own copy of Click, or Click itself: told by their shape):
    one line instead of the usage text; anything else is a bug and keeps its traceback."""
    kind = type(exc).__name__
    if kind == "Abort":
        sys.exit(130)
    if not hasattr(exc, "format_message"):
        raise exc
    context = getattr(exc, "ctx", None)
    if kind == "NoArgsIsHelpError" and context is not None:  # `footfall` alone: the help, as asked
        stdout.print(context.get_help(), markup=False)
        sys.exit(USAGE_ERROR)
    status = getattr(exc, "exit_code", 1)
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    if status == USAGE_ERROR:
        command = context.command_path if context is not None else "footfall"
        message = f"{message} (see '{command} --help')"
    # a value typed on the command line may be an address: masked like any other message
    _fail(without_addresses(message), status)


def _fail(message: str, status: int) -> None:
    stderr.print(f"footfall: error: {message}", markup=False)
    sys.exit(status)
