"""`footfall sql`: DuckDB with one view per dataset (footfall.views), as a small shell
or for one query (`--query SQL`).

The duckdb Python package that footfall installs has no shell of its own, so this is
one: statements end with `;` and may span lines, results print as DuckDB draws them
(or as CSV or JSON, every row), `.views` lists the views and what they hold, `.quit`
or Ctrl+D leaves. Input that is not a terminal is run as a script.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import decimal
import io
import json
import shutil
import sys
from typing import Literal, TextIO

import duckdb
import pyarrow.csv as pa_csv

from footfall import views
from footfall.errors import FootfallError

TableFormat = Literal["table", "csv", "json"]
TABLE_ROWS = 100  # a table shows this many rows at most (its first and last ones); csv and json show all


def run_statements(con: duckdb.DuckDBPyConnection, text: str, fmt: TableFormat, out: TextIO) -> None:
    """Runs each statement of text; prints the result of each that returns rows."""
    for statement in split_statements(text):
        try:
            relation = con.sql(statement)
        except duckdb.Error as exc:
            raise FootfallError(" ".join(str(exc).split())) from None
        print_result(relation, fmt, out)


def print_result(relation: duckdb.DuckDBPyRelation | None, fmt: TableFormat, out: TextIO) -> None:
    if relation is None:  # a statement without a result (set, create view, ...)
        return
    if fmt == "table":
        width = shutil.get_terminal_size((120, 24)).columns
        with contextlib.redirect_stdout(out):  # show() prints; the shell may be writing elsewhere
            relation.show(max_rows=TABLE_ROWS, max_width=width, null_value="NULL")
    else:
        table = relation.to_arrow_table()
        if fmt == "csv":
            csv.writer(out, lineterminator="\n").writerow(table.column_names)  # pyarrow quotes every name
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
            out.write(buffer.getvalue().decode())
        else:
            out.write(json.dumps(table.to_pylist(), default=_json_value, indent=1) + "\n")
    out.flush()


def _json_value(value: object) -> object:
    """What JSON has no type for: a 128-bit sum (a Decimal in Arrow) as a number, a date
    or a time in ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def split_statements(text: str) -> list[str]:
    """The SQL statements of a script: separated by `;` outside quotes and comments."""
    complete, rest = statements_of(text)
    return complete + ([rest] if rest else [])


def statements_of(text: str) -> tuple[list[str], str]:
    """The statements text ends (each closed by a `;` outside quotes and `--` comments)
    and what follows the last one, not yet ended (the shell waits for more lines)."""
    complete: list[str] = []
    start, quote, index = 0, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == ";":
            complete.append(text[start:index])
            start = index + 1
        index += 1
    statements = [s.strip() for s in complete if _code(s)]
    rest = text[start:]
    return statements, rest.strip() if _code(rest) else ""


def _code(text: str) -> bool:
    """Whether text holds more than blanks and comments."""
    return any(line.strip() and not line.strip().startswith("--") for line in text.splitlines())


# --- the shell ---------------------------------------------------------------------------------

PROMPT, MORE = "footfall> ", "     ...> "


def help_text() -> str:
    lines = ["Views (one per dataset; `describe NAME` lists its columns):"]
    lines += [f"  {name:<14} {dataset.grain}" for name, dataset in views.VIEWS.items()]
    lines += [
        "Statements end with ';'. Timestamps are UTC; `date` and `hour` are the store's local day and hour.",
        "The data dictionary (docs/data-dictionary.md) describes every column. .views lists the views, "
        ".quit (or Ctrl+D) leaves.",
    ]
    return "\n".join(lines) + "\n"


def shell(con: duckdb.DuckDBPyConnection, fmt: TableFormat, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    """Reads statements until .quit or the end of the input; returns the exit status (1
    when a statement of a script failed; an interactive session goes on after an error)."""
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):  # not on every platform
            import readline  # noqa: F401 (line editing and history for input())
        out.write(help_text())
    pending, status = "", 0
    while True:
        line = _read(stdin, PROMPT if not pending else MORE, interactive)
        if line is None:
            break
        if not pending and line.strip() in (".quit", ".exit", ".q"):
            break
        if not pending and line.strip() in (".views", ".tables", ".help"):
            out.write(help_text())
            continue
        pending += line + "\n"
        complete, pending = statements_of(pending)
        for statement in complete:
            try:
                print_result(con.sql(statement), fmt, out)
            except duckdb.Error as exc:
                err.write(f"footfall: error: {' '.join(str(exc).split())}\n")
                status = 1
    if pending:
        status = _run_rest(con, pending, fmt, out, err) or status
    return 0 if interactive else status


def _run_rest(con: duckdb.DuckDBPyConnection, text: str, fmt: TableFormat, out: TextIO, err: TextIO) -> int:
    """A script's last statement may lack its `;`."""
    try:
        run_statements(con, text, fmt, out)
    except FootfallError as exc:
        err.write(f"footfall: error: {exc}\n")
        return 1
    return 0


def _read(stdin: TextIO, prompt: str, interactive: bool) -> str | None:
    if interactive:
        try:
            return input(prompt)
        except EOFError:
            return None
        except KeyboardInterrupt:  # Ctrl+C drops the statement being typed, as DuckDB's shell does
            sys.stdout.write("\n")
            return ""
    line = stdin.readline()
    return None if line == "" else line.rstrip("\n")
