"""Databricks SQL built-in functions the sandbox warehouse maps onto DuckDB.

Why a module of its own: sqlglot translates most Databricks functions to DuckDB, but a handful
behave differently in ways a policy query or a person exploring the sandbox notices at once
(`SELECT id FROM range(3)` fails on DuckDB, whose `range()` yields a column `range`). Each rewrite
below makes DuckDB return what a Databricks SQL warehouse (Databricks Runtime 15/16 SQL
reference) returns; everything else is left to sqlglot's Databricks -> DuckDB translation.

Covered, with the Databricks behaviour kept:
- table-valued `range(end)`, `range(start, end[, step[, numPartitions]])`: one BIGINT column `id`
  (numPartitions is accepted and ignored);
- `explode(array)` / `explode_outer` in a select list without an alias: the column is `col`;
  `posexplode` gives `pos, col`; `LATERAL VIEW explode(...) t AS x` works (sqlglot);
- `inline(array<struct>)`: one column per struct field;
- `from_json(json, schema)` with an ARRAY/MAP/STRUCT type or a DDL field list
  (`'a INT, b STRING'`): a cast through DuckDB's JSON type;
- `unix_timestamp()` (now) and `unix_timestamp(ts_or_string)` with the default format: BIGINT
  seconds;
- translated by sqlglot and checked here: `current_timestamp()`, `now()`, `current_date()`,
  `date_trunc(unit, ts)`, `date_add`, `datediff`, `timestampadd`, `to_date`, `from_unixtime`,
  `named_struct`, `struct`, `array`, `map`, `array_contains`, `array_join`, `size`,
  `element_at`, `sequence`, `collect_list`, `get_json_object`, `to_json`, `nvl`, `sha2`,
  `uuid()`.

Not covered: a function neither DuckDB nor these rewrites know fails the statement (state
FAILED) with Databricks' `[UNRESOLVED_ROUTINE] Cannot resolve routine `name` ...` message; a
construct sqlglot cannot render for DuckDB fails with `[UNSUPPORTED_FEATURE]` naming it. Result
column names of unaliased expressions are DuckDB's (Databricks would print e.g.
`current_timestamp()`): alias them when the name matters.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import SqlglotError

from .sql_errors import StatementFailed

_SEARCH_PATH = "[`system`.`builtin`, `system`.`session`, `main`.`default`]"
_MISSING_FUNCTION = re.compile(r"(?:Scalar|Table|Aggregate) Function with name \"?([A-Za-z0-9_.]+)\"? does not exist")


def rewrite(ast: exp.Expression) -> None:
    """Rewrite, in place, the Databricks built-ins DuckDB treats differently."""
    _range_tables(ast)
    _explode_columns(ast)
    _inline(ast)
    _from_json(ast)
    _unix_timestamp(ast)


def unresolved_routine(message: str) -> StatementFailed | None:
    """DuckDB's "function does not exist" as the warehouse's UNRESOLVED_ROUTINE, or None."""
    match = _MISSING_FUNCTION.search(message)
    if match is None:
        return None
    name = match.group(1).lower()
    return StatementFailed(
        f"[UNRESOLVED_ROUTINE] Cannot resolve routine `{name}` on search path {_SEARCH_PATH}. "
        "Verify the spelling of the routine, check that the routine exists, and confirm you have USE "
        "privilege on the catalog and schema, and EXECUTE on the routine. SQLSTATE: 42883",
        error_code="BAD_REQUEST",
        sql_state="42883",
    )


def _range_tables(ast: exp.Expression) -> None:
    for table in list(ast.find_all(exp.Table)):
        call = table.this
        if not isinstance(call, exp.Anonymous) or str(call.this).lower() != "range":
            continue
        args = list(call.expressions)
        if not 1 <= len(args) <= 4:
            raise StatementFailed(
                f"[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `range` requires [1, 2, 3, 4] parameters but the actual "
                f"number is {len(args)}. SQLSTATE: 42605",
                sql_state="42605",
            )
        args = args[:3]  # numPartitions has no meaning here
        series = exp.Anonymous(
            this="range", expressions=[exp.Cast(this=a, to=exp.DataType.build("BIGINT")) for a in args]
        )
        inner = exp.select(exp.alias_(exp.column("range"), "id")).from_(exp.Table(this=series))
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier("range"))
        table.replace(exp.Subquery(this=inner, alias=alias.copy()))


def _explode_columns(ast: exp.Expression) -> None:
    for select in ast.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if isinstance(projection, exp.Explode) and not isinstance(projection, exp.Posexplode):
                select.expressions[i] = exp.alias_(projection, "col")
                select.expressions[i].parent = select


def _inline(ast: exp.Expression) -> None:
    for node in list(ast.find_all(exp.Inline)):
        node.replace(
            exp.Anonymous(
                this="unnest",
                expressions=[node.this.copy(), exp.Kwarg(this=exp.var("recursive"), expression=exp.true())],
            )
        )


def _from_json(ast: exp.Expression) -> None:
    for node in list(ast.find_all(exp.FromJson)):
        schema = node.expression
        if not isinstance(schema, exp.Literal) or not schema.is_string:
            continue
        target = _schema_type(str(schema.this))
        if target is None:
            raise StatementFailed(
                f"[INVALID_SCHEMA.PARSE_ERROR] The input schema {schema.this!r} is not a valid schema string. "
                "SQLSTATE: 42K07",
                sql_state="42K07",
            )
        if target.is_type(*exp.DataType.NESTED_TYPES):
            as_json = exp.Cast(this=node.this.copy(), to=exp.DataType.build("JSON"))
            node.replace(exp.Cast(this=as_json, to=target))


def _schema_type(text: str) -> exp.DataType | None:
    for candidate in (text, f"STRUCT<{text}>"):
        try:
            built = exp.DataType.build(candidate, dialect="databricks")
        except (SqlglotError, ValueError):
            continue
        if built.is_type(*exp.DataType.NESTED_TYPES):
            return built
    return None


_DEFAULT_FORMATS = {"yyyy-MM-dd HH:mm:ss"}


def _unix_timestamp(ast: exp.Expression) -> None:
    for node in list(ast.find_all(exp.StrToUnix)):
        fmt = node.args.get("format")
        if fmt is not None and not _is_default_format(fmt):
            continue
        value = node.this if node.this is not None else exp.CurrentTimestamp()
        stamp = exp.Cast(this=value.copy(), to=exp.DataType.build("TIMESTAMP"))
        node.replace(exp.Cast(this=exp.Anonymous(this="epoch", expressions=[stamp]), to=exp.DataType.build("BIGINT")))


def _is_default_format(fmt: exp.Expression) -> bool:
    if not isinstance(fmt, exp.Literal):
        return False
    text = str(fmt.this).replace("strict", "")
    return text in ("%Y-%m-%d %H:%M:%S",) or text in _DEFAULT_FORMATS
