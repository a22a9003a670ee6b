"""k-suppression, the one rule: a published count below k (zero included) is null and
its row flagged `suppressed`; k = 1 keeps every count, zeros too.

The rule is written once, as the SQL macros `is_suppressed(n, k)` and `suppress(n, k)`
of pipeline/00_macros.sql. The pipeline runs them; every other DuckDB connection that
reads counts (the dashboard, which suppresses again with the k in force) loads the
same file with load_macros(). The audit, which checks counts file by file without
DuckDB, uses below_k(), the rule's vectorised mirror, which a test holds equal to
the macro.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Any

import pyarrow as pa

from footfall.outputs import SUPPRESSED, Column, Dataset

MACROS = "00_macros.sql"


def macros() -> str:
    """The text of pipeline/00_macros.sql (the pipeline's shared macros)."""
    return resources.files("footfall.pipeline").joinpath(MACROS).read_text()


def load_macros(con: Any) -> None:
    """Defines the macros (is_suppressed, suppress, ...) in a DuckDB connection."""
    con.execute(macros())


def below_k(values: pa.Array, k: int) -> int:
    """How many published (non-null) cells the rule would have hidden."""
    if k <= 1:
        return 0
    import pyarrow.compute as pc  # here, not above: 70 ms that `footfall run` need not pay

    return pc.sum(pc.less(values, k)).as_py() or 0


def resuppressed(dataset: Dataset, k: str, present: Iterable[str] | None = None) -> str:
    """The select list of a mart's declared columns (those present, when a file predates
    some), suppressed again with k (a SQL expression: `$k` or a number): a mart published
    with a smaller k (or k = 1) must not show a count the configuration now hides; a
    figure derived from a hidden count (hidden_with) goes too, and the row is flagged."""
    names = set(present) if present is not None else {c.name for c in dataset.columns}
    counts = [c.name for c in dataset.columns if c.suppressed and c.name in names]

    def hidden(columns: Iterable[str]) -> str:
        return " or ".join(f"is_suppressed({name}, {k})" for name in columns if name in names) or "false"

    def expression(column: Column) -> str:
        if column.suppressed:
            return f"suppress({column.name}, {k}) as {column.name}"
        if column.hidden_with:
            return f"case when {hidden(column.hidden_with)} then null else {column.name} end as {column.name}"
        if column.name == SUPPRESSED:
            return f"coalesce(suppressed or {hidden(counts)}, suppressed) as suppressed"
        return column.name

    return ", ".join(expression(c) for c in dataset.columns if c.name in names)
