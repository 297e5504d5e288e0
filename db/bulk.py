"""Execute a Core statement as the driver's own executemany, converting each column once.

For batched upserts SQLAlchemy's per-row parameter handling, and with RETURNING its rendering of
each batch as one huge statement that the server must parse and plan anew, cost more than the
database work itself (bench/store.py measures it). Here SQLAlchemy still writes the SQL, from the
dialect's own constructs, and every value still passes through its column type's bind processor,
so what is stored is what a plain `execute()` would have stored; only the per-row machinery goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine


class BulkStatement:
    """One statement compiled for one dialect, run with executemany over plain mappings."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> None:
        """`keys`: the columns the statement takes, each from a row or from the call's constants."""
        # for_executemany: no implicit RETURNING of the primary key, which executemany discards
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        self.sql = compiled.string
        self.positional = compiled.positional
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        self._columns = [(name, _converter(compiled.binds[name].type, dialect)) for name in names]

    def parameters(
        self, rows: Sequence[Mapping[str, Any]], constants: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Driver parameters for `rows`, built column by column (C-level loops, not per value).
        `constants` gives columns whose value is the same for every row (converted once)."""
        constants = constants or {}
        columns = [
            [_convert_column([constants[name]], convert)[0]] * len(rows)
            if name in constants
            else _convert_column(list(map(itemgetter(name), rows)), convert)
            for name, convert in self._columns
        ]
        if self.positional:
            return list(zip(*columns, strict=True))
        names = [name for name, _ in self._columns]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def executemany(
        self,
        connection: Connection,
        rows: Sequence[Mapping[str, Any]],
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        if rows:
            connection.exec_driver_sql(self.sql, self.parameters(rows, constants))


def _converter(type_: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _convert_column(values: list[Any], convert: Callable[[Any], Any] | None) -> list[Any]:
    """Convert each distinct value once: a batch repeats its timestamp, kinds and many dates."""
    if convert is None:
        return values
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) > 1:  # True == 1 == 1.0 would share one entry, yet they convert differently
        return list(map(convert, values))
    try:
        converted = {value: convert(value) for value in set(values)}
    except TypeError:  # unhashable values (JSON documents): convert each
        return list(map(convert, values))
    return list(map(converted.__getitem__, values))
