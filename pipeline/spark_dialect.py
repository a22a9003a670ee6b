"""The pipeline's SQL on Spark: a DuckDB step query turned into Spark SQL at run time.

The steps are written once, in DuckDB's dialect (DESIGN.md: "the SQL kept to the
portable core that sqlglot transpiles"). `to_spark` makes the Spark text of one step:

1. the macros of 00_macros.sql are expanded in place (Spark has no SQL macros), each
   macro's body parsed once and substituted with its arguments, macros within macros
   too;
2. `$name` parameters are bound as literals (a step becomes a view, and a view keeps
   no bound parameters);
3. sqlglot transpiles DuckDB to Spark;
4. REWRITES fix what sqlglot's transpilation gets wrong or leaves out, each one a
   small, named transform of the expression tree whose docstring says which dialect
   difference it covers (tests/test_spark_dialect.py shows each one needed).

What sqlglot already gets right (checked on both engines by the tests, so that a
sqlglot that stops doing it fails there): `//` as DIV (both truncate toward zero),
anti/semi joins, `cross join lateral (select ...)`, `<<` as shiftleft, bit_or,
bit_count, bool_or/bool_and, make_timestamp(us) as timestamp_micros, timestamptz as
TIMESTAMP (an instant, as the session runs in UTC), arg_min/arg_max as min_by/max_by
(struct keys too), aggregate FILTER clauses, `select * exclude` as `* except`, and
ascending nulls last (DuckDB's default; Spark's is first: sqlglot writes NULLS LAST).
Alike on both without help: greatest/least skip nulls, `/` of integers and `1e6` are
doubles, round() rounds half away from zero.

Known differences (the steps avoid them): a division by zero is infinite (`/`) or an
error (`//`, `%`) on DuckDB 2, null on Spark with ANSI mode off; quantile_cont of a
DECIMAL is a DECIMAL on DuckDB, percentile a DOUBLE on Spark (the steps' quantiles are
of doubles); an ORDER BY of a step orders its view's rows on Spark only as far as the
query that reads it keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp

from footfall import suppression

READ = "duckdb"
WRITE = "spark"

_MACRO = re.compile(r"create\s+or\s+replace\s+temp\s+macro\s+(\w+)\s*\(([^)]*)\)\s+as\s+(.+)", re.I | re.S)
_COMMENT = re.compile(r"--[^\n]*")

Rewrite = Callable[[exp.Expression], exp.Expression]


@dataclass(frozen=True)
class Macro:
    """One `create or replace temp macro name(params) as body`, its body parsed."""

    name: str
    params: tuple[str, ...]
    body: exp.Expression


@cache
def macros() -> dict[str, Macro]:
    """The macros of 00_macros.sql by name, parsed once (the file holds nothing but
    comments and macro definitions: anything else is an error here, not a silent skip)."""
    found: dict[str, Macro] = {}
    for statement in _COMMENT.sub("", suppression.macros()).split(";"):
        if not statement.strip():
            continue
        match = _MACRO.fullmatch(statement.strip())
        if not match:
            raise ValueError(f"00_macros.sql: not a macro definition: {statement.strip()[:80]!r}")
        name, params, body = match.groups()
        names = tuple(p.strip() for p in params.split(",") if p.strip())
        found[name.lower()] = Macro(name.lower(), names, sqlglot.parse_one(body, read=READ))
    return found


def expand_macros(tree: exp.Expression) -> exp.Expression:
    """Every call of a macro replaced by its body, the body's parameters (unqualified
    columns of the parameter's name) by the call's arguments, in parentheses so that
    operator precedence stays that of the call; repeated until no call is left (macros
    call macros)."""
    known = macros()

    def expand(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous) or node.name.lower() not in known:
            return node
        macro = known[node.name.lower()]
        args = node.expressions
        if len(args) != len(macro.params):
            raise ValueError(f"macro {macro.name} takes {len(macro.params)} arguments, called with {len(args)}")
        bound = dict(zip(macro.params, args, strict=True))

        def substitute(inner: exp.Expression) -> exp.Expression:
            if isinstance(inner, exp.Column) and not inner.table and inner.name in bound:
                return _grouped(bound[inner.name].copy())
            return inner

        body = macro.body.copy().transform(substitute, copy=False)
        return expand_macros(_grouped(body))

    return tree.transform(expand, copy=False)


# Expressions that bind tighter than any operator: they need no parentheses around them.
_ATOMS = (exp.Column, exp.Literal, exp.Paren, exp.Placeholder, exp.Null, exp.Boolean, exp.Cast, exp.Case)
# Operators (sqlglot makes AND, OR, NOT, ... functions too: they are not atoms).
_OPERATORS = (exp.Binary, exp.Unary, exp.Connector, exp.Not)


def _grouped(node: exp.Expression) -> exp.Expression:
    """The node, in parentheses unless it is atomic (a macro's body or argument keeps
    its own precedence wherever it is substituted: `bin_of(a + b, w)` is (a + b) // w,
    `not is_suppressed(n, k)` is not (k > 1 and n < k))."""
    if isinstance(node, _ATOMS) or (isinstance(node, exp.Func) and not isinstance(node, _OPERATORS)):
        return node
    return exp.paren(node, copy=False)


def bind_parameters(tree: exp.Expression, parameters: dict[str, object]) -> exp.Expression:
    """`$name` (a Placeholder to sqlglot) replaced by the literal of its value."""

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in parameters:
                raise ValueError(f"the query asks for an unbound parameter ${node.name}")
            return exp.convert(parameters[node.name])
        return node

    return tree.transform(bind, copy=False)


# --- rewrites: where sqlglot's DuckDB -> Spark transpilation is wrong or incomplete -------


def epoch_us_to_unix_micros(tree: exp.Expression) -> exp.Expression:
    """DuckDB's epoch_us(ts) (microseconds since 1970 of a timestamp) is Spark's
    unix_micros(ts); sqlglot does not know epoch_us and passes it through unchanged,
    a function Spark does not have."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
            return exp.Anonymous(this="unix_micros", expressions=node.expressions)
        return node

    return tree.transform(rewrite, copy=False)


def quantile_cont_to_percentile(tree: exp.Expression) -> exp.Expression:
    """DuckDB's quantile_cont(x, p) (the exact quantile, interpolated linearly between
    the two nearest values) is Spark's percentile(x, p), which interpolates the same way.
    sqlglot writes PERCENTILE_CONT(x, p), which Spark rejects: its percentile_cont takes
    the fraction alone and the values in WITHIN GROUP (ORDER BY x). A FILTER clause
    around it stays as it is."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.PercentileCont) and node.expression is not None:
            return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
        return node

    return tree.transform(rewrite, copy=False)


REWRITES: tuple[Rewrite, ...] = (epoch_us_to_unix_micros, quantile_cont_to_percentile)


def to_spark(
    sql: str,
    parameters: dict[str, object] | None = None,
    rewrites: tuple[Rewrite, ...] = REWRITES,
    ordered: bool = True,
) -> str:
    """The Spark SQL text of a DuckDB step query (macros expanded, parameters bound,
    transpiled, REWRITES applied). `rewrites` is for the tests, which leave one out to
    show it needed. ordered=False drops the statement's own final ORDER BY: on Spark a
    global sort is a job of its own, and the engine orders what it writes itself."""
    tree = sqlglot.parse_one(sql, read=READ)
    tree = expand_macros(tree)
    tree = bind_parameters(tree, parameters or {})
    for rewrite in rewrites:
        tree = rewrite(tree)
    if not ordered:
        tree.set("order", None)
    return tree.sql(dialect=WRITE, pretty=True)
