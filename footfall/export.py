"""`footfall export`: a dataset through its view (footfall.views), written as CSV,
Parquet or JSON.

An export is written by DuckDB (COPY) into a hidden file beside the target and
renamed into place (storage.replace), so a reader never sees half an export; to
standard output it is copied from a temporary file. CSV has a header and leaves a
null (a suppressed count) empty; JSON is one array of objects with null; Parquet
keeps the declared types. Timestamps are UTC.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Literal

import duckdb

from footfall import outputs, storage, views
from footfall.errors import FootfallError

Format = Literal["csv", "parquet", "json"]
FORMATS: tuple[Format, ...] = ("csv", "parquet", "json")
_COPY = {"csv": "format csv, header", "parquet": "format parquet, compression zstd", "json": "format json, array true"}


@dataclass(frozen=True)
class Rows:
    """Which rows of a dataset: a store (or every one) and local days (inclusive)."""

    store: str | None = None
    first: date | None = None
    last: date | None = None


def format_of(requested: Format | None, output: Path | None) -> Format:
    """The format asked for, else the one the output's suffix names, else CSV."""
    if requested is not None:
        return requested
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    return suffix if suffix in FORMATS else "csv"  # type: ignore[return-value]


def query(dataset: outputs.Dataset, rows: Rows) -> tuple[str, dict[str, object]]:
    """The select of the rows, in order (store, date, then the dataset's key)."""
    order = ["store", "date", *(_order_term(dataset.column(name)) for name in dataset.key)]
    sql = (
        f"select * from {dataset.view} "
        "where ($store is null or store = $store) and ($first is null or date >= $first) "
        "and ($last is null or date <= $last) "
        f"order by {', '.join(order)}"
    )
    return sql, {"store": rows.store, "first": rows.first, "last": rows.last}


def export(
    con: duckdb.DuckDBPyConnection,
    dataset: outputs.Dataset,
    rows: Rows,
    fmt: Format,
    output: Path | None,
    stdout: BinaryIO | None = None,
) -> int:
    """Writes the rows to output (or stdout); returns how many were written."""
    sql, parameters = query(dataset, rows)
    (count,) = con.execute(f"select count(*) from ({sql})", parameters).fetchone() or (0,)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        try:
            _copy(con, sql, parameters, fmt, temporary)
            storage.replace(temporary, output)
        finally:
            temporary.unlink(missing_ok=True)
        return int(count)
    with tempfile.TemporaryDirectory(prefix="footfall-export-") as folder:
        temporary = Path(folder) / f"export.{fmt}"
        _copy(con, sql, parameters, fmt, temporary)
        target = stdout or sys.stdout.buffer
        with temporary.open("rb") as written:
            shutil.copyfileobj(written, target)
        target.flush()
    return int(count)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict, fmt: Format, target: Path) -> None:
    # COPY takes no parameters: the rows go through a temporary table of the bound query
    con.execute(f"create or replace temp table _export as {sql}", parameters)
    try:
        con.execute(f"copy _export to {views.literal(str(target))} ({_COPY[fmt]})")
    except duckdb.IOException as exc:
        raise FootfallError(f"cannot write {target}: {' '.join(str(exc).split())}") from None
    finally:
        con.execute("drop table if exists _export")


def _order_term(column: outputs.Column) -> str:
    if column.values:  # an enumerated column sorts by its declared order (the dwell buckets)
        return f"list_position([{', '.join(views.literal(v) for v in column.values)}], {column.name})"
    return column.name
